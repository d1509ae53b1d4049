"""Worker heartbeats: what each worker took from the hand-over queue and how busy it is.

A worker publishes one every second. The scheduler reads them next to the hand-over queue's
length, which is how it tells a worker that is gone (its heartbeat stopped) from one that is
there but deaf (it beats on, has free slots, and its ``last_taken_at`` no longer moves while
messages wait).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import cast

import redis

from content_queue.keys import Keys

#: Heartbeats older than this are forgotten altogether (a worker that was replaced long ago).
FORGET_AFTER_SECONDS = 3600.0


@dataclass(frozen=True)
class WorkerBeat:
    name: str
    pid: int
    started_at: float
    beat_at: float
    #: The worker's consumer holds a broker connection (Celery's consumer says it started).
    connected: bool
    #: When it last took a message from the hand-over queue (epoch seconds), if ever.
    last_taken_at: float | None
    #: Messages taken since it started.
    taken: int
    #: Messages taken and not finished.
    inflight: int
    #: How many messages it may hold at once (its prefetch limit).
    capacity: int

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.inflight)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: bytes | str) -> WorkerBeat:
        return cls(**json.loads(raw))


class Heartbeats:
    """Read and write worker heartbeats, and the hand-over queue's length."""

    def __init__(self, client: redis.Redis, keys: Keys | None = None) -> None:
        self.redis = client
        self.keys = keys or Keys()

    def publish(self, beat: WorkerBeat) -> None:
        self.redis.hset(self.keys.workers, beat.name, beat.to_json())

    def forget(self, name: str) -> None:
        self.redis.hdel(self.keys.workers, name)

    def read(self, *, now: float) -> list[WorkerBeat]:
        """Every worker's latest heartbeat; those older than ``FORGET_AFTER_SECONDS`` are
        dropped from Redis on the way."""
        raw = cast(dict[bytes, bytes], self.redis.hgetall(self.keys.workers))
        beats, stale = [], []
        for name, value in raw.items():
            try:
                beat = WorkerBeat.from_json(value)
            except (ValueError, TypeError):
                stale.append(name)  # written by an incompatible version: forget it
                continue
            if now - beat.beat_at > FORGET_AFTER_SECONDS:
                stale.append(name)
            else:
                beats.append(beat)
        if stale:
            self.redis.hdel(self.keys.workers, *stale)
        return sorted(beats, key=lambda b: b.name)

    def publish_verdict(self, report: dict[str, object], ttl_seconds: int) -> None:
        """The scheduler's latest judgement of the workers, readable by health checks until a
        newer one replaces it (or it expires with the scheduler that wrote it)."""
        self.redis.set(self.keys.liveness, json.dumps(report), ex=ttl_seconds)

    def verdict(self) -> dict[str, object] | None:
        raw = self.redis.get(self.keys.liveness)
        return cast(dict[str, object], json.loads(cast(bytes, raw))) if raw is not None else None

    def handover_waiting(self) -> int:
        """Messages handed to the workers that no worker has taken yet."""
        return int(self.redis.llen(self.keys.handover))
