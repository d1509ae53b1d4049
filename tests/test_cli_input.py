"""Bad input at `herald post add`: a clear message naming the problem, a non-zero exit, and
nothing queued or changed (SQL and Redis are compared before and after)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from typer.testing import CliRunner

from herald.cli import app as cli
from tests.photos import jpeg

runner = CliRunner()

X_CREDS = [
    "--credential",
    "api_key=k-123456",
    "--credential",
    "api_secret=s-123456",
    "--credential",
    "access_token=t-123456",
    "--credential",
    "access_token_secret=ts-123456",
]


def run(*args: str) -> Any:
    return runner.invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def setup(herald: Any, herald_env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    assert (
        run(
            "channel", "add", "kr-x", "--platform", "x", "--base-url", "http://127.0.0.1:9/x", *X_CREDS
        ).exit_code
        == 0
    )
    assert (
        run(
            "channel",
            "add",
            "kr-m",
            "--platform",
            "mastodon",
            "--base-url",
            "http://127.0.0.1:9/mastodon",
            "--credential",
            "access_token=m-123456",
        ).exit_code
        == 0
    )
    good = tmp_path / "good.jpg"
    good.write_bytes(jpeg())
    # One post already queued: bad input must not lose or change it.
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    res = run(
        "post",
        "add",
        "--channel",
        "kr-x",
        "--channel",
        "kr-m",
        "--text",
        "Already queued",
        "--photo",
        str(good),
        "--alt",
        "a",
        "--at",
        soon,
    )
    assert res.exit_code == 0, res.output
    return {"good": good, "redis": redis.Redis.from_url(herald_env["HERALD_REDIS_URL"]), "tmp": tmp_path}


def _snapshot(r: redis.Redis) -> dict[str, Any]:
    posts = json.loads(run("post", "list", "--format", "json").stdout)
    keys = sorted(k.decode() for k in r.keys("*"))
    due = r.zrange("herald:due", 0, -1, withscores=True)
    return {"posts": posts, "keys": keys, "due": due}


def _corrupt(tmp: Path) -> Path:
    p = tmp / "broken.jpg"
    p.write_bytes(jpeg()[:300])
    return p


def _html_as_jpg(tmp: Path) -> Path:
    p = tmp / "invite.jpg"
    p.write_text("<html><body>not a photo</body></html>")
    return p


CASES = [
    ("x-weighted-hangul", ["--channel", "kr-x", "--text", "평" * 141, "--now"], ["X", "280", "282"]),
    ("mastodon-over-500", ["--channel", "kr-m", "--text", "a" * 501, "--now"], ["Mastodon", "500", "501"]),
    (
        "fits-one-not-other",
        ["--channel", "kr-m", "--channel", "kr-x", "--text", "한" * 200, "--now"],
        ["kr-x", "280"],
    ),
    ("corrupt-photo", ["--channel", "kr-m", "--text", "hi", "--photo", "{corrupt}", "--now"], ["broken.jpg"]),
    (
        "not-an-image",
        ["--channel", "kr-m", "--text", "hi", "--photo", "{html}", "--now"],
        ["invite.jpg", "not"],
    ),
    ("unknown-channel", ["--channel", "kr-nope", "--text", "hi", "--now"], ["unknown channel", "kr-nope"]),
    ("past-time", ["--channel", "kr-m", "--text", "hi", "--at", "2020-01-01T00:00:00Z"], ["past"]),
    (
        "unknown-time-zone",
        ["--channel", "kr-m", "--text", "hi", "--at", "2030-01-01T09:00", "--tz", "Mars/Olympus"],
        ["unknown time zone"],
    ),
    ("no-time", ["--channel", "kr-m", "--text", "hi"], ["--now"]),
    ("bad-time", ["--channel", "kr-m", "--text", "hi", "--at", "tomorrow"], ["ISO 8601"]),
    (
        "missing-photo-file",
        ["--channel", "kr-m", "--text", "hi", "--photo", "/nonexistent/x.jpg", "--now"],
        ["x.jpg"],
    ),
    ("too-many-photos", ["--channel", "kr-m", "--text", "hi"] + ["--photo", "{good}"] * 5 + ["--now"], ["4"]),
    ("empty", ["--channel", "kr-m", "--text", "", "--now"], ["text or a photo"]),
]


@pytest.mark.parametrize(("case", "args", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_and_nothing_changes(
    setup: dict[str, Any], case: str, args: list[str], words: list[str]
) -> None:
    tmp = setup["tmp"]
    subs = {"{corrupt}": str(_corrupt(tmp)), "{html}": str(_html_as_jpg(tmp)), "{good}": str(setup["good"])}
    args = [subs.get(a, a) for a in args]
    before = _snapshot(setup["redis"])
    res = run("post", "add", *args)
    assert res.exit_code != 0, res.stdout
    for w in words:
        assert w in res.stderr, f"{case}: {w!r} not in {res.stderr!r}"
    assert res.stdout.strip() == "", "no post id may be printed on failure"
    assert _snapshot(setup["redis"]) == before


def test_missing_credential_refused_at_channel_add(herald: Any) -> None:
    res = run("channel", "add", "half-x", "--platform", "x", "--credential", "api_key=k-123456")
    assert res.exit_code != 0
    assert "api_secret" in res.stderr and "access_token" in res.stderr
    assert run("channel", "list", "--format", "json").stdout.strip() == "[]"


def test_credentials_that_no_longer_decrypt_refuse_post_add(
    setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from herald.core.settings import reset_settings

    monkeypatch.setenv("HERALD_SECRET_KEY", "another-key-" + "1" * 40)
    reset_settings()
    before = _snapshot(setup["redis"])
    res = run("post", "add", "--channel", "kr-m", "--text", "hi", "--now")
    assert res.exit_code != 0 and "HERALD_SECRET_KEY" in res.stderr and "kr-m" in res.stderr
    assert _snapshot(setup["redis"]) == before


def test_unknown_platform_and_credential_key(herald: Any) -> None:
    res = run("channel", "add", "a", "--platform", "myspace", "--credential", "x=y")
    assert res.exit_code != 0 and "unknown platform" in res.stderr and "mastodon" in res.stderr
    res = run(
        "channel",
        "add",
        "b",
        "--platform",
        "mastodon",
        "--credential",
        "access_token=abcdef",
        "--credential",
        "password=hunter2",
    )
    assert res.exit_code != 0 and "password" in res.stderr
    assert "hunter2" not in res.stderr


def test_channel_list_never_shows_secrets(setup: dict[str, Any]) -> None:
    out = run("channel", "list", "--format", "json").stdout
    assert "m-123456" not in out and "ts-123456" not in out
    assert "access_token" in out


def test_post_id_is_last_line_and_alt_pairs_with_its_photo(setup: dict[str, Any], herald: Any) -> None:
    good = str(setup["good"])
    res = run(
        "post",
        "add",
        "--channel",
        "kr-m",
        "--text",
        "two photos",
        "--photo",
        good,
        "--photo",
        good,
        "--alt",
        "second only",
        "--now",
    )
    assert res.exit_code == 0, res.output
    post_id = res.stdout.strip().splitlines()[-1]
    from herald.store.models import PostPhoto

    with herald.db.session() as s:
        alts = [
            p.alt_text for p in s.query(PostPhoto).filter_by(post_id=post_id).order_by(PostPhoto.position)
        ]
    assert alts == ["", "second only"]


def test_cancel(setup: dict[str, Any]) -> None:
    posts = json.loads(run("post", "list", "--format", "json").stdout)
    res = run("post", "cancel", posts[0]["id"])
    assert res.exit_code == 0 and "cancelled 2" in res.stdout
    assert setup["redis"].zcard("herald:due") == 0
    assert run("post", "cancel", "nope").exit_code != 0
