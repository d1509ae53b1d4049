"""The long-running processes: ``herald worker``, ``scheduler``, ``web``, ``up``, and
``migrate``."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Annotated, Any

import typer

from herald.cli.app import (
    app,
    fail,
)
from herald.core.errors import ConfigError
from herald.core.i18n import _
from herald.core.logs import setup_logging
from herald.core.settings import check_internet_facing, get_settings
from herald.core.shape import WorkerShape, worker_shape

log = logging.getLogger(__name__)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from herald.store.db import Database  # lazy: start-up cost

    Database(get_settings().sqlalchemy_url).migrate()
    typer.echo(_("database is at the newest schema"))


#: Exit status of a worker that stopped without being asked to (EX_SOFTWARE).
EXIT_UNASKED = 70


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", "-c", help="threads per process (prefork: child processes)"),
    ] = None,
    pool: Annotated[str | None, typer.Option("--pool", "-P", help="threads (default) or prefork")] = None,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            help="worker processes (default: one per usable core under threads; 1 under prefork)",
            min=1,
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="node name (default herald-PID@HOST)")
    ] = None,
) -> None:
    """Run the Celery workers that publish due deliveries.

    With no options, the fast shape for this machine: one process per usable core (one Python
    process is bound to one core), each with threads (``HERALD_WORKER_CONCURRENCY``, 4), which
    wait on the platforms rather than compute; this command then supervises them, starting
    again any that ends. It rides out Redis outages of any length. It ends only when asked
    (SIGTERM, SIGINT): any other end is logged as an error and exits non-zero (the watchdog's,
    for a deaf consumer, with 75), so that a supervisor (herald up, compose, systemd) starts a
    fresh one."""
    s = get_settings()
    setup_logging(s.log_level, s.log_format)
    try:
        shape = worker_shape(s, pool=pool, concurrency=concurrency, processes=processes)
    except ConfigError as e:
        raise fail(str(e)) from None
    if shape.processes > 1:
        sys.exit(_supervise_workers(shape, name))
    _run_worker(shape, name)


def _run_worker(shape: WorkerShape, name: str | None) -> None:
    """One Celery worker in this process."""
    s = get_settings()
    from celery.bin.celery import celery as celery_command  # lazy: start-up cost
    from celery.signals import worker_shutting_down  # lazy: start-up cost

    from content_queue.keys import HANDOVER_QUEUE  # lazy: start-up cost

    asked: list[str] = []

    def _asked(sig: str | None = None, **_: Any) -> None:
        asked.append(str(sig))

    worker_shutting_down.connect(_asked, weak=False)
    # Celery's own command line, as `celery -A tasks worker` runs it, but keeping its exit
    # status: app.worker_main() and app.start() drop it, which made a failed worker exit 0.
    status = celery_command.main(
        args=[
            "-A",
            "tasks",
            "worker",
            "--loglevel",
            s.log_level,
            "-c",
            str(shape.concurrency),
            "-P",
            shape.pool,
            "-Q",
            HANDOVER_QUEUE,
            "--without-gossip",
            "--without-mingle",
            "-n",
            name or f"herald-{os.getpid()}@%h",
        ],
        prog_name="herald worker",
        standalone_mode=False,
    )
    status = int(status or 0)
    if not asked:
        log.error(
            "worker stopped without being asked to (Celery's exit status %d; the lines above say "
            "why); exiting with %d so that its supervisor starts a fresh one",
            status,
            status or EXIT_UNASKED,
        )
        sys.exit(status or EXIT_UNASKED)
    log.info("worker stopped (%s)", ", ".join(asked))
    sys.exit(status)


def _supervise_workers(shape: WorkerShape, name: str | None) -> int:
    """Run ``shape.processes`` single-process workers as children, each started again when it
    ends without being asked (``herald.supervisor``: backoff on quick failures), until SIGTERM
    or SIGINT; then stop them (each finishes what it holds) and exit 0. A child dies with this
    process, however it ends (Linux: the parent-death signal). Each serves its metrics on a
    port of its own (``tasks.metrics``)."""
    import subprocess  # lazy: start-up cost

    from herald.supervisor import Supervisor  # lazy: start-up cost

    s = get_settings()
    sup = Supervisor()
    base = name or f"herald-{os.getpid()}@%h"
    node, _, host = base.partition("@")
    stride = 1 + (shape.concurrency if shape.pool == "prefork" else 0)
    for k in range(shape.processes):
        env = dict(os.environ)
        port = s.metrics_port_for("worker")
        env["HERALD_METRICS_PORT"] = str(port + k * stride if port else 0)
        argv = [
            sys.executable,
            "-m",
            "herald.cli",
            "worker",
            "--processes",
            "1",
            "--pool",
            shape.pool,
            "-c",
            str(shape.concurrency),
            "-n",
            f"{node}-{k}@{host or '%h'}",
        ]

        def start(argv: list[str] = argv, env: dict[str, str] = env) -> subprocess.Popen[bytes]:
            return subprocess.Popen(argv, env=env, preexec_fn=_die_with_parent(os.getpid()))  # noqa: PLW1509 - only sets the death signal

        sup.add(f"worker-{k}", start)
    log.info(
        "%d worker processes of %d %s each (%s)",
        shape.processes,
        shape.concurrency,
        "threads" if shape.pool == "threads" else f"{shape.pool} slots",
        shape.why,
    )
    asked = threading.Event()
    _stop_on_signals(asked.set)
    sup.run_in_background()
    while not asked.wait(0.5):
        pass
    # All at once: each finishes what it holds (Celery's warm shutdown) while the others do.
    sup.halt()
    for child in sup.children.values():
        if child.proc is not None and child.proc.poll() is None:
            child.proc.terminate()
    sup.stop()
    log.info("workers stopped")
    return 0


def _die_with_parent(parent: int) -> Callable[[], None]:
    """For a child, before it runs: SIGTERM when ``parent`` dies (even by SIGKILL), so that no
    worker outlives the command that started it. Linux only; elsewhere a no-op.

    The signal is armed only once the child runs: a parent killed between the fork and the
    arming would leave the child an orphan for good, so a child that finds its parent already
    gone ends there."""

    def arm() -> None:
        import ctypes  # lazy: start-up cost

        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:
            os._exit(1)

    return arm


#: prctl(2) option: the signal a process receives when its parent dies.
PR_SET_PDEATHSIG = 1


@app.command()
def scheduler() -> None:
    """Run the dispatcher: claim due deliveries and hand them to the workers."""
    from tasks.handover import build_dispatcher  # lazy: start-up cost
    from tasks.metrics import serve_process_metrics  # lazy: start-up cost

    s = get_settings()
    setup_logging(s.log_level, s.log_format)
    d = build_dispatcher()
    serve_process_metrics("scheduler", s)
    _stop_on_signals(d.stop)
    d.run()


def _stop_on_signals(stop: Any) -> None:
    def handler(signum: int, _frame: Any) -> None:
        log.info("received signal %d; stopping", signum)
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@app.command()
def web(
    host: Annotated[str | None, typer.Option("--host")] = None,
    port: Annotated[int | None, typer.Option("--port")] = None,
) -> None:
    """Run the web app."""
    import uvicorn

    s = get_settings()
    setup_logging(s.log_level, s.log_format)
    try:
        check_internet_facing(s)
    except ConfigError as e:
        raise fail(str(e)) from None
    # proxy_headers off: only HERALD_TRUSTED_PROXIES are believed (herald.web.proxies).
    uvicorn.run(
        "herald.web.app:create_app",
        factory=True,
        host=host or s.web_host,
        port=port or s.web_port,
        log_level="warning",
        # Off: uvicorn's lines go to the root logger, redacted and formatted with ours.
        log_config=None,
        proxy_headers=False,
    )


@app.command()
def photos(
    host: Annotated[str | None, typer.Option("--host")] = None,
    port: Annotated[int, typer.Option("--port")] = 8601,
) -> None:
    """Serve only the public photo URLs that Instagram and Threads fetch (/p/<token>), so that
    the web app can stay on a private address. Point HERALD_PUBLIC_URL at this server."""
    import uvicorn

    s = get_settings()
    setup_logging(s.log_level, s.log_format)
    try:
        check_internet_facing(s)
    except ConfigError as e:
        raise fail(str(e)) from None
    uvicorn.run(
        "herald.web.public:create_public_app",
        factory=True,
        host=host or s.web_host,
        port=port,
        log_level="warning",
        # Off: uvicorn's lines go to the root logger, redacted and formatted with ours.
        log_config=None,
        proxy_headers=False,
    )


@app.command()
def up(
    sandbox: Annotated[
        bool, typer.Option("--sandbox/--no-sandbox", help="run the local platform sandbox")
    ] = True,
    port: Annotated[int | None, typer.Option("--port")] = None,
) -> None:
    """Everything in one, in the foreground: embedded Redis (unless HERALD_REDIS_URL is set),
    database migration, the sandbox, the scheduler, a worker and the web app."""
    from herald.up import run_all  # lazy: start-up cost

    s = get_settings()
    setup_logging(s.log_level, s.log_format)
    sys.exit(run_all(sandbox=sandbox, port=port))
