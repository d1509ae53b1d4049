"""The queue's health, as ``/healthz`` shows it, and the health panel a manager reads on the
dashboard: is Redis answering, is the database, which workers beat and how long ago, is a
scheduler judging them, how late the hand-over runs, and how much waits."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis

from content_queue.heartbeats import Heartbeats
from content_queue.levels import read_levels
from herald.service.answers import Answer, QueueHealth
from herald.service.base import ServiceBase
from scheduler.liveness import BEAT_TIMEOUT_SECONDS, LAG_ALERT_SECONDS

log = logging.getLogger(__name__)

#: What the panel can find wrong, worst first; the page says each in words (``_health.html``).
#: Bad: posts do not go out (nothing is queued, nobody hands them over, nobody publishes).
#: Warning: they go out, late.
BAD_PROBLEMS = ("redis-down", "database-down", "no-scheduler", "no-worker", "workers-stalled")
WARNING_PROBLEMS = ("scheduler-lagging", "workers-busy")


@dataclass(frozen=True)
class WorkerState(Answer):
    name: str
    #: Seconds since its last heartbeat (workers beat every second).
    beat_age: float
    #: Its heartbeat is fresh (within the scheduler's own bound).
    alive: bool


@dataclass(frozen=True)
class HealthPanel(Answer):
    """The health panel. Counts and ages are None when Redis does not answer."""

    redis: bool
    database: bool
    workers: tuple[WorkerState, ...] = ()
    #: Deliveries staged in Redis (waiting for their time or for the scheduler), of those the
    #: ones due now and not yet claimed, those under a worker's lease, and messages handed to
    #: the workers that none has taken.
    queued: int | None = None
    due: int | None = None
    inflight: int | None = None
    waiting: int | None = None
    #: The scheduler's lag: how long the earliest due delivery has waited to be handed over.
    lag_seconds: float | None = None
    #: Seconds since a scheduler last judged the workers (None: none has lately).
    scheduler_seen_seconds: float | None = None
    #: That judgement: "ok", "busy" or "stalled" (None: no scheduler lately).
    verdict: str | None = None

    @property
    def problems(self) -> tuple[str, ...]:
        """What is wrong, worst first (``BAD_PROBLEMS``, then ``WARNING_PROBLEMS``)."""
        found = []
        if not self.redis:
            found.append("redis-down")
        if not self.database:
            found.append("database-down")
        if self.redis:
            if self.verdict is None:
                found.append("no-scheduler")
            if not any(w.alive for w in self.workers):
                found.append("no-worker")
            if self.verdict == "stalled":
                found.append("workers-stalled")
            if (self.lag_seconds or 0.0) >= LAG_ALERT_SECONDS:
                found.append("scheduler-lagging")
            if self.verdict == "busy":
                found.append("workers-busy")
        return tuple(found)

    @property
    def state(self) -> str:
        """One word for the whole: "bad" (posts do not go out), "warning" (they go out late) or
        "ok"."""
        problems = self.problems
        if any(p in BAD_PROBLEMS for p in problems):
            return "bad"
        return "warning" if problems else "ok"


class Health(ServiceBase):
    def queue_health(self) -> QueueHealth:
        """Redis, the queue's depth and the scheduler's latest verdict on the workers. Redis
        being down is an answer (``redis`` false), not an error."""
        try:
            counts = self.queue.counts()
            workers = Heartbeats(self.queue.redis, self.queue.keys).verdict()
        except redis.RedisError as e:
            log.warning("health: Redis unavailable: %s", e)
            return QueueHealth(redis=False)
        return QueueHealth(redis=True, due=counts["due"], inflight=counts["inflight"], workers=workers)

    def health_panel(self, *, now: float | None = None) -> HealthPanel:
        """Everything the health panel shows, read now: two Redis round trips (the levels, and
        the scheduler's verdict) and ``SELECT 1``. Neither Redis nor the database being down is
        an error: it is what the panel reports."""
        now = time.time() if now is None else now
        database = self._database_answers()
        try:
            levels = read_levels(self.queue.redis, self.queue.keys, now=now)
            verdict = Heartbeats(self.queue.redis, self.queue.keys).verdict()
        except redis.RedisError as e:
            log.warning("health: Redis unavailable: %s", e)
            return HealthPanel(redis=False, database=database)
        workers = tuple(
            WorkerState(name, round(age, 1), age <= BEAT_TIMEOUT_SECONDS)
            for name, age in sorted(levels.heartbeat_ages.items())
        )
        judged = verdict.get("at") if verdict else None
        seen = max(0.0, now - float(judged)) if isinstance(judged, int | float) else None
        health = verdict.get("health") if verdict else None
        return HealthPanel(
            redis=True,
            database=database,
            workers=workers,
            queued=levels.queued,
            due=levels.due,
            inflight=levels.inflight,
            waiting=levels.waiting,
            lag_seconds=round(levels.oldest_due_age, 1),
            scheduler_seen_seconds=None if seen is None else round(seen, 1),
            verdict=health if isinstance(health, str) else None,
        )

    def _database_answers(self) -> bool:
        answers = self.db.answers()
        if not answers:
            log.warning("health: the database does not answer")
        return answers
