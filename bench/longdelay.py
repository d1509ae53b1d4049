"""The Celery-ETA long-delay demonstration: posts due further away than the broker's visibility
timeout are published twice under plain Celery ETA, and once under Herald.

Plain Celery's app gets ``broker_transport_options`` with ``visibility_timeout`` 5 s, and the
unacknowledged-message sweep every second (``unacked_restore_interval`` 1,
``unacked_restore_throttle`` 1), which kombu's documentation asks for with a low visibility
timeout; with kombu's default sweep (about every 100 s, and whenever a worker starts) the copies
come as surely, only later. Its task sends no ``Idempotency-Key`` (a user who did not think of
it, or a platform like X that has none), so the simulator's ledger shows every copy. Herald runs
as deployed: it hands a post to Celery only once it is due, so no broker timeout can apply.

The demonstration mostly waits, so it runs in two halves (``start`` and ``finish``) and the
suite runs other scenarios in between (photos, and recovery on the second rig); its few posts
are negligible next to theirs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.baseline import eta_client
from bench.measure import duplicates, sleep_until, wait_until
from bench.plan import Plan
from bench.results import Outcome, Spec, Target
from bench.rig import ETA_DEMO_DB, Rig, at_epoch

#: How far ahead the posts are due, and the visibility timeout (seconds).
DELAY_SECONDS = 12.0
VISIBILITY_TIMEOUT_SECONDS = 5.0
TRANSPORT_OPTIONS = {
    "visibility_timeout": VISIBILITY_TIMEOUT_SECONDS,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
#: Seconds to keep watching after the due time: every copy is due at the same instant, so the
#: copies arrive right after the first ones.
WATCH_SECONDS = 3.0
READY_TIMEOUT_SECONDS = 90.0


def _specs(plan: Plan) -> dict[str, Spec]:
    sc = f"long delay ({plan.longdelay_posts} posts due in {DELAY_SECONDS:g} s, visibility timeout 5 s)"
    eta = "plain Celery ETA"
    return {
        "extra": Spec(sc, "extra copies published", "posts", eta, Target("value", 0)),
        "once": Spec(sc, "posts published at least once", "posts", eta),
    }


def specs(plan: Plan) -> list[Spec]:
    return list(_specs(plan).values())


def start_worker(rig: Rig) -> None:
    """The plain-Celery worker with the demonstration's options (its own broker database); start
    it with the others, then ``wait_ready`` before anything is timed (it imports for seconds)."""
    rig.start_eta_worker(ETA_DEMO_DB, "eta5", TRANSPORT_OPTIONS)


def wait_ready(rig: Rig) -> None:
    """Raises RuntimeError if the demonstration's worker does not publish a probe post."""
    with eta_client(rig, ETA_DEMO_DB, TRANSPORT_OPTIONS) as eta:
        eta.schedule([time.time()], prefix="ready eta5", idempotency_key=False)
    if not wait_until(lambda: rig.count("ready eta5") >= 1, READY_TIMEOUT_SECONDS):
        raise RuntimeError("the demonstration's plain-Celery worker did not start")


@dataclass(frozen=True)
class Pending:
    due: float


def start(plan: Plan, rig: Rig) -> Pending:
    """Schedule the posts on both systems; returns when they are scheduled (not yet due)."""
    n = plan.longdelay_posts
    with eta_client(rig, ETA_DEMO_DB, TRANSPORT_OPTIONS) as eta:
        due = time.time() + DELAY_SECONDS
        eta.schedule([due] * n, prefix="late eta", idempotency_key=False)
    for i in range(n):
        rig.queue_post(rig.accounts[i % len(rig.accounts)].channel, f"late herald #{i}", at_epoch(due))
    return Pending(due)


def finish(plan: Plan, rig: Rig, pending: Pending) -> Outcome:
    n = plan.longdelay_posts
    sleep_until(pending.due + WATCH_SECONDS)
    h, e = rig.received("late herald"), rig.received("late eta")
    sp = _specs(plan)
    out = Outcome()
    copies = sum(len(t) for t in e.values())
    why = (
        f": Redis handed the unacknowledged ETA messages out again once they were "
        f"{VISIBILITY_TIMEOUT_SECONDS:g} s old, and each delivery ran"
        if copies > len(e)
        else ""
    )
    out.put(sp["extra"], duplicates(h), duplicates(e), f"{copies} plain-Celery publishes for {n} posts{why}")
    if len(h) < n or len(e) < n:
        raise RuntimeError(f"only {len(h)}/{n} Herald and {len(e)}/{n} plain-Celery posts arrived")
    out.put(sp["once"], len(h), len(e))
    return out
