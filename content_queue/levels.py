"""The content queue's levels as a metrics scrape reads them: how much is queued, due, in
flight and waiting for a worker, and how old each worker's heartbeat is.

One pipelined round trip, whatever the queue's size (ZCARD, ZCOUNT, LLEN, one HGETALL of the
heartbeats), so a scrape every few seconds costs Redis nothing worth measuring. It only reads:
stale heartbeats are left for the scheduler to forget (``Heartbeats.read``).
"""

from __future__ import annotations

import time
from typing import cast

import redis

from content_queue.heartbeats import FORGET_AFTER_SECONDS, WorkerBeat
from content_queue.keys import Keys
from herald.core.metrics import Levels


def read_levels(client: redis.Redis, keys: Keys | None = None, *, now: float | None = None) -> Levels:
    """The levels at ``now`` (epoch seconds). Raises ``redis.RedisError`` if Redis does not
    answer."""
    keys = keys or Keys()
    now = time.time() if now is None else now
    pipe = client.pipeline(transaction=False)
    pipe.zcard(keys.due)
    pipe.zcount(keys.due, "-inf", now)
    pipe.zcard(keys.inflight)
    pipe.llen(keys.handover)
    pipe.zrange(keys.due, 0, 0, withscores=True)
    pipe.hgetall(keys.workers)
    queued, due, inflight, waiting, first, beats = pipe.execute()
    earliest = float(first[0][1]) if first else None
    ages: dict[str, float] = {}
    for raw in cast(dict[bytes, bytes], beats).values():
        try:
            beat = WorkerBeat.from_json(raw)
        except (ValueError, TypeError):
            continue  # written by an incompatible version; the scheduler forgets it
        age = max(0.0, now - beat.beat_at)
        if age <= FORGET_AFTER_SECONDS:
            ages[beat.name] = age
    return Levels(
        queued=int(queued),
        due=int(due),
        inflight=int(inflight),
        waiting=int(waiting),
        oldest_due_age=max(0.0, now - earliest) if earliest is not None and earliest <= now else 0.0,
        heartbeat_ages=ages,
    )
