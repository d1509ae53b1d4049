"""Issue 15, point 4: the web process cannot decrypt a credential. The web app faces the internet;
it gets ``HERALD_WEB_KEYS`` (``herald keys web``) instead of ``HERALD_SECRET_KEY``: with it, it
adds a channel and queues posts, but nothing it holds opens a credential. A worker holding the
master publishes what the web app queued. In production the web app and the photo server refuse
to start holding the master. ``herald web`` runs as its own process, against a real Redis, SQL,
Celery worker and platform simulator."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select
from typer.testing import CliRunner

from bench.harness import wait_for
from herald.cli import app as cli
from herald.core.errors import ConfigError
from herald.core.keyring import WEB_KEYS_PREFIX, Keyring
from herald.core.secret import Secret
from herald.core.settings import Settings, check_internet_facing, reset_settings
from herald.store.crypto import CredentialBox, SecretBox
from herald.store.models import Channel
from tests.conftest import SECRET_KEY
from tests.web.process import free_port, herald_web

ADMIN = "web-keys-admin@example.org"
TOKEN = "split-mastodon-token-6c1d2e"
runner = CliRunner()


def _web_keys(master: str = SECRET_KEY, *previous: str) -> str:
    return Keyring.from_masters(Secret(master), [Secret(p) for p in previous]).web_keys()


# -- what the web app's share holds -----------------------------------------------------------


def test_the_web_share_seals_credentials_it_cannot_open() -> None:
    full = Keyring.from_masters(Secret(SECRET_KEY))
    web = Keyring.from_web_keys(full.web_keys())
    sealed = CredentialBox(web).seal({"access_token": Secret(TOKEN)})
    assert CredentialBox(full).open(sealed)["access_token"].reveal() == TOKEN
    assert not CredentialBox(web).opens
    with pytest.raises(ConfigError, match="cannot open channel credentials"):
        CredentialBox(web).open(sealed)
    assert CredentialBox(web).recognises(sealed)
    assert not CredentialBox(web).recognises(b"\x02" + b"\0" * 80)
    # Second-factor secrets: the web app checks them at sign-in, so its share opens those.
    totp = SecretBox(full).seal({"totp": Secret("JBSWY3DPEHPK3PXP")})
    assert SecretBox(web).open(totp)["totp"].reveal() == "JBSWY3DPEHPK3PXP"


def test_nothing_in_the_web_share_is_or_yields_the_credentials_private_key() -> None:
    full = Keyring.from_masters(Secret(SECRET_KEY))
    text = full.web_keys()
    assert SECRET_KEY not in text
    raw = json.loads(base64.urlsafe_b64decode(text[len(WEB_KEYS_PREFIX) :]))
    pieces = [base64.b64decode(v) for values in raw.values() for v in values]
    private = full.credentials_private[0].private_bytes_raw()
    public = full.credentials_public[0]
    assert private not in pieces and SECRET_KEY.encode() not in pieces
    for piece in pieces:  # no piece, taken as a private key, has the credentials' public key
        assert X25519PrivateKey.from_private_bytes(piece).public_key().public_bytes_raw() != public


@pytest.mark.parametrize("bad", ["", "herald-web-keys-v1:", "herald-web-keys-v1:e30=", "x" * 64, SECRET_KEY])
def test_a_malformed_web_share_is_refused_by_name(bad: str) -> None:
    with pytest.raises(ConfigError, match="HERALD_WEB_KEYS") as e:
        Keyring.from_web_keys(bad)
    assert not bad or bad not in str(e.value)


def test_values_sealed_before_the_key_pair_open_with_the_master_and_rotate_to_it() -> None:
    """A credential sealed with Fernet under the master (before this scheme) still opens where
    the master is held, is not current, and re-seals to the public key."""
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"herald credentials v1").derive(
        SECRET_KEY.encode()
    )
    v1 = Fernet(base64.urlsafe_b64encode(raw)).encrypt(json.dumps({"access_token": TOKEN}).encode())
    full = CredentialBox(Keyring.from_masters(Secret(SECRET_KEY)))
    assert full.open(v1)["access_token"].reveal() == TOKEN and not full.is_current(v1)
    resealed = full.reseal(v1)
    assert full.is_current(resealed) and full.open(resealed)["access_token"].reveal() == TOKEN


# -- which process may hold what ---------------------------------------------------------------


def test_production_web_and_photo_server_refuse_the_master(tmp_path: Path) -> None:
    held = Settings(env="production", data_dir=tmp_path, secret_key=SECRET_KEY, web_keys=_web_keys())
    with pytest.raises(ConfigError, match="must not hold HERALD_SECRET_KEY"):
        check_internet_facing(held)
    with pytest.raises(ConfigError, match="need HERALD_WEB_KEYS"):
        check_internet_facing(Settings(env="production", data_dir=tmp_path, secret_key=""))
    check_internet_facing(Settings(env="production", data_dir=tmp_path, secret_key="", web_keys=_web_keys()))


@pytest.mark.parametrize("command", ["web", "photos"])
def test_herald_web_in_production_will_not_start_with_the_master(
    command: str, herald_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HERALD_ENV", "production")
    reset_settings()
    res = runner.invoke(cli, [command, "--port", str(free_port())])
    assert res.exit_code != 0
    assert "HERALD_WEB_KEYS" in res.stderr and SECRET_KEY not in res.output + res.stderr


def test_herald_keys_web_prints_the_share_and_needs_the_master(
    herald_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    res = runner.invoke(cli, ["keys", "web"])
    assert res.exit_code == 0, res.stderr
    printed = res.stdout.strip()
    assert printed == _web_keys() and SECRET_KEY not in printed
    monkeypatch.delenv("HERALD_SECRET_KEY")
    monkeypatch.setenv("HERALD_WEB_KEYS", printed)
    reset_settings()
    again = runner.invoke(cli, ["keys", "web"])
    assert again.exit_code != 0 and "HERALD_SECRET_KEY" in again.stderr


# -- end to end: the web app adds and queues, the worker publishes -----------------------------


@pytest.fixture
def web_without_master(herald: Any, herald_env: dict[str, str]) -> Iterator[str]:
    """``herald web`` as its own process with HERALD_WEB_KEYS and no HERALD_SECRET_KEY."""
    env = {**os.environ, **herald_env, "HERALD_WEB_KEYS": _web_keys(), "HERALD_LOG_LEVEL": "WARNING"}
    for name in ("HERALD_SECRET_KEY", "HERALD_SECRET_KEY_PREVIOUS", "HERALD_NEW_SECRET_KEY"):
        env.pop(name, None)
    with herald_web(env) as (base, _):
        yield base


def test_a_channel_added_through_a_web_app_without_the_master_is_published_by_a_worker(
    herald: Any, herald_env: dict[str, str], running: Any, sim: Any, web_without_master: str
) -> None:
    sim.add_account("mastodon", username="split", access_token=TOKEN)
    herald.add_user(ADMIN, "a long enough password 7", "admin")
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {herald.create_token(ADMIN).token.reveal()}"
    base = f"{web_without_master}/api/v1"

    r = api.post(
        f"{base}/channels",
        json={
            "name": "split",
            "platform": "mastodon",
            "credentials": {"access_token": TOKEN},
            "base_url": sim.url_for("mastodon"),
        },
        timeout=10,
    )
    assert r.status_code == 201, r.text
    assert TOKEN not in r.text
    with herald.db.read() as s:
        sealed = s.execute(select(Channel.credentials_encrypted).where(Channel.name == "split")).scalar_one()
    assert TOKEN.encode() not in sealed
    with pytest.raises(ConfigError):
        CredentialBox(Keyring.from_web_keys(_web_keys())).open(sealed)
    # Nothing was written for the web process to derive a master from.
    assert not (Path(herald_env["HERALD_DATA_DIR"]) / "secret.key").exists()

    at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    r = api.post(
        f"{base}/posts", json={"channels": ["split"], "text": "Sealed by the web.", "at": at}, timeout=10
    )
    assert r.status_code == 201, r.text
    assert wait_for(lambda: len(sim.ledger()) >= 1, timeout=25), [d.status for d in herald.delivery_log()]
    assert wait_for(lambda: {d.status for d in herald.delivery_log()} == {"published"}, timeout=10)
    [entry] = sim.ledger()
    assert entry.platform == "mastodon" and "Sealed by the web." in str(entry)
