"""Issue 17: every Alembic migration goes up and down on SQLite and on PostgreSQL, one step at a
time, and the schema at the head is the one the models describe (nothing a migration forgot, no
SQL that only one of the two databases takes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from herald.store.db import alembic_config
from herald.store.models import Base, described
from tests.conftest import DATABASES, _reset_pg


@pytest.fixture(params=DATABASES)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    url: str = request.getfixturevalue("pg_server")
    _reset_pg(url)
    from herald import runtime

    runtime._migrated.discard(url)
    return url


def _tables(url: str) -> set[str]:
    eng = create_engine(url)
    try:
        return set(inspect(eng).get_table_names()) - {"alembic_version"}
    finally:
        eng.dispose()


def test_every_migration_goes_up_and_down_one_step_at_a_time(empty_db: str) -> None:
    cfg = alembic_config(empty_db)
    revisions = [r.revision for r in reversed(list(ScriptDirectory.from_config(cfg).walk_revisions()))]
    assert len(revisions) >= 15
    for rev in revisions:
        command.upgrade(cfg, rev)
    at_head = _tables(empty_db)
    assert {"posts", "deliveries", "channels", "attempts", "users"} <= at_head
    for rev in reversed(revisions[:-1]):
        command.downgrade(cfg, rev)
    command.downgrade(cfg, "base")
    assert _tables(empty_db) == set()
    command.upgrade(cfg, "head")
    assert _tables(empty_db) == at_head


def test_the_schema_at_the_head_is_what_the_models_say(empty_db: str) -> None:
    command.upgrade(alembic_config(empty_db), "head")
    eng = create_engine(empty_db)
    try:
        with eng.connect() as conn:
            # Search's objects exist on one database only (migration 0016): ``described``.
            ctx = MigrationContext.configure(conn, opts={"compare_type": False, "include_object": described})
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        eng.dispose()
    assert diff == [], "\n".join(map(str, diff))
