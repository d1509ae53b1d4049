"""Writing a batch's outcomes to SQL, then acknowledging Redis.

Every outcome is written in one transaction, each as a compare-and-set with the claim's
attempt token; only after the commit is Redis acknowledged, in one round trip. A crash between
the two leaves the deliveries in flight: the reaper returns them and the next claim sorts them
out. A lost compare-and-set means our lease ran out and another worker took the delivery over:
it reconciles, so we touch nothing (``Recorded.ours`` is False).

Every outcome moves the metrics (``herald.core.metrics``: an in-memory increment each), and
every one a person may have to act on (failed, uncertain, deferred, held: a paused channel, a
missed window, a blackout) is one WARNING line in the worker's own output with the delivery,
its platform, the outcome and the reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import assert_never

from sqlalchemy.orm import Session

from content_queue import ContentQueue
from herald.core import metrics
from herald.delivery.alerting import alert_outcomes
from herald.delivery.outcomes import (
    Deferred,
    Failed,
    Held,
    Kept,
    Outcome,
    Published,
    Retry,
    Uncertain,
)
from herald.delivery.staging import to_epoch
from herald.store import states
from herald.store.db import Database
from herald.store.deliveries import (
    PublishedRecord,
    defer,
    mark_final,
    mark_retry,
    pause_channel,
    record_published_many,
)

log = logging.getLogger(__name__)

#: An acknowledgement for ``ContentQueue.settle``: (action, delivery id, argument).
Ack = tuple[str, int, object]


@dataclass(frozen=True)
class Recorded:
    """An outcome as written. ``ours`` is False when the claim was lost before it was written."""

    outcome: Outcome
    ours: bool

    @property
    def answer(self) -> str:
        return self.outcome.answer if self.ours else "lost-claim"


def record(db: Database, queue: ContentQueue, outcomes: Sequence[Outcome]) -> list[Recorded]:
    """Write ``outcomes`` (one transaction), then acknowledge Redis (one round trip)."""
    acks: list[Ack] = []
    recorded = []
    with db.session() as s:
        published = record_published_many(
            s,
            [
                PublishedRecord(
                    o.claim.delivery_id, o.claim.token, o.remote_id, o.url, o.answer, o.latency_ms
                )
                for o in outcomes
                if isinstance(o, Published)
            ],
        )
        for o in outcomes:
            ours = _write(s, o, published, acks)
            if not ours:
                log.error(
                    "delivery %s: %s but the claim was lost; the new holder will reconcile",
                    o.claim.delivery_id,
                    o.answer,
                    extra=o.fields,
                )
            recorded.append(Recorded(o, ours))
        alert_outcomes(s, [r.outcome for r in recorded if r.ours])
    queue.settle(acks)
    now = time.time()
    for r in recorded:
        _measure(r, now)
        if not r.ours:
            continue
        if isinstance(r.outcome, Published):
            _log_published(r.outcome)
        elif isinstance(r.outcome, Failed | Uncertain | Deferred | Held):
            _warn(r.outcome)
    return recorded


def _write(s: Session, o: Outcome, published: Mapping[int, tuple[bool, bool]], acks: list[Ack]) -> bool:
    """Write one outcome (publications are already written, in bulk: ``published`` says how
    each went) and queue its acknowledgement. Returns whether the claim was still ours."""
    d, token = o.claim.delivery_id, o.claim.token
    match o:
        case Published():
            ours, takedown = published[d]
            if takedown:
                # Someone pulled the post while we were publishing it: delete it next.
                acks.append(("requeue", d, time.time()))
            elif ours:
                acks.append(("release", d, o.photo_shas))
            return ours
        case Retry():
            ours = mark_retry(
                s,
                d,
                token,
                due_at=o.due,
                error=o.error,
                http_status=o.status,
                latency_ms=o.latency_ms,
                needs_reconcile=o.needs_reconcile,
            )
            if ours:
                acks.append(("requeue", d, to_epoch(o.due)))
            return ours
        case Deferred():
            ours = defer(s, d, token, due_at=o.due, reason=o.reason, reconcile=o.needs_reconcile)
            if ours:
                acks.append(("requeue", d, to_epoch(o.due)))
            return ours
        case Failed():
            ours = _final(s, o, states.FAILED, o.error, o.status, o.latency_ms, acks)
            if o.pause is not None:
                pause_channel(s, o.pause.channel_id, o.pause.reason)
            return ours
        case Uncertain():
            return _final(s, o, states.UNCERTAIN, o.error, o.status, o.latency_ms, acks)
        case Held():
            return _final(s, o, states.HELD, o.reason, None, None, acks)
        case Kept():
            return True  # nothing to write: the lease runs out and the next claim reconciles
        case _:
            assert_never(o)


def _final(
    s: Session,
    o: Failed | Uncertain | Held,
    state: str,
    error: str,
    status: int | None,
    latency_ms: float | None,
    acks: list[Ack],
) -> bool:
    ours = mark_final(
        s, o.claim.delivery_id, o.claim.token, state, error=error, http_status=status, latency_ms=latency_ms
    )
    if ours:
        acks.append(("release", o.claim.delivery_id, o.photo_shas))
    return ours


def _measure(r: Recorded, now: float) -> None:
    """Move the metrics for one written outcome (memory only: no round trip)."""
    o = r.outcome
    if isinstance(o, Kept):
        metrics.DELIVERIES.labels("unknown", r.answer).inc()
        return
    platform = o.payload.platform
    metrics.DELIVERIES.labels(platform, r.answer).inc()
    if not r.ours:
        return
    if isinstance(o, Retry):
        metrics.RETRIES.labels(platform).inc()
    elif isinstance(o, Deferred):
        metrics.DEFERRALS.labels(platform).inc()
    if isinstance(o, Published | Retry | Failed | Uncertain) and o.latency_ms > 0:
        metrics.PLATFORM_CALL.labels(platform).observe(o.latency_ms / 1000)
    if isinstance(o, Published) and not o.reconciled:
        # A reconciled post went out on an earlier try, at a time we do not know.
        metrics.LATENESS.labels(platform).observe(max(0.0, now - o.payload.due))


def _warn(o: Failed | Uncertain | Deferred | Held) -> None:
    """One line a person can act on, in the worker's own output."""
    reason = o.reason if isinstance(o, Deferred | Held) else o.error
    log.warning(
        "delivery %s %s on %s: %s",
        o.claim.delivery_id,
        o.answer,
        o.payload.platform,
        reason,
        extra={**o.fields, "outcome": o.answer},
    )


def _log_published(o: Published) -> None:
    log.info(
        "delivery %s %s on %s as %s (%.0f ms, %.3f s after due)",
        o.claim.delivery_id,
        o.answer,
        o.payload.platform,
        o.remote_id,
        o.latency_ms,
        time.time() - o.payload.due,
        extra={**o.fields, "duration_ms": round(o.latency_ms, 1), "remote_id": o.remote_id},
    )
