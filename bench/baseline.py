"""The two references Herald is measured against, in the same run on the same simulator:

- the **bare HTTP loop** (``bench.bare``, in its own process): the floor, what sending costs
  with no scheduling, no queue and no bookkeeping at all;
- **plain Celery ETA** (``bench.eta_app``): what a user would build without Herald, posts
  scheduled with ``apply_async(eta=...)`` on the same Redis with the same worker settings.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.harness import ROOT
from bench.rig import Rig, at_epoch

#: Longest a bare loop may run before it is killed (seconds); 10,000 posts take ~10-20 s.
BARE_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class BareRun:
    sent: int
    ok: int
    #: CPU seconds the loop's process spent sending (not importing or waiting).
    cpu_seconds: float
    #: Wall-clock time the first post was sent (epoch seconds).
    started: float


def run_bare(rig: Rig, n: int, *, threads: int, prefix: str, at: float) -> BareRun:
    """Send ``n`` posts in a plain loop (``threads`` > 1: a thread pool) starting at ``at``."""
    argv = [
        sys.executable,
        "-m",
        "bench.bare",
        "--base-url",
        rig.mastodon_url,
        "--count",
        str(n),
        "--threads",
        str(threads),
        "--prefix",
        prefix,
        "--at",
        repr(at),
    ]
    for a in rig.accounts:
        argv += ["--token", a.token]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, timeout=BARE_TIMEOUT_SECONDS, check=False)
    return _bare_run(done)


def run_bare_jobs(rig: Rig, jobs: Sequence[Mapping[str, Any]], *, threads: int, at: float) -> BareRun:
    """Send ``jobs`` (``bench.bare`` jobs: posts on any platform) in order, starting at ``at``."""
    assert rig.cluster.workdir is not None
    path = rig.cluster.workdir / f"bare-jobs-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(list(jobs)))
    argv = [sys.executable, "-m", "bench.bare", "--jobs", str(path), "--threads", str(threads)]
    argv += ["--at", repr(at)]
    try:
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, timeout=BARE_TIMEOUT_SECONDS, check=False)
    finally:
        path.unlink(missing_ok=True)
    return _bare_run(done)


def _bare_run(done: subprocess.CompletedProcess[bytes]) -> BareRun:
    if not done.stdout.strip():
        raise RuntimeError(f"bare loop failed: {done.stderr.decode(errors='replace')[-500:]}")
    out = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return BareRun(
        sent=int(out["sent"]),
        ok=int(out["ok"]),
        cpu_seconds=float(out["cpu_seconds"]),
        started=float(out["started"]),
    )


class EtaClient:
    """The producer side of plain Celery: ``signature(...).apply_async(eta=...)``, which is
    ``apply_async`` without importing the worker's module."""

    def __init__(self, app: Any, rig: Rig) -> None:  # Any: celery.Celery (untyped)
        self.app = app
        self.rig = rig

    def schedule(self, dues: Sequence[float], *, prefix: str, idempotency_key: bool = True) -> float:
        """Schedule post ``i`` due at ``dues[i]`` (epoch s) over the rig's accounts; returns the
        seconds the scheduling took. ``idempotency_key`` False sends none (the naive task)."""
        from bench import eta_app

        url = self.rig.mastodon_url + "/api/v1/statuses"
        t0 = time.perf_counter()
        for i, due in enumerate(dues):
            acct = self.rig.accounts[i % len(self.rig.accounts)]
            key = f"eta-{uuid.uuid4().hex}" if idempotency_key else None
            self.app.signature(eta_app.TASK, args=(url, acct.token, f"{prefix} #{i}", key)).apply_async(
                eta=at_epoch(due), queue=eta_app.QUEUE
            )
        return time.perf_counter() - t0

    def schedule_jobs(self, jobs: Sequence[Mapping[str, Any]], due: float) -> float:
        """Schedule ``bench.bare`` jobs (posts on any platform), in order, all due at ``due``
        (epoch s); returns the seconds the scheduling took."""
        from bench import eta_app

        eta = at_epoch(due)
        t0 = time.perf_counter()
        for job in jobs:
            self.app.signature(eta_app.SEND_TASK, args=(dict(job),)).apply_async(eta=eta, queue=eta_app.QUEUE)
        return time.perf_counter() - t0


@contextmanager
def eta_client(rig: Rig, db: int, transport_options: dict[str, float] | None = None) -> Iterator[EtaClient]:
    from bench import eta_app

    app = eta_app.make_app(rig.redis_url(db), transport_options)
    try:
        yield EtaClient(app, rig)
    finally:
        app.close()
