"""Issue 15, point 4: keys where they are needed. Every mode refuses a short or placeholder
secret key; ``herald keys rotate`` re-seals every channel credential and second-factor secret
under a new key while both keys open them, after which the new key alone does, and a channel
still publishes. Real SQL, Redis, Celery worker and platform simulator."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bench.harness import wait_for
from herald.cli import app as cli
from herald.core.errors import ConfigError
from herald.core.keyring import Keyring
from herald.core.secret import Secret
from herald.core.settings import MIN_SECRET_KEY_CHARS, Settings, reset_settings
from herald.service import PostRequest
from herald.store.crypto import CredentialBox, SecretBox
from herald.store.models import Channel, User
from herald.store.sealed import replace_sealed, sealed_values
from tests.conftest import SECRET_KEY

runner = CliRunner()

NEW_KEY = "rotated-secret-key-" + "7" * 40
OTHER_KEY = "unrelated-secret-key-" + "9" * 40
MASTODON_TOKEN = "keys-mastodon-token-3f9a1c"
X_CREDS = {
    "api_key": "keys-x-consumer-key-81c2",
    "api_secret": "keys-x-consumer-secret-5d0e",
    "access_token": "keys-x-access-token-a7b4",
    "access_token_secret": "keys-x-access-secret-19fe",
}


# -- minimum strength, in every mode -----------------------------------------------------------


@pytest.mark.parametrize("env", ["development", "test", "production"])
@pytest.mark.parametrize("key", ["x" * (MIN_SECRET_KEY_CHARS - 1), "changeme", "secret", " " * 40])
def test_a_short_or_placeholder_secret_key_is_refused_in_every_mode(
    env: Any, key: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="HERALD_SECRET_KEY") as e:
        Settings(env=env, data_dir=tmp_path, secret_key=key).secret()
    assert key.strip() == "" or key not in str(e.value)


@pytest.mark.parametrize("env", ["development", "test", "production"])
def test_a_short_previous_key_is_refused_too(env: Any, tmp_path: Path) -> None:
    s = Settings(env=env, data_dir=tmp_path, secret_key=NEW_KEY, secret_key_previous="short")
    with pytest.raises(ConfigError, match="HERALD_SECRET_KEY_PREVIOUS"):
        s.previous_secrets()


def test_production_still_refuses_to_run_without_a_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HERALD_SECRET_KEY"):
        Settings(env="production", data_dir=tmp_path, secret_key="").secret()
    assert not (tmp_path / "secret.key").exists()


def test_the_generated_development_key_is_long_private_and_kept(tmp_path: Path) -> None:
    # secret_key given as empty: a HERALD_SECRET_KEY in this process's environment (another
    # test's) must not stand in for the file.
    first = Settings(env="development", data_dir=tmp_path / "var", secret_key="").secret()
    path = tmp_path / "var" / "secret.key"
    assert len(first.reveal()) >= MIN_SECRET_KEY_CHARS
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Settings(env="development", data_dir=tmp_path / "var", secret_key="").secret()
    assert again.reveal() == first.reveal()


def test_a_short_key_written_into_the_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.key").write_text("short\n")
    with pytest.raises(ConfigError, match="secret.key"):
        Settings(env="development", data_dir=tmp_path, secret_key="").secret()


def test_the_suites_own_key_is_long_enough() -> None:
    assert len(SECRET_KEY) >= MIN_SECRET_KEY_CHARS


def test_the_cli_refuses_a_short_key_outside_production(
    herald_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HERALD_ENV", "development")
    monkeypatch.setenv("HERALD_SECRET_KEY", "short-dev-key")
    reset_settings()
    res = runner.invoke(
        cli, ["channel", "add", "k-m", "--platform", "mastodon", "--credential", "access_token=t-1"]
    )
    assert res.exit_code != 0
    assert "HERALD_SECRET_KEY" in res.stderr and "32" in res.stderr
    assert "short-dev-key" not in res.output + res.stderr


# -- the box: seal with the current key, open with either ---------------------------------------


def _box(key: str, *previous: str) -> CredentialBox:
    return CredentialBox(Keyring.from_masters(Secret(key), [Secret(p) for p in previous]))


def test_the_box_seals_with_the_current_key_and_opens_with_either() -> None:
    old = _box(SECRET_KEY)
    both = _box(NEW_KEY, SECRET_KEY)
    sealed_old = old.seal({"access_token": Secret("t-1")})
    assert both.open(sealed_old)["access_token"].reveal() == "t-1"
    assert not both.is_current(sealed_old)
    resealed = both.reseal(sealed_old)
    assert both.is_current(resealed)
    assert _box(NEW_KEY).open(resealed)["access_token"].reveal() == "t-1"
    with pytest.raises(ConfigError, match="HERALD_SECRET_KEY"):
        old.open(resealed)
    with pytest.raises(ConfigError):
        _box(OTHER_KEY).reseal(sealed_old)


# -- rotation ----------------------------------------------------------------------------------


def _rotate(*args: str) -> Any:
    return runner.invoke(cli, ["keys", "rotate", *args])


def _switch(monkeypatch: pytest.MonkeyPatch, key: str, previous: str | None = None) -> None:
    monkeypatch.setenv("HERALD_SECRET_KEY", key)
    if previous is None:
        monkeypatch.delenv("HERALD_SECRET_KEY_PREVIOUS", raising=False)
    else:
        monkeypatch.setenv("HERALD_SECRET_KEY_PREVIOUS", previous)
    reset_settings()


def _opened(herald: Any, key: str) -> dict[str, dict[str, str]]:
    """Every sealed value, opened with ``key`` alone: "channel NAME" / "user EMAIL" → fields."""
    keyring = Keyring.from_masters(Secret(key))
    boxes = {"channel": CredentialBox(keyring), "user": SecretBox(keyring)}
    with herald.db.read() as s:
        return {
            f"{v.kind} {v.label}": {k: x.reveal() for k, x in boxes[v.kind].open(v.token).items()}
            for v in sealed_values(s)
        }


@pytest.fixture
def sealed_under_old_key(herald: Any, sim: Any) -> dict[str, dict[str, str]]:
    """Two channels on the simulator and a person with a second factor, all sealed under the
    suite's key; what they hold, by "channel NAME" / "user EMAIL"."""
    sim.add_account("mastodon", username="keys", access_token=MASTODON_TOKEN)
    sim.add_account("x", username="keys", **X_CREDS)
    herald.add_channel(
        "k-mastodon", "mastodon", {"access_token": MASTODON_TOKEN}, base_url=sim.url_for("mastodon")
    )
    herald.add_channel("k-x", "x", dict(X_CREDS), base_url=sim.url_for("x"))
    herald.add_user("admin@example.org", "a long enough password 1", "admin")
    herald.enable_second_factor("admin@example.org")
    before = _opened(herald, SECRET_KEY)
    assert set(before) == {"channel k-mastodon", "channel k-x", "user admin@example.org"}
    return before


def test_rotation_reseals_every_credential_and_second_factor_so_the_new_key_alone_opens_them(
    herald: Any, sealed_under_old_key: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _switch(monkeypatch, NEW_KEY, previous=SECRET_KEY)
    res = _rotate()
    assert res.exit_code == 0, res.output + res.stderr
    assert "3 re-sealed" in res.stdout
    assert _opened(herald, NEW_KEY) == sealed_under_old_key
    with pytest.raises(ConfigError):
        _opened(herald, SECRET_KEY)

    again = _rotate()  # a second run (or one after an interruption) has nothing left to do
    assert again.exit_code == 0 and "0 re-sealed" in again.stdout and "3 already" in again.stdout
    [event] = [e for e in herald.audit_log() if e.action == "keys.rotate"][:1]
    assert NEW_KEY not in str(event) and SECRET_KEY not in str(event)


def test_rotation_to_a_key_file_reseals_under_that_key(
    herald: Any, sealed_under_old_key: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    key_file = tmp_path / "new.key"
    key_file.write_text(NEW_KEY + "\n")
    res = _rotate("--new-key-file", str(key_file))
    assert res.exit_code == 0, res.output + res.stderr
    assert _opened(herald, NEW_KEY) == sealed_under_old_key


def test_rotation_refuses_a_short_new_key_and_changes_nothing(
    herald: Any, sealed_under_old_key: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HERALD_NEW_SECRET_KEY", "too-short")
    reset_settings()
    res = _rotate()
    assert res.exit_code != 0 and "HERALD_NEW_SECRET_KEY" in res.stderr
    assert _opened(herald, SECRET_KEY) == sealed_under_old_key


def test_a_value_no_key_opens_is_named_left_alone_and_the_rest_rotate(
    herald: Any, sealed_under_old_key: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    stranger = _box(OTHER_KEY).seal({"access_token": Secret("from-elsewhere")})
    with herald.db.session() as s:
        s.execute(select(Channel).where(Channel.name == "k-x")).scalar_one().credentials_encrypted = stranger
    _switch(monkeypatch, NEW_KEY, previous=SECRET_KEY)
    res = _rotate()
    assert res.exit_code == 1
    assert "channel k-x" in res.stderr and "2 re-sealed" in res.stdout
    with herald.db.read() as s:
        assert (
            s.execute(select(Channel.credentials_encrypted).where(Channel.name == "k-x")).scalar_one()
            == stranger
        )
    box = SecretBox(Keyring.from_masters(Secret(NEW_KEY)))
    with herald.db.read() as s:
        user = s.execute(select(User).where(User.email == "admin@example.org")).scalar_one()
        opened = box.open(user.totp_secret_encrypted or b"")
    assert {k: v.reveal() for k, v in opened.items()} == sealed_under_old_key["user admin@example.org"]


def test_a_value_changed_since_it_was_read_is_never_overwritten(
    herald: Any, sealed_under_old_key: dict[str, dict[str, str]]
) -> None:
    with herald.db.read() as s:
        [value] = [v for v in sealed_values(s) if v.label == "admin@example.org"]
    herald.enable_second_factor("admin@example.org")  # a new secret lands after the read
    with herald.db.session() as s:
        assert not replace_sealed(s, value, b"stale")
    with herald.db.read() as s:
        [now] = [v for v in sealed_values(s) if v.label == "admin@example.org"]
    assert now.token not in (value.token, b"stale")


@pytest.fixture
def rotated(
    herald: Any, sealed_under_old_key: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rotated to ``NEW_KEY`` and the previous key removed: every process now has only the new
    key (requested before ``running``, so its worker is built with it)."""
    _switch(monkeypatch, NEW_KEY, previous=SECRET_KEY)
    assert _rotate().exit_code == 0
    _switch(monkeypatch, NEW_KEY)


def test_after_rotation_a_channel_still_publishes_with_only_the_new_key(
    rotated: None, running: Any, sim: Any
) -> None:
    from herald.runtime import service

    svc = service()  # built with the new key only
    svc.add_post(
        PostRequest(
            channels=["k-mastodon", "k-x"],
            text="Rotated keys, same accounts.",
            at=datetime.now(UTC) + timedelta(seconds=1),
        )
    )
    assert wait_for(lambda: len(sim.ledger()) >= 2, timeout=20), [x.status for x in svc.delivery_log()]
    assert wait_for(lambda: {x.status for x in svc.delivery_log()} == {"published"}, timeout=10)
    assert {e.platform for e in sim.ledger()} == {"mastodon", "x"}
    assert os.environ["HERALD_SECRET_KEY"] == NEW_KEY and "HERALD_SECRET_KEY_PREVIOUS" not in os.environ


def test_queueing_checks_credentials_again_once_they_change(herald: Any) -> None:
    """The service remembers which sealed credentials it found good (a verdict, by a digest of
    the ciphertext), so a burst does not open them per post; credentials changed behind it are
    new ciphertext, checked again: sealed under a key it lacks, or missing what the platform
    needs, the next post is refused."""
    from herald.core.errors import InputError

    herald.add_channel("k-m", "mastodon", {"access_token": "tok-good"}, base_url="http://127.0.0.1:9")
    at = datetime.now(UTC) + timedelta(hours=1)
    herald.add_post(PostRequest(channels=["k-m"], text="first", at=at))
    herald.add_post(PostRequest(channels=["k-m"], text="second", at=at))  # the verdict is reused

    def replace_with(sealed: bytes) -> None:
        with herald.db.session() as s:
            s.execute(
                select(Channel).where(Channel.name == "k-m")
            ).scalar_one().credentials_encrypted = sealed

    replace_with(_box(OTHER_KEY).seal({"access_token": Secret("from-elsewhere")}))
    with pytest.raises(InputError, match="k-m"):
        herald.add_post(PostRequest(channels=["k-m"], text="third", at=at))
    replace_with(herald.box.seal({"not_a_token": Secret("x")}))
    with pytest.raises(InputError, match="missing credential"):
        herald.add_post(PostRequest(channels=["k-m"], text="fourth", at=at))
    replace_with(herald.box.seal({"access_token": Secret("tok-new")}))
    herald.add_post(PostRequest(channels=["k-m"], text="fifth", at=at))
    assert sorted(p.text for p in herald.list_posts(limit=10)) == ["fifth", "first", "second"]
