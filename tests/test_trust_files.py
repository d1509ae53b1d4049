"""Threats: files anyone on the machine can read (the database with sealed credentials and
people's hashes, stored photos, the generated key); a production installation with channels
that publish nowhere; credentials sent over plain http; a hostile server's error text filling
the log. Each refused or contained here."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from herald.core.errors import InputError
from herald.platforms.http import MAX_DETAIL_CHARS, platform_message
from herald.up import sandbox_wanted

HERALD = str(Path(sys.executable).parent / "herald")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_what_herald_makes_is_private_to_its_user(tmp_path: Path, redis_url: str) -> None:
    data = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env |= {"HERALD_DATA_DIR": str(data), "HERALD_REDIS_URL": redis_url}
    # A permissive umask from whoever started us: Herald sets its own.
    done = subprocess.run(
        ["sh", "-c", f"umask 022 && {HERALD} campaign set spring"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert _mode(data) == 0o700
    for name in ("herald.db", "secret.key"):
        assert _mode(data / name) == 0o600, name
    for path in data.rglob("*"):
        assert not _mode(path) & 0o077, f"{path} is open to others: {oct(_mode(path))}"


def test_production_never_runs_the_sandbox() -> None:
    assert sandbox_wanted(True, "development") and not sandbox_wanted(False, "development")
    assert not sandbox_wanted(True, "production")


def test_production_channels_speak_https_only(herald: Any) -> None:
    herald.plain_http_base_urls = False
    with pytest.raises(InputError, match="https://"):
        herald.add_channel("m1", "mastodon", {"access_token": "t"}, base_url="http://mastodon.example")
    herald.add_channel("m1", "mastodon", {"access_token": "t"}, base_url="https://mastodon.example")
    with pytest.raises(InputError, match="https://"):
        herald.set_channel_base_url("m1", "http://10.0.0.5")
    assert [c.base_url for c in herald.list_channels()] == ["https://mastodon.example"]


def test_a_hostile_servers_error_is_one_short_line() -> None:
    r = requests.Response()
    r.status_code = 500
    r._content = ('{"error": "' + "<script>alert(1)</script>\\n\\r\\u0000" * 200 + '"}').encode()
    r.headers["Content-Type"] = "application/json"
    text = platform_message(r)
    assert len(text) <= MAX_DETAIL_CHARS
    assert not any(ch in text for ch in "\n\r\x00")
