"""A worker's delivery state transitions (claim, publish, retry, give up, defer, keep the
lease), each one compare-and-set in a single UPDATE.

Every function here is one statement whose WHERE clause states what must still be true, so two
workers, a re-delivered Celery message, the reaper and a person cancelling can race freely: at
most one wins, and the losers learn it from the row count. Callers commit. A person's decisions
(cancel, release, retry, confirm) are in ``store.decisions``, takedowns in ``store.takedowns``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, DateTime, and_, bindparam, case, insert, select, update
from sqlalchemy.orm import Session

from herald.store import states
from herald.store.attempts import ATTEMPTS, finish_attempt, new_token
from herald.store.models import Channel, Delivery, Post, table_of, utcnow
from herald.store.takedowns import start_takedown_after_publish

# The Core table for the hot path: a plain UPDATE skips the ORM's bulk-update machinery, which
# costs more than the statement itself on SQLite.
_DT = table_of(Delivery)


#: The scheduler hands a delivery over this long before it is due (seconds), so that by the
#: instant the worker has claimed it, read its payload and built its request, and only the
#: platform call is left; the gate in ``herald.delivery.instant`` holds that call until the due
#: time. Long enough to cover a hand-over on a busy machine (Celery message, SQL claim, Redis
#: reads: a few ms, tens under load), short enough that a worker thread waiting is no cost.
HANDOVER_LEAD_SECONDS = 0.25
#: A delivery may be claimed this early: the hand-over's lead, plus clock skew between the
#: scheduler's machine and the worker's (seconds). The gate, not the claim, keeps it from
#: going out early.
EARLY_CLAIM_SLACK_SECONDS = HANDOVER_LEAD_SECONDS + 0.5


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
    #: When it is due (epoch seconds): the platform call waits for this instant.
    due: float = 0.0


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
    params = {
        "token": token,
        "lease": now + timedelta(seconds=lease_seconds),
        "now": now,
        "due_by": now + timedelta(seconds=EARLY_CLAIM_SLACK_SECONDS),
    }
    ids = list(dict.fromkeys(delivery_ids))
    rows: list[tuple[int, int, str, bool, int, datetime, bool]] = []
    for statement, takeover in ((_CLAIM_QUEUED, False), (_CLAIM_TAKEOVER, True)):
        got = s.execute(statement, {**params, "ids": ids}).all()
        rows += [(int(i), int(a), str(p), bool(n), int(ch), due, takeover) for i, a, p, n, ch, due in got]
        taken = {r[0] for r in rows}
        ids = [i for i in ids if i not in taken]
        if not ids:
            break
    if not rows:
        return []
    versions = {
        str(pid): int(v) for pid, v in s.execute(_VERSIONS, {"ids": list({r[2] for r in rows})}).all()
    }
    s.execute(
        _INSERT_ATTEMPTS,
        [
            {"delivery_id": i, "number": a, "token": token, "started_at": now, "worker": ""}
            for i, a, *_ in rows
        ],
    )
    return [
        Claim(i, token, a, takeover or needs_reconcile, versions[p], ch, _epoch(due))
        for i, a, p, needs_reconcile, ch, due, takeover in sorted(rows)
    ]


def _claim_statement(condition: ColumnElement[bool]) -> Any:
    """publishing, under a new token and lease, for those of ``ids`` that ``condition`` allows."""
    d = _DT.c
    return (
        update(_DT)
        .where(d.id.in_(bindparam("ids", expanding=True)), condition)
        .values(
            state=states.PUBLISHING,
            attempt_token=bindparam("token"),
            lease_expires_at=bindparam("lease"),
            attempts=d.attempts + 1,
            updated_at=bindparam("now", type_=DateTime()),
        )
        .returning(d.id, d.attempts, d.post_id, d.needs_reconcile, d.channel_id, d.due_at)
    )


# Built once (the worker's hot path; why: ``models.table_of``). Due ones still queued; and
# publishing ones whose lease ran out, unless a pause (an emergency stop) holds them: those stay
# with the pause (``store.pauses``).
_CLAIM_QUEUED = _claim_statement(
    and_(_DT.c.state == states.QUEUED, _DT.c.due_at <= bindparam("due_by", type_=DateTime()))
)
_CLAIM_TAKEOVER = _claim_statement(
    and_(
        _DT.c.state == states.PUBLISHING,
        _DT.c.lease_expires_at < bindparam("now", type_=DateTime()),
        _DT.c.paused_at.is_(None),
    )
)
_VERSIONS = select(Post.id, Post.version).where(Post.id.in_(bindparam("ids", expanding=True)))
_INSERT_ATTEMPTS = insert(ATTEMPTS)


def _epoch(at: datetime) -> float:
    """A naive UTC time as epoch seconds."""
    return at.replace(tzinfo=UTC).timestamp()


#: Back on the queue, unless a pause (an emergency stop) came while it was being published.
_QUEUED_UNLESS_PAUSED = case((Delivery.paused_at.is_not(None), states.HELD), else_=states.QUEUED)


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
    res = s.execute(
        _RECORD_PUBLISHED,
        [
            {
                "_id": r.delivery_id,
                "_token": r.token,
                "_remote_id": r.remote_id,
                "_remote_url": r.remote_url,
                "_now": now,
            }
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
            _FINISH_ATTEMPTS,
            [
                {
                    "_id": r.delivery_id,
                    "_token": r.token,
                    "_outcome": r.outcome,
                    "_ms": r.latency_ms,
                    "_now": now,
                }
                for r in mine
            ],
        )
    wanted = {int(i) for (i,) in s.execute(_TAKEDOWN_WANTED, {"ids": list(ours)}).all()} if ours else set()
    for i in wanted:
        start_takedown_after_publish(s, i, now=now)
    return {i: (i in ours, i in wanted) for i in ids}


# ``record_published_many``'s statements, built once (the worker's hot path).
_RECORD_PUBLISHED = (
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
        published_at=bindparam("_now", type_=DateTime()),
        last_error=None,
        needs_reconcile=False,
        lease_expires_at=None,
        updated_at=bindparam("_now", type_=DateTime()),
    )
)
_FINISH_ATTEMPTS = (
    update(ATTEMPTS)
    .where(ATTEMPTS.c.delivery_id == bindparam("_id"), ATTEMPTS.c.token == bindparam("_token"))
    .values(
        outcome=bindparam("_outcome"),
        finished_at=bindparam("_now", type_=DateTime()),
        latency_ms=bindparam("_ms"),
    )
)
_TAKEDOWN_WANTED = select(_DT.c.id).where(
    _DT.c.id.in_(bindparam("ids", expanding=True)), _DT.c.takedown_requested_at.is_not(None)
)


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
    """publishing → queued at ``due_at`` (held, if a pause came meanwhile). ``needs_reconcile``:
    the try may have gone out, so the next one must look it up first."""
    ok = _move(
        s,
        delivery_id,
        token,
        {
            "state": _QUEUED_UNLESS_PAUSED,
            "due_at": due_at,
            "last_error": error,
            "lease_expires_at": None,
            "needs_reconcile": needs_reconcile,
            "updated_at": utcnow(),
        },
    )
    if ok:
        finish_attempt(
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
        finish_attempt(
            s, delivery_id, token, state, http_status=http_status, error=error, latency_ms=latency_ms
        )
    return ok


def defer(
    s: Session, delivery_id: int, token: str, *, due_at: datetime, reason: str, reconcile: bool
) -> bool:
    """publishing → queued (held, if a pause came meanwhile) without using up an attempt (the
    channel is over its posting rate, or paused by a platform's 429 for another delivery).
    ``reconcile`` keeps a pending reconciliation pending."""
    ok = _move(
        s,
        delivery_id,
        token,
        {
            "state": _QUEUED_UNLESS_PAUSED,
            "due_at": due_at,
            "attempts": Delivery.attempts - 1,
            "lease_expires_at": None,
            "needs_reconcile": reconcile,
            "updated_at": utcnow(),
        },
    )
    if ok:
        finish_attempt(s, delivery_id, token, "deferred", error=reason)
    return ok


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
