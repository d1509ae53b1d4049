"""Claiming deliveries in SQL, and answering for the ones we could not claim.

``claim_batch`` is one compare-and-set over the whole batch (queued → publishing with a fresh
attempt token and a lease, or a take-over of an expired lease): a re-delivered message, a
second worker or a cancelled post lose here. A delivery id that was not claimed is looked up
(``look_up``) and its queue entry put right (``settle_unclaimed``), except a takedown, which is
work of its own (``takedown.Takedown``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from content_queue import ContentQueue
from herald.delivery.staging import to_epoch
from herald.store import states
from herald.store.db import Database
from herald.store.deliveries import Claim, claim_many
from herald.store.models import Channel, Delivery

#: How long after another holder's lease ends we look at its delivery again, seconds.
LEASE_GRACE_SECONDS = 0.05


@dataclass(frozen=True)
class Batch:
    """The deliveries this worker now holds (one attempt token), and their channels (detached
    from the session: read-only)."""

    claims: tuple[Claim, ...]
    channels: Mapping[int, Channel]


def claim_batch(db: Database, delivery_ids: Sequence[int], *, lease_seconds: float) -> Batch:
    """Claim every claimable one of ``delivery_ids`` in one transaction."""
    with db.session() as s:
        claims = claim_many(s, delivery_ids, lease_seconds=lease_seconds)
        channels = _channels(s, {c.channel_id for c in claims})
    return Batch(tuple(claims), channels)


def _channels(s: Session, ids: Collection[int]) -> dict[int, Channel]:
    if not ids:
        return {}
    found = {ch.id: ch for ch in s.execute(select(Channel).where(Channel.id.in_(ids))).scalars()}
    for ch in found.values():
        s.expunge(ch)
    return found


@dataclass(frozen=True)
class Standing:
    """Where an unclaimed delivery stands now."""

    state: str
    lease_expires_at: datetime | None
    due_at: datetime | None


def look_up(db: Database, delivery_id: int) -> Standing | None:
    """The delivery's state, lease and due time; None if there is no such delivery."""
    with db.session() as s:
        d = s.get(Delivery, delivery_id)
        return Standing(d.state, d.lease_expires_at, d.due_at) if d is not None else None


def settle_unclaimed(queue: ContentQueue, delivery_id: int, standing: Standing | None) -> str:
    """Put the queue entry of a delivery we could not claim right, and say why it was not
    ours: ``missing``, ``busy`` (another worker holds it), ``not-due`` or ``done``.
    Not for a delivery being taken down (``Takedown.take_down``)."""
    if standing is None:
        queue.release(delivery_id, [])
        return "missing"
    if standing.state == states.PUBLISHING and standing.lease_expires_at is not None:
        # Another worker holds it under a live lease: look again when that lease ends.
        queue.hold_inflight(delivery_id, to_epoch(standing.lease_expires_at) + LEASE_GRACE_SECONDS)
        return "busy"
    if standing.state == states.QUEUED and standing.due_at is not None:
        # Not due yet (edited to a later time, or a stale message): back on the due set.
        queue.requeue(delivery_id, to_epoch(standing.due_at))
        return "not-due"
    queue.release(delivery_id)
    return "done"
