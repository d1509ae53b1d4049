"""The benchmark rig: a harness ``Cluster`` (private redis-server, database, simulator, real
``celery -A tasks worker`` and ``herald scheduler`` processes) plus what the benchmarks add:

- ``channels`` Mastodon channels ``b0``, ``b1``... each on its own simulator account, with the
  ``rate_limit: off`` option (a burst is far above any posting window; see ``harness.py``);
- on demand (``add_platform_channels``), channels on Mastodon, Bluesky, Telegram and X with
  each platform's own posting window, on simulator accounts that count posts against the
  platforms' limits (the top-of-the-hour scenario);
- plain-Celery ETA workers (``bench.eta_app``) on the same redis-server, in other databases;
- ledger helpers: the simulator keeps every post it accepted with its arrival time.

Herald runs with its production defaults where the harness tunes them for chaos runs
(``lease_seconds`` is a parameter; the consistency check runs every 30 s, not 2 s).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.harness import ROOT, Cluster, track
from bench.measure import Procs, wait_until
from bench.plan import Plan
from herald.core.settings import Settings
from herald.core.shape import usable_cores

#: Herald's defaults (``herald.settings``), restored over the harness's chaos tuning.
PRODUCTION_ENV = {"HERALD_CONSISTENCY_INTERVAL_SECONDS": "30"}
#: Redis databases of the plain-Celery brokers (Herald uses database 0).
ETA_DB = 1
ETA_DEMO_DB = 2
#: How long a stopped process gets to exit before it is killed (seconds).
STOP_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class Account:
    """One benchmark channel: Herald's channel name and the simulator account's token."""

    channel: str
    token: str


@dataclass(frozen=True)
class PlatformAccount:
    """A benchmark channel on any platform: Herald's channel name (also the simulator account's
    username), its platform, and the credentials Herald's channel holds."""

    channel: str
    platform: str
    credentials: Mapping[str, str]


#: The X developer app every benchmark X user authorised: its posts per day count together.
X_APP = {"api_key": "bench-top-app-key", "api_secret": "bench-top-app-secret"}


def _credentials(platform: str, name: str, k: int) -> dict[str, str]:
    """Fresh simulator credentials for channel ``name`` (``k``-th of its run). Telegram: a bot
    per channel (a bot's 30 messages a second span all its chats); X: one app, a user each."""
    tag = f"{k:04d}{uuid.uuid4().hex[:8]}"
    if platform == "mastodon":
        return {"access_token": f"bench-top-token-{tag}"}
    if platform == "bluesky":
        return {"handle": f"{name}.bsky.social", "app_password": f"{tag[:4]}-{tag[4:8]}-{tag[8:12]}-benc"}
    if platform == "telegram":
        return {
            "bot_token": f"{800_000_000 + k}:BENCH-top-bot-{tag}",
            "chat_id": f"@{name.replace('-', '_')}",
        }
    if platform == "x":
        return {
            **X_APP,
            "access_token": f"bench-top-user-{tag}",
            "access_token_secret": f"bench-top-secret-{tag}",
        }
    raise ValueError(f"no benchmark accounts for platform {platform!r}")


class Rig:
    """A started ``Cluster`` with the benchmark's channels, the extra processes it started (to
    stop them with the cluster's), and the simulator's ledger read by post-text prefix."""

    def __init__(self, cluster: Cluster, plan: Plan) -> None:
        self.cluster = cluster
        self.plan = plan
        self.accounts: list[Account] = []
        self.extra: list[subprocess.Popen[bytes]] = []

    # -- set-up ----------------------------------------------------------------------------

    def add_channels(self, n: int) -> None:
        c = self.cluster
        for k in range(n):
            acct = Account(f"b{k}", f"bench-burst-token-{k:04d}-{uuid.uuid4().hex[:8]}")
            # Exempt from the simulator's posting limits too: a burst is far above them.
            c.sim.add_account("mastodon", username=acct.channel, access_token=acct.token, post_limits="off")
            c.herald.add_channel(
                acct.channel,
                "mastodon",
                {"access_token": acct.token},
                base_url=self.mastodon_url,
                options={"rate_limit": "off"},
            )
            self.accounts.append(acct)

    @property
    def herald(self) -> Any:  # Any: herald.service.Herald (imported after the cluster's env is set)
        return self.cluster.herald

    @property
    def mastodon_url(self) -> str:
        return str(self.cluster.sim.url_for("mastodon"))

    def redis_url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.cluster.redis_port}/{db}"

    def add_platform_channels(self, platforms: Sequence[str], n: int, prefix: str) -> list[PlatformAccount]:
        """``n`` channels ``{prefix}-{platform}-{k}``, spread round-robin over ``platforms``,
        each with its platform's own posting window and no minimum gap (no ``rate_limit``
        option, Herald's defaults), on simulator accounts whose posts count against the
        platform's limits (``herald.simulator.limits``). Returns them in creation order."""
        c = self.cluster
        made = []
        for k in range(n):
            platform = platforms[k % len(platforms)]
            name = f"{prefix}-{platform}-{k // len(platforms):02d}"
            creds = _credentials(platform, name, k)
            c.sim.add_account(platform, username=name, **creds)
            c.herald.add_channel(name, platform, dict(creds), base_url=c.sim.url_for(platform))
            made.append(PlatformAccount(name, platform, creds))
        return made

    # -- processes -------------------------------------------------------------------------

    def start_herald(self) -> None:
        """``herald worker`` and ``herald scheduler`` as a user starts them, with no options
        (the worker runs a process per core itself: ``herald.core.shape``)."""
        self.cluster.start_worker()
        self.cluster.start_scheduler()

    def stop_herald(self) -> None:
        self.cluster.stop_workers()
        terminate_all(self.cluster.schedulers)
        self.cluster.schedulers.clear()

    def spawn(
        self, name: str, argv: Sequence[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a process in its own session (so it can be stopped with its children), logging
        into the cluster's work directory."""
        assert self.cluster.workdir is not None
        log = (self.cluster.workdir / f"{name}.log").open("ab")
        p = subprocess.Popen(
            list(argv),
            cwd=ROOT,
            env={**self.cluster.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.extra.append(track(p))
        return p

    def celery_worker(
        self, app: str, queue: str, name: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """``celery -A app worker`` with the harness's worker settings (pool, concurrency)."""
        c = self.cluster
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            app,
            "worker",
            "-P",
            c.worker_pool,
            "-c",
            str(c.worker_concurrency),
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            c.log_level,
            "-n",
            f"{name}@%h",
        ]
        return self.spawn(name, argv, env)

    def start_eta_workers(self, db: int, name: str) -> list[int]:
        """As many plain-Celery workers as Herald has, with the same settings; their pids."""
        return [self.start_eta_worker(db, f"{name}-{k}").pid for k in range(self.cluster.worker_processes)]

    def start_eta_worker(
        self, db: int, name: str, transport_options: dict[str, float] | None = None
    ) -> subprocess.Popen[bytes]:
        """A plain-Celery worker (``bench.eta_app``) whose broker is database ``db``."""
        from bench import eta_app

        return self.celery_worker(
            "bench.eta_app",
            eta_app.QUEUE,
            name,
            {
                "BENCH_ETA_BROKER_URL": self.redis_url(db),
                "BENCH_ETA_TRANSPORT_OPTIONS": json.dumps(transport_options or {}),
            },
        )

    def pids(self) -> dict[str, Procs]:
        """Process ids by role, for CPU and memory figures (every worker process counts as
        "worker"). The simulator runs in this process."""
        c = self.cluster
        out: dict[str, Procs] = {"simulator": os.getpid(), "redis": int(c.redis_server.proc.pid)}
        if c.workers:
            out["worker"] = [w.pid for w in c.workers]
        if c.schedulers:
            out["scheduler"] = c.schedulers[0].pid
        return out

    def stop(self) -> None:
        # Every process at once: a Celery worker's warm shutdown takes a second or two each.
        terminate_all(self.extra + self.cluster.schedulers + self.cluster.workers)
        self.extra.clear()
        self.cluster.stop()

    # -- the ledger ------------------------------------------------------------------------

    def received(self, prefix: str) -> dict[str, list[float]]:
        """Arrival times per post text, for posts whose text starts with ``prefix``."""
        out: dict[str, list[float]] = {}
        for e in self.cluster.sim.ledger():
            if e.text.startswith(prefix):
                out.setdefault(e.text, []).append(e.received_at)
        return out

    def count(self, prefix: str) -> int:
        return sum(1 for e in self.cluster.sim.ledger() if e.text.startswith(prefix))

    def wait_out(self, prefix: str, n: int, timeout: float) -> bool:
        """Wait until ``n`` posts starting with ``prefix`` reached the platforms."""
        return wait_until(lambda: self.count(prefix) >= n, timeout, interval=0.25)

    def reset_ledger(self) -> None:
        """Forget accepted posts between phases (accounts stay)."""
        self.cluster.sim.reset()

    def queue_post(self, channel: str, text: str, at: datetime, photos: Sequence[Any] = ()) -> str:
        """Queue one post through the service layer (what the CLI and the web app call)."""
        from herald.service import PostRequest

        return str(self.herald.add_post(PostRequest(channels=[channel], text=text, at=at, photos=photos)))


def terminate(p: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM the process's group, SIGKILL it if it has not exited within ``timeout``."""
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def terminate_all(procs: Sequence[subprocess.Popen[bytes]], timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM every process group first, then wait for each (``terminate`` for stragglers)."""
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            terminate(p, timeout=0.1)


def at_epoch(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@contextlib.contextmanager
def fresh_database(pg_admin_url: str | None) -> Iterator[str | None]:
    """A new, empty PostgreSQL database for one rig (dropped afterwards), or None for the
    harness's private SQLite file."""
    if not pg_admin_url:
        yield None
        return
    import psycopg

    name = f"herald_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        # A plain postgresql:// URL, as an operator writes it: psycopg 3, the installed driver.
        yield f"{pg_admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_answers(pg_admin_url: str) -> str | None:
    """None when a PostgreSQL server answers at ``pg_admin_url``, else why not."""
    try:
        import psycopg

        psycopg.connect(pg_admin_url, connect_timeout=2).close()
        return None
    except Exception as e:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


@contextlib.contextmanager
def rig(
    plan: Plan,
    *,
    lease_seconds: float = 30.0,
    pg_admin_url: str | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Rig]:
    """A started rig with the benchmark channels; Herald's processes are not started yet.
    ``env`` overrides Herald settings (``HERALD_*``) for this rig's processes."""
    with fresh_database(pg_admin_url) as db_url:
        cluster = Cluster(
            db_url=db_url,
            lease_seconds=lease_seconds,
            # Herald: `herald worker` with no options. Plain Celery: the same shape, so that
            # both have as many processes and threads (a process per core, 4 threads each).
            out_of_the_box=True,
            worker_concurrency=Settings.model_fields["worker_concurrency"].default,
            worker_processes=usable_cores(),
            extra_env={**PRODUCTION_ENV, **(env or {})},
        )
        r = Rig(cluster, plan)
        try:
            cluster.start()
            r.add_channels(plan.channels)
            yield r
        finally:
            r.stop()
