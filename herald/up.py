"""``herald up``: the whole system in one foreground process tree, for a laptop.

Embedded Redis (unless HERALD_REDIS_URL is set) → migrate → sandbox simulator and its channels
→ dispatcher thread → worker subprocess → web app (foreground). Ctrl-C stops everything it
started, in reverse order. The worker and the embedded Redis are supervised: if one ends
without being asked to, the console says so and it is started again (``herald.supervisor``).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from typing import Any

import uvicorn

from herald.core.files import private_folder
from herald.core.settings import EMBEDDED_URL_FILE, get_settings, reset_settings
from herald.embedded import EmbeddedRedis, free_port
from herald.platforms import connector_class
from herald.runtime import service
from herald.service import Herald
from herald.simulator import SANDBOX_ACCOUNTS, Simulator
from herald.supervisor import Supervisor
from herald.web.app import create_app
from tasks.handover import build_dispatcher

log = logging.getLogger(__name__)

#: Where the sandbox simulator listens by default (falls back to a free port if taken).
SANDBOX_PORT = 8700


def _sandbox(herald: Herald) -> Simulator:
    """Start the local platform simulator and make sure there is one sandbox channel per
    platform (``sandbox-x``, ``sandbox-mastodon``, ...) pointing at it."""
    try:
        sim = Simulator(port=SANDBOX_PORT).start()
    except OSError:
        sim = Simulator(port=free_port()).start()
    existing = {c.name for c in herald.list_channels()}
    for account in SANDBOX_ACCOUNTS:
        acc = {k: str(v) for k, v in dict(account).items()}
        platform = acc.pop("platform")
        username = acc.pop("username")
        sim.add_account(platform, username=username, **acc)
        name = f"sandbox-{platform}"
        url = sim.url_for(platform)
        if name in existing:
            herald.set_channel_base_url(name, url)
        else:
            creds = {k: acc[k] for k in connector_class(platform).credential_keys}
            herald.add_channel(name, platform, creds, base_url=url)
    return sim


def _started(server: EmbeddedRedis) -> subprocess.Popen[bytes]:
    proc = server.start().proc
    assert proc is not None  # start() either has a running process or raises
    return proc


def sandbox_wanted(asked: bool, env: str) -> bool:
    """The sandbox (simulated platforms and a channel for each) runs where it was asked for,
    never in production: real campaigns must not find channels that publish nowhere."""
    if asked and env == "production":
        log.warning("HERALD_ENV=production: no sandbox, whatever --sandbox says")
        return False
    return asked


def run_all(*, sandbox: bool = True, port: int | None = None) -> int:
    settings = get_settings()
    private_folder(settings.data_dir)
    stack: list[tuple[str, Any]] = []
    embedded: EmbeddedRedis | None = None
    marker = settings.data_dir / EMBEDDED_URL_FILE
    supervisor = Supervisor()
    try:
        if not settings.redis_url:
            redis_server = embedded = EmbeddedRedis(settings.data_dir / "redis", appendonly=True)
            supervisor.add("embedded Redis", lambda: _started(redis_server), lambda _p: redis_server.stop())
            os.environ["HERALD_REDIS_URL"] = embedded.url
            marker.write_text(embedded.url)
            reset_settings()
            settings = get_settings()
            log.info("embedded Redis on %s", embedded.url)
        herald = service(settings)  # migrates outside production
        if settings.env == "production":
            herald.db.migrate()
        first_admin = herald.ensure_first_admin()
        sim = _sandbox(herald) if sandbox_wanted(sandbox, settings.env) else None
        if sim is not None:
            stack.append(("sandbox", sim.stop))

        # As a user starts it, with no options: a process per core, threads in each.
        worker_argv = [sys.executable, "-m", "herald.cli", "worker"]
        supervisor.add("worker", lambda: subprocess.Popen(worker_argv, env=dict(os.environ)))
        supervisor.run_in_background()
        stack.append(("worker and embedded Redis", supervisor.stop))

        dispatcher = build_dispatcher(settings)
        t = threading.Thread(target=dispatcher.run, name="dispatcher", daemon=True)
        t.start()
        stack.append(("scheduler", dispatcher.stop))

        web_port = port or settings.web_port
        url = f"http://{settings.web_host}:{web_port}"
        sys.stderr.write(
            f"\nHerald is running: {url}\n"
            + (
                f"First start: sign in as {first_admin[0]} with the password {first_admin[1]}\n"
                "  (shown this once; change it on your Account page, or: herald user password "
                f"{first_admin[0]})\n"
                if first_admin
                else ""
            )
            + (f"Sandbox feed (what the simulated platforms received): {sim.base_url}/_sim/\n" if sim else "")
            + "Try: .venv/bin/herald post add --channel sandbox-mastodon --channel sandbox-x "
            "--text 'Hello from Herald' --now\nCtrl-C stops everything.\n\n"
        )
        uvicorn.run(
            create_app(herald),
            host=settings.web_host,
            port=web_port,
            log_level="warning",
            log_config=None,  # uvicorn's lines go through setup_logging's handler
            proxy_headers=False,
        )
        return 0
    finally:
        for name, stop in reversed(stack):
            try:
                stop()
            except Exception:
                log.exception("stopping %s failed", name)
        supervisor.stop()
        if embedded is not None and marker.exists():
            marker.unlink()
