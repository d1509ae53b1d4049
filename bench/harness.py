"""A private Herald for benchmarks and chaos runs: its own redis-server (killable, restartable,
with or without AOF), its own database, the platform simulator, and real worker and scheduler
processes started from the same commands an operator uses."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from herald.supervisor import Child, Supervisor

ROOT = Path(__file__).resolve().parents[1]
HERALD = str(Path(sys.executable).parent / "herald")

MASTODON_TOKEN = "bench-mastodon-token-0001"
X_CREDS = {
    "api_key": "bench-x-key-0001",
    "api_secret": "bench-x-secret-0001",
    "access_token": "bench-x-token-0001",
    "access_token_secret": "bench-x-token-secret-0001",
}
BLUESKY_CREDS = {"handle": "bench.bsky.social", "app_password": "benc-hblu-esky-0001"}


#: Every process a benchmark started and has not seen exit, by pid: stopped at exit (also on
#: SIGTERM or SIGINT, see ``stop_on_signals``) so that none outlives an interrupted run. Worker
#: and scheduler processes run in sessions of their own (to be killed with their children), so
#: killing the benchmark's process group alone would not reach them.
_LIVE: dict[int, subprocess.Popen[bytes]] = {}


def track(p: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
    _LIVE[p.pid] = p
    return p


@atexit.register
def stop_everything() -> None:
    """SIGKILL whatever this process started and is still running (and its children)."""
    for pid, p in list(_LIVE.items()):
        _LIVE.pop(pid, None)
        if p.poll() is not None:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                p.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(5)


def stop_on_signals() -> None:
    """Turn SIGTERM into SystemExit, so ``finally`` blocks and ``stop_everything`` run when the
    benchmark is stopped (SIGINT already raises KeyboardInterrupt)."""

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@dataclass
class Cluster:
    """Start with ``start()``, stop with ``stop()`` (or use as a context manager)."""

    workdir: Path | None = None
    db_url: str | None = None
    appendonly: bool = False
    lease_seconds: float = 3.0
    #: Threads (or prefork children) per worker process.
    worker_concurrency: int = 8
    worker_pool: str = "threads"
    #: Worker processes ``start_herald`` starts (one Python process is bound to one core).
    worker_processes: int = 1
    #: Start ``herald worker`` with no options, as a user does (it runs one process per core
    #: itself): the benchmarks' Herald. Otherwise the pool and concurrency above, one process each.
    out_of_the_box: bool = False
    log_level: str = "WARNING"
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        #: Workers run under a supervisor, as in production (compose's restart policy, systemd):
        #: one that ends (killed, or ended by its watchdog) is started again.
        self.supervisor = Supervisor(min_backoff=0.5, max_backoff=5.0)
        self._worker_children: list[Child] = []
        self.schedulers: list[subprocess.Popen[bytes]] = []
        self.redis_server: Any = None
        self.sim: Any = None
        self.herald: Any = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Cluster:
        """Start everything; if any part fails, stop what was started (no stray redis-server)."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Cluster:
        from herald.core.settings import reset_settings
        from herald.embedded import EmbeddedRedis, free_port
        from herald.simulator import Simulator

        if self.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="herald-bench-")
            self.workdir = Path(self._tmp.name)
        self.redis_port = free_port()
        self.redis_server = EmbeddedRedis(
            self.workdir / "redis", port=self.redis_port, appendonly=self.appendonly
        )
        self._start_redis()
        self.redis_url = self.redis_server.url
        self.env = {
            **os.environ,
            "HERALD_ENV": "test",
            "HERALD_DATA_DIR": str(self.workdir / "var"),
            "HERALD_DATABASE_URL": self.db_url or f"sqlite:///{self.workdir / 'herald.db'}",
            "HERALD_REDIS_URL": self.redis_url,
            "HERALD_SECRET_KEY": "bench-secret-key-" + "7" * 32,
            "HERALD_LEASE_SECONDS": str(self.lease_seconds),
            "HERALD_RETRY_BASE_SECONDS": "0.3",
            "HERALD_RETRY_MAX_SECONDS": "3",
            "HERALD_MAX_ATTEMPTS": "12",
            "HERALD_CONSISTENCY_INTERVAL_SECONDS": "2",
            # Deaf after two leases, as the scheduler judges a stall.
            "HERALD_WORKER_WATCHDOG_SECONDS": str(2 * self.lease_seconds),
            "HERALD_LOG_LEVEL": self.log_level,
            # Several workers and schedulers on one machine: no metrics ports unless asked for.
            "HERALD_METRICS_PORT": "0",
            **self.extra_env,
        }
        # The service in this process reads its settings from the environment; ``stop`` puts
        # the environment back as it was, so that nothing leaks into whatever runs next.
        self._saved_env = {k: os.environ.get(k) for k in self.env if k.startswith("HERALD_")}
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("HERALD_")})
        reset_settings()
        from herald.runtime import service

        self.herald = service()
        self.sim = Simulator().start()
        self.supervisor.run_in_background()
        # Bursts here are far above the platforms' posting windows: the simulator does not
        # count these accounts against them, and Herald's channels do not keep them.
        self.sim.add_account("mastodon", username="bench", access_token=MASTODON_TOKEN, post_limits="off")
        self.sim.add_account("x", username="bench", **X_CREDS, post_limits="off")
        off = {"rate_limit": "off"}
        self.herald.add_channel(
            "m",
            "mastodon",
            {"access_token": MASTODON_TOKEN},
            base_url=self.sim.url_for("mastodon"),
            options=off,
        )
        self.herald.add_channel("x", "x", dict(X_CREDS), base_url=self.sim.url_for("x"), options=off)
        self.sim.add_account("bluesky", username="bench", **BLUESKY_CREDS, post_limits="off")
        self.herald.add_channel(
            "b", "bluesky", dict(BLUESKY_CREDS), base_url=self.sim.url_for("bluesky"), options=off
        )
        return self

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.stop_workers()
        for p in self.schedulers:
            _terminate(p)
        self.schedulers.clear()
        if self.sim is not None:
            self.sim.stop()
        if self.redis_server is not None:
            self.redis_server.stop()
        if self.herald is not None:
            self.herald.db.dispose()
        if self._tmp is not None:
            self._tmp.cleanup()
        for k, v in getattr(self, "_saved_env", {}).items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved_env = {}
        from herald.core.settings import reset_settings

        reset_settings()

    # -- processes -------------------------------------------------------------------------

    def _log(self, name: str) -> Any:
        assert self.workdir is not None
        return (self.workdir / f"{name}.log").open("ab")

    @property
    def workers(self) -> list[subprocess.Popen[bytes]]:
        """The worker processes running now (or last started), in the order they were added."""
        return [c.proc for c in self._worker_children if c.proc is not None]

    def worker_argv(self) -> list[str]:
        """``herald worker`` as started: with no options (the out-of-the-box shape) when
        ``out_of_the_box``, else one process of the harness's pool and concurrency."""
        if self.out_of_the_box:
            return [HERALD, "worker"]
        return [
            HERALD,
            "worker",
            "--pool",
            self.worker_pool,
            "-c",
            str(self.worker_concurrency),
            "--processes",
            "1",
        ]

    def start_worker(self, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """A supervised worker as an operator starts one: ``herald worker`` (``env``: variables
        of its own, e.g. the data directory of another machine)."""
        name = f"worker{len(self._worker_children)}"

        def spawn() -> subprocess.Popen[bytes]:
            return track(
                subprocess.Popen(
                    self.worker_argv(),
                    cwd=ROOT,
                    env={**self.env, **(env or {})},
                    stdout=self._log(name),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

        child = self.supervisor.add(name, spawn, _terminate)
        self._worker_children.append(child)
        assert child.proc is not None
        return child.proc

    def stop_workers(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL) and their supervision."""
        for child in self._worker_children:
            self.supervisor.remove(child.name)
            if child.proc is not None:
                _terminate(child.proc)
        self._worker_children.clear()

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Until every worker's log says it is ready to consume."""
        return wait_for(lambda: self.logs().count(" ready.") >= len(self.workers), timeout=timeout)

    def worker_exits(self) -> list[int]:
        """Exit statuses of every worker process that ended (killed by us or not)."""
        return [status for c in self._worker_children for status in c.exits]

    def start_scheduler(self, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(
            [HERALD, "scheduler"],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            stdout=self._log(f"scheduler{len(self.schedulers)}"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.schedulers.append(track(p))
        return p

    def kill_scheduler(self, index: int = 0) -> None:
        """SIGKILL a scheduler's whole process group (it is not supervised: the others go on)."""
        p = self.schedulers[index]
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()

    def kill_worker(self, index: int = 0) -> None:
        """SIGKILL the worker's whole process group (no graceful shutdown, no acks); its
        supervisor starts a new one."""
        p = self._worker_children[index].proc
        assert p is not None
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()

    def stop_worker_gracefully(self, index: int = 0, timeout: float = 60) -> float:
        """SIGTERM, out of supervision: Celery's warm shutdown finishes the tasks it is running
        and hands back what it had prefetched. Returns how long the worker took to exit."""
        child = self._worker_children.pop(index)
        self.supervisor.remove(child.name)
        p = child.proc
        assert p is not None
        t0 = time.monotonic()
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout)
        return time.monotonic() - t0

    def restart_worker(self, index: int = 0) -> None:
        """kill -9, and start a new one at once (not after the supervisor's pause)."""
        child = self._worker_children[index]
        self.kill_worker(index)
        self.supervisor.restart_now(child.name)

    def restart_redis(self, *, keep_data: bool, graceful: bool = False, down: float = 0.0) -> None:
        """Stop redis-server (SIGKILL, or SIGTERM when ``graceful``), leave it down ``down``
        seconds and start it again on the same port; with AOF (``appendonly``) the data
        survives, without it Redis comes back empty."""
        from herald.embedded import EmbeddedRedis

        if graceful:
            self.redis_server.stop()
        else:
            self.redis_server.kill()
        assert self.workdir is not None
        if not keep_data:
            for f in (self.workdir / "redis").glob("*"):
                if f.is_file():
                    f.unlink()
                else:
                    for g in f.glob("*"):
                        g.unlink()
        time.sleep(down)
        self.redis_server = EmbeddedRedis(
            self.workdir / "redis", port=self.redis_port, appendonly=self.appendonly
        )
        self._start_redis()

    def _start_redis(self) -> None:
        try:
            self.redis_server.start()
        finally:
            if self.redis_server.proc is not None:
                track(self.redis_server.proc)

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url)

    def logs(self) -> str:
        assert self.workdir is not None
        return "".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("*.log")))


def _terminate(p: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
