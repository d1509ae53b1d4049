"""A benchmark stopped with SIGTERM stops the processes it started: worker and scheduler
processes run in sessions of their own, out of reach of a signal to the benchmark's group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys, time
from bench.harness import Cluster, stop_on_signals
stop_on_signals()
c = Cluster(worker_concurrency=1).start()
w = c.start_worker()
s = c.start_scheduler()
print(w.pid, s.pid, c.redis_server.proc.pid, flush=True)
time.sleep(120)
"""


def _gone(pid: int) -> bool:
    """Exited (a zombie not yet reaped counts: it runs nothing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def test_sigterm_stops_every_process_the_bench_started() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert proc.stdout is not None
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 3, "the cluster did not start"
        assert not any(_gone(p) for p in pids)
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(_gone(p) for p in pids):
            time.sleep(0.1)
        assert all(_gone(p) for p in pids), [p for p in pids if not _gone(p)]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
