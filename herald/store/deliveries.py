"""Delivery state transitions, each one compare-and-set in a single UPDATE.

Every function here is one statement whose WHERE clause states what must still be true, so two
workers, a re-delivered Celery message, the reaper and a person cancelling can race freely: at
most one wins, and the losers learn it from the row count. Callers commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from herald.store import states
from herald.store.models import Attempt, Channel, Delivery, Post, utcnow

# Core tables for the hot path: a plain UPDATE skips the ORM's bulk-update machinery, which
# costs more than the statement itself on SQLite.
_DT: Table = Delivery.__table__  # type: ignore[assignment]  # a declarative class's table is a Table
_AT: Table = Attempt.__table__  # type: ignore[assignment]  # as above


#: A delivery may be claimed this early, to absorb clock skew between machines (seconds).
EARLY_CLAIM_SLACK_SECONDS = 0.5


def new_token() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Claim:
    """A delivery this worker now holds. ``takeover`` means an earlier holder's lease expired
    while it was publishing: the post may already be out, so reconcile before sending."""

    delivery_id: int
    token: str
    attempt_no: int
    takeover: bool
    post_version: int
    channel_id: int = 0


def claim(s: Session, delivery_id: int, *, lease_seconds: float, now: datetime | None = None) -> Claim | None:
    """Claim one delivery (see ``claim_many``)."""
    got = claim_many(s, [delivery_id], lease_seconds=lease_seconds, now=now)
    return got[0] if got else None


def claim_many(
    s: Session, delivery_ids: Sequence[int], *, lease_seconds: float, now: datetime | None = None
) -> list[Claim]:
    """queued → publishing for every due one of ``delivery_ids``, or take over ``publishing``
    rows whose lease expired (``Claim.takeover``: an earlier holder may have sent it).

    Skipped (not returned): already published, cancelled, held, not yet due (edited to a later
    time), or held under a live lease by another worker. Two statements, each a single
    compare-and-set over the whole batch, and one attempt row per claim, in the caller's
    transaction: a batch of ten costs one commit, not ten.
    """
    if not delivery_ids:
        return []
    now = now or utcnow()
    token = new_token()
    values = {
        "state": states.PUBLISHING,
        "attempt_token": token,
        "lease_expires_at": now + timedelta(seconds=lease_seconds),
        "attempts": Delivery.attempts + 1,
        "updated_at": now,
    }
    due_by = now + timedelta(seconds=EARLY_CLAIM_SLACK_SECONDS)
    ids = list(dict.fromkeys(delivery_ids))
    rows: list[tuple[int, int, str, bool, int, bool]] = []
    for condition, takeover in (
        (and_(Delivery.state == states.QUEUED, Delivery.due_at <= due_by), False),
        (and_(Delivery.state == states.PUBLISHING, Delivery.lease_expires_at < now), True),
    ):
        got = s.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), condition)
            .values(**values)
            .returning(
                Delivery.id,
                Delivery.attempts,
                Delivery.post_id,
                Delivery.needs_reconcile,
                Delivery.channel_id,
            )
            .execution_options(synchronize_session=False)
        ).all()
        rows += [(int(i), int(a), str(p), bool(n), int(ch), takeover) for i, a, p, n, ch in got]
        taken = {r[0] for r in rows}
        ids = [i for i in ids if i not in taken]
        if not ids:
            break
    if not rows:
        return []
    versions = {
        str(pid): int(v)
        for pid, v in s.execute(select(Post.id, Post.version).where(Post.id.in_({r[2] for r in rows}))).all()
    }
    s.execute(
        insert(_AT),
        [
            {"delivery_id": i, "number": a, "token": token, "started_at": now, "worker": ""}
            for i, a, *_ in rows
        ],
    )
    return [
        Claim(i, token, a, takeover or needs_reconcile, versions[p], ch)
        for i, a, p, needs_reconcile, ch, takeover in sorted(rows)
    ]


def _finish_attempt(
    s: Session,
    delivery_id: int,
    token: str,
    outcome: str,
    *,
    http_status: int | None = None,
    error: str | None = None,
    latency_ms: float | None = None,
    now: datetime | None = None,
) -> None:
    s.execute(
        update(_AT)
        .where(_AT.c.delivery_id == delivery_id, _AT.c.token == token)
        .values(
            outcome=outcome,
            finished_at=now or utcnow(),
            http_status=http_status,
            error=error,
            latency_ms=latency_ms,
        )
    )


def _move(s: Session, delivery_id: int, token: str, values: dict[str, object]) -> bool:
    res = s.execute(
        update(_DT)
        .where(_DT.c.id == delivery_id, _DT.c.state == states.PUBLISHING, _DT.c.attempt_token == token)
        .values(**values)
    )
    return bool(res.rowcount)  # type: ignore[attr-defined]  # CursorResult has rowcount


def mark_published(
    s: Session,
    delivery_id: int,
    token: str,
    *,
    remote_id: str,
    remote_url: str,
    latency_ms: float | None = None,
    outcome: str = "published",
    now: datetime | None = None,
) -> bool:
    return record_published(
        s,
        delivery_id,
        token,
        remote_id=remote_id,
        remote_url=remote_url,
        latency_ms=latency_ms,
        outcome=outcome,
        now=now,
    )[0]


def record_published(
    s: Session,
    delivery_id: int,
    token: str,
    *,
    remote_id: str,
    remote_url: str,
    latency_ms: float | None = None,
    outcome: str = "published",
    now: datetime | None = None,
) -> tuple[bool, bool]:
    """publishing → published. Returns (ours, takedown wanted): whether the compare-and-set
    won, and whether a person asked for a takedown while it was being published (then it goes
    on to ``deleting`` in the same transaction). A batch of one of ``record_published_many``."""
    record = PublishedRecord(delivery_id, token, remote_id, remote_url, outcome, latency_ms)
    return record_published_many(s, [record], now=now)[delivery_id]


@dataclass(frozen=True)
class PublishedRecord:
    delivery_id: int
    token: str
    remote_id: str
    remote_url: str
    outcome: str = "published"
    latency_ms: float | None = None


def record_published_many(
    s: Session, records: Sequence[PublishedRecord], *, now: datetime | None = None
) -> dict[int, tuple[bool, bool]]:
    """``record_published`` for a batch, in a constant number of statements: one executemany
    compare-and-set for the deliveries, one for their attempt rows, one look-up for pending
    takedowns (and one more only if some compare-and-set lost). Returns, per delivery id,
    (ours, takedown wanted)."""
    if not records:
        return {}
    now = now or utcnow()
    cas = (
        update(_DT)
        .where(
            _DT.c.id == bindparam("_id"),
            _DT.c.state == states.PUBLISHING,
            _DT.c.attempt_token == bindparam("_token"),
        )
        .values(
            state=states.PUBLISHED,
            remote_id=bindparam("_remote_id"),
            remote_url=bindparam("_remote_url"),
            published_at=now,
            last_error=None,
            needs_reconcile=False,
            lease_expires_at=None,
            updated_at=now,
        )
    )
    res = s.execute(
        cas,
        [
            {"_id": r.delivery_id, "_token": r.token, "_remote_id": r.remote_id, "_remote_url": r.remote_url}
            for r in records
        ],
    )
    ids = [r.delivery_id for r in records]
    if res.rowcount == len(records):  # type: ignore[attr-defined]  # CursorResult has rowcount
        ours = set(ids)
    else:
        # Some lost (a lease ran out and another worker took over): find which are ours.
        want = {r.delivery_id: r.remote_id for r in records}
        ours = {
            int(i)
            for i, state, remote in s.execute(
                select(_DT.c.id, _DT.c.state, _DT.c.remote_id).where(_DT.c.id.in_(ids))
            ).all()
            if state == states.PUBLISHED and remote == want[int(i)]
        }
    mine = [r for r in records if r.delivery_id in ours]
    if mine:
        s.execute(
            update(_AT)
            .where(_AT.c.delivery_id == bindparam("_id"), _AT.c.token == bindparam("_token"))
            .values(outcome=bindparam("_outcome"), finished_at=now, latency_ms=bindparam("_ms")),
            [
                {"_id": r.delivery_id, "_token": r.token, "_outcome": r.outcome, "_ms": r.latency_ms}
                for r in mine
            ],
        )
    wanted = (
        {
            int(i)
            for (i,) in s.execute(
                select(_DT.c.id).where(_DT.c.id.in_(list(ours)), _DT.c.takedown_requested_at.is_not(None))
            ).all()
        }
        if ours
        else set()
    )
    for i in wanted:
        start_takedown_after_publish(s, i, now=now)
    return {i: (i in ours, i in wanted) for i in ids}


def mark_retry(
    s: Session,
    delivery_id: int,
    token: str,
    *,
    due_at: datetime,
    error: str,
    http_status: int | None = None,
    latency_ms: float | None = None,
    needs_reconcile: bool = False,
) -> bool:
    """publishing → queued at ``due_at``. ``needs_reconcile``: the try may have gone out, so the
    next one must look it up first."""
    ok = _move(
        s,
        delivery_id,
        token,
        {
            "state": states.QUEUED,
            "due_at": due_at,
            "last_error": error,
            "lease_expires_at": None,
            "needs_reconcile": needs_reconcile,
            "updated_at": utcnow(),
        },
    )
    if ok:
        _finish_attempt(
            s, delivery_id, token, "retry", http_status=http_status, error=error, latency_ms=latency_ms
        )
    return ok


def mark_final(
    s: Session,
    delivery_id: int,
    token: str,
    state: str,
    *,
    error: str,
    http_status: int | None = None,
    latency_ms: float | None = None,
) -> bool:
    """publishing → failed | uncertain | held."""
    assert state in (states.FAILED, states.UNCERTAIN, states.HELD)
    ok = _move(
        s,
        delivery_id,
        token,
        {"state": state, "last_error": error, "lease_expires_at": None, "updated_at": utcnow()},
    )
    if ok:
        _finish_attempt(
            s, delivery_id, token, state, http_status=http_status, error=error, latency_ms=latency_ms
        )
    return ok


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


def defer(
    s: Session, delivery_id: int, token: str, *, due_at: datetime, reason: str, reconcile: bool
) -> bool:
    """publishing → queued without using up an attempt (the channel is over its posting rate,
    or paused by a platform's 429 for another delivery). ``reconcile`` keeps a pending
    reconciliation pending."""
    ok = _move(
        s,
        delivery_id,
        token,
        {
            "state": states.QUEUED,
            "due_at": due_at,
            "attempts": Delivery.attempts - 1,
            "lease_expires_at": None,
            "needs_reconcile": reconcile,
            "updated_at": utcnow(),
        },
    )
    if ok:
        _finish_attempt(s, delivery_id, token, "deferred", error=reason)
    return ok


def requeue_by_person(
    s: Session,
    post_id: str,
    from_states: tuple[str, ...],
    *,
    channel_id: int | None = None,
    now: datetime | None = None,
) -> list[int]:
    """A person's decision: send these deliveries now (release held ones, retry failed or
    uncertain ones after checking the platform). Returns the ids requeued."""
    now = now or utcnow()
    q = update(Delivery).where(Delivery.post_id == post_id, Delivery.state.in_(from_states))
    if channel_id is not None:
        q = q.where(Delivery.channel_id == channel_id)
    return list(
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
        ).scalars()
    )


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


def extend_lease(s: Session, delivery_id: int, token: str, *, lease_seconds: float) -> bool:
    """Keep holding a delivery we are still publishing (heartbeat)."""
    return extend_leases(s, [delivery_id], token, lease_seconds=lease_seconds) == 1


def extend_leases(s: Session, delivery_ids: Sequence[int], token: str, *, lease_seconds: float) -> int:
    """Heartbeat for a batch: extend the leases we still hold; returns how many."""
    res = s.execute(
        update(Delivery)
        .where(
            Delivery.id.in_(list(delivery_ids)),
            Delivery.state == states.PUBLISHING,
            Delivery.attempt_token == token,
        )
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return int(res.rowcount)  # type: ignore[attr-defined]  # CursorResult has rowcount


def pause_channel(s: Session, channel_id: int, reason: str) -> None:
    s.execute(
        update(Channel)
        .where(Channel.id == channel_id, Channel.paused_at.is_(None))
        .values(paused_at=utcnow(), pause_reason=reason)
        .execution_options(synchronize_session=False)
    )


# -- takedown ---------------------------------------------------------------------------------


def request_takedown(
    s: Session, post_id: str, channel_ids: list[int], *, now: datetime | None = None
) -> dict[str, list[int]]:
    """A person wants the post gone from these channels.

    published → deleting (a worker deletes it); pending ones are cancelled; ones being
    published get a flag so the worker deletes them right after. Returns ids by what happened.
    """
    now = now or utcnow()
    base = (Delivery.post_id == post_id, Delivery.channel_id.in_(channel_ids))
    deleting = list(
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
    cancelled = list(
        s.execute(
            update(Delivery)
            .where(*base, Delivery.state.in_(states.PENDING))
            .values(state=states.CANCELLED, takedown_requested_at=now, updated_at=now)
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    in_flight = list(
        s.execute(
            update(Delivery)
            .where(*base, Delivery.state == states.PUBLISHING)
            .values(takedown_requested_at=now)
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    return {"deleting": deleting, "cancelled": cancelled, "after_publish": in_flight}


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
        _finish_attempt(
            s,
            c.delivery_id,
            c.token,
            outcome if outcome != "refused" else "takedown-refused",
            error=error,
            latency_ms=latency_ms,
            now=now,
        )
    return ok
