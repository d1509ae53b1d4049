"""Fixtures for end-to-end tests: sandbox accounts on the simulator and channels pointing at it."""

from __future__ import annotations

from typing import Any

import pytest

from bench.harness import wait_for

__all__ = ["wait_for"]

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


@pytest.fixture
def three_channels(herald: Any, sim: Any, channels: dict[str, str]) -> dict[str, str]:
    """``channels`` and a Bluesky one on the simulator (its sandbox account); name → platform."""
    from herald.platforms import connector_class
    from herald.simulator import SANDBOX_ACCOUNTS

    [account] = [dict(a) for a in SANDBOX_ACCOUNTS if a["platform"] == "bluesky"]
    platform, username = account.pop("platform"), account.pop("username")
    sim.add_account(platform, username=username, **account)
    creds = {k: account[k] for k in connector_class(platform).credential_keys}
    herald.add_channel("kr-bluesky", platform, creds, base_url=sim.url_for(platform))
    return {**channels, "kr-bluesky": platform}


@pytest.fixture
def public_web(herald: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The web app on a free loopback port, set as HERALD_PUBLIC_URL, so platforms that fetch
    photos (Instagram, Threads) can fetch them from Herald. Request it before ``running``."""
    import threading

    import uvicorn

    from herald.core.settings import reset_settings
    from herald.embedded import free_port
    from herald.web.app import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(herald), host="127.0.0.1", port=port, log_level="warning")
    )
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    assert wait_for(lambda: server.started, timeout=10)
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("HERALD_PUBLIC_URL", url)
    reset_settings()
    yield url
    server.should_exit = True
    t.join(5)


@pytest.fixture
def every_platform(herald: Any, sim: Any) -> dict[str, str]:
    """One channel per platform on the simulator (the sandbox accounts); name → platform."""
    from herald.platforms import connector_class
    from herald.simulator import SANDBOX_ACCOUNTS

    out = {}
    for account in SANDBOX_ACCOUNTS:
        acc = {k: str(v) for k, v in dict(account).items()}
        platform, username = acc.pop("platform"), acc.pop("username")
        sim.add_account(platform, username=username, **acc)
        creds = {k: acc[k] for k in connector_class(platform).credential_keys}
        herald.add_channel(f"all-{platform}", platform, creds, base_url=sim.url_for(platform))
        out[f"all-{platform}"] = platform
    return out
