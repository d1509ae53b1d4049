"""Issue 17: a process keeps as many PostgreSQL connections as its threads use at once, sized
from the worker's pool kind and concurrency (Celery's own WorkController, as `herald worker`
builds it), not a fixed pool per process that a fleet of workers multiplies past the server's
`max_connections`."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator

import pytest

from herald.core.settings import reset_settings
from herald.delivery.factory import build_deliverer
from herald.store.db import DEFAULT_POOL_SIZE, Database, pool_size_for
from tasks import app

#: The module (``tasks.publish`` as an attribute of ``tasks`` is the task of that name).
publish = importlib.import_module("tasks.publish")


@pytest.fixture
def pg_env(pg_server: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("HERALD_DATABASE_URL", pg_server)
    monkeypatch.setenv("HERALD_REDIS_URL", redis_url)
    monkeypatch.setenv("HERALD_SECRET_KEY", "test-secret-key-" + "0" * 32)
    monkeypatch.delenv("HERALD_DB_POOL_SIZE", raising=False)
    reset_settings()
    threads = publish._threads
    yield pg_server
    publish._threads = threads
    reset_settings()


def _worker_threads(pool: str, concurrency: int) -> int:
    """What the worker_init signal made of a worker built as `herald worker -P pool -c n`."""
    app.WorkController(pool_cls=pool, concurrency=concurrency, app=app)
    return publish._threads


@pytest.mark.parametrize(
    ("pool", "concurrency", "threads"), [("threads", 6, 6), ("prefork", 6, 1), ("solo", 1, 1)]
)
def test_a_worker_sizes_its_pool_from_its_concurrency(
    pg_env: str, pool: str, concurrency: int, threads: int
) -> None:
    assert _worker_threads(pool, concurrency) == threads
    d = build_deliverer(threads=publish._threads)
    try:
        assert d.db.engine.pool.size() == pool_size_for(threads) == threads + 1  # type: ignore[attr-defined]
    finally:
        d.close()


def test_the_operator_may_set_the_pool_size(pg_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_DB_POOL_SIZE", "3")
    reset_settings()
    d = build_deliverer(threads=16)
    try:
        assert d.db.engine.pool.size() == 3  # type: ignore[attr-defined]
    finally:
        d.close()


def test_a_pool_never_holds_more_than_it_was_sized_for_under_load(pg_env: str) -> None:
    """Sixteen threads on a pool sized for four: they take turns (the overflow allows a
    moment's burst of as many again); the server never sees more than twice the size."""
    import threading

    from sqlalchemy import text

    # Its connections carry a name of their own: other tests' engines in this process may still
    # hold connections to the same database.
    name = f"pool-test-{uuid.uuid4().hex[:12]}"
    db = Database(f"{pg_env}?application_name={name}", pool_size=4)
    seen: list[int] = []
    start = threading.Barrier(16)

    def work() -> None:
        start.wait()
        for _ in range(5):
            with db.session() as s:
                seen.append(
                    int(
                        s.execute(
                            text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                            {"name": name},
                        ).scalar_one()
                    )
                )
                s.execute(text("SELECT pg_sleep(0.01)"))

    ts = [threading.Thread(target=work) for _ in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    db.dispose()
    assert len(seen) == 80
    assert 1 <= min(seen) and max(seen) <= 2 * 4


def test_the_web_and_unknown_processes_keep_the_default(pg_env: str) -> None:
    db = Database(pg_env)
    try:
        assert db.engine.pool.size() == DEFAULT_POOL_SIZE  # type: ignore[attr-defined]
    finally:
        db.dispose()
