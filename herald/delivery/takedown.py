"""Takedowns: deleting a published post from its platform because a person asked.

A takedown is work of its own, queued like a publication: the service moves the delivery to
``deleting`` and stages it; a worker claims the takedown under a lease (one worker deletes at
a time), asks the connector to delete the post (every part of a thread, last first), and
records the result. Deleting twice is
harmless (a post already gone counts as deleted), so a lost answer is simply tried again.

::

    deleting ──delete──▶ deleted
        │  └─ refused ─▶ published, with the refusal noted
        └── retryable ─▶ deleting again after a backoff
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from content_queue import ContentQueue
from herald.core.errors import HeraldError, RetryableError, UncertainError
from herald.delivery.claim import LEASE_GRACE_SECONDS
from herald.delivery.connectors import Connectors
from herald.delivery.retry import RetryPolicy
from herald.delivery.staging import to_epoch
from herald.store import states
from herald.store.db import Database
from herald.store.models import Channel, utcnow
from herald.store.parts import parts_of
from herald.store.takedowns import TakedownClaim, claim_takedown, finish_takedown

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Takedown:
    """The takedown worker: ``take_down`` deletes one delivery's post. It shares the worker's
    connectors (and their HTTP connections) with the publishing path."""

    db: Database
    queue: ContentQueue
    connectors: Connectors
    retry: RetryPolicy
    lease_seconds: float

    def take_down(self, delivery_id: int, lease_expires_at: datetime | None = None) -> str:
        """Delete the post of a ``deleting`` delivery from its platform. ``lease_expires_at``
        is its lease as the caller read it: while another worker's lease is live, the delivery
        stays in flight until then. Returns ``deleted``, ``retry``, ``takedown-refused`` or
        ``busy`` (another worker holds it)."""
        if lease_expires_at is not None and lease_expires_at > utcnow():
            self.queue.hold_inflight(delivery_id, to_epoch(lease_expires_at) + LEASE_GRACE_SECONDS)
            return "busy"
        with self.db.session() as s:
            tc = claim_takedown(s, delivery_id, lease_seconds=self.lease_seconds)
            channel = s.get(Channel, tc.channel_id) if tc else None
            if channel is not None:
                s.expunge(channel)
        if tc is None or channel is None:
            return "busy"
        fields = {"delivery_id": delivery_id, "platform": channel.platform, "attempt": tc.attempt_no}
        with self.db.read() as s:
            parts = parts_of(s, [delivery_id]).get(delivery_id, [])
        # A thread comes down last part first, so no reply is ever left without its parent;
        # deleting twice is harmless, so a retry starts over.
        remote_ids = [p.remote_id for p in reversed(parts) if p.remote_id] or [tc.remote_id]
        t0 = time.monotonic()
        try:
            connector = self.connectors.for_channel(channel)
            for remote_id in remote_ids:
                connector.delete(remote_id)
        except (RetryableError, UncertainError) as e:
            # Connectors report a lost answer to a delete as retryable; an uncertain one is
            # treated the same, since deleting twice is harmless.
            return self._retry(tc, e, fields)
        except HeraldError as e:
            with self.db.session() as s:
                finish_takedown(s, tc, "refused", error=str(e))
            self.queue.release(delivery_id)
            log.error("takedown of delivery %s refused: %s", delivery_id, e, extra=fields)
            return "takedown-refused"
        ms = (time.monotonic() - t0) * 1000
        with self.db.session() as s:
            finish_takedown(s, tc, "deleted", latency_ms=ms)
        self.queue.release(delivery_id)
        log.info("delivery %s taken down from %s (%.0f ms)", delivery_id, channel.platform, ms, extra=fields)
        return states.DELETED

    def _retry(self, tc: TakedownClaim, e: RetryableError | UncertainError, fields: dict[str, object]) -> str:
        delay = self.retry.delay(tc.attempt_no, e.retry_after if isinstance(e, RetryableError) else None)
        with self.db.session() as s:
            ours = finish_takedown(s, tc, "retry", error=str(e), retry_at=utcnow() + timedelta(seconds=delay))
        if ours:
            self.queue.requeue(tc.delivery_id, time.time() + delay)
        log.warning("takedown of delivery %s: retry in %.1f s: %s", tc.delivery_id, delay, e, extra=fields)
        return "retry"
