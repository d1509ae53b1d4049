"""Issue 16: "next free slot" per channel. A post on channels whose slots never meet (Seoul and
Washington mornings) takes each channel's own next free slot when asked (``--each-channel``):
each delivery is due at its own slot, staged in Redis at that time, and late only from it; the
post's time is the earliest. Without the choice the common slot is looked for as before. Real
SQL (SQLite and PostgreSQL) and Redis, through the service and the command line."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from herald.cli import app as cli
from herald.core.errors import InputError
from herald.delivery.staging import build_payloads, to_epoch
from herald.service import PostRequest

runner = CliRunner()
# 2030-01-07 is a Monday. 09:00 in Seoul is 00:00 UTC; 09:00 in Washington is 14:00 UTC.
NOW = datetime(2030, 1, 6, 12, 0)


@pytest.fixture
def db_url(any_db_url: str) -> str:
    return any_db_url


@pytest.fixture
def two_zones(herald: Any) -> tuple[str, str]:
    for name, tz, slots in (
        ("seoul", "Asia/Seoul", "mon-fri 09:00,13:00"),
        ("dc", "America/New_York", "mon-fri 09:00"),
    ):
        herald.add_channel(
            name, "mastodon", {"access_token": "tok-123456"}, base_url="http://127.0.0.1:9", timezone=tz
        )
        herald.set_schedule(name, slots=slots)
    return "seoul", "dc"


def _due(herald: Any, post_id: str) -> dict[str, str]:
    return {r.channel: r.due_at[:16] for r in herald.delivery_log(post_id=post_id)}


def _scheduled(herald: Any, post_id: str) -> str:
    [p] = [p for p in herald.list_posts() if p.id == post_id]
    return str(p.scheduled_at)[:16]


def test_each_channel_gets_its_own_next_free_slot(herald: Any, two_zones: tuple[str, str]) -> None:
    first, second = herald.add_posts(
        [
            PostRequest(channels=list(two_zones), text=t, next_slot=True, slot_each=True)
            for t in ("one", "two")
        ],
        now=NOW,
    )
    assert _due(herald, first) == {"seoul": "2030-01-07T00:00", "dc": "2030-01-07T14:00"}
    assert _due(herald, second) == {"seoul": "2030-01-07T04:00", "dc": "2030-01-08T14:00"}
    assert _scheduled(herald, first) == "2030-01-07T00:00"  # the earliest of its deliveries
    assert _scheduled(herald, second) == "2030-01-07T04:00"


def test_each_delivery_is_staged_at_its_own_time_and_late_only_from_it(
    herald: Any, two_zones: tuple[str, str]
) -> None:
    """The Washington copy is 14 hours after the post's time: with the campaign's one-hour
    tolerance it must not count as late. Redis holds what a rebuild from SQL would make."""
    post = herald.add_post(
        PostRequest(channels=list(two_zones), text="x", next_slot=True, slot_each=True), now=NOW
    )
    rows = {r.channel: r.delivery_id for r in herald.delivery_log(post_id=post)}
    staged = herald.queue.payloads(list(rows.values()))
    with herald.db.session() as s:
        rebuilt = {p.delivery_id: p for p, _ in build_payloads(s, list(rows.values()))}
    for channel, when in (("seoul", datetime(2030, 1, 7, 0, 0)), ("dc", datetime(2030, 1, 7, 14, 0))):
        payload = staged[rows[channel]]
        assert payload.due == to_epoch(when)
        assert payload.hold_after == to_epoch(when) + 3600  # late from its own time
        assert (payload.due, payload.hold_after) == (
            rebuilt[rows[channel]].due,
            rebuilt[rows[channel]].hold_after,
        )


def test_the_common_slot_is_unchanged_without_the_choice(herald: Any, two_zones: tuple[str, str]) -> None:
    with pytest.raises(InputError, match="no free slot common to seoul, dc.*never fall at the same instant"):
        herald.add_post(PostRequest(channels=list(two_zones), text="x", next_slot=True), now=NOW)
    herald.add_channel(
        "tokyo",
        "mastodon",
        {"access_token": "tok-123456"},
        base_url="http://127.0.0.1:9",
        timezone="Asia/Tokyo",
    )
    herald.set_schedule("tokyo", slots="mon-fri 09:00")  # the same instant as Seoul's 09:00
    post = herald.add_post(PostRequest(channels=["seoul", "tokyo"], text="x", next_slot=True), now=NOW)
    assert _due(herald, post) == {"seoul": "2030-01-07T00:00", "tokyo": "2030-01-07T00:00"}
    assert herald.list_posts()[0].id == post  # the refused one left nothing behind


def test_refusals_name_the_problem_and_queue_nothing(herald: Any, two_zones: tuple[str, str]) -> None:
    herald.add_channel("bare", "mastodon", {"access_token": "tok-123456"}, base_url="http://127.0.0.1:9")
    cases = [
        (PostRequest(channels=list(two_zones), text="x", slot_each=True), "goes with the next free slot"),
        (
            PostRequest(
                channels=list(two_zones), text="x", next_slot=True, slot_each=True, at=datetime(2030, 2, 1)
            ),
            "either a time or the next free slot",
        ),
        (
            PostRequest(channels=["seoul", "bare"], text="x", next_slot=True, slot_each=True),
            "bare have no posting slots",
        ),
    ]
    for req, message in cases:
        with pytest.raises(InputError, match=message):
            herald.add_post(req, now=NOW)
    assert herald.list_posts() == []
    # A batch with one refused post queues none, and takes no slot.
    with pytest.raises(InputError, match="1 of 2 posts refused"):
        herald.add_posts(
            [
                PostRequest(channels=list(two_zones), text="ok", next_slot=True, slot_each=True),
                PostRequest(channels=["bare"], text="no", next_slot=True, slot_each=True),
            ],
            now=NOW,
        )
    assert herald.list_posts() == []


def _cli(*args: str) -> Any:
    return runner.invoke(cli, list(args), catch_exceptions=False)


def test_the_command_line_says_each_channel(
    herald: Any, herald_env: dict[str, str], two_zones: tuple[str, str]
) -> None:
    res = _cli(
        "post", "add", "--channel", "seoul", "--channel", "dc", "--text", "hello",
        "--next-slot", "--each-channel", "--after", "2030-01-07T00:00:00Z",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    post = res.stdout.strip().splitlines()[-1]
    assert _due(herald, post) == {"seoul": "2030-01-07T00:00", "dc": "2030-01-07T14:00"}
    listed = json.loads(_cli("post", "list", "--format", "json").stdout)
    assert [p["scheduled_at"][:16] for p in listed] == ["2030-01-07T00:00"]

    refused = _cli("post", "add", "--channel", "seoul", "--text", "x", "--now", "--each-channel")
    assert refused.exit_code != 0 and "goes with the next free slot" in refused.stderr
    assert len(json.loads(_cli("post", "list", "--format", "json").stdout)) == 1


def test_each_channels_slot_stays_out_of_the_campaigns_blackout(
    herald: Any, two_zones: tuple[str, str]
) -> None:
    """A blackout (UTC 10:00-20:00 on Monday) covers Washington's 09:00 but not Seoul's: only
    the Washington copy waits for the next day's slot."""
    herald.set_campaign("spring")
    herald.add_blackout("spring", starts="2030-01-07T10:00", ends="2030-01-07T20:00", now=NOW)
    post = herald.add_post(
        PostRequest(channels=list(two_zones), text="x", next_slot=True, slot_each=True, campaign="spring"),
        now=NOW,
    )
    assert _due(herald, post) == {"seoul": "2030-01-07T00:00", "dc": "2030-01-08T14:00"}
