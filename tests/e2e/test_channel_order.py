"""Issue 19: posts of one channel go out in the order they were queued, even when many are due
at one instant on many channels and several worker threads share them (``scheduler.lanes``).
Checked at the platform: the order the simulator accepted each account's posts. Without the
lanes (ids handed over in batches across channels, as before), threads race and this fails."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from herald.service import PostRequest
from tests.e2e.conftest import wait_for

CHANNELS = 6
POSTS = 15


def test_each_channels_posts_reach_the_platform_in_queued_order(running: Any, herald: Any, sim: Any) -> None:
    names = [f"order-{k}" for k in range(CHANNELS)]
    for k, name in enumerate(names):
        token = f"order-token-{k:02d}-0123456789"
        sim.add_account("mastodon", username=name, access_token=token, post_limits="off")
        herald.add_channel(
            name,
            "mastodon",
            {"access_token": token},
            base_url=sim.url_for("mastodon"),
            options={"rate_limit": "off"},
        )
    due = datetime.now(UTC) + timedelta(seconds=1.5)
    # The campaign's shape: each post on every channel, all due at the same instant.
    herald.add_posts([PostRequest(channels=names, text=f"in order #{i:02d}", at=due) for i in range(POSTS)])
    assert wait_for(lambda: len(sim.ledger("mastodon")) >= CHANNELS * POSTS, timeout=60)
    time.sleep(0.2)  # nothing more should come
    ledger = sim.ledger("mastodon")
    assert len(ledger) == CHANNELS * POSTS, "duplicates"
    for name in names:
        seen = [e.text for e in ledger if e.account == name]
        assert seen == [f"in order #{i:02d}" for i in range(POSTS)], f"{name} out of order: {seen}"


def test_a_slow_lane_keeps_its_order_past_the_lease(
    running: Any, herald: Any, sim: Any, channels: dict[str, str]
) -> None:
    """Each post takes 1.5 s at the platform, six on one channel: the lane's chain runs 9 s,
    longer than the 5 s hand-over lease. The messages waiting in the chain keep their leases
    while it moves, so the reaper does not hand them out again ahead of their turn."""
    from herald.simulator import Fault

    sim.inject(
        Fault("slow", platform="mastodon", path="/api/v1/statuses", method="POST", count=None, delay=1.5)
    )
    due = datetime.now(UTC) + timedelta(seconds=1.0)
    herald.add_posts(
        [PostRequest(channels=["kr-mastodon"], text=f"slow lane #{i}", at=due) for i in range(6)]
    )
    assert wait_for(lambda: len(sim.ledger("mastodon")) >= 6, timeout=60)
    time.sleep(0.5)
    assert [e.text for e in sim.ledger("mastodon")] == [f"slow lane #{i}" for i in range(6)]
    # Handed over once each: no lease ran out in the chain and came back through the reaper.
    assert running.dispatcher.dispatched == 6
