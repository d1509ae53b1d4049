"""The gate that keeps every post from going out before its time.

The scheduler hands a delivery over ``HANDOVER_LEAD_SECONDS`` before it is due, so that the
claim, the payload, the photos and the request are ready when the instant comes; this gate,
called right before the platform call and nowhere else, holds the call until the wall clock
reaches the due time the claim read from SQL. Whatever path a delivery takes (a single post, a
thread, a retry, a batch of a burst), the platform hears nothing earlier.

It sleeps rather than spins: Linux wakes a sleeping thread some tens of microseconds late, far
below a network call, and a worker with threads waiting at the top of the hour burns no CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: Longest wait the gate accepts (seconds): a claim is never made earlier than the lead plus
#: the skew allowance (``store.deliveries.EARLY_CLAIM_SLACK_SECONDS``), so a longer one would
#: mean a clock jumped; the gate still waits, a stretch at a time, checking the clock again.
STRETCH_SECONDS = 1.0


def not_before(
    due: float, *, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep
) -> float:
    """Return once ``clock()`` has reached ``due`` (epoch seconds); how long it waited."""
    waited = 0.0
    while True:
        left = due - clock()
        if left <= 0:
            return waited
        step = min(left, STRETCH_SECONDS)
        sleep(step)
        waited += step
