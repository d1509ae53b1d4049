"""How far a long piece of work has got, for the page that waits on it: a CSV import of
thousands of rows is read, checked row by row, then written a thousand posts at a time, and
the import page shows each step with its count (``static/progress.js`` polls
``/import/progress/<job>``).

The page names the job (a random id it puts in the form); the route doing the work reports
into it here. Kept in Redis, so whichever uvicorn worker runs the import and whichever answers
the poll see the same, under a key made of the person's session (``web.auth.session_key``: one
person can never read another's) and the job's id, for ten minutes. Reporting is a courtesy:
if Redis does not answer, the work goes on and the page simply shows no count.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import cast

import redis
from fastapi import Request

from herald.service import Herald
from herald.web.auth import session_key

log = logging.getLogger(__name__)

#: How long a job's progress is kept after its last report.
PROGRESS_TTL_SECONDS = 600
#: A job id as the page makes it (``crypto.randomUUID()``, or any such token).
_JOB = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
#: The steps, in order ("failed": it ended refused; the page then shows why).
PHASES = ("sending", "reading", "checking", "writing", "done", "failed")


@dataclass(frozen=True)
class Progress:
    phase: str
    #: Rows (or posts) done of ``total`` in this step; 0 of 0 when a step has no count.
    done: int
    total: int
    #: When it was last reported (epoch seconds).
    at: float

    def to_dict(self) -> dict[str, object]:
        return {"phase": self.phase, "done": self.done, "total": self.total}


def job_id(value: object) -> str | None:
    """``value`` if it is a job id a page may give, else None."""
    return value if isinstance(value, str) and _JOB.match(value) else None


class ProgressBoard:
    """The progress of one person's jobs (``owner``: their session's key)."""

    def __init__(self, client: redis.Redis, prefix: str, owner: str) -> None:
        self.redis = client
        self.prefix = prefix
        self.owner = owner

    def key(self, job: str) -> str:
        """HASH phase, done, total, at: one job's progress."""
        return f"{self.prefix}:progress:{self.owner}:{job}"

    def report(self, job: str, phase: str, done: int = 0, total: int = 0) -> None:
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}")
        key = self.key(job)
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.hset(key, mapping={"phase": phase, "done": done, "total": total, "at": time.time()})
            pipe.expire(key, PROGRESS_TTL_SECONDS)
            pipe.execute()
        except redis.RedisError as e:
            log.warning("import progress not recorded (Redis: %s); the import goes on", e)

    def read(self, job: str) -> Progress | None:
        """The job's latest report, or None (unknown, expired, another person's, Redis down)."""
        try:
            raw = cast(dict[bytes, bytes], self.redis.hgetall(self.key(job)))
        except redis.RedisError:
            return None
        if not raw:
            return None
        try:
            return Progress(raw[b"phase"].decode(), int(raw[b"done"]), int(raw[b"total"]), float(raw[b"at"]))
        except (KeyError, ValueError):
            return None


def board_for(request: Request, svc: Herald) -> ProgressBoard:
    """The progress board of the request's person (their session, or their API token)."""
    return ProgressBoard(svc.queue.redis, svc.queue.keys.prefix, session_key(request))
