"""Small measuring tools shared by the scenarios: lateness statistics from the simulator's
ledger, process memory and CPU, Redis counters, and bounded waiting."""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

try:  # psutil is optional: /proc is read directly without it (Linux only)
    import psutil
except ImportError:  # pragma: no cover - psutil ships with the dev environment
    psutil = None

MB = 1_000_000


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; NaN when there are none."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Lateness:
    """How late posts reached the platform, seconds after their due time (negative = early)."""

    count: int
    p50: float
    p99: float
    max: float
    early: int

    @property
    def drain(self) -> float:
        """For a burst (every post due at one instant): when the last one arrived."""
        return self.max

    @classmethod
    def of(cls, late: list[float]) -> Lateness:
        return cls(
            count=len(late),
            p50=percentile(late, 50),
            p99=percentile(late, 99),
            max=max(late) if late else math.nan,
            early=sum(1 for x in late if x < 0),
        )


def lateness(received: Mapping[str, list[float]], due: Callable[[str], float]) -> Lateness:
    """Lateness of the first copy of each post (``received``: text → arrival times)."""
    return Lateness.of([min(times) - due(text) for text, times in received.items()])


def duplicates(received: Mapping[str, list[float]]) -> int:
    """Copies beyond the first, over all posts: what "exactly once" must keep at 0."""
    return sum(len(times) - 1 for times in received.values())


# -- processes -------------------------------------------------------------------------------------


#: One role's processes: a pid, or several (two worker processes count as one "worker").
Procs = int | Sequence[int]


def _tree(procs: Procs) -> list[int]:
    """The processes and their descendants; the benchmark's own process is counted alone (its
    children are the processes under test)."""
    if not isinstance(procs, int):
        return [p for pid in procs for p in _tree(pid)]
    pid = procs
    if pid == os.getpid():
        return [pid]
    if psutil is not None:
        try:
            root = psutil.Process(pid)
            return [pid, *(c.pid for c in root.children(recursive=True))]
        except psutil.Error:
            return []
    return [pid]


def rss_bytes(pid: Procs) -> int:
    """Resident memory of a process and its children (a prefork pool's children count)."""
    total = 0
    for p in _tree(pid):
        if psutil is not None:
            try:
                total += psutil.Process(p).memory_info().rss
            except psutil.Error:
                continue
        else:
            total += _vmrss(p)
    return total


def _vmrss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pid: Procs) -> float:
    """User + system CPU seconds used so far by a process and its children."""
    total = 0.0
    for p in _tree(pid):
        if psutil is not None:
            try:
                t = psutil.Process(p).cpu_times()
                total += t.user + t.system
            except psutil.Error:
                continue
        else:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _clock_ticks()
    return total


def _clock_ticks() -> int:
    return int(os.sysconf("SC_CLK_TCK"))


def median_rss(pids: Mapping[str, Procs], samples: int = 5, interval: float = 0.1) -> dict[str, int]:
    """Median of a few RSS samples per process, so one allocation spike does not decide a ratio."""
    values: dict[str, list[int]] = {name: [] for name in pids}
    for k in range(samples):
        for name, pid in pids.items():
            values[name].append(rss_bytes(pid))
        if k + 1 < samples:
            time.sleep(interval)
    return {name: int(statistics.median(v)) for name, v in values.items()}


# -- Redis -----------------------------------------------------------------------------------------


def redis_info(r: redis.Redis, section: str) -> dict[str, Any]:  # Any: INFO values are str/int/float
    return dict(r.info(section))


def used_memory(r: redis.Redis) -> int:
    return int(redis_info(r, "memory")["used_memory"])


def net_bytes(r: redis.Redis) -> tuple[int, int]:
    """(bytes received, bytes sent) by the server since it started."""
    s = redis_info(r, "stats")
    return int(s["total_net_input_bytes"]), int(s["total_net_output_bytes"])


def command_calls(r: redis.Redis) -> dict[str, int]:
    """Calls per command since start (``INFO commandstats``): round trips, counted by Redis."""
    out = {}
    for name, stats in redis_info(r, "commandstats").items():
        if isinstance(stats, dict):
            out[name.removeprefix("cmdstat_")] = int(stats["calls"])
    return out


def calls_between(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0) > 0}


# -- waiting ---------------------------------------------------------------------------------------


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; the last answer decides."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def sleep_until(epoch: float, limit: float = 600.0) -> None:
    """Sleep until wall-clock ``epoch`` (at most ``limit`` seconds)."""
    time.sleep(min(limit, max(0.0, epoch - time.time())))


class CpuMeter:
    """CPU seconds used by named processes between ``start()`` and ``stop()``."""

    def __init__(self, pids: Mapping[str, Procs]) -> None:
        self.pids = dict(pids)
        self._before: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def start(self) -> CpuMeter:
        self._before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        return self

    def stop(self) -> dict[str, float]:
        self.used = {name: cpu_seconds(pid) - self._before[name] for name, pid in self.pids.items()}
        return self.used
