"""Issue 19: never early. The scheduler hands each delivery over before its time (so the
worker is ready at the instant), and one gate holds the platform call until the due time. Checked
where it counts: the time each post reached the platform (the simulator's clock, this machine's),
never before the due time. Without the gate (herald.delivery.instant), these posts would reach
the platform up to the hand-over's lead early, and this test fails."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from herald.service import PostRequest
from herald.store.deliveries import HANDOVER_LEAD_SECONDS
from herald.store.models import Attempt, Delivery
from tests.e2e.conftest import wait_for

POSTS = 12


def test_no_post_reaches_the_platform_before_its_due_time(
    running: Any, channels: dict[str, str], herald: Any, sim: Any
) -> None:
    rng = random.Random(19)
    start = datetime.now(UTC).timestamp() + 1.0
    due_of: dict[str, float] = {}
    for i in range(POSTS):
        due = start + rng.uniform(0, 2.0)
        text = f"never early #{i}"
        herald.add_post(
            PostRequest(channels=[list(channels)[i % 2]], text=text, at=datetime.fromtimestamp(due, UTC))
        )
        due_of[text] = due
    assert wait_for(lambda: len(sim.ledger()) >= POSTS, timeout=30)
    arrived = {e.text: e.received_at for e in sim.ledger()}
    assert set(arrived) == set(due_of)
    early = {t: round(due_of[t] - at, 4) for t, at in arrived.items() if at < due_of[t]}
    assert early == {}, f"posts that reached the platform before their due time (s early): {early}"
    # The hand-over really is early: the worker claimed (an attempt began) before the due time
    # for most posts, so the gate, not the hand-over, is what kept them from going out early.
    with herald.db.read() as s:
        began = s.execute(
            select(Attempt.started_at, Delivery.due_at).join(Delivery, Delivery.id == Attempt.delivery_id)
        ).all()
    ahead = [due - started for started, due in began if started < due]
    assert len(began) == POSTS
    assert len(ahead) >= POSTS // 2, began
    assert max(d.total_seconds() for d in ahead) <= HANDOVER_LEAD_SECONDS + 0.1
