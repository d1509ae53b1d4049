"""Failed sign-ins, counted in a sliding window per account and per address, so that guessing
passwords is slow whichever of the two an attacker varies. Kept in Redis: every web process
sees the same counts, and they expire on their own."""

from __future__ import annotations

import hashlib
import secrets
import time

import redis

from content_queue.keys import Keys


class SignInThrottle:
    def __init__(self, client: redis.Redis, keys: Keys | None = None) -> None:
        self.redis = client
        self.keys = keys or Keys()

    def _key(self, kind: str, who: str) -> str:
        digest = hashlib.sha256(f"{kind}\x00{who}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return self.keys.sign_in_failures(kind, digest)

    def wait(self, kind: str, who: str, *, limit: int, window: float, now: float | None = None) -> float:
        """Seconds until ``who`` may try again (0: now)."""
        now = time.time() if now is None else now
        key = self._key(kind, who)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zremrangebyscore(key, 0, now - window)
        pipe.zrange(key, 0, 0, withscores=True)
        pipe.zcard(key)
        _, oldest, count = pipe.execute()
        if int(count) < limit or not oldest:
            return 0.0
        return max(0.0, float(oldest[0][1]) + window - now)

    def note_failure(self, kind: str, who: str, *, window: float, now: float | None = None) -> None:
        now = time.time() if now is None else now
        key = self._key(kind, who)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(key, {f"{now!r}:{secrets.token_hex(4)}": now})
        pipe.expire(key, int(window) + 1)
        pipe.execute()

    def clear(self, kind: str, who: str) -> None:
        self.redis.delete(self._key(kind, who))
