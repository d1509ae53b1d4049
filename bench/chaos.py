"""Chaos runs: real worker and scheduler processes, a private Redis that gets killed, the
simulator injecting faults. Each run asserts from the simulator's ledger: nothing lost, nothing
published twice, every uncertain case flagged, and the delivery log agrees with the ledger.

``python -m bench.chaos`` (``make chaos``) runs the long form and prints a table;
``tests/chaos`` runs the short form in ``make test``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import Cluster, wait_for

FINAL = {"published", "failed", "uncertain", "cancelled", "held"}


@dataclass
class Outcome:
    scenario: str
    posts: int
    deliveries: int
    faults: int
    published: int
    lost: int
    duplicated: int
    uncertain: int
    failed: int
    cancelled: int
    log_agrees: bool
    p99_lateness_s: float
    max_lateness_s: float
    seconds: float
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.log_agrees


def _queue(c: Cluster, scenario: str, n: int, at: datetime) -> dict[str, str]:
    """Queue ``n`` posts on both channels; returns post id → text."""
    from herald.service import PostRequest

    out = {}
    for i in range(n):
        text = f"chaos {scenario} #{i} 평화"
        out[c.herald.add_post(PostRequest(channels=["m", "x"], text=text, at=at))] = text
    return out


def _settled(c: Cluster, expected: int) -> bool:
    rows = c.herald.delivery_log(limit=expected + 10)
    return len(rows) >= expected and all(r["status"] in FINAL for r in rows)


def evaluate(
    c: Cluster, scenario: str, posts: dict[str, str], at: datetime, started: float, note: str = ""
) -> Outcome:
    rows = c.herald.delivery_log(limit=len(posts) * 2 + 10)
    ledger = c.sim.ledger()
    seen = Counter((e.platform, e.text) for e in ledger)
    by_remote = {(e.platform, e.remote_id): e for e in ledger}
    duplicated = sum(n - 1 for n in seen.values() if n > 1)
    lost = 0
    agrees = True
    for r in rows:
        key = (r["platform"], r["text"])
        if r["status"] == "published":
            e = by_remote.get((r["platform"], r["remote_id"]))
            agrees &= e is not None and e.text == r["text"]
        elif r["status"] in ("cancelled", "uncertain"):
            # Cancelled: must not be out. Uncertain: flagged for a person (counted below).
            if r["status"] == "cancelled":
                agrees &= seen[key] == 0
        elif seen[key] == 0:
            lost += 1
        else:
            agrees = False  # out on the platform but the log does not say published
    published_keys = {(r["platform"], r["text"]) for r in rows if r["status"] in ("published", "uncertain")}
    agrees &= all(k in published_keys for k in seen)
    late = sorted(e.received_at - at.timestamp() for e in ledger) or [0.0]
    faults = sum(1 for q in c.sim.requests_seen() if q.fault)
    status = Counter(r["status"] for r in rows)
    return Outcome(
        scenario=scenario,
        posts=len(posts),
        deliveries=len(rows),
        faults=faults,
        published=status["published"],
        lost=lost,
        duplicated=duplicated,
        uncertain=status["uncertain"],
        failed=status["failed"],
        cancelled=status["cancelled"],
        log_agrees=bool(agrees),
        p99_lateness_s=round(late[min(len(late) - 1, int(len(late) * 0.99))], 3),
        max_lateness_s=round(late[-1], 3),
        seconds=round(time.monotonic() - started, 2),
        note=note,
    )


def _fraction_out(c: Cluster, total: int, fraction: float, timeout: float = 120) -> None:
    wait_for(lambda: len(c.sim.ledger()) >= total * fraction, timeout=timeout)


def _run(
    scenario: str,
    n: int,
    *,
    appendonly: bool = False,
    workers: int = 1,
    schedulers: int = 1,
    action: Callable[[Cluster, dict[str, str]], str] | None = None,
    setup: Callable[[Cluster], None] | None = None,
    timeout: float = 300,
    db_url: str | None = None,
) -> Outcome:
    with Cluster(appendonly=appendonly, db_url=db_url) as c:
        if setup:
            setup(c)
        for _ in range(workers):
            c.start_worker()
        for _ in range(schedulers):
            c.start_scheduler()
        # Due after queueing is done (queueing n posts takes a while), so lateness measures the
        # system, not the time it took us to queue.
        at = datetime.now(UTC) + timedelta(seconds=2 + 0.02 * n)
        started = time.monotonic()
        posts = _queue(c, scenario, n, at)
        note = action(c, posts) if action else ""
        if not wait_for(lambda: _settled(c, 2 * n), timeout=timeout):
            note += " (did not settle in time)"
        return evaluate(c, scenario, posts, at, started, note)


# -- the five scenarios ----------------------------------------------------------------------------


def _slow_platforms(c: Cluster) -> None:
    """Every platform answer takes 50 ms, so a burst is still in flight when we strike."""
    from simulator import Fault

    c.sim.inject(Fault(kind="slow", delay=0.05, count=None))


def kill_worker(n: int, **kw: Any) -> Outcome:
    def act(c: Cluster, posts: dict[str, str]) -> str:
        _fraction_out(c, 2 * n, 0.2)
        out = len(c.sim.ledger())
        t = time.monotonic()
        c.restart_worker(0)
        _fraction_out(c, 2 * n, 1.0, timeout=90)
        return f"worker killed -9 at {out}/{2 * n} out; drained {time.monotonic() - t:.1f} s later"

    return _run("kill -9 worker", n, action=act, setup=_slow_platforms, **kw)


def sigterm_worker(n: int, **kw: Any) -> Outcome:
    def act(c: Cluster, posts: dict[str, str]) -> str:
        _fraction_out(c, 2 * n, 0.2)
        out = len(c.sim.ledger())
        took = c.stop_worker_gracefully(0)
        after = len(c.sim.ledger())
        c.start_worker()
        _fraction_out(c, 2 * n, 1.0, timeout=90)
        return (
            f"SIGTERM at {out}/{2 * n} out; exited in {took:.1f} s with {after} out; "
            "a new worker drained the rest"
        )

    return _run("SIGTERM worker", n, action=act, setup=_slow_platforms, **kw)


def restart_redis(n: int, *, keep_data: bool, **kw: Any) -> Outcome:
    def act(c: Cluster, posts: dict[str, str]) -> str:
        _fraction_out(c, 2 * n, 0.2)
        out = len(c.sim.ledger())
        t = time.monotonic()
        c.restart_redis(keep_data=keep_data)
        _fraction_out(c, 2 * n, 1.0, timeout=120)
        return f"redis killed at {out}/{2 * n} out; drained {time.monotonic() - t:.1f} s later"

    name = "redis restart (AOF)" if keep_data else "redis restart (empty)"
    return _run(name, n, appendonly=keep_data, action=act, setup=_slow_platforms, **kw)


def platform_faults(n: int, **kw: Any) -> Outcome:
    from simulator import Fault

    def setup(c: Cluster) -> None:
        c.sim.inject(Fault(kind="commit_then_drop", count=None, probability=0.05))
        c.sim.inject(Fault(kind="error", status=503, count=None, probability=0.10))
        c.sim.inject(Fault(kind="rate_limit", count=None, probability=0.02, reset_in=1.0))

    return _run("platform faults", n, setup=setup, **kw)


def two_and_two(n: int, **kw: Any) -> Outcome:
    return _run("2 schedulers + 2 workers", n, workers=2, schedulers=2, **kw)


def cancel_while_claimed(n: int, **kw: Any) -> Outcome:
    def act(c: Cluster, posts: dict[str, str]) -> str:
        # Cancel every other post right around its due time, racing the claim.
        at = min(c.herald.delivery_log(limit=1), key=lambda r: r["due_at"])["due_at"]
        due = datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
        time.sleep(max(0.0, due - time.time() - 0.05))
        too_late = cancelled = 0
        for i, pid in enumerate(posts):
            if i % 2:
                res = c.herald.cancel_post(pid)
                cancelled += len(res["cancelled"])
                too_late += len(res["too_late"])
        return f"cancel: {cancelled} cancelled, {too_late} too late (already out or publishing)"

    return _run("cancel while claimed", n, action=act, **kw)


SCENARIOS: dict[str, Callable[..., Outcome]] = {
    "kill-worker": kill_worker,
    "sigterm-worker": sigterm_worker,
    "redis-aof": lambda n, **kw: restart_redis(n, keep_data=True, **kw),
    "redis-empty": lambda n, **kw: restart_redis(n, keep_data=False, **kw),
    "faults": platform_faults,
    "two-and-two": two_and_two,
    "cancel": cancel_while_claimed,
}

COLUMNS = [
    "scenario",
    "posts",
    "deliveries",
    "faults",
    "published",
    "lost",
    "duplicated",
    "uncertain",
    "failed",
    "cancelled",
    "log_agrees",
    "p99_lateness_s",
    "max_lateness_s",
    "seconds",
    "note",
]


def table(outcomes: list[Outcome]) -> str:
    rows = [[str(asdict(o)[k]) for k in COLUMNS] for o in outcomes]
    widths = [max(len(k), *(len(r[i]) for r in rows)) for i, k in enumerate(COLUMNS)]
    line = "| " + " | ".join(k.ljust(w) for k, w in zip(COLUMNS, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join([line, sep, *body])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--posts", type=int, default=500, help="posts per scenario (each on 2 channels)")
    ap.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="run only these scenarios")
    ap.add_argument("--db-url", default=None, help="database URL (default: a private SQLite file)")
    args = ap.parse_args(argv)
    from bench.harness import stop_on_signals

    stop_on_signals()
    outcomes = []
    for name, fn in SCENARIOS.items():
        if args.only and name not in args.only:
            continue
        o = fn(args.posts, db_url=args.db_url)
        outcomes.append(o)
        sys.stdout.write(
            f"{name}: lost={o.lost} duplicated={o.duplicated} uncertain={o.uncertain} ({o.seconds} s)\n"
        )
        sys.stdout.flush()
    sys.stdout.write("\n" + table(outcomes) + "\n")
    ok = all(o.ok for o in outcomes)
    sys.stdout.write(
        f"\n{'PASS' if ok else 'FAIL'}: "
        f"{sum(o.lost for o in outcomes)} lost, {sum(o.duplicated for o in outcomes)} duplicated, "
        f"{sum(o.uncertain for o in outcomes)} uncertain (flagged for a person)\n"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
