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
from dataclasses import asdict, dataclass, field
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
    #: Seconds from the fault to the last delivery the platforms received (recovery scenarios).
    fault_to_last_s: float | None = None
    #: The longest wait after the fault (gap between deliveries, or lateness when idle), and
    #: the bound it must stay under (``stall_bound``).
    longest_wait_s: float | None = None
    bound_s: float | None = None
    logs: str = field(default="", repr=False)
    #: Exit statuses of worker processes that ended during the run.
    exits: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        within = self.longest_wait_s is None or self.bound_s is None or self.longest_wait_s <= self.bound_s
        return self.lost == 0 and self.duplicated == 0 and self.log_agrees and within


def _queue(
    c: Cluster, scenario: str, n: int, at: datetime, channels: tuple[str, ...] = ("m", "x")
) -> dict[str, str]:
    """Queue ``n`` posts on ``channels``; returns post id → text."""
    from herald.service import PostRequest

    out = {}
    for i in range(n):
        text = f"chaos {scenario} #{i} 평화"
        out[c.herald.add_post(PostRequest(channels=list(channels), text=text, at=at))] = text
    return out


def _settled(c: Cluster, expected: int) -> bool:
    rows = c.herald.delivery_log(limit=expected + 10)
    return len(rows) >= expected and all(r.status in FINAL for r in rows)


def evaluate(
    c: Cluster,
    scenario: str,
    posts: dict[str, str],
    at: datetime,
    started: float,
    note: str = "",
    channels: int = 2,
) -> Outcome:
    rows = c.herald.delivery_log(limit=len(posts) * channels + 10)
    ledger = c.sim.ledger()
    seen = Counter((e.platform, e.text) for e in ledger)
    by_remote = {(e.platform, e.remote_id): e for e in ledger}
    duplicated = sum(n - 1 for n in seen.values() if n > 1)
    lost = 0
    agrees = True
    for r in rows:
        key = (r.platform, r.text)
        if r.status == "published":
            e = by_remote.get((r.platform, r.remote_id))
            agrees &= e is not None and e.text == r.text
        elif r.status in ("cancelled", "uncertain"):
            # Cancelled: must not be out. Uncertain: flagged for a person (counted below).
            if r.status == "cancelled":
                agrees &= seen[key] == 0
        elif seen[key] == 0:
            lost += 1
        else:
            agrees = False  # out on the platform but the log does not say published
    published_keys = {(r.platform, r.text) for r in rows if r.status in ("published", "uncertain")}
    agrees &= all(k in published_keys for k in seen)
    return _outcome(c, scenario, len(posts), rows, ledger, at, started, note, lost, duplicated, bool(agrees))


def _outcome(
    c: Cluster,
    scenario: str,
    posts: int,
    rows: list[Any],
    ledger: list[Any],
    at: datetime,
    started: float,
    note: str,
    lost: int,
    duplicated: int,
    agrees: bool,
) -> Outcome:
    """A run's outcome from the log's ``rows`` and the platforms' ``ledger``, with what the
    scenario judged (``lost``, ``duplicated``, whether the log ``agrees``)."""
    late = sorted(e.received_at - at.timestamp() for e in ledger) or [0.0]
    status = Counter(r.status for r in rows)
    return Outcome(
        scenario=scenario,
        posts=posts,
        deliveries=len(rows),
        faults=sum(1 for q in c.sim.requests_seen() if q.fault),
        published=status["published"],
        lost=lost,
        duplicated=duplicated,
        uncertain=status["uncertain"],
        failed=status["failed"],
        cancelled=status["cancelled"],
        log_agrees=agrees,
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
    from herald.simulator import Fault

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
    from herald.simulator import Fault

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
        at = min(c.herald.delivery_log(limit=1), key=lambda r: r.due_at).due_at
        due = datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
        time.sleep(max(0.0, due - time.time() - 0.05))
        too_late = cancelled = 0
        for i, pid in enumerate(posts):
            if i % 2:
                res = c.herald.cancel_post(pid)
                cancelled += len(res.cancelled)
                too_late += len(res.too_late)
        return f"cancel: {cancelled} cancelled, {too_late} too late (already out or publishing)"

    return _run("cancel while claimed", n, action=act, **kw)


# -- a stuck worker (issue 12): the broker drops while a worker starts, twice, or while idle ----------

#: The three platforms these scenarios post to (X, Mastodon, Bluesky).
THREE = ("m", "x", "b")
THREE_PLATFORMS = ("mastodon", "x", "bluesky")


def _hostile_platforms(c: Cluster) -> None:
    """Every answer takes 50 ms (a burst stays in flight), 10% of platform calls answer 503 and
    5% of answers are dropped after the post was made."""
    from herald.simulator import Fault

    # One fault per request, the first that matches: the slow answer is the fallback.
    c.sim.inject(Fault(kind="error", status=503, count=None, probability=0.10))
    c.sim.inject(Fault(kind="commit_then_drop", count=None, probability=0.05))
    c.sim.inject(Fault(kind="slow", delay=0.05, count=None))


def _out(c: Cluster) -> int:
    return len({(e.platform, e.text) for e in c.sim.ledger()})


#: kombu's reconnection attempts after a short outage come 2 s, then 4 s apart.
RECONNECT_SECONDS = 6.0
#: A supervised worker's pause before a restart (the harness's supervisor) and its start-up.
RESTART_SECONDS = 3.5


def stall_bound(c: Cluster, down: float) -> float:
    """The longest a due delivery may wait after a broker fault: the outage, then either the
    consumer's own reconnection or the watchdog (two leases) and a restart, then one lease for
    deliveries a dead or replaced worker held."""
    watchdog = 2 * c.lease_seconds
    return down + max(RECONNECT_SECONDS, watchdog + RESTART_SECONDS) + c.lease_seconds


Strike = Callable[[Cluster], tuple[str, float]]


def _recovery(
    scenario: str,
    n: int,
    strike: Strike,
    *,
    idle: float = 0.0,
    timeout: float = 300,
    db_url: str | None = None,
) -> Outcome:
    """Queue ``n`` posts on three platforms; ``strike`` at 20% out (or, with ``idle``, while the
    worker has been idle that long, before the posts are due); then wait until every delivery is
    settled. Reports the time from the fault to the last delivery and the longest wait after
    the fault: the longest gap between deliveries (burst), or the latest delivery after its due
    time (idle), against ``stall_bound``."""
    with Cluster(appendonly=True, db_url=db_url, log_level="INFO") as c:
        _hostile_platforms(c)
        c.start_worker()
        c.start_scheduler()
        total = len(THREE) * n
        if idle:
            c.wait_ready()
            time.sleep(idle)
            t_fault = time.time()
            note, down = strike(c)
            at = datetime.now(UTC) + timedelta(seconds=2 + 0.01 * n)
            started = time.monotonic()
            posts = _queue(c, scenario, n, at, THREE)
        else:
            at = datetime.now(UTC) + timedelta(seconds=2 + 0.02 * n)
            started = time.monotonic()
            posts = _queue(c, scenario, n, at, THREE)
            _fraction_out(c, total, 0.2)
            t_fault = time.time()
            note, down = strike(c)
        if not wait_for(lambda: _settled(c, total), timeout=timeout):
            note += " (did not settle in time)"
        times = sorted(e.received_at for e in c.sim.ledger())
        out = evaluate(c, scenario, posts, at, started, note, channels=len(THREE))
        after = [t for t in times if t >= t_fault]
        out.fault_to_last_s = round((after[-1] if after else time.time()) - t_fault, 2)
        # Burst: the longest gap between deliveries after the fault. Idle: the same, counted
        # from the moment the posts fell due (the first gap is how late the first one went).
        marks = [at.timestamp() if idle else t_fault, *(t for t in times if t >= t_fault)]
        gaps = [b - a for a, b in zip(marks, marks[1:], strict=False)]
        out.longest_wait_s = round(max(gaps), 2) if gaps else None
        out.bound_s = round(stall_bound(c, down), 1)
        out.logs = c.logs()
        out.exits = c.worker_exits()
        return out


def _kill_then_redis(c: Cluster) -> tuple[str, float]:
    """kill -9 a busy worker, start a new one at once, and restart Redis (SIGTERM, 2 s down)
    while the new one is still starting: as soon as it has connected and begun taking the
    backlog, or 10 s after it was started, whichever comes first (a worker starting on a busy
    machine may take longer than 4 s to connect, and the fault must meet it connected)."""
    out = _out(c)
    connected = c.logs().count("Connected to")
    c.restart_worker(0)
    t = time.monotonic()
    wait_for(lambda: c.logs().count("Connected to") > connected, timeout=10.0, interval=0.02)
    time.sleep(0.2)
    took = time.monotonic() - t
    c.restart_redis(keep_data=True, graceful=True, down=2.0)
    return (
        f"worker killed -9 at {out} out, restarted; Redis SIGTERM {took:.1f} s later while the new "
        "worker started, 2 s down (AOF)",
        took + 2.0,
    )


def _two_drops(c: Cluster) -> tuple[str, float]:
    out = _out(c)
    c.restart_redis(keep_data=True, graceful=True, down=0.5)
    time.sleep(2.0)
    c.restart_redis(keep_data=True, graceful=True, down=0.5)
    return f"two Redis drops within 3 s at {out} out (AOF)", 3.0


def _idle_restart(c: Cluster) -> tuple[str, float]:
    c.restart_redis(keep_data=True, graceful=True, down=2.0)
    return "Redis restarted (SIGTERM, 2 s down, AOF) with the worker idle; then posts due", 2.0


def kill_then_redis(n: int, **kw: Any) -> Outcome:
    return _recovery("kill -9, restart, Redis restart", n, _kill_then_redis, **kw)


def two_redis_drops(n: int, **kw: Any) -> Outcome:
    return _recovery("two Redis drops in 3 s", n, _two_drops, **kw)


def idle_redis_restart(n: int, *, idle: float = 60.0, **kw: Any) -> Outcome:
    return _recovery("Redis restart, worker idle", n, _idle_restart, idle=idle, **kw)


#: The recovery scenarios of a stuck worker (issue 12): each asserts its longest wait.
RECOVERY = ("kill-then-redis", "two-redis-drops", "idle-redis-restart")


# -- several machines --------------------------------------------------------------------------


def _photo(i: int) -> bytes:
    """A small JPEG, different for each post."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (i * 37 % 256, 90, 160)).save(buf, "JPEG")
    return buf.getvalue()


def machines(n: int, *, db_url: str | None = None, timeout: float = 240) -> Outcome:
    """Three workers and two schedulers, each with its own data directory as if on its own
    machine, sharing only the Redis and database URLs; half the posts carry a photo. A worker is
    killed -9 at a quarter out and a scheduler at half. Exactly once, and no machine's data
    directory holds a photo (photos travel through Redis and SQL, never a local path)."""
    from herald.service import PhotoInput, PostRequest

    with Cluster(db_url=db_url) as c:
        assert c.workdir is not None
        homes = [c.workdir / f"machine{i}" for i in range(5)]
        for i in range(3):
            c.start_worker({"HERALD_DATA_DIR": str(homes[i])})
        for i in range(2):
            c.start_scheduler({"HERALD_DATA_DIR": str(homes[3 + i])})
        c.sim.inject(_slow())
        at = datetime.now(UTC) + timedelta(seconds=2 + 0.03 * n)
        started = time.monotonic()
        posts = {}
        for i in range(n):
            text = f"machines #{i} 평화"
            photos = [PhotoInput(_photo(i), f"rally-{i}.jpg", alt_text="a rally")] if i % 2 else []
            posts[c.herald.add_post(PostRequest(channels=["m", "x"], text=text, at=at, photos=photos))] = text
        _fraction_out(c, 2 * n, 0.25)
        worker_at = len(c.sim.ledger())
        c.restart_worker(0)
        _fraction_out(c, 2 * n, 0.5)
        scheduler_at = len(c.sim.ledger())
        c.kill_scheduler(0)
        note = f"worker killed -9 at {worker_at}/{2 * n} out, a scheduler at {scheduler_at}"
        if not wait_for(lambda: _settled(c, 2 * n), timeout=timeout):
            note += " (did not settle in time)"
        stray = [
            str(f)
            for home in homes
            if home.exists()
            for f in home.rglob("*")
            if f.is_file() and f.suffix != ".log"
        ]
        if stray:
            note += f"; files on a machine's disk: {stray[:5]}"
        outcome = evaluate(c, "3 workers, 2 schedulers, 5 machines", posts, at, started, note)
        outcome.logs = c.logs()
        outcome.exits = c.worker_exits()
        return outcome


def _slow() -> Any:
    """Every platform answer takes 30 ms, so a burst is still in flight when we strike."""
    from herald.simulator import Fault

    return Fault(kind="slow", delay=0.03, count=None)


# -- threads -----------------------------------------------------------------------------------

#: Parts per thread in the thread scenario.
THREAD_PARTS = 5


def _thread_chain_ok(ledger: list[Any], texts: list[str]) -> bool:
    """Each of ``texts`` out once on this platform, in order, each under the one before."""
    out = []
    for text in texts:
        found = [e for e in ledger if e.text == text]
        if len(found) != 1:
            return False
        out.append(found[0])
    for i, e in enumerate(out):
        extra = dict(e.extra)
        parent = (
            extra["reply"]["parent"]
            if "reply" in extra
            else extra.get("reply_to") or extra.get("in_reply_to_id")
        )
        if parent != (out[i - 1].remote_id if i else None):
            return False
    return [e.received_at for e in out] == sorted(e.received_at for e in out)


def thread_kill_worker(n: int, *, db_url: str | None = None, timeout: float = 240) -> Outcome:
    """``n // 10`` (at least 4) five-part threads on X, Bluesky and Mastodon, every platform
    answer slowed so that parts are in flight, and the worker killed -9 twice mid-thread (at a
    third and at two thirds of the parts out). Every part must be out exactly once, in order,
    under the right parent; the log's parts must be the platforms' posts."""
    from herald.service import PostRequest
    from herald.simulator import Fault

    threads = max(4, n // 10)
    total = threads * len(THREE) * THREAD_PARTS
    with Cluster(db_url=db_url) as c:
        c.sim.inject(Fault(kind="slow", delay=0.1, count=None))
        c.start_worker()
        c.start_scheduler()
        at = datetime.now(UTC) + timedelta(seconds=2)
        started = time.monotonic()
        posts: dict[str, list[str]] = {}
        for i in range(threads):
            parts = [
                f"thread {i} part {k}/{THREAD_PARTS}: 평화 통일 peaceful unification" for k in range(1, 6)
            ]
            req = PostRequest(channels=list(THREE), text="\n---\n".join(parts), at=at, thread=True)
            posts[c.herald.add_post(req)] = parts
        kills = []
        for fraction in (1 / 3, 2 / 3):
            _fraction_out(c, total, fraction)
            kills.append(len(c.sim.ledger()))
            c.restart_worker(0)
        note = f"worker killed -9 at {kills[0]} and {kills[1]} of {total} parts out"
        if not wait_for(lambda: _settled(c, threads * len(THREE)), timeout=timeout):
            note += " (did not settle in time)"
        # Parts the killed worker had begun: the next one looked them up before sending again.
        lookups = sum(
            1
            for q in c.sim.requests_seen()
            if q.method == "GET"
            and ("getRecord" in q.path or ("/users/" in q.path and q.path.endswith("/tweets")))
        )
        note += f"; {lookups} look-ups of parts that may have been out (X, Bluesky)"
        rows = c.herald.delivery_log(limit=threads * len(THREE) + 10)
        ledger = c.sim.ledger()
        seen = Counter((e.platform, e.text) for e in ledger)
        by_remote = {(e.platform, e.remote_id) for e in ledger}
        duplicated = sum(k - 1 for k in seen.values() if k > 1)
        lost = sum(1 for parts in posts.values() for p in THREE_PLATFORMS for t in parts if seen[(p, t)] == 0)
        agrees = all(
            _thread_chain_ok([e for e in ledger if e.platform == r.platform], posts[r.post_id])
            and all((r.platform, part.remote_id) in by_remote for part in r.parts)
            for r in rows
            if r.status == "published"
        )
        outcome = _outcome(
            c, "kill -9 mid-thread", threads, rows, ledger, at, started, note, lost, duplicated, bool(agrees)
        )
        outcome.logs = c.logs()
        outcome.exits = c.worker_exits()
        return outcome


SCENARIOS: dict[str, Callable[..., Outcome]] = {
    "kill-worker": kill_worker,
    "sigterm-worker": sigterm_worker,
    "redis-aof": lambda n, **kw: restart_redis(n, keep_data=True, **kw),
    "redis-empty": lambda n, **kw: restart_redis(n, keep_data=False, **kw),
    "faults": platform_faults,
    "two-and-two": two_and_two,
    "cancel": cancel_while_claimed,
    "kill-then-redis": kill_then_redis,
    "two-redis-drops": two_redis_drops,
    "idle-redis-restart": idle_redis_restart,
    "thread-kill-worker": thread_kill_worker,
    "machines": machines,
}
#: Scenarios of threads (five parts per post on three channels): checked on their own terms.
THREADED = ("thread-kill-worker",)
#: Scenarios that need PostgreSQL (``--db-url``) to mean what they say.
SHARED_DATABASE = ("machines",)

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
    "fault_to_last_s",
    "longest_wait_s",
    "bound_s",
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
