"""The shape of ``herald worker``: how many processes, which Celery pool, how many threads each.

The default is the fast shape for the machine, so that a worker started with no options is the
one the benchmarks measure (issue 19): one process per usable core, since one Python process
runs on one core at a time, and in each a pool of threads, since a delivery mostly waits on a
platform, on Redis or on SQL. "Usable" cores are the ones this process may run on (its CPU
affinity) and, in a container, its CPU quota (cgroup v2 ``cpu.max``), rounded up.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from herald.core.errors import ConfigError
from herald.core.settings import Settings

#: Celery pools a worker may run: threads (the default), prefork (one process per slot), solo.
POOLS = ("threads", "prefork", "solo")
#: Where cgroup v2 states this process's CPU quota ("max 100000" or "200000 100000").
CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


@dataclass(frozen=True)
class WorkerShape:
    processes: int
    pool: str
    #: Threads per process (prefork: child processes; solo: 1).
    concurrency: int
    #: Where ``processes`` came from, for the start-up line.
    why: str


def usable_cores(cpu_max: Path = CPU_MAX) -> int:
    """Cores this process may use: its CPU affinity, capped by a cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def worker_shape(
    settings: Settings,
    *,
    pool: str | None = None,
    concurrency: int | None = None,
    processes: int | None = None,
) -> WorkerShape:
    """The shape asked for on the command line, else in the settings, else the fast default."""
    pool = pool or settings.worker_pool
    if pool not in POOLS:
        raise ConfigError(f"--pool {pool!r}: choose one of {', '.join(POOLS)}")
    slots = 1 if pool == "solo" else concurrency or settings.worker_concurrency
    if processes is not None:
        return WorkerShape(processes, pool, slots, "--processes")
    if settings.worker_processes is not None:
        return WorkerShape(settings.worker_processes, pool, slots, "HERALD_WORKER_PROCESSES")
    if pool == "prefork":
        # Prefork's slots are processes already: one Celery parent is the whole worker.
        return WorkerShape(1, pool, slots, "prefork: its slots are processes")
    cores = usable_cores()
    return WorkerShape(cores, pool, slots, f"one per usable core: {cores}")
