"""Issue 16's outside contract for time zones and posting slots, through the command line on a
real database and Redis: ``channel add --tz``, ``campaign set --tz``, ``schedule set/show``,
``post add --next-slot [--after]`` and ``--at LOCAL --tz`` with the DST rules. Every refusal
exits non-zero, says why on stderr, and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from herald.cli import app as cli
from tests.web import actor_of

runner = CliRunner()
# 2030-01-07 is a Monday. New York springs forward on 10 March 2030 and falls back on 3 November.


def _ok(*args: str) -> str:
    res = runner.invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output + res.stderr
    return res.stdout


def _refused(*args: str) -> str:
    res = runner.invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code != 0, res.stdout
    return res.stderr


def _scheduled(post_id: str) -> str:
    posts = json.loads(_ok("post", "list", "--format", "json"))
    [post] = [p for p in posts if p["id"] == post_id]
    return str(post["scheduled_at"])


def _posts() -> list[dict[str, Any]]:
    return list(json.loads(_ok("post", "list", "--format", "json")))


@pytest.fixture
def seoul(herald: Any, herald_env: dict[str, str]) -> str:
    _ok(
        "channel", "add", "seoul", "--platform", "mastodon", "--credential", "access_token=tok-123456",
        "--base-url", "http://127.0.0.1:9", "--tz", "Asia/Seoul",
    )  # fmt: skip
    _ok("schedule", "set", "seoul", "--slots", "mon-fri 09:00,13:00; sat 10:00", "--min-gap", "30m")
    return "seoul"


def test_schedule_show_says_the_slots_in_the_channels_zone(seoul: str) -> None:
    shown = json.loads(_ok("schedule", "show", seoul, "--format", "json"))
    assert shown["timezone"] == "Asia/Seoul" and shown["min_gap_seconds"] == 1800
    assert shown["slots"]["mon"] == ["09:00", "13:00"] and shown["slots"]["sat"] == ["10:00"]
    assert "sun" not in shown["slots"]
    assert shown["slots_text"] == "mon-fri 09:00,13:00; sat 10:00"
    for slot in shown["upcoming"]:
        assert slot["local"].endswith("+09:00") and slot["at"].endswith("Z") and slot["free"] is True
        assert slot["local"][11:16] in ("09:00", "13:00", "10:00")


def test_next_slot_fills_the_slots_in_order_and_a_post_keeps_its_place(seoul: str) -> None:
    def add(text: str) -> str:
        out = _ok(
            "post",
            "add",
            "--channel",
            seoul,
            "--text",
            text,
            "--next-slot",
            "--after",
            "2030-01-07T00:00:00Z",
        )
        return out.strip().splitlines()[-1]

    first, second, third = add("one"), add("two"), add("three")
    assert [_scheduled(p)[:16] for p in (first, second, third)] == [
        "2030-01-07T00:00",  # Monday 09:00 Seoul
        "2030-01-07T04:00",  # Monday 13:00
        "2030-01-08T00:00",  # Tuesday 09:00
    ]
    _ok("post", "cancel", first)
    assert _scheduled(second)[:16] == "2030-01-07T04:00"  # kept its place
    assert _scheduled(add("four"))[:16] == "2030-01-07T00:00"  # the freed slot
    log = json.loads(_ok("log", "--format", "json"))
    assert all(e["scheduled_at"].endswith(("Z", "+00:00")) for e in log)


def test_a_local_time_is_read_in_the_zone_given_else_the_campaigns(seoul: str) -> None:
    _ok("campaign", "set", "unification", "--tz", "Asia/Seoul")
    in_campaign = _ok(
        "post",
        "add",
        "--channel",
        seoul,
        "--text",
        "a",
        "--campaign",
        "unification",
        "--at",
        "2030-01-07T09:00",
    ).strip()
    given = _ok(
        "post", "add", "--channel", seoul, "--text", "b", "--at", "2030-01-07T09:00", "--tz", "Europe/Berlin"
    ).strip()
    assert _scheduled(in_campaign)[:16] == "2030-01-07T00:00"
    assert _scheduled(given)[:16] == "2030-01-07T08:00"


def test_dst_edges_are_refused_unless_the_person_says_what_they_mean(seoul: str) -> None:
    before = _posts()
    gap = _refused(
        "post",
        "add",
        "--channel",
        seoul,
        "--text",
        "x",
        "--at",
        "2030-03-10T02:30",
        "--tz",
        "America/New_York",
    )
    assert "does not exist" in gap and "02:00 to 03:00" in gap
    twice = _refused(
        "post",
        "add",
        "--channel",
        seoul,
        "--text",
        "x",
        "--at",
        "2030-11-03T01:30",
        "--tz",
        "America/New_York",
    )
    assert "happens twice" in twice and "first or the second" in twice
    assert _posts() == before  # nothing queued, nothing changed

    moved = _ok(
        "post", "add", "--channel", seoul, "--text", "x", "--at", "2030-03-10T02:30",
        "--tz", "America/New_York", "--shift-gap",
    ).strip()  # fmt: skip
    assert _scheduled(moved)[:16] == "2030-03-10T07:30"  # 03:30 EDT
    second = _ok(
        "post", "add", "--channel", seoul, "--text", "x", "--at", "2030-11-03T01:30",
        "--tz", "America/New_York", "--fold", "second",
    ).strip()  # fmt: skip
    assert _scheduled(second)[:16] == "2030-11-03T06:30"  # 01:30 EST


def test_bad_schedules_and_zones_are_refused_and_change_nothing(seoul: str) -> None:
    before = json.loads(_ok("schedule", "show", seoul, "--format", "json"))
    assert "'mon-fry' is not a day" in _refused("schedule", "set", seoul, "--slots", "mon-fry 09:00")
    assert "not a duration" in _refused("schedule", "set", seoul, "--slots", "mon 09:00", "--min-gap", "soon")
    assert "unknown time zone" in _refused("schedule", "set", seoul, "--tz", "Mars/Olympus")
    assert json.loads(_ok("schedule", "show", seoul, "--format", "json"))["slots"] == before["slots"]
    assert "unknown channel" in _refused("schedule", "show", "nowhere")
    assert "unknown time zone" in _refused("campaign", "set", "c", "--tz", "Mars/Olympus")
    assert "--after goes with --next-slot" in _refused(
        "post", "add", "--channel", seoul, "--text", "x", "--now", "--after", "2030-01-01T00:00Z"
    )
    assert "not --at and --next-slot" in _refused(
        "post", "add", "--channel", seoul, "--text", "x", "--at", "2030-01-01T00:00Z", "--next-slot"
    )


def test_next_slot_on_a_channel_without_slots_says_how_to_set_them(
    herald: Any, herald_env: dict[str, str]
) -> None:
    _ok(
        "channel", "add", "bare", "--platform", "mastodon", "--credential", "access_token=tok-123456",
        "--base-url", "http://127.0.0.1:9",
    )  # fmt: skip
    err = _refused("post", "add", "--channel", "bare", "--text", "x", "--next-slot")
    assert "no posting slots" in err and "herald schedule set bare" in err
    assert _posts() == []


def test_a_post_just_before_now_still_keeps_the_next_slot_within_its_gap(seoul: str, herald: Any) -> None:
    """A post at 08:50 (already due) and a 30-minute gap: at 08:55 the 09:00 slot is not free."""
    from datetime import datetime

    from herald.service import PostRequest

    herald.add_post(
        PostRequest(channels=[seoul], text="early", at=datetime(2030, 1, 6, 23, 50)),
        now=datetime(2030, 1, 6, 23, 40),
    )
    placed = herald.add_post(
        PostRequest(channels=[seoul], text="next", next_slot=True), now=datetime(2030, 1, 6, 23, 55)
    )
    assert _scheduled(placed)[:16] == "2030-01-07T04:00"  # 13:00 Seoul: 09:00 is 10 min from 08:50


def test_only_an_admin_changes_a_schedule_and_hostile_slots_are_refused(seoul: str, herald: Any) -> None:
    from herald.core.errors import AccessDenied, InputError

    herald.add_user("staff@example.org", "correct horse battery staple", "staff")
    staff = actor_of(herald, "staff@example.org", "correct horse battery staple")
    before = herald.schedule(seoul)
    with pytest.raises(AccessDenied, match="admin"):
        herald.set_schedule(seoul, slots="daily 03:00", actor=staff)
    assert herald.schedule(seoul, actor=staff).slots == before.slots  # staff may look
    for hostile in ("mon 09:00\x00; tue 10:00", "mon 09:00'; DROP TABLE channels;--", "mon " + "9" * 10_000):
        with pytest.raises(InputError) as e:
            herald.set_schedule(seoul, slots=hostile)
        assert e.value.field == "slots"
    assert herald.schedule(seoul).slots == before.slots
