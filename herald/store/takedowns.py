"""Takedowns: a person asks for a post to be gone, and workers delete the published copies.

::

    published ──request──▶ deleting ──claim, delete──▶ deleted
                              └──▶ deleting again later (retry), or back to published (refused)
    scheduled | queued | held ──request──▶ cancelled
    publishing ──request──▶ flagged; once published ──▶ deleting

Each transition is one compare-and-set UPDATE, like those in ``store.deliveries``; callers
commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from herald.store import states
from herald.store.attempts import finish_attempt, new_token
from herald.store.models import Attempt, Channel, Delivery, utcnow


@dataclass(frozen=True)
class TakedownTarget:
    """A delivery of the post a takedown is asked for, with its channel."""

    delivery_id: int
    channel_id: int
    channel: str
    platform: str
    state: str


def takedown_targets(s: Session, post_id: str) -> list[TakedownTarget]:
    """Every delivery of ``post_id``, with its channel's name and platform."""
    rows = s.execute(
        select(Delivery.id, Channel.id, Channel.name, Channel.platform, Delivery.state)
        .join(Channel, Delivery.channel_id == Channel.id)
        .where(Delivery.post_id == post_id)
    ).all()
    return [TakedownTarget(int(d), int(c), str(name), str(p), str(st)) for d, c, name, p, st in rows]


@dataclass(frozen=True)
class TakedownRequested:
    """Delivery ids by what a takedown request did to them."""

    #: Published: a worker deletes them (now ``deleting``).
    deleting: tuple[int, ...]
    #: Still pending: cancelled, they never go out.
    cancelled: tuple[int, ...]
    #: Being published now: flagged, deleted right after they are out.
    after_publish: tuple[int, ...]


def request_takedown(
    s: Session, post_id: str, channel_ids: list[int], *, now: datetime | None = None
) -> TakedownRequested:
    """A person wants the post gone from these channels.

    published → deleting (a worker deletes it); pending ones are cancelled; ones being
    published get a flag so the worker deletes them right after. Returns ids by what happened.
    """
    now = now or utcnow()
    base = (Delivery.post_id == post_id, Delivery.channel_id.in_(channel_ids))
    deleting = tuple(
        s.execute(
            update(Delivery)
            .where(*base, Delivery.state == states.PUBLISHED)
            .values(
                state=states.DELETING,
                due_at=now,
                takedown_requested_at=now,
                attempt_token=None,
                lease_expires_at=None,
                updated_at=now,
            )
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    cancelled = tuple(
        s.execute(
            update(Delivery)
            .where(*base, Delivery.state.in_(states.PENDING))
            .values(state=states.CANCELLED, takedown_requested_at=now, updated_at=now)
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    in_flight = tuple(
        s.execute(
            update(Delivery)
            .where(*base, Delivery.state == states.PUBLISHING)
            .values(takedown_requested_at=now)
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    return TakedownRequested(deleting=deleting, cancelled=cancelled, after_publish=in_flight)


def start_takedown_after_publish(s: Session, delivery_id: int, *, now: datetime | None = None) -> bool:
    """published → deleting, if a takedown was requested while it was being published."""
    now = now or utcnow()
    res = s.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.state == states.PUBLISHED,
            Delivery.takedown_requested_at.is_not(None),
        )
        .values(state=states.DELETING, due_at=now, attempt_token=None, lease_expires_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(res.rowcount)  # type: ignore[attr-defined]  # CursorResult has rowcount


@dataclass(frozen=True)
class TakedownClaim:
    delivery_id: int
    token: str
    remote_id: str
    channel_id: int
    attempt_no: int


def claim_takedown(
    s: Session, delivery_id: int, *, lease_seconds: float, now: datetime | None = None
) -> TakedownClaim | None:
    """Hold a ``deleting`` delivery under a lease (one worker deletes at a time)."""
    now = now or utcnow()
    token = new_token()
    row = s.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.state == states.DELETING,
            or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now),
        )
        .values(
            attempt_token=token,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=Delivery.attempts + 1,
            updated_at=now,
        )
        .returning(Delivery.remote_id, Delivery.channel_id, Delivery.attempts)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        return None
    s.add(Attempt(delivery_id=delivery_id, number=row[2], token=token, started_at=now))
    return TakedownClaim(delivery_id, token, str(row[0] or ""), int(row[1]), int(row[2]))


def finish_takedown(
    s: Session,
    c: TakedownClaim,
    outcome: str,
    *,
    error: str | None = None,
    retry_at: datetime | None = None,
    latency_ms: float | None = None,
) -> bool:
    """deleting → deleted ("deleted"), → deleting again later ("retry"), or back to published
    with the refusal noted ("refused")."""
    now = utcnow()
    cond = (
        Delivery.id == c.delivery_id,
        Delivery.state == states.DELETING,
        Delivery.attempt_token == c.token,
    )
    if outcome == "deleted":
        values: dict[str, object] = {"state": states.DELETED, "deleted_at": now, "last_error": None}
    elif outcome == "retry":
        assert retry_at is not None
        values = {"due_at": retry_at, "last_error": f"takedown: {error}"}
    else:
        values = {"state": states.PUBLISHED, "last_error": f"takedown refused: {error}"}
    res = s.execute(
        update(Delivery)
        .where(*cond)
        .values(lease_expires_at=None, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    ok = bool(res.rowcount)  # type: ignore[attr-defined]  # CursorResult has rowcount
    if ok:
        finish_attempt(
            s,
            c.delivery_id,
            c.token,
            outcome if outcome != "refused" else "takedown-refused",
            error=error,
            latency_ms=latency_ms,
            now=now,
        )
    return ok
