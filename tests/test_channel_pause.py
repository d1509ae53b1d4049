"""Issue 16: a person pauses one channel and resumes it, keeping the posts' times or moving
them to the channel's next free slots. ``herald channel pause NAME [--reason]`` holds its queued
posts at once (and nothing of it is claimed while paused); ``herald channel resume NAME
[--reschedule keep|next-slot]``. Admins only; audited. Real SQL (SQLite and PostgreSQL) and Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from herald.cli import app as cli
from herald.core.errors import AccessDenied
from herald.service import PostRequest
from herald.store import deliveries
from tests.web import actor_of

runner = CliRunner()
PASSWORD = "correct horse battery staple"


def _ok(*args: str) -> str:
    res = runner.invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output + res.stderr
    return res.stdout


@pytest.fixture
def db_url(any_db_url: str) -> str:
    return any_db_url


@pytest.fixture
def chans(herald: Any, herald_env: dict[str, str]) -> None:
    for name in ("seoul", "berlin"):
        herald.add_channel(name, "mastodon", {"access_token": "tok-123456"}, base_url="http://127.0.0.1:9")


def _state(herald: Any, post_id: str) -> dict[str, str]:
    return {r.channel: r.status for r in herald.delivery_log(post_id=post_id)}


def test_a_paused_channel_holds_its_posts_and_others_go_on(chans: None, herald: Any) -> None:
    pid = herald.add_post(PostRequest(channels=["seoul", "berlin"], text="both", at=datetime.now(UTC)))
    assert "1 queued deliveries held" in _ok("channel", "pause", "seoul", "--reason", "account under attack")
    assert _state(herald, pid) == {"seoul": "held", "berlin": "queued"}
    (row,) = [r for r in herald.delivery_log(post_id=pid) if r.channel == "seoul"]
    assert row.error == "paused: paused by system: account under attack"
    with herald.db.session() as s:  # nothing of it can be claimed while paused
        assert deliveries.claim(s, row.delivery_id, lease_seconds=30) is None
    assert (row.delivery_id) not in herald.queue.payloads([row.delivery_id])
    assert "1 held deliveries requeued" in _ok("channel", "resume", "seoul")
    assert _state(herald, pid) == {"seoul": "queued", "berlin": "queued"}
    assert [e.action for e in herald.audit_log() if e.target_id == "seoul"][:2] == [
        "channel.resume",
        "channel.pause",
    ]


def test_resume_can_move_held_posts_to_the_next_free_slots(chans: None, herald: Any) -> None:
    _ok("schedule", "set", "seoul", "--slots", "mon-sun 09:00,18:00")
    soon = datetime.now(UTC) + timedelta(minutes=5)
    first = herald.add_post(PostRequest(channels=["seoul"], text="first", at=soon))
    second = herald.add_post(PostRequest(channels=["seoul"], text="second", at=soon + timedelta(minutes=1)))
    _ok("channel", "pause", "seoul")
    _ok("channel", "resume", "seoul", "--reschedule", "next-slot")
    due = {pid: herald.delivery_log(post_id=pid)[0].due_at for pid in (first, second)}
    assert due[first] < due[second]  # in their order, each in its own slot
    for d in due.values():
        assert d.endswith(("T09:00:00Z", "T18:00:00Z"))


def test_only_admins_pause_channels_and_a_bad_choice_is_refused(chans: None, herald: Any) -> None:
    herald.set_campaign("unification", require_alt_text=False)
    herald.add_user("manager@example.org", PASSWORD, "manager", ["unification"])
    with pytest.raises(AccessDenied):
        herald.pause_channel("seoul", actor=actor_of(herald, "manager@example.org", PASSWORD))
    res = runner.invoke(cli, ["channel", "resume", "seoul", "--reschedule", "later"])
    assert res.exit_code != 0 and "keep or next-slot" in res.stderr
    res = runner.invoke(cli, ["channel", "pause", "nowhere"])
    assert res.exit_code != 0 and "unknown channel" in res.stderr
    res = runner.invoke(cli, ["channel", "pause", "seoul", "--reason", "evil\x1b[2J"])
    assert res.exit_code != 0 and "reason" in res.stderr
    assert not any(c.paused for c in herald.list_channels())
