"""Fixtures for end-to-end tests: sandbox accounts on the simulator and channels pointing at it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

MASTODON_TOKEN = "e2e-mastodon-token-8f3a91"
X_CREDS = {
    "api_key": "e2e-x-consumer-key-71c2",
    "api_secret": "e2e-x-consumer-secret-5d0e44",
    "access_token": "e2e-x-access-token-99aa01",
    "access_token_secret": "e2e-x-access-secret-3b7f20",
}
ALL_SECRETS = [MASTODON_TOKEN, *X_CREDS.values()]


@pytest.fixture
def channels(herald: Any, sim: Any) -> dict[str, str]:
    """Two channels (Mastodon and X) on the simulator; returns name → platform."""
    sim.add_account("mastodon", username="unify_kr", access_token=MASTODON_TOKEN)
    sim.add_account("x", username="unify_kr", **X_CREDS)
    herald.add_channel(
        "kr-mastodon", "mastodon", {"access_token": MASTODON_TOKEN}, base_url=sim.url_for("mastodon")
    )
    herald.add_channel("kr-x", "x", dict(X_CREDS), base_url=sim.url_for("x"))
    return {"kr-mastodon": "mastodon", "kr-x": "x"}


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
