"""The queue's health, as the dashboard and ``/healthz`` show it."""

from __future__ import annotations

import logging

import redis

from content_queue.heartbeats import Heartbeats
from herald.service.answers import QueueHealth
from herald.service.base import ServiceBase

log = logging.getLogger(__name__)


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
