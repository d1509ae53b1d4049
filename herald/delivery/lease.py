"""The lease heartbeat: a live worker keeps the deliveries it is publishing.

A claim's lease (in SQL, and the in-flight score in Redis) runs out after ``lease_seconds``
unless renewed; when it does, the next claim takes the delivery over and reconciles. One
long-lived thread per worker renews every lease held, each third of a lease, so a slow but
alive worker is never taken over, and a dead one stops renewing and its leases run out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from content_queue import ContentQueue
from herald.store.db import Database
from herald.store.deliveries import Claim, extend_leases

log = logging.getLogger(__name__)


class LeaseHeartbeat:
    def __init__(self, db: Database, queue: ContentQueue, lease_seconds: float) -> None:
        self.db = db
        self.queue = queue
        self.lease_seconds = lease_seconds
        self._lock = threading.Lock()
        #: Leases held right now: delivery ids by claim token.
        self._held: dict[str, list[int]] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @contextmanager
    def holding(self, claims: Sequence[Claim]) -> Iterator[None]:
        """Renew these claims' leases (one batch: one token) until the block ends."""
        token = claims[0].token
        with self._lock:
            self._held[token] = [c.delivery_id for c in claims]
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._held.pop(token, None)

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            with self._lock:
                held = dict(self._held)
            if not held:
                continue
            try:
                with self.db.session() as s:
                    for token, ids in held.items():
                        extend_leases(s, ids, token, lease_seconds=self.lease_seconds)
                self.queue.extend_leases([i for ids in held.values() for i in ids], self.lease_seconds)
            except Exception:  # a failed beat only shortens the leases; never kill a publish
                log.warning("lease heartbeat failed for %s", held, exc_info=True)
