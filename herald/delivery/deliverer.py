"""The worker's loop body: claim deliveries, publish them, record the outcomes, ack Redis.

This is the heart of "exactly once", one step per module:

1. ``claim``: a compare-and-set in SQL (queued → publishing, a fresh attempt token, a lease);
   a re-delivered message, a second worker or a cancelled post lose here. The attempt rows
   (and each delivery's idempotency key) are in SQL before any platform call. A delivery
   being taken down is handed to ``takedown``; any other id we could not claim has its queue
   entry put right.
2. ``prepare``: payloads, photos, the connector (``connectors``) and the draft.
3. ``decide`` holds or defers before the call; ``rate`` keeps the channel's posting rate.
4. ``call``: if an earlier try may have gone out (an expired lease, an uncertain answer), the
   connector reconciles first: idempotent platforms resend with the same key, the others look
   the post up. ``decide`` turns the result into an outcome (``outcomes``), under ``retry``.
5. ``record``: outcomes are written with the attempt token; only then is Redis acknowledged.
   A crash in between leaves the deliveries in flight, the reaper returns them, and step 1
   sorts it out. ``lease`` renews the batch's leases meanwhile.

A batch (``deliver_many``) costs one SQL commit to claim and one to record, and a handful of
Redis round trips, whatever its size; each platform call is still made and judged on its own.
The price of batching the record step: if the worker dies after publishing part of a batch,
those deliveries are reconciled by the next claim instead of being recorded at once, the same
path as any crash, so nothing is lost or sent twice.

Nothing here imports Celery: ``tasks.publish`` drives a ``Deliverer``, and so can a plain loop
over ``ContentQueue.claim_due``.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence

from content_queue import ContentQueue
from herald.delivery.call import Raised, call
from herald.delivery.claim import Batch, claim_batch, look_up, settle_unclaimed
from herald.delivery.connectors import ConnectorFactory, Connectors, default_connector_factory
from herald.delivery.decide import before_call, decide, deferral
from herald.delivery.instant import not_before
from herald.delivery.lease import LeaseHeartbeat
from herald.delivery.outcomes import Kept, Outcome, log_fields
from herald.delivery.prepare import Drafts, Job, jobs
from herald.delivery.rate import RateGate, posting_window, sending_at
from herald.delivery.record import record
from herald.delivery.retry import RetryPolicy
from herald.delivery.takedown import Takedown
from herald.delivery.thread import publish_thread
from herald.store import states
from herald.store.crypto import CredentialBox
from herald.store.db import Database

__all__ = ["ConnectorFactory", "Deliverer", "RetryPolicy", "default_connector_factory", "posting_window"]

log = logging.getLogger(__name__)


class Deliverer:
    """One per worker process. Connectors are cached per channel so HTTP connections are
    reused; ``close`` closes them and stops the lease heartbeat."""

    def __init__(
        self,
        db: Database,
        queue: ContentQueue,
        box: CredentialBox,
        *,
        lease_seconds: float = 30.0,
        retry: RetryPolicy | None = None,
        connector_factory: ConnectorFactory = default_connector_factory,
        worker_name: str | None = None,
        public_url: str | None = None,
    ) -> None:
        self.db = db
        self.queue = queue
        self.lease_seconds = lease_seconds
        self.retry = retry or RetryPolicy()
        self.worker_name = worker_name or socket.gethostname()
        self.connectors = Connectors(box, connector_factory)
        self.drafts = Drafts(queue, public_url)
        self.heartbeat = LeaseHeartbeat(db, queue, lease_seconds)
        self.takedown = Takedown(db, queue, self.connectors, retry=self.retry, lease_seconds=lease_seconds)

    def deliver(self, delivery_id: int) -> str:
        """Publish one delivery if it is ours to publish. Returns what happened."""
        return self.deliver_many([delivery_id])[0]

    def deliver_many(self, delivery_ids: Sequence[int]) -> list[str]:
        """Publish every one of ``delivery_ids`` that is ours to publish, in order, and take
        down those being taken down. Returns what happened to each, for logs and tests:
        ``published``, ``reconciled``, ``retry``, ``deferred``, ``failed``, ``uncertain``,
        ``held``, ``error`` (left to its lease), ``lost-claim``; for ids not claimed,
        ``busy``, ``not-due``, ``done``, ``missing``; for takedowns, ``deleted``, ``retry``,
        ``takedown-refused`` or ``busy``."""
        ids = [int(i) for i in delivery_ids]
        batch = claim_batch(self.db, ids, lease_seconds=self.lease_seconds)
        claimed = {c.delivery_id for c in batch.claims}
        answers: dict[int, str] = {}
        for i in ids:
            if i not in claimed and i not in answers:
                answers[i] = self._unclaimed(i)
        if batch.claims:
            for r in record(self.db, self.queue, self._publish(batch)):
                answers[r.outcome.claim.delivery_id] = r.answer
        return [answers[i] for i in ids]

    def keep_waiting(self, delivery_ids: Sequence[int]) -> None:
        """Renew the hand-over leases of deliveries handed over but waiting their turn behind
        the one being published (a channel's lane, ``scheduler.lanes``): only those still in
        flight, never one already done or handed back."""
        self.queue.extend_leases(delivery_ids, self.lease_seconds)

    def close(self) -> None:
        self.heartbeat.stop()
        self.connectors.close()

    def _unclaimed(self, delivery_id: int) -> str:
        standing = look_up(self.db, delivery_id)
        if standing is not None and standing.state == states.DELETING:
            return self.takedown.take_down(delivery_id, standing.lease_expires_at)
        return settle_unclaimed(self.queue, delivery_id, standing)

    def _publish(self, batch: Batch) -> list[Outcome]:
        """An outcome per claim, in order. An unexpected error (a bug, SQL or Redis failing)
        stops the batch: what is decided is kept, the rest keep their claims (``Kept``)."""
        outcomes: list[Outcome] = []
        try:
            with self.heartbeat.holding(batch.claims):
                gate = RateGate(self.queue, batch.channels.keys())
                for job in jobs(self.db, self.queue, batch.claims, batch.channels):
                    outcomes.append(self._publish_one(job, gate))
        except Exception:
            # The leases of the undecided ones expire, and the next claim takes them over and
            # reconciles, so nothing is lost or sent twice.
            log.exception(
                "deliveries %s: unexpected error; the leases will expire and they will be retried",
                [c.delivery_id for c in batch.claims[len(outcomes) :]],
            )
        return outcomes + [Kept(c) for c in batch.claims[len(outcomes) :]]

    def _publish_one(self, job: Job, gate: RateGate) -> Outcome:
        # Judged as of the instant the call will be made (a hand-over comes a little early).
        held = before_call(job, now=sending_at(job.claim))
        if held is not None:
            return held
        connector = self.connectors.for_channel(job.channel)
        until = gate.until(job.channel, connector, job.claim)
        if until is not None:
            return deferral(job, until)
        draft, shared = self.drafts.draft(job, connector)
        try:
            # Everything is ready: the platform hears nothing before the due time.
            not_before(job.claim.due)
            if job.payload.parts:
                return publish_thread(self.db, connector, job, draft, gate, self.retry)
            result = call(
                connector, draft, takeover=job.claim.takeover, fields=log_fields(job.claim, job.payload)
            )
        finally:
            # The platform has fetched what it needed once the call returns: stop serving it.
            self.queue.unshare_photos(shared)
        if isinstance(result, Raised):
            gate.note(job.channel.id, result.error)
        return decide(job, result, self.retry)
