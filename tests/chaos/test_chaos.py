"""The chaos suite, short form (``make chaos`` runs the long form), on SQLite and on
PostgreSQL: real worker and scheduler processes, a private Redis that is killed, platform
faults. 0 lost, 0 duplicated, every uncertain case flagged, and the delivery log agrees with
what the platforms received. The recovery scenarios (a stuck worker: issue 12) also hold their
longest wait under the stated bound and show, in the processes' own logs, that the fault was
seen.

Each scenario runs once, on the database ``ON_POSTGRESQL`` gives it (about half on each; all on
SQLite where no PostgreSQL answers); ``HERALD_CHAOS_BOTH=1`` runs every scenario on both."""

from __future__ import annotations

import functools
import os
from typing import Any

import pytest

from bench import chaos
from herald import runtime
from tests.conftest import _pg_available, _reset_pg

POSTS = int(os.environ.get("HERALD_CHAOS_POSTS", "60"))
#: The idle scenario's idle minute, shortened (the long form idles 60 s).
IDLE = float(os.environ.get("HERALD_CHAOS_IDLE", "8"))


#: The scenarios the short form runs on PostgreSQL; the others run on SQLite. Chosen so that
#: PostgreSQL sees a worker killed (plain and mid-thread), Redis emptied and rebuilt from SQL,
#: platform faults and a kill followed by a Redis restart; SQLite the rest. Each takes
#: 10-25 s, and both databases for all of them doubled ``make test``'s longest lane.
ON_POSTGRESQL = ("kill-worker", "redis-empty", "faults", "kill-then-redis", "thread-kill-worker")
BOTH = os.environ.get("HERALD_CHAOS_BOTH", "") not in ("", "0")


def _databases(scenario: str) -> list[str]:
    """The databases ``scenario`` runs on: both with ``HERALD_CHAOS_BOTH``, else the one
    ``ON_POSTGRESQL`` gives it, falling back to SQLite where no PostgreSQL answers."""
    if BOTH:
        return ["sqlite", "postgres"]
    if scenario in ON_POSTGRESQL and _pg_answers():
        return ["postgres"]
    return ["sqlite"]


@functools.cache
def _pg_answers() -> bool:
    return _pg_available() is None


def _param(*values: str, db: str) -> Any:
    return pytest.param(
        *values, db, id="-".join((db, *values)), marks=[pytest.mark.postgres] if db == "postgres" else []
    )


@pytest.fixture
def cluster_db(request: pytest.FixtureRequest) -> str | None:
    """The database of a chaos run: None for the cluster's own SQLite file, else this test
    process's PostgreSQL database, its schema dropped first (the cluster migrates it)."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_server")
    _reset_pg(url)
    runtime._migrated.discard(url)
    return url


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cluster_db" not in metafunc.fixturenames:
        return
    if "scenario" in metafunc.fixturenames:
        scenarios = [s for s in chaos.SCENARIOS if s not in chaos.THREADED + chaos.SHARED_DATABASE]
        metafunc.parametrize(
            "scenario, cluster_db",
            [_param(s, db=db) for s in scenarios for db in _databases(s)],
            indirect=["cluster_db"],
        )
    else:
        metafunc.parametrize(
            "cluster_db", [_param(db=db) for db in _databases("thread-kill-worker")], indirect=True
        )


def test_chaos(scenario: str, cluster_db: str | None) -> None:
    kw: dict[str, Any] = {"idle": IDLE} if scenario == "idle-redis-restart" else {}
    outcome = chaos.SCENARIOS[scenario](POSTS, db_url=cluster_db, **kw)
    summary = chaos.table([outcome])
    channels = len(chaos.THREE) if scenario in chaos.RECOVERY else 2
    assert outcome.deliveries == channels * POSTS, summary
    assert outcome.lost == 0, summary
    assert outcome.duplicated == 0, summary
    assert outcome.log_agrees, summary
    assert "did not settle" not in outcome.note, summary
    if scenario == "cancel":
        assert outcome.cancelled + outcome.published + outcome.uncertain == 2 * POSTS, summary
    elif scenario != "faults":
        assert outcome.uncertain <= channels * POSTS * 0.1, summary
    if scenario in chaos.RECOVERY:
        assert outcome.longest_wait_s is not None and outcome.bound_s is not None, summary
        assert outcome.longest_wait_s <= outcome.bound_s, summary
        # The fault is in the worker's own output: Celery lost the broker, the watchdog saw
        # Redis go and come back; and no worker ended but the one we killed.
        logs = outcome.logs
        assert "Connection to broker lost" in logs, logs[-3000:]
        if scenario != "two-redis-drops":  # half-second drops may fall between two looks
            assert "Redis unreachable" in logs and "Redis answers again" in logs, logs[-3000:]
        assert "Unrecoverable error" not in logs, logs[-5000:]
        assert [s for s in outcome.exits if s != -9] == [], (outcome.exits, logs[-5000:])


def test_a_worker_killed_mid_thread_loses_no_part_and_sends_none_twice(cluster_db: str | None) -> None:
    """Issue 16's "must show": five-part threads on X, Bluesky and Mastodon, the worker killed
    -9 twice mid-thread: every part out once, in order, each reply under the right parent."""
    outcome = chaos.thread_kill_worker(POSTS, db_url=cluster_db)
    summary = chaos.table([outcome])
    assert outcome.deliveries == 3 * outcome.posts, summary
    assert outcome.published == outcome.deliveries, summary
    assert (outcome.lost, outcome.duplicated) == (0, 0), summary
    assert outcome.log_agrees, summary
    assert "did not settle" not in outcome.note, summary
    assert [s for s in outcome.exits if s != -9] == [], (outcome.exits, outcome.logs[-5000:])


@pytest.mark.postgres
def test_five_machines_on_one_redis_and_one_postgresql_publish_each_post_once(pg_server: str) -> None:
    """Issue 17: three workers and two schedulers, each with a data directory of its own, on one
    Redis and one PostgreSQL named by a plain ``postgresql://`` URL; a worker and a scheduler
    killed -9 mid-burst. Nothing lost or sent twice, and no photo on any machine's disk."""
    _reset_pg(pg_server)
    runtime._migrated.discard(pg_server)
    outcome = chaos.machines(POSTS // 2, db_url=pg_server)
    summary = chaos.table([outcome])
    assert outcome.deliveries == POSTS, summary
    assert (outcome.lost, outcome.duplicated) == (0, 0), summary
    assert outcome.log_agrees, summary
    assert "did not settle" not in outcome.note and "files on a machine" not in outcome.note, summary
    assert outcome.uncertain <= POSTS * 0.1, summary
    assert [s for s in outcome.exits if s != -9] == [], (outcome.exits, outcome.logs[-5000:])
