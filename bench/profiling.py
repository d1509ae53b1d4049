"""Where a delivery's time goes.

Two measurements:

1. **Counted, in-process** (every run): with the stock worker and scheduler stopped, this
   process builds Herald's own ``Deliverer`` (``herald.delivery.factory.build_deliverer``) and delivers
   posts one at a time, as one worker thread does, with counters on its seams: SQLAlchemy engine
   events (statements, transactions), the Redis client (round trips, commands), ``requests``
   (HTTP calls) and wall-clock timers around each. Nothing in Herald is changed: the counters
   wrap this process's objects only.
2. **Sampled, under load** (full run): ``py-spy record`` on the stock worker and scheduler
   processes during a burst; each CPU sample is put in the category of the innermost library
   it is in (SQL, Redis, HTTP, Celery/kombu, logging, JSON, threads) or Herald's own code, and
   the process's CPU seconds are split by those shares. Plus Redis's ``INFO commandstats`` for
   the whole system during the burst.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import requests

from bench.harness import ROOT
from bench.measure import CpuMeter, Procs, calls_between, command_calls, lateness, sleep_until
from bench.plan import Plan
from bench.results import Outcome, Spec
from bench.rig import Rig, at_epoch, terminate_all

#: Samples per second for py-spy; its own CPU competes on 2 cores, so not higher.
SPY_RATE = 100
LEAD_SECONDS = 2.0
DRAIN_TIMEOUT_SECONDS = 180.0
#: The exactly-once minimum per delivery: SQL must record the claim before the platform call and
#: the outcome after it (2 transactions); Redis must hand over the payload and be acknowledged.
MIN_SQL_TRANSACTIONS = 2
MIN_REDIS_ROUND_TRIPS = 2
TOP_FUNCTIONS = 12


def _specs(plan: Plan) -> dict[str, Spec]:
    sc = f"per delivery ({plan.opcount_posts} + {plan.opcount_posts} posts, in-process)"
    minimum = "exactly-once minimum: a constant"
    plain = "plain POST from the same process"
    out = {}
    for key, how in (("one", "one at a time"), ("batch", f"batches of {_batch_size()}")):
        out[f"wall {key}"] = Spec(sc, f"deliver wall time, {how}", "ms", plain)
        out[f"sql {key}"] = Spec(sc, f"SQL transactions, {how}", "txns", minimum)
        out[f"redis {key}"] = Spec(sc, f"Redis round trips, {how}", "trips", minimum)
    return out


def specs(plan: Plan) -> list[Spec]:
    return list(_specs(plan).values())


# -- counting in-process ---------------------------------------------------------------------------


@dataclass
class Tally:
    """Counts and seconds per seam, over the counted deliveries."""

    statements: Counter[str] = field(default_factory=Counter)
    transactions: int = 0
    sql_seconds: float = 0.0
    redis_trips: int = 0
    redis_commands: Counter[str] = field(default_factory=Counter)
    redis_seconds: float = 0.0
    http_calls: int = 0
    http_seconds: float = 0.0


@contextmanager
def _counting(d: Any, tally: Tally) -> Iterator[None]:  # Any: herald.delivery.deliverer.Deliverer
    """Count and time the deliverer's SQL sessions, Redis round trips and HTTP calls."""
    from sqlalchemy import event

    engine = d.db.engine

    def on_begin(conn: Any) -> None:  # Any: SQLAlchemy's hook signature
        tally.transactions += 1

    def on_statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        words = statement.split()
        verb = words[0].upper() if words else "?"
        if verb == "BEGIN":  # SQLite's BEGIN IMMEDIATE (counted as a transaction, above)
            return
        tally.statements[f"{verb} {_table(verb, words)}"] += 1

    event.listen(engine, "begin", on_begin)
    event.listen(engine, "before_cursor_execute", on_statement)
    db_session = d.db.session

    @contextmanager
    def timed_session() -> Iterator[Any]:
        t0 = time.perf_counter()
        try:
            with db_session() as s:
                yield s
        finally:
            tally.sql_seconds += time.perf_counter() - t0

    client: redis.Redis = d.queue.redis
    execute = client.execute_command
    pipeline = client.pipeline

    def timed_execute(*args: Any, **kw: Any) -> Any:  # Any: redis-py's own signature
        tally.redis_trips += 1
        tally.redis_commands[str(args[0]).upper()] += 1
        t0 = time.perf_counter()
        try:
            return execute(*args, **kw)  # type: ignore[no-untyped-call]  # redis-py is partly untyped
        finally:
            tally.redis_seconds += time.perf_counter() - t0

    def timed_pipeline(*args: Any, **kw: Any) -> Any:
        pipe = pipeline(*args, **kw)
        run = pipe.execute

        def timed_run(*a: Any, **k: Any) -> Any:
            tally.redis_trips += 1
            tally.redis_commands["(pipeline)"] += 1
            t0 = time.perf_counter()
            try:
                return run(*a, **k)
            finally:
                tally.redis_seconds += time.perf_counter() - t0

        pipe.execute = timed_run  # type: ignore[method-assign]  # instance-level wrapper
        return pipe

    send = requests.Session.send

    def timed_send(self: requests.Session, *args: Any, **kw: Any) -> requests.Response:
        tally.http_calls += 1
        t0 = time.perf_counter()
        try:
            return send(self, *args, **kw)
        finally:
            tally.http_seconds += time.perf_counter() - t0

    d.db.session = timed_session
    client.execute_command = timed_execute  # type: ignore[method-assign]  # instance-level wrapper
    client.pipeline = timed_pipeline  # type: ignore[method-assign]
    requests.Session.send = timed_send  # type: ignore[method-assign]
    try:
        yield
    finally:
        requests.Session.send = send  # type: ignore[method-assign]
        del client.execute_command, client.pipeline
        del d.db.session
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "begin", on_begin)


def _table(verb: str, words: list[str]) -> str:
    """The table a statement works on (for counting by kind)."""
    after = {"UPDATE": "UPDATE", "INSERT": "INTO", "SELECT": "FROM", "DELETE": "FROM"}.get(verb)
    upper = [w.upper() for w in words]
    if after is None or after not in upper:
        return ""
    i = upper.index(after) + 1
    return words[i].strip('("').lower() if i < len(words) else ""


def _plain_posts(rig: Rig, n: int) -> float:
    """Mean seconds of one plain status POST from this process, over a warm keep-alive
    connection (the connector's is warm too: the first, connecting, request is not counted)."""
    s = requests.Session()
    url = rig.mastodon_url + "/api/v1/statuses"
    acct = rig.accounts[0]
    times = []
    for i in range(n + 1):
        t0 = time.perf_counter()
        s.post(
            url,
            json={"status": f"ops plain #{i}", "visibility": "public"},
            headers={
                "Authorization": f"Bearer {acct.token}",
                "Idempotency-Key": f"ops-plain-{i}-{time.time()}",
            },
            timeout=(5, 30),
        ).raise_for_status()
        times.append(time.perf_counter() - t0)
    s.close()
    return statistics.mean(times[1:])


@dataclass
class Counted:
    """One way of delivering (one at a time, or in the worker's batches), counted."""

    batch: int
    tally: Tally
    #: Mean wall seconds per delivery (total ÷ deliveries), comparable with the seams' means.
    wall: float
    deliveries: int


def _batch_size() -> int:
    from scheduler.lanes import MAX_MESSAGE

    return MAX_MESSAGE


def count_ops(plan: Plan, rig: Rig) -> tuple[list[Counted], float]:
    """Deliver posts in this process with counters on, first one at a time (an idle post: the
    ``publish`` task), then in the worker's batches (a burst: ``publish_many``). Returns both
    and the plain POST's median seconds. Herald's processes must be stopped."""
    from herald.core.settings import reset_settings
    from herald.delivery.factory import build_deliverer

    # Settings come from the environment, which the last rig started wrote: make it this one's.
    os.environ.update({k: v for k, v in rig.cluster.env.items() if k.startswith("HERALD_")})
    reset_settings()
    d = build_deliverer()
    batch = _batch_size()
    deliver_many = getattr(d, "deliver_many", None) or (lambda ids: [d.deliver(i) for i in ids])
    try:
        warm = len(rig.accounts)  # one per channel: builds each connector (decrypts credentials)
        n = plan.opcount_posts - plan.opcount_posts % batch or batch
        total = warm + 2 * n
        for i in range(total):
            rig.queue_post(rig.accounts[i % len(rig.accounts)].channel, f"ops #{i}", at_epoch(time.time()))
        ids = d.queue.claim_due(now=time.time() + 1, lease_seconds=60.0, limit=total)
        if len(ids) != total:
            raise RuntimeError(f"claimed {len(ids)} of {total} posts")
        for i in ids[:warm]:
            d.deliver(i)
        out = []
        for size, chunk in ((1, ids[warm : warm + n]), (batch, ids[warm + n :])):
            tally, outcomes = Tally(), Counter[str]()
            with _counting(d, tally):
                t0 = time.perf_counter()
                for k in range(0, len(chunk), size):
                    outcomes.update(deliver_many(chunk[k : k + size]))
                wall = (time.perf_counter() - t0) / len(chunk)
            if outcomes.get("published", 0) != len(chunk):
                raise RuntimeError(f"in-process deliveries: {dict(outcomes)}")
            out.append(Counted(size, tally, wall, len(chunk)))
        return out, _plain_posts(rig, n)
    finally:
        d.close()
        d.db.dispose()


def _ops_section(counted: list[Counted], plain: float) -> str:
    def how(c: Counted) -> str:
        return "one at a time" if c.batch == 1 else f"batches of {c.batch}"

    def cells(c: Counted) -> list[str]:
        t, n = c.tally, c.deliveries
        rest = c.wall * n - t.sql_seconds - t.redis_seconds - t.http_seconds
        return [
            f"{t.transactions / n:.2f} txns, {sum(t.statements.values()) / n:.1f} stmts, "
            f"{1000 * t.sql_seconds / n:.2f} ms",
            f"{t.redis_trips / n:.2f} trips, {1000 * t.redis_seconds / n:.2f} ms",
            f"{t.http_calls / n:.1f} calls, {1000 * t.http_seconds / n:.2f} ms",
            f"{1000 * rest / n:.2f} ms",
            f"**{1000 * c.wall:.2f} ms**",
        ]

    labels = [
        "SQL (ORM + driver + commit)",
        "Redis",
        "HTTP (connector → simulator)",
        "the rest",
        "**deliver, per delivery**",
    ]
    columns = [cells(c) for c in counted]
    lines = [
        "Deliveries in this process, with counters on Herald's seams (the simulator answers from "
        "a thread of the same process, as it does for the plain POST they are compared with). "
        'Per delivery; "the rest" is Herald\'s own Python between the seams, the heartbeat '
        "thread, logging.",
        "",
        "| seam | " + " | ".join(how(c) for c in counted) + " |",
        "|---|" + "---|" * len(counted),
    ]
    for k, label in enumerate(labels):
        lines.append(f"| {label} | " + " | ".join(col[k] for col in columns) + " |")
    lines.append(
        f"| plain POST from this process (reference) | {1000 * plain:.2f} ms |" + " |" * (len(counted) - 1)
    )
    for c in counted:
        n = c.deliveries
        lines += [
            "",
            f"{how(c)}: SQL statements per delivery: "
            + ", ".join(f"{k} {v / n:.2f}" for k, v in c.tally.statements.most_common())
            + "; Redis calls per delivery: "
            + ", ".join(f"{k} {v / n:.2f}" for k, v in c.tally.redis_commands.most_common())
            + ".",
        ]
    return "\n".join(lines)


# -- sampling under load ---------------------------------------------------------------------------

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SQL (SQLAlchemy + driver)", ("/sqlalchemy/", "sqlite3", "/psycopg/", "/psycopg2/")),
    ("Redis client", ("/redis/",)),
    ("HTTP client (requests, urllib3, http.client)", ("/requests/", "/urllib3/", "/http/client.py")),
    ("Celery + kombu", ("/celery/", "/kombu/", "/billiard/", "/vine/", "/amqp/")),
    ("logging", ("/logging/",)),
    ("JSON", ("/json/",)),
    ("threads (start, events)", ("/threading.py",)),
    ("crypto (credentials)", ("/cryptography/",)),
)
_HERALD_ROOMS = tuple(
    str(ROOT / room) + "/"
    for room in ("tasks", "store", "content_queue", "platforms", "herald", "scheduler", "media")
)


def _frames(stack: str) -> list[tuple[str, str]]:
    out = []
    for part in stack.split(";"):
        m = _FRAME.match(part)
        out.append((m.group("func"), m.group("file")) if m else (part, ""))
    return out


def _category(frames: list[tuple[str, str]]) -> str:
    """The innermost library a sample is in (leaf first); Herald's code if none."""
    for _, file in reversed(frames):
        for name, marks in _CATEGORIES:
            if any(m in file for m in marks):
                return name
        if file.startswith(_HERALD_ROOMS):
            return "Herald code"
    return "other Python (interpreter, stdlib)"


def _herald_function(frames: list[tuple[str, str]]) -> str | None:
    """The innermost Herald function on the stack (what Herald code the time is spent under)."""
    for func, file in reversed(frames):
        if file.startswith(_HERALD_ROOMS):
            return f"{func} ({Path(file).relative_to(ROOT)})"
    return None


def _load(path: Path) -> list[tuple[list[tuple[str, str]], int]]:
    out: list[tuple[list[tuple[str, str]], int]] = []
    if not path.exists():
        return out
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            out.append((_frames(stack), int(count)))
    return out


def _spy_section(name: str, samples: list[tuple[list[tuple[str, str]], int]], cpu: float, n: int) -> str:
    total = sum(c for _, c in samples)
    if not total:
        return f"**{name}**: no samples."
    cats: Counter[str] = Counter()
    funcs: Counter[str] = Counter()
    for frames, count in samples:
        cats[_category(frames)] += count
        f = _herald_function(frames)
        if f:
            funcs[f] += count
    per = 1000 * cpu / n
    lines = [
        f"**{name}**: {cpu:.1f} CPU s for {n} deliveries = **{per:.2f} ms CPU per delivery** "
        f"({total} samples).",
        "",
        "| where (innermost library) | share | ms CPU per delivery |",
        "|---|---|---|",
    ]
    for cat, c in cats.most_common():
        lines.append(f"| {cat} | {100 * c / total:.0f} % | {per * c / total:.2f} |")
    lines += ["", "Herald functions the CPU is spent under (innermost Herald frame, inclusive):", ""]
    lines += ["| function | share | ms CPU per delivery |", "|---|---|---|"]
    for f, c in funcs.most_common(TOP_FUNCTIONS):
        lines.append(f"| `{f}` | {100 * c / total:.0f} % | {per * c / total:.2f} |")
    return "\n".join(lines)


def _py_spy() -> str | None:
    found = Path(sys.executable).parent / "py-spy"
    return str(found) if found.exists() else shutil.which("py-spy")


def spy_burst(plan: Plan, rig: Rig) -> str:
    """A Herald burst of ``plan.profile_posts`` with py-spy on the worker and the scheduler."""
    spy = _py_spy()
    if spy is None:
        return (
            "py-spy is not installed (`.venv/bin/pip install py-spy`, not a dependency): no sampled profile."
        )
    assert rig.cluster.workdir is not None
    from bench.burst import QUEUE_MARGIN, calibrate

    n, prefix = plan.profile_posts, "spy"
    seconds_per_post = calibrate(rig)
    pids = rig.pids()
    at = time.time() + LEAD_SECONDS + QUEUE_MARGIN * seconds_per_post * n
    for i in range(n):
        rig.queue_post(rig.accounts[i % len(rig.accounts)].channel, f"{prefix} #{i}", at_epoch(at))
    # One py-spy per process, following its children (``herald worker`` runs its worker
    # processes as children: sampling the parent alone saw only its supervisor thread); a role
    # with several processes gets their samples merged, and its CPU is the sum of theirs.
    targets = [
        (role, pid, rig.cluster.workdir / f"spy-{role}-{pid}.txt")
        for role in ("worker", "scheduler")
        for pid in _as_list(pids[role])
    ]
    spies = [
        subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--subprocesses", "--rate", str(SPY_RATE), "--format", "raw"]
            + ["--output", str(out), "--nonblocking", "--full-filenames"]
            + ["--duration", str(int(DRAIN_TIMEOUT_SECONDS))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _, pid, out in targets
    ]
    sleep_until(at - 0.3)
    r = rig.cluster.redis()
    calls0 = command_calls(r)
    meter = CpuMeter(pids).start()
    rig.wait_out(prefix, n, DRAIN_TIMEOUT_SECONDS)
    cpu = meter.stop()
    calls = calls_between(calls0, command_calls(r))
    for p in spies:
        p.send_signal(signal.SIGINT)
    for p in spies:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            terminate_spy(p)
    late = lateness(rig.received(prefix), lambda _: at)
    parts = [
        f"A burst of {n} posts with py-spy sampling the worker and the scheduler at {SPY_RATE} Hz "
        f"(drain {late.drain:.1f} s with the profiler attached; its own CPU competes on these cores).",
        "",
        "CPU seconds per delivery by process during the burst: "
        + ", ".join(f"{k} {1000 * v / n:.2f} ms" for k, v in sorted(cpu.items()))
        + " (simulator = the benchmark process).",
        "",
        "Redis commands executed per delivery, whole system (INFO commandstats; commands run "
        "inside Lua scripts count, so this is work, not round trips): "
        + ", ".join(
            f"{k} {v / n:.2f}" for k, v in sorted(calls.items(), key=lambda kv: -kv[1]) if v / n >= 0.01
        )
        + f"; total {sum(calls.values()) / n:.1f}.",
        "",
    ]
    for role in ("worker", "scheduler"):
        samples = [x for r_, _, out in targets if r_ == role for x in _load(out)]
        count = len(_as_list(pids[role]))
        name = f"{role} processes ({count})" if count > 1 else f"{role} process"
        parts += [_spy_section(name, samples, cpu.get(role, 0.0), n), ""]
    return "\n".join(parts)


def _as_list(procs: Procs) -> list[int]:
    return [procs] if isinstance(procs, int) else list(procs)


def terminate_spy(p: subprocess.Popen[bytes]) -> None:
    p.kill()
    p.wait()


def sampled(plan: Plan, rig: Rig) -> Outcome:
    """The py-spy burst (full run only); a report section, no rows."""
    out = Outcome()
    if plan.profile_posts:
        out.sections["Profile: sampled under load (py-spy)"] = spy_burst(plan, rig)
    return out


def counted(plan: Plan, rig: Rig) -> Outcome:
    """The in-process count; stops the rig's Herald processes and extra workers first."""
    rig.cluster.stop_workers()
    terminate_all(rig.extra + rig.cluster.schedulers)
    rig.cluster.schedulers.clear()
    rig.extra.clear()
    rig.reset_ledger()
    ways, plain = count_ops(plan, rig)
    sp = _specs(plan)
    out = Outcome()
    for c in ways:
        key = "one" if c.batch == 1 else "batch"
        n = c.deliveries
        out.put(sp[f"wall {key}"], 1000 * c.wall, 1000 * plain, "mean; breakdown in the profile section")
        out.put(
            sp[f"sql {key}"],
            c.tally.transactions / n,
            MIN_SQL_TRANSACTIONS / c.batch,
            "claim before the call, outcome after: 2 per call",
        )
        out.put(
            sp[f"redis {key}"],
            c.tally.redis_trips / n,
            MIN_REDIS_ROUND_TRIPS / c.batch,
            "payloads read, acknowledgement: 2 per call",
        )
    out.sections["Profile: counted, in-process"] = _ops_section(ways, plain)
    return out
