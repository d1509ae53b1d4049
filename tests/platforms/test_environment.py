"""Connectors read the proxy and CA-bundle environment once per channel, not on every call,
and still honour it: a deployment behind an HTTPS proxy keeps working."""

from __future__ import annotations

from pathlib import Path

import pytest

from herald.platforms import Connector
from tests.platforms.specs import SPECS


def _connector(platform: str, base_url: str) -> Connector:
    return SPECS[platform].build(base_url)


@pytest.mark.parametrize("platform", ["mastodon", "x"])
def test_https_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch, platform: str) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    conn = _connector(platform, "https://social.example")
    try:
        assert conn.session.trust_env is False  # no look-up per request
        assert conn.session.proxies.get("https") == "http://proxy.internal:3128"
    finally:
        conn.close()


def test_no_proxy_excludes_the_channel_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "social.example")
    conn = _connector("mastodon", "https://social.example")
    try:
        assert "https" not in conn.session.proxies
    finally:
        conn.close()


def test_ca_bundle_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    conn = _connector("mastodon", "https://social.example")
    try:
        assert conn.session.verify == str(bundle)
    finally:
        conn.close()
