"""A worker's own liveness: a heartbeat of what it took, and a watchdog for a deaf consumer.

Celery on Redis can fail quietly: after the broker connection drops (at start-up, or twice
within seconds) the consumer may reconnect and never ask for a message again (celery#8030,
#8091, #9054, #4453), or wait for ever on a half-open socket. The process looks healthy. So the
watchdog measures consumption, not the process:

- every second it publishes this worker's heartbeat (``content_queue.heartbeats``): when it
  last took a message, how many it holds, how many it may hold, whether its consumer is
  connected. The scheduler reads them to tell a worker that is gone from one that is deaf;
- when messages have waited ``deaf_after`` seconds while this worker had free slots and took
  none, or its consumer has not reconnected ``reconnect_grace`` seconds after Redis came back,
  it says why and ends the process with ``EXIT_DEAF`` so that its supervisor (``herald up``,
  the compose file's restart policy, systemd) starts a fresh one. Deliveries it held are safe:
  their leases run out, and the next claim reconciles them.

A Redis outage is not deafness: the watchdog says the worker waits, and the consumer
reconnects on its own (``broker_connection_max_retries = None``), however long it takes.

The two Celery hooks are bootsteps, Celery's own extension points: ``ConsumerWatch`` runs each
time the consumer (re)connects or loses its connection; ``WatchdogStep`` starts and stops the
watchdog thread with the worker.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from celery import bootsteps
from celery.signals import task_received
from celery.worker import state as worker_state

from content_queue.heartbeats import Heartbeats, WorkerBeat
from herald.core.settings import get_settings, redis_url

log = logging.getLogger(__name__)

#: The exit status of a worker the watchdog ended (EX_TEMPFAIL: "try again").
EXIT_DEAF = 75
#: How often the worker beats and the watchdog looks (seconds).
BEAT_SECONDS = 1.0
#: Longest gap between Celery's own reconnection attempts (kombu backs off 2, 4, ... 30 s), plus
#: a margin: a consumer still trying within this is reconnecting, not stuck.
RECONNECT_GRACE_SECONDS = 40.0
#: Conditions that go on are one log line per this (seconds).
REPORT_SECONDS = 10.0
#: How long a deaf worker waits for the deliveries it holds before it exits (seconds).
DRAIN_SECONDS = 30.0


class ConsumerState:
    """What Celery's consumer did, as the hooks below saw it (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.connected = False
        self.connected_at: float | None = None
        self.last_taken_at: float | None = None
        self.taken = 0
        self._consumer: Any = None  # Celery's Consumer (untyped)

    def on_connected(self, consumer: Any) -> None:
        with self._lock:
            self.connected, self.connected_at, self._consumer = True, time.time(), consumer

    def on_disconnected(self) -> None:
        with self._lock:
            self.connected = False

    def on_taken(self) -> None:
        with self._lock:
            self.taken += 1
            self.last_taken_at = time.time()

    @staticmethod
    def inflight() -> int:
        """Messages taken and not finished (Celery's reserved requests)."""
        return len(worker_state.reserved_requests)

    def capacity(self, default: int) -> int:
        """How many messages the consumer may hold now (its prefetch count)."""
        qos = getattr(self._consumer, "qos", None)
        value = getattr(qos, "value", 0) if qos is not None else 0
        return int(value) if value else default


STATE = ConsumerState()


@task_received.connect
def _on_task_received(**_: object) -> None:
    STATE.on_taken()


class ConsumerWatch(bootsteps.StartStopStep):  # type: ignore[misc]  # Celery is untyped
    """Runs each time the consumer starts consuming (after every reconnection) and stops."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, c: Any) -> None:
        STATE.on_connected(c)
        queues = ", ".join(q.name for q in getattr(c.task_consumer, "queues", ()))
        log.info("consumer connected; taking messages from %s", queues or "its queues")

    def stop(self, c: Any) -> None:
        if STATE.connected:
            STATE.on_disconnected()
            log.info("consumer stopped taking messages")

    shutdown = terminate = stop


@dataclass(frozen=True)
class WatchdogConfig:
    name: str
    redis_url: str
    #: Default prefetch limit (concurrency × prefetch multiplier).
    capacity: int
    #: None: beat and report, but never end the process (in-process test workers).
    deaf_after: float | None
    reconnect_grace: float = RECONNECT_GRACE_SECONDS


class Watchdog(threading.Thread):
    """Beats every second and ends the process if the consumer is deaf (see the module)."""

    def __init__(self, config: WatchdogConfig, state: ConsumerState = STATE) -> None:
        super().__init__(name="watchdog", daemon=True)
        self.config = config
        self.state = state
        self.started_at = time.time()
        self.heartbeats = Heartbeats(
            redis.Redis.from_url(config.redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
        )
        self._halt = threading.Event()
        self._redis_down_since: float | None = None
        self._redis_back_at: float | None = None
        self._waiting_free_since: float | None = None
        self._next_report = 0.0

    def stop(self) -> None:
        self._halt.set()
        try:
            self.heartbeats.forget(self.config.name)
        except redis.RedisError:
            pass

    def run(self) -> None:
        if self.config.deaf_after is None:
            log.warning("watchdog off (HERALD_WORKER_WATCHDOG_SECONDS=0): a deaf worker is not replaced")
        else:
            log.info(
                "watchdog on: a worker that takes nothing for %.0f s while messages wait and it "
                "has free slots exits with status %d for its supervisor to replace",
                self.config.deaf_after,
                EXIT_DEAF,
            )
        while not self._halt.wait(BEAT_SECONDS):
            try:
                verdict = self.look(time.time())
            except Exception:  # the watchdog must never be what kills a healthy worker
                log.exception("watchdog: unexpected error; looking again in %.0f s", BEAT_SECONDS)
                continue
            if verdict and self.config.deaf_after is not None:
                self.exit_deaf(verdict)

    def beat(self, now: float) -> WorkerBeat:
        s = self.state
        return WorkerBeat(
            name=self.config.name,
            pid=os.getpid(),
            started_at=self.started_at,
            beat_at=now,
            connected=s.connected,
            last_taken_at=s.last_taken_at,
            taken=s.taken,
            inflight=s.inflight(),
            capacity=s.capacity(self.config.capacity),
        )

    def look(self, now: float) -> str | None:
        """Beat, then judge. Returns why the consumer is deaf, or None."""
        beat = self.beat(now)
        try:
            self.heartbeats.publish(beat)
            waiting = self.heartbeats.handover_waiting()
        except (redis.ConnectionError, redis.TimeoutError) as e:
            if self._redis_down_since is None:
                self._redis_down_since = now
                self._next_report = now + REPORT_SECONDS
                log.warning("Redis unreachable (%s); the worker waits for it and reconnects", e)
            elif now >= self._next_report:
                self._next_report = now + REPORT_SECONDS
                log.warning(
                    "Redis unreachable for %.0f s; the worker waits for it", now - self._redis_down_since
                )
            self._waiting_free_since = None
            return None
        except redis.RedisError as e:  # Redis answers, but not as expected: say so, judge nothing
            if now >= self._next_report:
                self._next_report = now + REPORT_SECONDS
                log.error("watchdog cannot read the hand-over queue: %s", e)
            return None
        if self._redis_down_since is not None:
            log.info("Redis answers again after %.0f s", now - self._redis_down_since)
            self._redis_down_since = None
            self._redis_back_at = now
        if not self.state.connected:
            back = self._redis_back_at or self.started_at
            if now - back > self.config.reconnect_grace:
                return f"Redis has answered for {now - back:.0f} s but the consumer has not reconnected"
            return None
        if waiting <= 0 or beat.free <= 0:
            self._waiting_free_since = None
            return None
        if self._waiting_free_since is None:
            self._waiting_free_since = now
        since = max(self._waiting_free_since, beat.last_taken_at or 0.0, self.state.connected_at or 0.0)
        if self.config.deaf_after is None or now - since <= self.config.deaf_after:
            return None
        took = (
            "never took one"
            if beat.last_taken_at is None
            else f"last took one {now - beat.last_taken_at:.0f} s ago"
        )
        return (
            f"{waiting} messages waited {now - since:.0f} s while this worker had {beat.free} free "
            f"slots of {beat.capacity} and took none ({took}); its consumer is deaf"
        )

    def exit_deaf(self, why: str) -> None:
        """Say why, let the deliveries in hand finish (bounded), and end the process."""
        held = self.state.inflight()
        log.critical(
            "watchdog: %s; exiting with status %d so that a fresh worker replaces this one "
            "(%d deliveries in hand: waiting up to %.0f s for them)",
            why,
            EXIT_DEAF,
            held,
            DRAIN_SECONDS,
        )
        deadline = time.monotonic() + DRAIN_SECONDS
        while self.state.inflight() and time.monotonic() < deadline:
            time.sleep(0.1)
        # The heartbeat stays: it goes stale, and the scheduler names this worker as gone.
        self._halt.set()
        for h in logging.getLogger().handlers:
            h.flush()
        # os._exit: Celery's shutdown would wait on the deaf consumer. Prefork children see
        # their parent gone and stop; leases cover anything they held.
        os._exit(EXIT_DEAF)


class WatchdogStep(bootsteps.StartStopStep):  # type: ignore[misc]  # Celery is untyped
    """Starts the watchdog with the worker (before the consumer connects: Redis may be down)."""

    requires = ("celery.worker.components:Pool",)

    def __init__(self, w: Any, **kwargs: Any) -> None:
        super().__init__(w, **kwargs)
        self.dog: Watchdog | None = None

    def start(self, w: Any) -> None:
        settings = get_settings()
        multiplier = int(w.app.conf.worker_prefetch_multiplier or 1)
        self.dog = Watchdog(
            WatchdogConfig(
                name=w.hostname,
                redis_url=redis_url(settings),
                capacity=max(1, int(w.concurrency or 1) * multiplier),
                deaf_after=settings.worker_watchdog_seconds or None,
            )
        )
        self.dog.start()

    def stop(self, w: Any) -> None:
        if self.dog is not None:
            self.dog.stop()
            self.dog = None

    # A cold shutdown (Celery's test worker ends that way) stops the watchdog too.
    shutdown = terminate = stop
