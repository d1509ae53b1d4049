"""The dispatcher: sleep until the earliest due time, claim what is due, hand it to the workers.

It hands a delivery over ``HANDOVER_LEAD_SECONDS`` before its time, so that the worker has it
claimed and ready when the instant comes; the worker's gate (``herald.delivery.instant``) holds
the platform call until then, so nothing goes out early.

Several dispatchers may run at once (on several machines): the claim is one Lua script, so each
due delivery goes to exactly one of them. A dispatcher sleeps on a local event that a Redis
pub/sub message sets when something earlier may be due (a new post, a retry), so a post queued
for "now" does not wait for the next tick; the longest sleep is ``MAX_SLEEP_SECONDS`` so that
the reaper and the consistency check run even when nothing is due.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import redis

from content_queue import ContentQueue
from content_queue.heartbeats import Heartbeats
from herald.core import metrics
from herald.delivery.staging import ensure_queue
from herald.store.db import Database
from herald.store.deliveries import HANDOVER_LEAD_SECONDS
from herald.store.queue_order import lanes
from herald.store.stats import fold_counts, has_count_changes
from scheduler.lanes import Chain, pack
from scheduler.liveness import Alarms, Health, Liveness, Verdict

log = logging.getLogger(__name__)
alerts = logging.getLogger("herald.alerts")

#: Longest uninterrupted sleep (seconds): bounds how late the reaper notices an expired lease.
MAX_SLEEP_SECONDS = 1.0
#: How often the optional housekeeping job (photo retention) runs (seconds).
HOUSEKEEPING_INTERVAL_SECONDS = 3600.0
#: After a Redis error, wait this long before trying again (seconds).
REDIS_ERROR_BACKOFF_SECONDS = 0.5
#: How often the workers' liveness is judged (seconds).
LIVENESS_INTERVAL_SECONDS = 1.0
#: Repeated conditions (a stall that goes on, leases being reaped) are one log line per this.
REPORT_INTERVAL_SECONDS = 10.0
#: A hand-over gathers at most this many claims (of ``claim_batch`` each) before it is sent.
HANDOVER_CLAIMS = 20
#: How long the liveness verdict stays readable in Redis (a dead scheduler's verdict expires).
LIVENESS_TTL_SECONDS = 30

#: ``send(chains)``: hand messages of deliveries to the workers (``scheduler.lanes``).
Send = Callable[[Sequence[Chain]], None]
#: ``alert(kind, message)``: tell a person (the alerting channels; a log line by default).
Alert = Callable[[str, str], None]


class Companion(Protocol):
    """A duty with its own thread that lives as long as the dispatcher (the alert sender)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def log_alert(kind: str, message: str) -> None:
    alerts.error("ALERT %s: %s", kind, message, extra={"alert": kind})


class Dispatcher:
    def __init__(
        self,
        db: Database,
        queue: ContentQueue,
        send: Send,
        *,
        lease_seconds: float = 30.0,
        claim_batch: int = 500,
        consistency_interval: float = 30.0,
        housekeeping: Callable[[], object] | None = None,
        liveness_bound: float | None = None,
        alert: Alert = log_alert,
        companions: Sequence[Companion] = (),
    ) -> None:
        self.db = db
        self.queue = queue
        self.send = send
        self.lease_seconds = lease_seconds
        self.claim_batch = claim_batch
        self.consistency_interval = consistency_interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._next_check = 0.0
        self.housekeeping = housekeeping
        self._next_housekeeping = time.time() + 60.0  # not at start-up: let the queue settle first
        self.dispatched = 0
        self.heartbeats = Heartbeats(queue.redis, queue.keys)
        #: Messages that wait this long with no worker taking one are a stall (2 leases).
        self.liveness = Liveness(liveness_bound if liveness_bound is not None else 2 * lease_seconds)
        self.alert = alert
        self.companions = tuple(companions)
        self.alarms = Alarms(started=time.time())
        self.verdict = Verdict(Health.OK, 0, 0.0)
        self.stalls = 0
        self._stalled_since: float | None = None
        self._next_liveness = 0.0
        self._next_stall_report = 0.0
        self._reaped = 0
        self._next_reap_report = 0.0
        #: The earliest due time the last sleep was planned around (``herald_scheduler_lag_seconds``).
        self._earliest_due: float | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def run(self) -> None:
        """Run until ``stop()``. Survives Redis restarts (rebuilding the queue from SQL)."""
        listener = threading.Thread(target=self._listen, name="dispatcher-wake", daemon=True)
        listener.start()
        for c in self.companions:
            c.start()
        log.info("dispatcher started (lease %.1f s)", self.lease_seconds)
        while not self._stop.is_set():
            try:
                self.tick()
            except redis.RedisError as e:
                log.warning("dispatcher: Redis unavailable (%s); retrying", e)
                self._next_check = 0.0  # rebuild as soon as Redis is back, if it came back empty
                self._stop.wait(REDIS_ERROR_BACKOFF_SECONDS)
            except Exception:
                log.exception("dispatcher: unexpected error; continuing")
                self._stop.wait(REDIS_ERROR_BACKOFF_SECONDS)
        for c in self.companions:
            c.stop()
        log.info("dispatcher stopped after dispatching %d deliveries", self.dispatched)

    # -- one round -------------------------------------------------------------------------

    def tick(self) -> None:
        """Claim and send everything due, then sleep until the next thing to do."""
        now = time.time()
        if now >= self._next_check:
            ensure_queue(self.db, self.queue, horizon_seconds=self.consistency_interval * 2)
            self._fold_counts()
            self._next_check = now + self.consistency_interval
        self._note_reaped(len(self.queue.reap_expired(now=now)), now)
        if now >= self._next_liveness:
            self._judge_liveness(now)
        if self.housekeeping is not None and now >= self._next_housekeeping:
            self._next_housekeeping = now + HOUSEKEEPING_INTERVAL_SECONDS
            try:
                self.housekeeping()
            except Exception:  # housekeeping must never stop dispatching
                log.exception("housekeeping failed; dispatching goes on")
        # Clear before looking, so a wake-up that arrives while we work is not lost.
        self._wake.clear()
        self.note_lag(time.time())
        if self.verdict.health is Health.STALLED:
            # Nobody takes what was handed over: handing over more would only pile up messages
            # (and re-claim the same deliveries each lease). What waits goes out when a worker
            # takes it; what is due stays on the due set until then.
            self._stop.wait(LIVENESS_INTERVAL_SECONDS)
            return
        claimed: list[int] = []
        while not self._stop.is_set():
            # Handed over a little early: the worker is ready at the instant and its gate
            # (herald.delivery.instant) holds the platform call until then.
            ids = self.queue.claim_due(
                now=time.time() + HANDOVER_LEAD_SECONDS,
                lease_seconds=self.lease_seconds,
                limit=self.claim_batch,
            )
            claimed.extend(ids)
            # Everything due is handed over together (up to a bound), so that a channel's
            # posts due at one instant are one lane, whichever claim took them.
            if len(ids) < self.claim_batch or len(claimed) >= self.claim_batch * HANDOVER_CLAIMS:
                self._hand_over(claimed)
                claimed = []
            if len(ids) < self.claim_batch:
                break
        if claimed:  # stopped mid-way: what was claimed still goes (or its lease brings it back)
            self._hand_over(claimed)
        self._sleep()

    def _hand_over(self, ids: Sequence[int]) -> None:
        """Send ``ids`` to the workers in lanes: each channel's in its queue's order, never two
        of one channel at once (``scheduler.lanes``). Without SQL, each id alone: the workers
        need SQL to publish anyway, and the hand-over must not stop on it."""
        if not ids:
            return
        try:
            with self.db.read() as s:
                found = lanes(s, ids)
        except Exception as e:  # the leases bring back whatever the workers cannot take
            log.warning("dispatcher: no channels for the hand-over (%s); one by one", e)
            found = [(i,) for i in sorted(ids)]
        self.send(pack(found))
        self.dispatched += len(ids)
        log.debug("dispatched %d deliveries in %d lanes", len(ids), len(found))

    def _fold_counts(self) -> None:
        """Add the delivery counts' changes into the counts (``store.stats``), so that what a
        dashboard read adds up stays a consistency interval's worth. A write only when there is
        something to fold; a failure is logged and never stops dispatching."""
        try:
            with self.db.read() as s:
                if not has_count_changes(s):
                    return
            with self.db.session() as s:
                fold_counts(s)
        except Exception:  # the counts are exact without folding, only slower to read
            log.exception("folding the delivery counts failed; dispatching goes on")

    # -- liveness --------------------------------------------------------------------------

    def _judge_liveness(self, now: float) -> None:
        self._next_liveness = now + LIVENESS_INTERVAL_SECONDS
        verdict = self.liveness.judge(
            now=now, waiting=self.heartbeats.handover_waiting(), beats=self.heartbeats.read(now=now)
        )
        was = self.verdict.health
        self.verdict = verdict
        due = self._earliest_due
        for kind, message in self.alarms.changes(
            now=now, verdict=verdict, lag=now - due if due is not None and due <= now else 0.0
        ):
            self.alert(kind, message)
        if verdict.health is Health.STALLED:
            if was is not Health.STALLED:
                self.stalls += 1
                self._stalled_since = now
                self._next_stall_report = now + REPORT_INTERVAL_SECONDS
                log.warning(
                    "workers stalled: %s; handing over paused", verdict.reason, extra=verdict.to_dict()
                )
                self.alert("workers-stalled", verdict.reason)
            elif now >= self._next_stall_report:
                self._next_stall_report = now + REPORT_INTERVAL_SECONDS
                log.warning(
                    "workers still stalled after %.0f s: %s",
                    now - (self._stalled_since or now),
                    verdict.reason,
                    extra=verdict.to_dict(),
                )
        elif was is Health.STALLED:
            log.warning(
                "workers take messages again after a stall of %.0f s; handing over resumes",
                now - (self._stalled_since or now),
            )
            self._stalled_since = None
        elif verdict.health is Health.BUSY and now >= self._next_stall_report:
            self._next_stall_report = now + REPORT_INTERVAL_SECONDS
            log.info("%s", verdict.reason)
        report = {**verdict.to_dict(), "at": now, "stalls": self.stalls}
        self.heartbeats.publish_verdict(report, LIVENESS_TTL_SECONDS)

    def _note_reaped(self, n: int, now: float) -> None:
        """Expired leases are worth a warning, once per interval, not once per tick."""
        self._reaped += n
        if self._reaped and now >= self._next_reap_report:
            log.warning("reaped %d expired leases (a worker died or was too slow)", self._reaped)
            self._reaped = 0
            self._next_reap_report = now + REPORT_INTERVAL_SECONDS

    def note_lag(self, now: float) -> None:
        """How late this hand-over runs: the time since the earliest due delivery the last sleep
        knew of. It grows while handing over is paused (a stall) or a tick runs long; read from
        what ``_sleep`` already fetched, so it costs no round trip."""
        due = self._earliest_due
        metrics.SCHEDULER_LAG.set(now - due if due is not None and due <= now else 0.0)

    def _sleep(self) -> None:
        now = time.time()
        wait = MAX_SLEEP_SECONDS
        nxt = self._earliest_due = self.queue.next_due()
        if nxt is not None:
            wait = min(wait, nxt - HANDOVER_LEAD_SECONDS - now)
        lease = self.queue.next_lease_expiry()
        if lease is not None:
            wait = min(wait, lease - now + 0.01)
        wait = min(wait, self._next_check - now)
        if wait > 0:
            self._wake.wait(wait)

    def _listen(self) -> None:
        """Set the wake event on every message on the wake channel; reconnect on errors."""
        while not self._stop.is_set():
            try:
                pubsub = self.queue.redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]  # redis-py
                pubsub.subscribe(self.queue.keys.wake)
                while not self._stop.is_set():
                    msg = pubsub.get_message(timeout=0.5)
                    if msg is not None:
                        self._wake.set()
            except redis.RedisError:
                self._stop.wait(REDIS_ERROR_BACKOFF_SECONDS)
