"""How long to wait before trying a delivery (or a takedown) again, and when to give up."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` counts every try of one delivery, the first included; the backoff
    doubles from ``base_seconds`` up to ``max_seconds``."""

    max_attempts: int = 8
    base_seconds: float = 2.0
    max_seconds: float = 900.0

    def gives_up(self, attempt_no: int) -> bool:
        """Whether try number ``attempt_no`` was the last one allowed."""
        return attempt_no >= self.max_attempts

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after try number ``attempt``: exponential backoff with "equal
        jitter" (half fixed, half random, so the retries of a burst spread out and never come
        back at once). A platform's own Retry-After or reset time is a floor, never shortened."""
        backoff = min(self.max_seconds, self.base_seconds * 2.0 ** max(0, attempt - 1))
        delay = backoff / 2 + random.uniform(0, backoff / 2)
        if retry_after is not None:
            delay = max(retry_after + random.uniform(0, 0.25), min(delay, retry_after + 1.0))
        return delay
