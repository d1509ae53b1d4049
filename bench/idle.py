"""Scenario 2, idle precision: single posts due at random times while nothing else happens.

Herald's posts are queued through the service layer, plain Celery's scheduled with
``apply_async(eta=...)``, all before the first is due; both systems run side by side (their
due times are drawn independently, so they seldom coincide). Lateness is the simulator's
arrival time minus the post's own due time, in milliseconds; a negative one is a post that went
out early, which a scheduler must never do.
"""

from __future__ import annotations

import random
import time

from bench.baseline import EtaClient
from bench.measure import lateness, wait_until
from bench.plan import Plan
from bench.results import Outcome, Spec, Target
from bench.rig import Rig, at_epoch

#: Seconds to wait for the last post after its due time before giving up.
GRACE_SECONDS = 30.0
#: Fixed seed: the same due times in every run, so runs compare.
SEED = 7


def _specs(plan: Plan) -> dict[str, Spec]:
    sc = f"idle precision ({plan.idle_posts} posts)"
    eta = "plain Celery ETA"
    return {
        "p50": Spec(sc, "p50 lateness", "ms", eta),
        # Issue 19: at least as precise as Celery's own timer, and within 5 ms.
        "p99": Spec(sc, "p99 lateness", "ms", eta, Target("ratio", 1.0)),
        "p99abs": Spec(sc, "p99 lateness, absolute", "ms", eta, Target("value", 5.0)),
        "max": Spec(sc, "max lateness", "ms", eta),
        "early": Spec(sc, "posts out before due", "posts", eta, Target("value", 0)),
    }


def specs(plan: Plan) -> list[Spec]:
    return list(_specs(plan).values())


def run(plan: Plan, rig: Rig, eta: EtaClient) -> Outcome:
    rng = random.Random(SEED)
    n, window = plan.idle_posts, plan.idle_window_seconds
    rig.reset_ledger()
    start = time.time() + plan.lead_seconds + 0.5
    herald_due = [start + rng.uniform(0, window) for _ in range(n)]
    eta_due = [start + rng.uniform(0, window) for _ in range(n)]
    due_of: dict[str, float] = {}
    for i, due in enumerate(herald_due):
        text = f"idle herald #{i}"
        rig.queue_post(rig.accounts[i % len(rig.accounts)].channel, text, at_epoch(due))
        due_of[text] = due
    eta.schedule(eta_due, prefix="idle eta")
    due_of.update({f"idle eta #{i}": due for i, due in enumerate(eta_due)})
    if time.time() > start:
        raise RuntimeError("queueing the idle posts took longer than the lead time")
    wait_until(
        lambda: rig.count("idle herald") >= n and rig.count("idle eta") >= n,
        timeout=plan.lead_seconds + window + GRACE_SECONDS,
    )
    h = lateness(rig.received("idle herald"), due_of.__getitem__)
    e = lateness(rig.received("idle eta"), due_of.__getitem__)
    if h.count < n or e.count < n:
        raise RuntimeError(f"only {h.count}/{n} Herald and {e.count}/{n} Celery posts arrived")
    sp = _specs(plan)
    out = Outcome()
    out.put(sp["p50"], 1000 * h.p50, 1000 * e.p50, f"due times spread over {window:g} s")
    out.put(sp["p99"], 1000 * h.p99, 1000 * e.p99)
    out.put(sp["p99abs"], 1000 * h.p99, 1000 * e.p99)
    out.put(sp["max"], 1000 * h.max, 1000 * e.max)
    out.put(sp["early"], h.early, e.early)
    return out
