"""Smoke test of the benchmarks (``make bench`` runs the full form): ``python -m bench --quick``
in a subprocess prints the table with a row for every scenario and metric, each with a number
for Herald and a numeric ratio to its reference, writes its report, and stays within budget.
Pass/fail of the performance targets is the report's business, not this test's."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.plan import Plan
from bench.results import COLUMNS
from bench.suite import expected_rows

ROOT = Path(__file__).resolve().parents[2]
#: The issue's budget for ``--quick`` on a 2-core machine, seconds.
BUDGET_SECONDS = 60.0


def _table(stdout: str) -> dict[tuple[str, str], dict[str, str]]:
    """The printed table's rows by (scenario, metric)."""
    rows = {}
    for line in stdout.splitlines():
        if not line.startswith("| ") or line.startswith("|-"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if cells[0] == "scenario" or len(cells) != len(COLUMNS):
            continue
        rows[(cells[0], cells[1])] = dict(zip(COLUMNS, cells, strict=True))
    return rows


def _number(cell: str) -> float:
    """The number at the start of a cell such as "0.81 s" or "1,448 posts/s"."""
    return float(cell.split()[0].replace(",", ""))


@pytest.mark.timeout(8 * BUDGET_SECONDS)
def test_quick_bench_prints_every_row_with_numbers(tmp_path: Path) -> None:
    t0 = time.monotonic()
    # Its own process group, so that on a time-out the bench's worker and scheduler processes
    # are stopped with it instead of outliving the test.
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=6 * BUDGET_SECONDS)
    except subprocess.TimeoutExpired:
        # SIGTERM first: the bench stops the worker and scheduler processes it started (they
        # run in sessions of their own, out of reach of a signal to its group).
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        raise
    done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    elapsed = time.monotonic() - t0
    log = done.stderr[-4000:]
    rows = _table(done.stdout)
    missing = [key for key in expected_rows(Plan.small()) if key not in rows]
    assert not missing, f"rows missing from the table: {missing}\n{done.stdout}\n{log}"
    for key, row in rows.items():
        assert not row["herald"].startswith("error"), f"{key}: {row['herald']}\n{log}"
        assert not math.isnan(_number(row["herald"])), f"{key}: {row['herald']}"
        ratio = float(row["ratio"])  # raises if the ratio is not a number
        assert not math.isnan(ratio), f"{key}: ratio {row['ratio']}"
    assert done.returncode == 0, log
    assert (tmp_path / "report-quick.md").is_file()
    assert (tmp_path / "report-quick.json").is_file()
    png = (tmp_path / "report-quick.png").read_bytes()
    assert png.startswith(b"\x89PNG") and "report-quick.png" in (tmp_path / "report-quick.md").read_text()
    # Not a timing test (shared, noisy machines): only a run far past the budget fails.
    assert elapsed < 3 * BUDGET_SECONDS, (
        f"--quick took {elapsed:.0f} s (budget {BUDGET_SECONDS:.0f} s)\n" + log
    )
