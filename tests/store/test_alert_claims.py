"""Two alert senders (one per scheduler) claiming at the same moment: each alert is claimed by
one of them, and on PostgreSQL the second does not wait for the first (``SKIP LOCKED``)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import text

from herald.store.alerts import claim_pending, queue_alert
from herald.store.db import Database
from herald.store.models import utcnow


def test_two_senders_claim_disjoint_alerts_and_the_second_does_not_queue_behind_the_first(
    any_db_url: str,
) -> None:
    db = Database(any_db_url)
    with db.session() as s:
        for i in range(10):
            queue_alert(
                s, kind="failed", campaign_id=None, subject=f"s{i}", body="b", dedup_key=f"k{i}", at=utcnow()
            )
    now = utcnow()
    first: list[int] = []
    second: list[int] = []
    holding = threading.Event()

    def slow_sender() -> None:
        with db.session() as s:
            first.extend(m.id for m in claim_pending(s, now=now, until=now + timedelta(minutes=1), limit=5))
            holding.set()
            time.sleep(1.0)  # a slow claim transaction, still open

    t = threading.Thread(target=slow_sender)
    t.start()
    assert holding.wait(10)
    with db.session() as s:
        if not db.is_sqlite:
            # Waiting for the first sender's row locks would fail this claim: it must pass
            # over them (SQLite has no row locks: its writers take turns, and this one waits).
            s.execute(text("SET LOCAL lock_timeout = '100ms'"))
        second.extend(m.id for m in claim_pending(s, now=now, until=now + timedelta(minutes=1), limit=5))
    t.join(10)
    db.dispose()
    assert len(first) == 5 and len(second) == 5
    assert not set(first) & set(second)
