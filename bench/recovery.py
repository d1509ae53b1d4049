"""Scenario 5, recovery: how long until the queue drains again after Redis restarts empty, and
after the worker is killed with SIGKILL, both in the middle of a burst.

Runs on a rig with the harness's 3 s lease (as ``bench.chaos`` does: a dead worker's posts wait
for their lease to expire, so the lease is the floor of the second number; Herald's default is
30 s). Three bursts of the same size, due at one instant each:

1. no fault: the reference, how long the posts after the first 20 % take to go out normally;
2. once 20 % are out, ``redis-server`` is killed and started again empty (no AOF): the
   scheduler notices the lost ``herald:epoch`` and rebuilds the queue from SQL;
3. once 20 % are out, the worker is killed (``kill -9`` on its process group) and a new one
   started, as a supervisor would: its posts come back when their leases expire.

The same simulator ledger checks that nothing was lost or published twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bench.burst import QUEUE_MARGIN, calibrate
from bench.measure import duplicates, percentile, sleep_until, wait_until
from bench.plan import Plan
from bench.results import Outcome, Spec, Target
from bench.rig import Rig, at_epoch

#: The fault strikes once this fraction of the burst is out.
STRIKE_FRACTION = 0.2
DRAIN_TIMEOUT_SECONDS = 120.0
LEASE_SECONDS = 3.0


def _specs(plan: Plan) -> dict[str, Spec]:
    sc = f"recovery ({plan.recovery_posts} posts, lease {LEASE_SECONDS:g} s)"
    ref = "same burst, no fault"
    return {
        "redis": Spec(sc, "drain after Redis restarts empty (from the restart)", "s", ref),
        "worker": Spec(sc, "drain after worker kill -9 (from the kill, new worker started)", "s", ref),
        "lost": Spec(sc, "posts lost or published twice", "posts", "no fault", Target("value", 0)),
    }


def specs(plan: Plan) -> list[Spec]:
    return list(_specs(plan).values())


def _burst(
    rig: Rig, n: int, prefix: str, strike: Callable[[], None] | None, lead: float, per_post: float
) -> tuple[float, int, int]:
    """Queue ``n`` posts due at one instant; ``strike`` runs once the first 20 % are out.
    Returns (seconds from the strike, or from the 20 % mark without one, to the last post out;
    posts lost; extra copies)."""
    rig.reset_ledger()
    at = time.time() + lead + QUEUE_MARGIN * per_post * n
    for i in range(n):
        rig.queue_post(rig.accounts[i % len(rig.accounts)].channel, f"{prefix} #{i}", at_epoch(at))
    sleep_until(at)
    mark = int(n * STRIKE_FRACTION)
    wait_until(lambda: rig.count(prefix) >= mark, DRAIN_TIMEOUT_SECONDS, interval=0.02)
    if strike is not None:
        t0 = time.time()
        strike()
    else:
        t0 = percentile((min(t) for t in rig.received(prefix).values()), 100 * STRIKE_FRACTION)
    if not wait_until(lambda: len(rig.received(prefix)) >= n, DRAIN_TIMEOUT_SECONDS, interval=0.1):
        got = rig.received(prefix)
        return DRAIN_TIMEOUT_SECONDS, n - len(got), duplicates(got)
    # Copies may still be on their way (a re-run after an unseen success): a moment's grace.
    time.sleep(0.5)
    got = rig.received(prefix)
    last = max(min(t) for t in got.values())
    return last - t0, n - len(got), duplicates(got)


@contextmanager
def _quiet_simulator() -> Iterator[None]:
    log = logging.getLogger("herald.simulator.server")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def run(plan: Plan, rig: Rig) -> Outcome:
    """Herald's worker and scheduler must be running on ``rig``."""
    n, lead = plan.recovery_posts, plan.lead_seconds
    rig.queue_post(rig.accounts[0].channel, "ready", at_epoch(time.time()))
    if not rig.wait_out("ready", 1, timeout=90):
        raise RuntimeError("Herald's worker did not start")
    per = calibrate(rig)
    base, lost0, dup0 = _burst(rig, n, "recovery base", None, lead, per)
    redis_s, lost1, dup1 = _burst(
        rig, n, "recovery redis", lambda: rig.cluster.restart_redis(keep_data=False), lead, per
    )
    with _quiet_simulator():  # the killed worker's connections reset: expected, not worth a traceback
        worker_s, lost2, dup2 = _burst(
            rig, n, "recovery worker", lambda: rig.cluster.restart_worker(0), lead, per
        )
    sp = _specs(plan)
    out = Outcome()
    out.put(sp["redis"], redis_s, base, "queue rebuilt from SQL by the scheduler")
    out.put(
        sp["worker"],
        worker_s,
        base,
        "the worker (`herald worker`, every process of it) killed -9; includes the new one's start-up "
        f"and the {LEASE_SECONDS:g} s lease of the killed one's posts",
    )
    out.put(
        sp["lost"],
        lost1 + lost2 + dup1 + dup2,
        lost0 + dup0,
        f"lost {lost1} / {lost2}, twice {dup1} / {dup2} (Redis / worker run)",
    )
    return out
