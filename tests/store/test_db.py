"""Read-only sessions on SQLite neither wait for nor hold up the one writer."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import func, select

from herald.store.db import Database
from herald.store.models import Channel


def test_a_read_runs_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'h.db'}")
    db.migrate()
    try:
        with db.session() as writer:  # BEGIN IMMEDIATE: the write lock is held until commit
            writer.add(Channel(name="kr-m", platform="mastodon", credentials_encrypted=b"x"))
            writer.flush()
            t0 = time.monotonic()
            with db.read() as reader:
                # A snapshot from before the writer's commit, at once (no busy wait).
                assert reader.execute(select(func.count()).select_from(Channel)).scalar_one() == 0
            assert time.monotonic() - t0 < 1.0
        with db.read() as reader:
            assert reader.execute(select(func.count()).select_from(Channel)).scalar_one() == 1
    finally:
        db.dispose()
