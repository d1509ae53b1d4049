"""Issue 16: editing a queued post, one occurrence or "this and following" of a recurring post.
``herald post edit ID --text ... [--text-for NAME=TEXT] [--following]``: the same checks as
queueing, the new text in SQL and in the payload a worker reads (its version bumped so a stale
payload is never sent), photos, times and channels unchanged; what has started keeps its text;
a refusal changes nothing. Real SQL (SQLite and PostgreSQL) and Redis."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from herald.cli import app as cli
from herald.core.errors import AccessDenied, Conflict
from herald.service import PostRequest
from herald.store import deliveries
from tests.web import actor_of

runner = CliRunner()
PASSWORD = "correct horse battery staple"


def _ok(*args: str) -> str:
    res = runner.invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output + res.stderr
    return res.stdout


def _refused(*args: str) -> str:
    res = runner.invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code != 0, res.stdout
    return res.stderr


@pytest.fixture
def db_url(any_db_url: str) -> str:
    return any_db_url


@pytest.fixture
def chans(herald: Any, herald_env: dict[str, str]) -> None:
    herald.set_campaign("unification", require_alt_text=False, timezone="Asia/Seoul")
    herald.add_channel("m", "mastodon", {"access_token": "tok-123456"}, base_url="http://127.0.0.1:9")
    herald.add_channel(
        "x",
        "x",
        {
            "api_key": "k-123456",
            "api_secret": "s-123456",
            "access_token": "t-123456",
            "access_token_secret": "u-1234",
        },
        base_url="http://127.0.0.1:9",
    )


def _later(hours: float = 2) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def _log(herald: Any, post_id: str) -> dict[str, Any]:
    return {r.channel: r for r in herald.delivery_log(post_id=post_id)}


def test_an_edit_reaches_sql_and_the_payload_a_worker_reads(chans: None, herald: Any) -> None:
    pid = herald.add_post(
        PostRequest(channels=["m", "x"], text="old words", at=_later(), campaign="unification")
    )
    before = herald.queue.payloads([r.delivery_id for r in _log(herald, pid).values()])
    out = json.loads(
        _ok(
            "post", "edit", pid, "--text", "새 문장 new words", "--text-for", "x=X만의 글", "--format", "json"
        )
    )
    assert out["posts"] == [pid] and len(out["deliveries"]) == 2 and out["too_late"] == []
    rows = _log(herald, pid)
    assert (rows["m"].text, rows["x"].text) == ("새 문장 new words", "X만의 글")
    after = herald.queue.payloads([r.delivery_id for r in rows.values()])
    for d, payload in after.items():
        assert payload.post_version == before[d].post_version + 1
        assert payload.due == before[d].due  # the time stays
    assert {p.text for p in after.values()} == {"새 문장 new words", "X만의 글"}
    (event,) = [e for e in herald.audit_log() if e.action == "post.edit"]
    assert event.target_id == pid


def test_this_and_following_edits_the_later_occurrences_only(chans: None, herald: Any) -> None:
    ids = _ok(
        "post", "add", "--channel", "m", "--text", "weekly call", "--campaign", "unification",
        "--at", (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT09:00"),
        "--repeat", "FREQ=WEEKLY;COUNT=4",
    ).split()  # fmt: skip
    assert len(ids) == 4
    _ok("post", "edit", ids[1], "--text", "weekly call, new room", "--following")
    texts = [_log(herald, i)["m"].text for i in ids]
    assert texts == ["weekly call"] + ["weekly call, new room"] * 3


def test_an_edit_that_does_not_fit_is_refused_and_changes_nothing(chans: None, herald: Any) -> None:
    pid = herald.add_post(PostRequest(channels=["m", "x"], text="fits", at=_later()))
    before = herald.queue.payloads([r.delivery_id for r in _log(herald, pid).values()])
    err = _refused("post", "edit", pid, "--text", "가" * 150)  # 300 weighted on X
    assert "x: X allows 280 weighted characters" in err
    assert {r.text for r in _log(herald, pid).values()} == {"fits"}
    assert herald.queue.payloads(list(before)) == before


def test_a_post_under_way_keeps_its_text(chans: None, herald: Any) -> None:
    pid = herald.add_post(PostRequest(channels=["m", "x"], text="old", at=_later(-0.001)))
    rows = _log(herald, pid)
    with herald.db.session() as s:  # a worker claims the X copy
        assert deliveries.claim(s, rows["x"].delivery_id, lease_seconds=30)
    done = herald.edit_post(pid, text="new")
    assert done.deliveries == (rows["m"].delivery_id,) and done.too_late == (rows["x"].delivery_id,)
    rows = _log(herald, pid)
    assert (rows["m"].text, rows["x"].text) == ("new", "new")  # the post's text; X's payload is old
    with pytest.raises(Conflict):
        with herald.db.session() as s:
            deliveries.claim(s, rows["m"].delivery_id, lease_seconds=30)
        herald.edit_post(pid, text="newer")


def test_a_thread_is_split_again(chans: None, herald: Any) -> None:
    pid = herald.add_post(PostRequest(channels=["m"], text="a\n---\nb", thread=True, at=_later()))
    herald.edit_post(pid, text="one\n---\ntwo\n---\nthree")
    assert [p.text for p in _log(herald, pid)["m"].parts] == ["one", "two", "three"]
    payload = herald.queue.payloads([_log(herald, pid)["m"].delivery_id])
    assert [list(p.parts) for p in payload.values()] == [["two", "three"]]


def test_only_people_who_may_queue_in_the_campaign_may_edit(chans: None, herald: Any) -> None:
    herald.set_campaign("berlin", require_alt_text=False)
    herald.add_user("staff@example.org", PASSWORD, "staff", ["berlin"])
    staff = actor_of(herald, "staff@example.org", PASSWORD)
    pid = herald.add_post(PostRequest(channels=["m"], text="ours", at=_later(), campaign="unification"))
    with pytest.raises(AccessDenied):
        herald.edit_post(pid, text="defaced", actor=staff)
    assert _log(herald, pid)["m"].text == "ours"


@pytest.mark.parametrize(
    "args, reason",
    [
        (["--text", "bad\x1b[2Jtext"], "text"),
        (["--text-for", "nowhere=hi"], "does not go to channel(s): nowhere"),
        (["--language-for", "nowhere=ko"], "does not go to channel(s): nowhere"),
        (["--language-for", "m=ko KR"], "channel m: 'ko KR' is not a language tag"),
        ([], "give the new text"),
        (["--text", "x", "--following"], "not part of a recurring series"),
    ],
)
def test_bad_edits_are_refused_naming_the_problem(
    chans: None, herald: Any, args: list[str], reason: str
) -> None:
    pid = herald.add_post(PostRequest(channels=["m"], text="kept", at=_later()))
    assert reason in _refused("post", "edit", pid, *args)
    assert _log(herald, pid)["m"].text == "kept"
    assert "unknown post" in _refused("post", "edit", "nope", "--text", "x")


def test_a_first_comment_survives_an_edit_of_the_post(chans: None, herald: Any) -> None:
    pid = herald.add_post(
        PostRequest(channels=["m"], text="Sign today.", first_comment="example.org/sign", at=_later())
    )
    herald.edit_post(pid, text="Sign today, it matters.")
    assert [p.text for p in _log(herald, pid)["m"].parts] == ["Sign today, it matters.", "example.org/sign"]


def _languages(herald: Any, post_id: str) -> dict[str, str | None]:
    """The language each channel's staged payload carries."""
    rows = _log(herald, post_id)
    payloads = herald.queue.payloads([r.delivery_id for r in rows.values()])
    return {name: payloads[r.delivery_id].language for name, r in rows.items()}


def test_an_edit_keeps_or_changes_each_channels_language(chans: None, herald: Any) -> None:
    pid = herald.add_post(
        PostRequest(
            channels=["m", "x"],
            text="Peace starts with listening.",
            text_for={"m": "평화는 경청에서 시작됩니다."},
            language="en",
            languages={"m": "ko"},
            at=_later(),
        )
    )
    assert _languages(herald, pid) == {"m": "ko", "x": "en"}
    herald.edit_post(pid, text_for={"x": "Peace starts with listening, together."})
    assert _languages(herald, pid) == {"m": "ko", "x": "en"}  # kept through a text edit
    assert _log(herald, pid)["m"].text == "평화는 경청에서 시작됩니다."
    _ok("post", "edit", pid, "--language-for", "x=en-GB")  # a language alone is an edit
    assert _languages(herald, pid) == {"m": "ko", "x": "en-GB"}
    assert _log(herald, pid)["x"].text == "Peace starts with listening, together."
    herald.edit_post(pid, text="One text for all.", language_for={"m": ""})  # "": the post's again
    assert _languages(herald, pid) == {"m": "en", "x": "en-GB"}
    assert {r.text for r in _log(herald, pid).values()} == {"One text for all."}
    [post] = herald.list_posts(post_id=pid)
    assert {n: (v.text, v.language) for n, v in post.variants.items()} == {
        "x": ("One text for all.", "en-GB")
    }


def test_a_bad_language_edit_changes_nothing(chans: None, herald: Any) -> None:
    pid = herald.add_post(PostRequest(channels=["m"], text="kept", languages={"m": "ko"}, at=_later()))
    before = herald.queue.payloads([r.delivery_id for r in _log(herald, pid).values()])
    err = _refused("post", "edit", pid, "--text", "new", "--language-for", "m=" + "k" * 40)
    assert "channel m: " in err and "at most 16 characters" in err
    assert _log(herald, pid)["m"].text == "kept" and _languages(herald, pid) == {"m": "ko"}
    assert herald.queue.payloads(list(before)) == before
