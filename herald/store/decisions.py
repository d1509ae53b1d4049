"""A person's decisions about deliveries: cancel what has not gone out, send held, failed or
uncertain ones now, record an uncertain one as published, and release what a paused channel
held. Each is one compare-and-set UPDATE (see ``store.deliveries``); callers commit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, case, select, update
from sqlalchemy.orm import Session

from herald.store import states
from herald.store.audit import fit
from herald.store.models import APPROVED_BY_CHARS, Delivery, Post, utcnow
from herald.store.pauses import hold_new_if_paused


def cancel_post(s: Session, post_id: str) -> tuple[list[int], list[int]]:
    """Cancel every still-pending delivery of a post.

    Returns (cancelled ids, ids too late to cancel because they are publishing or done).
    """
    rows = (
        s.execute(
            update(Delivery)
            .where(Delivery.post_id == post_id, Delivery.state.in_(states.PENDING))
            .values(state=states.CANCELLED, updated_at=utcnow(), lease_expires_at=None)
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    late = (
        s.execute(select(Delivery.id).where(Delivery.post_id == post_id, Delivery.state != states.CANCELLED))
        .scalars()
        .all()
    )
    return list(rows), [i for i in late if i not in rows]


def requeue_by_person(
    s: Session,
    post_id: str,
    from_states: tuple[str, ...],
    *,
    channel_id: int | None = None,
    now: datetime | None = None,
) -> list[int]:
    """A person's decision: send these deliveries now (release held ones, retry failed or
    uncertain ones after checking the platform). Returns the ids requeued; under a pause
    (``store.pauses``) they stay held."""
    now = now or utcnow()
    q = update(Delivery).where(
        Delivery.post_id == post_id, Delivery.state.in_(from_states), Delivery.paused_at.is_(None)
    )
    if channel_id is not None:
        q = q.where(Delivery.channel_id == channel_id)
    return _unless_paused(
        s,
        now,
        s.execute(
            q.values(
                state=states.QUEUED,
                due_at=now,
                needs_reconcile=False,
                last_error=None,
                released_at=now,
                updated_at=now,
            )
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        ).scalars(),
    )


def _unless_paused(s: Session, now: datetime, ids: Iterable[int]) -> list[int]:
    """``ids`` just queued, less those a pause holds again at once."""
    queued = [int(i) for i in ids]
    held = hold_new_if_paused(s, queued, now=now)
    return [i for i in queued if i not in held]


def confirm_published_by_person(
    s: Session, post_id: str, channel_id: int, *, remote_url: str | None, now: datetime | None = None
) -> bool:
    """A person checked the platform and the uncertain post is there: record it as published."""
    now = now or utcnow()
    res = s.execute(
        update(Delivery)
        .where(
            Delivery.post_id == post_id, Delivery.channel_id == channel_id, Delivery.state == states.UNCERTAIN
        )
        .values(
            state=states.PUBLISHED, published_at=now, remote_url=remote_url, last_error=None, updated_at=now
        )
        .execution_options(synchronize_session=False)
    )
    return bool(res.rowcount)  # type: ignore[attr-defined]  # CursorResult has rowcount


def release_held_on_channel(s: Session, channel_id: int, *, now: datetime | None = None) -> list[int]:
    """held → queued for every delivery a (now resumed) channel held, due no earlier than now.
    Returns the ids released."""
    now = now or utcnow()
    return _queue(s, now, Delivery.channel_id == channel_id, Delivery.state == states.HELD)


def _queue(s: Session, now: datetime, *where: ColumnElement[bool]) -> list[int]:
    """The deliveries ``where`` says → queued, due no earlier than now (held again under a
    pause). Returns the ids queued."""
    ids = s.execute(
        update(Delivery)
        .where(*where)
        .values(
            state=states.QUEUED,
            due_at=case((Delivery.due_at < now, now), else_=Delivery.due_at),
            updated_at=now,
        )
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    ).scalars()
    return _unless_paused(s, now, ids)


# -- approval ------------------------------------------------------------------------------------


def approve_post(s: Session, post_id: str, *, by: str, now: datetime | None = None) -> list[int] | None:
    """pending → approved, and the post's ``scheduled`` deliveries → ``queued`` (due no earlier
    than now). Returns their ids, or None if the post was not pending (approved already, sent
    back, or cancelled)."""
    now = now or utcnow()
    won = s.execute(
        update(Post)
        .where(Post.id == post_id, Post.approval == "pending")
        .values(
            approval="approved",
            approved_by=fit(by, APPROVED_BY_CHARS),
            approved_at=now,
            approval_note=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]  # CursorResult
    if not won:
        return None
    return _queue(s, now, Delivery.post_id == post_id, Delivery.state == states.SCHEDULED)


def return_post(s: Session, post_id: str, *, note: str, now: datetime | None = None) -> bool:
    """pending → returned with a manager's note; its deliveries stay ``scheduled``."""
    now = now or utcnow()
    return bool(
        s.execute(
            update(Post)
            .where(Post.id == post_id, Post.approval == "pending")
            .values(approval="returned", approval_note=note, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]  # CursorResult
    )


def resubmit_post(s: Session, post_id: str, *, now: datetime | None = None) -> bool:
    """returned → pending again."""
    now = now or utcnow()
    return bool(
        s.execute(
            update(Post)
            .where(Post.id == post_id, Post.approval == "returned")
            .values(approval="pending", updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]  # CursorResult
    )
