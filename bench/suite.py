"""``python -m bench``: every scenario, one run, one table of ratios.

Scenarios that can share processes share a rig (a harness ``Cluster``), in an order where each
one finds the processes it needs idle:

1. main rig (Herald's production lease, 30 s): the burst (with the bare loop and plain Celery),
   idle precision, the top of the hour (100 channels on four platforms), then the long-delay
   demonstration with the photo scenario run during its 12 s wait, then (full run) the py-spy
   profile of a burst;
2. second rig (the harness's 3 s lease, as in ``bench.chaos``; started while the demonstration
   waits): recovery (Redis restarted empty, a worker killed with SIGKILL mid-burst), then 1M
   posts queued for the future (its own redis-server, so memory figures are the queue's), then
   the counted in-process profile (its processes stopped);
3. no rig: the delivery log at 1M deliveries against 1k, read in this process
   (``bench.log_scale``).

Every row is declared before anything runs (``specs``), so a scenario that fails leaves its
rows in the table marked ``error``, and the run goes on with the next scenario.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from bench import burst, idle, log_scale, longdelay, photos, profiling, recovery, scale, tophour
from bench.plan import Plan
from bench.results import Outcome, Row, Spec, chart, markdown, summary, table, to_json

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def _say(msg: str) -> None:
    """Progress goes to stderr; stdout carries the table only."""
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


class Book:
    """The rows of the run, in the order declared, filled as scenarios finish."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Row] = {}
        self.sections: dict[str, str] = {}
        self.skipped: set[tuple[str, str]] = set()

    def declare(self, specs: list[Spec]) -> list[Spec]:
        for s in specs:
            if s.key in self.rows:
                raise ValueError(f"row declared twice: {s.key}")
            self.rows[s.key] = Row(s)
        return specs

    def attempt(self, name: str, specs: list[Spec], fn: Callable[[], T]) -> T | None:
        """Run part of a scenario; an exception becomes ``error`` rows (with the reason) and
        None, not a crash: the run goes on with the next scenario."""
        t0 = time.monotonic()
        _say(f"{name}: running")
        try:
            result = fn()
        except Exception as e:  # noqa: BLE001 - any failure becomes error rows
            _say(f"{name}: FAILED after {time.monotonic() - t0:.0f} s: {e!r}")
            traceback.print_exc(file=sys.stderr)
            self.fail(specs, _reason(e))
            if not specs:
                self.sections[f"{name}: failed"] = _reason(e)
            return None
        _say(f"{name}: done in {time.monotonic() - t0:.0f} s")
        return result

    def record(self, name: str, specs: list[Spec], fn: Callable[[], Outcome]) -> None:
        """Run one scenario (see ``attempt``) and fill its rows from its outcome."""
        outcome = self.attempt(name, specs, fn)
        if outcome is None:
            return
        for s in specs:
            got = outcome.measured.get(s.key)
            row = self.rows[s.key]
            if got is None:
                row.error = "not measured"
                continue
            row.herald, row.reference, row.note = got.herald, got.reference, got.note
        self.sections.update(outcome.sections)

    def skip(self, specs: list[Spec]) -> None:
        """Rows of scenarios left out with ``--only``: not printed."""
        self.skipped.update(s.key for s in specs)

    def shown(self) -> list[Row]:
        return [r for key, r in self.rows.items() if key not in self.skipped]

    def fail(self, specs: list[Spec], reason: str) -> None:
        for s in specs:
            row = self.rows[s.key]
            if row.herald is None and row.error is None:
                row.error = reason

    @contextmanager
    def stage(self, name: str, specs: list[Spec]) -> Iterator[None]:
        """A rig's lifetime: if setting it up (or tearing it down) fails, its pending rows say so."""
        t0 = time.monotonic()
        try:
            yield
        except Exception as e:  # noqa: BLE001 - see record()
            _say(f"{name}: FAILED: {e!r}")
            traceback.print_exc(file=sys.stderr)
            self.fail(specs, f"{name}: {_reason(e)}")
        _say(f"{name}: {time.monotonic() - t0:.0f} s")


def _reason(e: BaseException) -> str:
    first = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {first}"[:300]


#: Scenario names, in the order they run (``--only`` takes these).
SCENARIOS = ("burst", "idle", "tophour", "photos", "profile", "long-delay", "scale", "recovery", "log")


def expected_rows(plan: Plan) -> list[tuple[str, str]]:
    """(scenario, metric) of every row a run with ``plan`` prints: what the smoke test checks."""
    return [s.key for name in SCENARIOS for s in _specs(name, plan)]


def _specs(name: str, plan: Plan) -> list[Spec]:
    module = {
        "burst": burst,
        "idle": idle,
        "tophour": tophour,
        "photos": photos,
        "long-delay": longdelay,
        "profile": profiling,
        "scale": scale,
        "recovery": recovery,
        "log": log_scale,
    }.get(name)
    return module.specs(plan) if module is not None else []


#: Scenarios on the main rig, and on the second one (``profile`` has a half on each).
MAIN = ("burst", "idle", "tophour", "photos", "long-delay", "profile")
SECOND = ("recovery", "scale", "profile")


def run(plan: Plan, pg_admin_url: str | None, only: set[str] | None = None) -> Book:
    from bench.baseline import eta_client
    from bench.rig import ETA_DB, Rig, rig

    book = Book()
    specs = {name: book.declare(_specs(name, plan)) for name in SCENARIOS}
    wanted = set(SCENARIOS) if not only else only
    for name in set(SCENARIOS) - wanted:
        book.skip(specs[name])

    def record(name: str, fn: Callable[[], Outcome]) -> None:
        if name in wanted:
            book.record(name, specs[name], fn)

    second_specs = [s for name in SECOND for s in specs[name]]
    with contextlib.ExitStack() as stack:
        second: list[tuple[Rig, list[int]]] = []
        recovered: list[bool] = []

        def open_second() -> None:
            """Start the second rig (the harness's 3 s lease, as in bench.chaos; the consistency
            check every 2 s, so that several run against the full table in the scale scenario)
            with Herald's processes and a plain-Celery worker, once."""
            if second or not wanted & set(SECOND):
                return

            def start() -> tuple[Rig, list[int]]:
                env = {"HERALD_CONSISTENCY_INTERVAL_SECONDS": "2"}
                r2 = stack.enter_context(
                    rig(plan, pg_admin_url=pg_admin_url, lease_seconds=recovery.LEASE_SECONDS, env=env)
                )
                r2.start_herald()
                return r2, r2.start_eta_workers(ETA_DB, "eta0")

            got = book.attempt("second rig (start)", second_specs, start)
            if got is not None:
                second.append(got)

        if wanted & set(MAIN):
            main_specs = [s for name in MAIN if name != "profile" for s in specs[name]]
            with book.stage("main rig", main_specs), rig(plan, pg_admin_url=pg_admin_url) as r:
                r.start_herald()
                eta_workers = r.start_eta_workers(ETA_DB, "eta0")
                if "long-delay" in wanted:
                    longdelay.start_worker(r)
                with eta_client(r, ETA_DB) as eta:
                    _say("main rig: warming up (Herald worker and scheduler, plain Celery workers)")
                    burst.warm_up(r, eta, plan)
                    if "long-delay" in wanted:
                        longdelay.wait_ready(r)
                    record("burst", lambda: burst.run(plan, r, eta, eta_workers))
                    record("idle", lambda: idle.run(plan, r, eta))
                    record("tophour", lambda: tophour.run(plan, r, eta, eta_workers))
                # The long-delay demonstration mostly waits: the photo scenario runs meanwhile,
                # then the second rig starts and runs the recovery scenario.
                pending = None
                if "long-delay" in wanted:
                    pending = book.attempt(
                        "long-delay (start)", specs["long-delay"], lambda: longdelay.start(plan, r)
                    )
                record("photos", lambda: photos.run(plan, r))
                open_second()
                if second and not recovered:
                    recovered.append(True)
                    record("recovery", lambda: recovery.run(plan, second[0][0]))
                if pending is not None:
                    due = pending
                    record("long-delay", lambda: longdelay.finish(plan, r, due))
                if "profile" in wanted and plan.profile_posts:
                    book.record("profile (sampled)", [], lambda: profiling.sampled(plan, r))
        open_second()
        if second:
            r2, eta_pid = second[0]
            with book.stage("second rig", second_specs):
                if not recovered:
                    record("recovery", lambda: recovery.run(plan, r2))
                record("scale", lambda: scale.run(plan, r2, eta_pid))
                record("profile", lambda: profiling.counted(plan, r2))
    # No rig: the delivery log is read in this process, once every rig has stopped.
    record("log", lambda: log_scale.run(plan, pg_admin_url))
    return book


#: Scenarios run a second time on PostgreSQL (issues 17 and 19), their rows marked
#: ``POSTGRES_MARK``: what production runs on, measured beside SQLite in the same run.
ON_POSTGRES = ("burst", "idle", "scale", "recovery", "log")
POSTGRES_MARK = " · PostgreSQL"
DEFAULT_PG_ADMIN = os.environ.get("HERALD_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _marked(rows: list[Row], mark: str) -> list[Row]:
    return [replace(r, spec=replace(r.spec, scenario=r.spec.scenario + mark)) for r in rows]


def main(argv: list[str] | None = None) -> int:
    from bench.harness import stop_on_signals
    from bench.rig import postgres_answers

    stop_on_signals()
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes (labelled), for the smoke test")
    ap.add_argument(
        "--out", type=Path, default=None, help="where to write the report (default bench/results)"
    )
    ap.add_argument(
        "--databases",
        choices=("both", "sqlite", "postgresql"),
        default=None,
        help="where Herald runs: SQLite, then PostgreSQL for "
        + ", ".join(ON_POSTGRES)
        + " (default: both when PostgreSQL answers; --quick: sqlite)",
    )
    ap.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        default=DEFAULT_PG_ADMIN,
        help="PostgreSQL server (fresh databases are created and dropped through it)",
    )
    ap.add_argument("--only", nargs="+", choices=SCENARIOS, help="run only these scenarios")
    args = ap.parse_args(argv)
    plan = Plan.small() if args.quick else Plan.full()
    wanted = set(args.only or SCENARIOS)
    choice = args.databases or ("sqlite" if args.quick else "both")
    pg_missing = postgres_answers(args.postgres) if choice != "sqlite" else None
    if pg_missing and choice == "postgresql":
        _say(f"no PostgreSQL at {args.postgres.rsplit('@', 1)[-1]}: {pg_missing}")
        return 1
    if pg_missing:
        _say(f"PostgreSQL rows SKIPPED: no PostgreSQL at {args.postgres.rsplit('@', 1)[-1]} ({pg_missing})")
    t0 = time.monotonic()
    load0, rev0 = os.getloadavg()[0], _revision()
    rows: list[Row] = []
    sections: dict[str, str] = {}
    databases: list[str] = []
    if choice in ("both", "sqlite"):
        book = run(plan, None, wanted)
        rows += book.shown()
        sections.update(book.sections)
        databases.append("SQLite (WAL)")
    on_pg = wanted & set(ON_POSTGRES)
    if choice != "sqlite" and not pg_missing and on_pg:
        _say("the same scenarios on PostgreSQL: " + ", ".join(sorted(on_pg)))
        book = run(plan, args.postgres, on_pg)
        rows += _marked(book.shown(), POSTGRES_MARK)
        sections.update({k + POSTGRES_MARK: v for k, v in book.sections.items()})
        databases.append(f"PostgreSQL (rows marked “{POSTGRES_MARK.strip(' ·')}”)")
    elif pg_missing:
        databases.append(f"PostgreSQL rows skipped: {pg_missing}")
    load = (load0, os.getloadavg()[0])
    rev = _revision()
    # Others commit while the benchmark runs: each process measures the code it started with.
    revision = rev0 if rev == rev0 else f"{rev0} at the start, {rev} at the end"
    elapsed = time.monotonic() - t0
    sys.stdout.write("\n" + table(rows) + "\n\n" + f"Targets: {summary(rows)}. ({elapsed:.0f} s)\n")
    sys.stdout.flush()
    _write(plan, rows, sections, args.out or RESULTS, elapsed, "; ".join(databases), load, revision)
    return 1 if any(r.error for r in rows) else 0


def _revision() -> str:
    """The commit measured, and whether the working tree differed from it (read-only git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "revision unknown (no git)"
    return f"commit {head}" + (f" plus uncommitted changes in {len(dirty)} tracked files" if dirty else "")


def _write(
    plan: Plan,
    rows: list[Row],
    sections: dict[str, str],
    out: Path,
    elapsed: float,
    databases: str,
    load: tuple[float, float],
    revision: str,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    stem = "report-quick" if plan.quick else "report"
    mode = (
        f"--quick (small sizes: {plan.count(plan.scale_posts)} posts at scale, not 1M)"
        if plan.quick
        else "full"
    )
    preamble = [
        "",
        f"Herald: {revision}.",
        f"Mode: {mode}; databases: {databases}; "
        f"{os.cpu_count()} CPUs (1-minute load average {load[0]:.1f} before, {load[1]:.1f} after); "
        f"{elapsed:.0f} s.",
        "Ratios are Herald ÷ reference, both measured in this run on this machine, except where "
        "the reference says it is a constant (the exactly-once minimum of SQL transactions and "
        "Redis round trips per delivery: fixed, not measured).",
    ]
    if chart(rows, out / f"{stem}.png"):
        _say(f"chart: {out / f'{stem}.png'}")
        preamble += ["", f"![Every ratio of this run, on a log scale]({stem}.png)"]
    (out / f"{stem}.md").write_text(
        markdown(rows, title="Herald benchmarks", preamble=preamble, sections=sections)
    )
    (out / f"{stem}.json").write_text(to_json(rows) + "\n")
    _say(f"report: {out / f'{stem}.md'}")
