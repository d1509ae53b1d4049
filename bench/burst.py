"""Scenario 1, the burst: N posts due at the same instant over the rig's channels.

Four systems send the same N posts to the same simulator, one after the other, each with the
others idle:

1. the bare loop, one thread (the floor the targets are measured against);
2. the bare loop with a thread pool as wide as the workers' concurrency;
3. plain Celery, N ``apply_async(eta=due)`` calls made before the due instant;
4. Herald: N posts queued through the service layer before the due instant (the queueing time
   is reported on its own row), then the stock scheduler and worker publish them.

Lateness is the simulator's arrival time minus the due instant, per post; the drain time is the
lateness of the last post. CPU seconds of every process during each system's run go to the
profile section.
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field

from bench.baseline import EtaClient, run_bare
from bench.measure import CpuMeter, Lateness, Procs, duplicates, lateness, sleep_until
from bench.plan import Plan
from bench.results import Outcome, Spec, Target
from bench.rig import Rig, at_epoch

#: Posts queued (due at once, not timed) just before a burst to measure how fast queueing is
#: right now, so that the burst's due instant falls just after its queueing ends.
CALIBRATION_POSTS = 40
#: Margin on the calibrated queueing time (the machine is shared and noisy).
QUEUE_MARGIN = 1.25
#: How long a burst may take to drain before the run gives up on it (seconds, plus per post).
DRAIN_TIMEOUT_SECONDS = 60.0
DRAIN_TIMEOUT_PER_POST = 0.05

_REAPED = re.compile(r"reaped (\d+) expired leases")


@dataclass
class Run:
    """One system's burst: lateness, queueing seconds, CPU seconds by process, notes."""

    late: Lateness
    dupes: int
    queue_seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    note: str = ""


def _specs(plan: Plan, n: int) -> dict[str, Spec]:
    sc = f"burst {plan.count(n)}"
    one, pool, eta = "bare loop, 1 thread", f"bare loop, {plan.concurrency} threads", "plain Celery ETA"
    ratio1 = Target("ratio", 1.0)
    return {
        "drain": Spec(sc, "drain time (due → last post out)", "s", one, ratio1),
        "p99": Spec(sc, "p99 lateness", "s", one, ratio1),
        "p50": Spec(sc, "p50 lateness", "s", one),
        "drain_pool": Spec(sc, "drain time vs pooled loop", "s", pool),
        "rate": Spec(sc, "throughput", "posts/s", one),
        "eta_p99": Spec(sc, "p99 lateness vs Celery ETA", "s", eta),
        "eta_p50": Spec(sc, "p50 lateness vs Celery ETA", "s", eta),
        "eta_max": Spec(sc, "max lateness vs Celery ETA", "s", eta),
        "queue": Spec(sc, "queueing time per post (before due)", "ms", "Celery apply_async"),
        "cpu": Spec(sc, "CPU per post, all Herald processes", "ms", one),
        "cpu_eta": Spec(sc, "CPU per post vs Celery ETA worker", "ms", eta),
        "dupes": Spec(sc, "duplicate publishes", "posts", eta, Target("value", 0)),
    }


def specs(plan: Plan) -> list[Spec]:
    return [s for n in plan.bursts for s in _specs(plan, n).values()]


# -- warm-up ---------------------------------------------------------------------------------------


def warm_up(rig: Rig, eta: EtaClient | None, plan: Plan) -> None:
    """Send a few posts through Herald (and plain Celery) before anything is timed: processes
    import lazily, connection pools fill, connectors are built. Doubles as the check that every
    process is up. Raises RuntimeError if something does not deliver."""
    n = plan.warmup_posts
    soon = at_epoch(time.time())
    for i in range(n):
        rig.queue_post(rig.accounts[i % len(rig.accounts)].channel, f"warm herald #{i}", soon)
    if eta is not None:
        eta.schedule([time.time() + 0.5] * n, prefix="warm eta")
    # A fresh Celery worker takes a few seconds to import and connect.
    if not rig.wait_out("warm herald", n, timeout=90):
        raise RuntimeError(f"Herald did not deliver its warm-up posts:\n{rig.cluster.logs()[-2000:]}")
    if eta is not None and not rig.wait_out("warm eta", n, timeout=90):
        raise RuntimeError(f"plain Celery did not deliver its warm-up posts:\n{rig.cluster.logs()[-2000:]}")
    rig.reset_ledger()


def calibrate(rig: Rig, eta: EtaClient | None = None) -> float:
    """Median seconds to queue one post now, through Herald's service layer or (``eta``) plain
    Celery's ``apply_async``: a few posts due at once, delivered and forgotten before returning."""
    took = []
    for i in range(CALIBRATION_POSTS):
        t0 = time.perf_counter()
        if eta is None:
            rig.queue_post(rig.accounts[i % len(rig.accounts)].channel, f"calib #{i}", at_epoch(time.time()))
        else:
            eta.schedule([time.time()], prefix=f"calib {i}")
        took.append(time.perf_counter() - t0)
    if not rig.wait_out("calib", CALIBRATION_POSTS, timeout=60):
        raise RuntimeError("calibration posts were not delivered")
    rig.reset_ledger()
    return statistics.median(took)


# -- the four systems ------------------------------------------------------------------------------


def _drain_timeout(n: int) -> float:
    return DRAIN_TIMEOUT_SECONDS + DRAIN_TIMEOUT_PER_POST * n


def _finish(rig: Rig, prefix: str, n: int, at: float) -> tuple[Lateness, int, str]:
    note = ""
    if not rig.wait_out(prefix, n, timeout=_drain_timeout(n)):
        note = f"only {rig.count(prefix)}/{n} out after {_drain_timeout(n):.0f} s"
    got = rig.received(prefix)
    if len(got) < n:
        raise RuntimeError(note or f"{len(got)}/{n} posts reached the platform")
    return lateness(got, lambda _: at), duplicates(got), note


def bare(rig: Rig, n: int, threads: int, lead: float) -> Run:
    prefix = f"bare{threads} {n}"
    rig.reset_ledger()
    at = time.time() + lead
    out = run_bare(rig, n, threads=threads, prefix=prefix, at=at)
    # If the loop's interpreter took longer than the lead to start, its clock starts when it did.
    late, dupes, note = _finish(rig, prefix, n, max(at, out.started))
    return Run(late, dupes, cpu={"client": out.cpu_seconds}, note=note)


def celery_eta(rig: Rig, eta: EtaClient, n: int, eta_pid: Procs, lead: float) -> Run:
    prefix = f"eta {n}"
    per_post = calibrate(rig, eta)
    pids = {"eta worker": eta_pid, "redis": rig.pids()["redis"], "simulator": rig.pids()["simulator"]}
    meter = CpuMeter(pids).start()
    # The worker must have received every message before the due instant: leave it time.
    at = time.time() + lead + 2 * per_post * n + 0.0005 * n
    queued = eta.schedule([at] * n, prefix=prefix)
    note = f"apply_async overran the due instant by {time.time() - at:.1f} s; " if time.time() > at else ""
    sleep_until(at)
    ahead = meter.stop()
    meter.start()
    late, dupes, more = _finish(rig, prefix, n, at)
    cpu = meter.stop()
    cpu["eta worker (receiving, before due)"] = ahead["eta worker"]
    cpu["queueing (apply_async)"] = ahead["simulator"]
    return Run(late, dupes, queue_seconds=queued, cpu=cpu, note=note + more)


def herald(rig: Rig, n: int, lead: float) -> Run:
    prefix = f"herald {n}"
    per_post = calibrate(rig)
    log = _scheduler_log(rig)
    reaped_before = _reaped(log)
    meter = CpuMeter(rig.pids()).start()
    at = time.time() + lead + QUEUE_MARGIN * per_post * n
    due = at_epoch(at)
    t0 = time.perf_counter()
    for i in range(n):
        rig.queue_post(rig.accounts[i % len(rig.accounts)].channel, f"{prefix} #{i}", due)
    queued = time.perf_counter() - t0
    note = ""
    if time.time() > at:
        note = f"queueing overran the due instant by {time.time() - at:.1f} s (lateness includes it); "
    # The publishing side's CPU is counted from the due instant; queueing is this process's.
    sleep_until(at)
    cpu_queueing = meter.stop()
    meter.start()
    late, dupes, more = _finish(rig, prefix, n, at)
    cpu = meter.stop()
    cpu["queueing (service layer)"] = cpu_queueing.get("simulator", 0.0)
    reaped = _reaped(log) - reaped_before
    if reaped:
        note += (
            f"{reaped} leases expired before their delivery was published and were handed out "
            f"again (the SQL claim stopped the second copy); "
        )
    return Run(late, dupes, queue_seconds=queued, cpu=cpu, note=note + more)


def _scheduler_log(rig: Rig) -> str:
    assert rig.cluster.workdir is not None
    return str(rig.cluster.workdir / "scheduler0.log")


def _reaped(path: str) -> int:
    try:
        with open(path, errors="replace") as f:
            return sum(int(m.group(1)) for m in _REAPED.finditer(f.read()))
    except OSError:
        return 0


# -- the scenario ----------------------------------------------------------------------------------


def run(plan: Plan, rig: Rig, eta: EtaClient, eta_pid: Procs) -> Outcome:
    out = Outcome()
    cpu_lines = []
    for n in plan.bursts:
        sp = _specs(plan, n)
        lead = plan.lead_seconds
        one = bare(rig, n, 1, lead)
        pool = bare(rig, n, plan.concurrency, lead)
        plain = celery_eta(rig, eta, n, eta_pid, lead)
        her = herald(rig, n, lead)
        h, b = her.late, one.late
        out.put(sp["drain"], h.drain, b.drain, her.note)
        out.put(sp["p99"], h.p99, b.p99)
        out.put(sp["p50"], h.p50, b.p50)
        out.put(sp["drain_pool"], h.drain, pool.late.drain)
        out.put(sp["rate"], n / h.drain, n / b.drain)
        out.put(sp["eta_p99"], h.p99, plain.late.p99, plain.note)
        out.put(sp["eta_p50"], h.p50, plain.late.p50)
        out.put(sp["eta_max"], h.max, plain.late.max)
        out.put(
            sp["queue"],
            1000 * her.queue_seconds / n,
            1000 * plain.queue_seconds / n,
            f"Herald: {her.queue_seconds:.1f} s for {n} posts (validation, SQL commit, Redis STAGE, "
            f"one at a time); Celery: {plain.queue_seconds:.1f} s",
        )
        publish = {k: v for k, v in her.cpu.items() if k in ("worker", "scheduler", "redis")}
        out.put(
            sp["cpu"],
            1000 * sum(publish.values()) / n,
            1000 * one.cpu["client"] / n,
            "worker + scheduler + redis-server from the due instant to the last post; the bare "
            "loop's is its own process",
        )
        out.put(
            sp["cpu_eta"],
            1000 * her.cpu.get("worker", 0.0) / n,
            1000
            * (plain.cpu.get("eta worker", 0.0) + plain.cpu.get("eta worker (receiving, before due)", 0.0))
            / n,
            "worker process only, from the due instant; Celery's also counts receiving the ETA "
            "messages ahead of time",
        )
        out.put(sp["dupes"], her.dupes, plain.dupes)
        cpu_lines.append(_cpu_table(n, her, plain, one, pool))
    out.sections["CPU by process during the bursts"] = "\n\n".join(cpu_lines)
    return out


def _cpu_table(n: int, her: Run, plain: Run, one: Run, pool: Run) -> str:
    """Milliseconds of CPU per post, per process, for each system (simulator = this process)."""
    rows = [f"**{n} posts** (ms of CPU per post; the simulator runs in the benchmark process)", ""]
    rows.append("| system | process | ms/post |")
    rows.append("|---|---|---|")
    for system, run_ in (
        ("Herald", her),
        ("plain Celery ETA", plain),
        ("bare, 1 thread", one),
        ("bare, pool", pool),
    ):
        for proc, secs in sorted(run_.cpu.items()):
            rows.append(f"| {system} | {proc} | {1000 * secs / n:.2f} |")
    return "\n".join(rows)
