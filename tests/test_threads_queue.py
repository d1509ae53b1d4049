"""Issue 16: threads and first comments at queue time, through the command line on a real
database and Redis. ``post add --thread`` splits per platform and stores each channel's parts;
``--first-comment`` adds one; what cannot go out (a platform without threads, an empty part, a
thread too long, a hostile comment) is refused naming it, and nothing is queued. The payload a
worker reads carries the parts, the same whether staged at queue time or rebuilt from SQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from herald.cli import app as cli
from herald.delivery.staging import build_payloads

runner = CliRunner()
PARTS = ["첫째 평화 통일 캠페인.", "둘째 Second part.", "셋째 Third part."]


def _ok(*args: str) -> str:
    res = runner.invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output + res.stderr
    return res.stdout


def _refused(*args: str) -> str:
    res = runner.invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code != 0, res.stdout
    return res.stderr


def _posts() -> list[dict[str, Any]]:
    return list(json.loads(_ok("post", "list", "--format", "json")))


@pytest.fixture
def chans(herald: Any, herald_env: dict[str, str]) -> None:
    for name, platform, creds in (
        ("m", "mastodon", ["access_token=tok-123456"]),
        ("tg", "telegram", ["bot_token=123456:ABCdefGhIJKlmNoPQRsTUVwxyZ", "chat_id=@herald_test"]),
        ("li", "linkedin", ["access_token=tok-123456", "organization_urn=urn:li:organization:123"]),
    ):
        args = ["channel", "add", name, "--platform", platform, "--base-url", "http://127.0.0.1:9"]
        for c in creds:
            args += ["--credential", c]
        _ok(*args)


def test_a_thread_is_stored_per_channel_and_shown_in_the_log(chans: None, herald: Any) -> None:
    out = _ok(
        "post",
        "add",
        "--channel",
        "m",
        "--channel",
        "li",
        "--text",
        "\n---\n".join(PARTS),
        "--thread",
        "--now",
    )
    post_id = out.strip().splitlines()[-1]
    log = {r["channel"]: r for r in json.loads(_ok("log", "--format", "json"))}
    assert [p["text"] for p in log["m"]["parts"]] == PARTS
    assert [p["status"] for p in log["m"]["parts"]] == ["waiting"] * 3
    # LinkedIn continues with one first comment holding the rest.
    assert [p["text"] for p in log["li"]["parts"]] == [PARTS[0], "\n\n".join(PARTS[1:])]
    # The worker's payloads carry part 1 as the text and the rest as parts.
    staged = herald.queue.payloads([r["delivery_id"] for r in log.values()])
    by_channel = {log_r["channel"]: staged[log_r["delivery_id"]] for log_r in log.values()}
    assert by_channel["m"].text == PARTS[0] and list(by_channel["m"].parts) == PARTS[1:]
    # ... and a rebuild from SQL (Redis lost it) gives the same payloads.
    with herald.db.read() as s:
        rebuilt = {p.delivery_id: p for p, _ in build_payloads(s, [r["delivery_id"] for r in log.values()])}
    for r in log.values():
        assert rebuilt[r["delivery_id"]] == staged[r["delivery_id"]]
    assert post_id in {p["id"] for p in _posts()}


def test_a_single_posts_payload_is_as_it_always_was(chans: None, herald: Any) -> None:
    _ok("post", "add", "--channel", "m", "--text", "one post", "--now")
    (row,) = json.loads(_ok("log", "--format", "json"))
    assert row["parts"] == []
    payload = herald.queue.payloads([row["delivery_id"]])[row["delivery_id"]]
    assert "parts" not in payload.to_dict()


def test_a_platform_without_threads_refuses_and_nothing_is_queued(chans: None) -> None:
    err = _refused(
        "post", "add", "--channel", "m", "--channel", "tg", "--text", "a\n---\nb", "--thread", "--now"
    )
    assert "tg: Telegram cannot continue a post in a thread or a first comment" in err
    assert _posts() == []


@pytest.mark.parametrize(
    "extra, reason",
    [
        (["--text", "one\n---\n\n---\nthree", "--thread"], "part(s) 2 of the thread are empty"),
        (["--text", "word " * 5000, "--thread"], "a thread has at most 25 parts"),
        (["--text", "post", "--first-comment", " "], "the first comment is empty"),
        (["--text", "post", "--first-comment", "sign\x1b[2Jhere"], "first comment"),
        (["--text", "x" * 600], "Mastodon allows 500 characters"),
    ],
)
def test_what_cannot_go_out_is_refused_naming_it(chans: None, extra: list[str], reason: str) -> None:
    _ok("post", "add", "--channel", "m", "--text", "already queued", "--now")
    before = _posts()
    err = _refused("post", "add", "--channel", "m", *extra, "--now")
    assert reason in err
    assert _posts() == before
