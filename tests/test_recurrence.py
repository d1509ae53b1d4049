"""Recurring posts through the command line and the service, on a real database (SQLite and
PostgreSQL) and Redis: ``post add --repeat RRULE --at ...`` queues one post per occurrence, each
with one delivery per channel, 09:00 local on both sides of a DST change; ``post list`` and
``log`` show every occurrence with its series; ``post cancel ID --following`` cancels an
occurrence and the later ones, leaving what was published. Every refusal exits non-zero, says
why on stderr, and changes nothing."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from herald.cli import app as cli
from herald.core.errors import AccessDenied, InputError, NotFound
from herald.service import PostRequest
from herald.store import states
from herald.store.models import AuditEvent, Delivery, Post
from tests.web import actor_of

runner = CliRunner()
# 2030: New York springs forward on 10 March, falls back on 3 November; Berlin on 31 March and
# 27 October. 2030-03-03 is a Sunday.
NOW = datetime(2030, 1, 1)


@pytest.fixture
def db_url(any_db_url: str) -> str:
    return any_db_url


def _ok(*args: str) -> str:
    res = runner.invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output + res.stderr
    return res.stdout


def _refused(*args: str) -> str:
    res = runner.invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code != 0, res.stdout
    return res.stderr


def _snapshot(herald: Any) -> dict[str, Any]:
    r = herald.queue.redis
    with herald.db.session() as s:
        counts = [s.execute(select(func.count()).select_from(m)).scalar_one() for m in (Post, Delivery)]
    return {"sql": counts, "due": r.zrange(herald.queue.keys.due, 0, -1, withscores=True)}


@pytest.fixture
def chans(herald: Any, herald_env: dict[str, str]) -> Any:
    for name in ("dc-m", "dc-m2"):
        _ok(
            "channel", "add", name, "--platform", "mastodon", "--credential", "access_token=tok-123456",
            "--base-url", "http://127.0.0.1:9",
        )  # fmt: skip
    # Already queued: nothing a refused series does may touch it.
    herald.add_post(PostRequest(channels=["dc-m"], text="already queued", at=datetime(2030, 2, 1)), now=NOW)
    return herald


def _publish(herald: Any, post_id: str) -> None:
    """What a worker does when the post is due: claim each delivery, record it published
    (the store's own transitions, on the post's own clock), and forget it in Redis."""
    from herald.store import deliveries

    rows = herald.delivery_log(post_id=post_id)
    with herald.db.session() as s:
        for row in rows:
            due = datetime.fromisoformat(row.due_at.replace("Z", "+00:00")).replace(tzinfo=None)
            claim = deliveries.claim(s, row.delivery_id, lease_seconds=30, now=due)
            assert claim is not None, row
            assert deliveries.mark_published(
                s, row.delivery_id, claim.token, remote_id=f"{row.delivery_id}0", remote_url="", now=due
            )
    for row in rows:
        herald.queue.release(row.delivery_id)


def _add(*extra: str) -> list[str]:
    out = _ok("post", "add", "--channel", "dc-m", "--channel", "dc-m2", "--text", "town hall", *extra)
    return out.split()


def test_weekly_at_nine_new_york_is_one_post_per_occurrence_and_one_log_record_per_channel(
    chans: Any,
) -> None:
    ids = _add(
        "--repeat", "FREQ=WEEKLY;BYDAY=SU;COUNT=3", "--at", "2030-03-03T09:00", "--tz", "America/New_York"
    )
    assert len(ids) == 3 and len(set(ids)) == 3
    posts = {p["id"]: p for p in json.loads(_ok("post", "list", "--format", "json"))}
    series = {posts[i]["series_id"] for i in ids}
    assert len(series) == 1 and None not in series
    assert [posts[i]["occurrence"] for i in ids] == [1, 2, 3]
    assert [posts[i]["scheduled_at"][:16] for i in ids] == [
        "2030-03-03T14:00",  # 09:00 EST
        "2030-03-10T13:00",  # 09:00 EDT: the clocks sprang forward that night
        "2030-03-17T13:00",
    ]
    log = [e for e in json.loads(_ok("log", "--format", "json")) if e["post_id"] in ids]
    assert len(log) == 6  # 3 occurrences x 2 channels
    assert sorted((e["occurrence"], e["channel"]) for e in log) == [
        (n, c) for n in (1, 2, 3) for c in ("dc-m", "dc-m2")
    ]
    for e in log:
        assert e["scheduled_at"].endswith(("Z", "+00:00")) and e["series_id"] in series
        assert e["status"] == states.QUEUED
        assert e["scheduled_at"][11:16] == ("14:00" if e["occurrence"] == 1 else "13:00")
    # Each delivery is staged in Redis for its own time.
    assert chans.queue.redis.zcard(chans.queue.keys.due) == 6 + 1
    with chans.db.session() as s:
        rules = set(s.execute(select(Post.recurrence).where(Post.id.in_(ids))).scalars())
    assert rules == {"FREQ=WEEKLY;COUNT=3;BYDAY=SU"}


def test_the_campaigns_zone_keeps_nine_in_berlin_across_fall_back(chans: Any) -> None:
    _ok("campaign", "set", "berlin", "--tz", "Europe/Berlin")
    ids = _add("--campaign", "berlin", "--repeat", "RRULE:FREQ=DAILY;COUNT=3", "--at", "2030-10-26T09:00")
    log = {(e["post_id"], e["channel"]): e for e in json.loads(_ok("log", "--format", "json"))}
    assert [log[(i, "dc-m")]["scheduled_at"][:16] for i in ids] == [
        "2030-10-26T07:00",  # CEST
        "2030-10-27T08:00",  # CET
        "2030-10-28T08:00",
    ]


def test_an_instant_starts_the_series_on_the_zones_wall_clock(chans: Any) -> None:
    ids = chans.add_posts(
        [
            PostRequest(
                channels=["dc-m"],
                text="Seoul",
                at=datetime.fromisoformat("2030-01-07T00:00:00+00:00"),
                tz="Asia/Seoul",
                repeat="FREQ=WEEKLY;BYDAY=MO;UNTIL=20300121",
            )
        ],
        now=NOW,
    )
    posts = {p.id: p for p in chans.list_posts()}
    assert [posts[i].scheduled_at[:16] for i in ids] == [
        "2030-01-07T00:00",
        "2030-01-14T00:00",
        "2030-01-21T00:00",
    ]


def test_a_repeated_post_in_a_campaign_that_requires_approval_waits_occurrence_by_occurrence(
    chans: Any,
) -> None:
    chans.set_campaign("checked", requires_approval=True)
    chans.add_user("staff@example.org", "correct horse battery staple", "staff")
    staff = actor_of(chans, "staff@example.org", "correct horse battery staple")
    ids = chans.add_posts(
        [
            PostRequest(
                channels=["dc-m"],
                text="weekly",
                campaign="checked",
                local_at=datetime(2030, 1, 7, 9),
                repeat="FREQ=WEEKLY;COUNT=2",
            )
        ],
        now=NOW,
        actor=staff,
    )
    assert [p.approval for p in chans.list_posts() if p.id in ids] == ["pending", "pending"]


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (("--repeat", "FREQ=WEEKLY", "--at", "2030-03-03T09:00"), "never ends"),
        (("--repeat", "FREQ=DAILY;COUNT=500", "--at", "2030-03-03T09:00"), "between 1 and 366"),
        (
            ("--repeat", "FREQ=DAILY;COUNT=3", "--at", "2030-03-09T02:30", "--tz", "America/New_York"),
            "occurrence 2 of 3: 2030-03-10 02:30 in America/New_York does not exist",
        ),
        (
            ("--repeat", "FREQ=WEEKLY;COUNT=2", "--at", "2030-10-27T01:30", "--tz", "America/New_York"),
            "occurrence 2 of 2: 2030-11-03 01:30 in America/New_York happens twice",
        ),
        (("--repeat", "FREQ=DAILY;COUNT=2", "--now"), "--repeat needs --at"),
        (("--repeat", "FREQ=DAILY;COUNT=2", "--next-slot"), "--repeat needs --at"),
        (("--repeat", "FREQ=DAILY;COUNT=2"), "give --at TIME"),
        (("--repeat", "FREQ=DAILY;COUNT=2", "--at", "2020-01-01T09:00Z"), "in the past"),
        (("--repeat", "FREQ=WEEKLY;BYDAY=MO;COUNT=2", "--at", "2030-03-03T09:00"), "is not an occurrence"),
        (
            ("--repeat", "DTSTART:19700101T000000\nRRULE:FREQ=DAILY;COUNT=2", "--at", "2030-03-03T09:00"),
            "one RRULE",
        ),
        (
            ("--repeat", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=2", "--at", "2030-03-03T09:00"),
            "no occurrence",
        ),
    ],
)
def test_a_refused_series_exits_non_zero_says_why_and_changes_nothing(
    chans: Any, extra: tuple[str, ...], reason: str
) -> None:
    before = _snapshot(chans)
    err = _refused("post", "add", "--channel", "dc-m", "--text", "x", *extra)
    assert reason in err
    assert _snapshot(chans) == before


def test_the_service_refuses_a_series_without_a_time_of_its_own(chans: Any) -> None:
    before = _snapshot(chans)
    for req in (
        PostRequest(channels=["dc-m"], text="x", repeat="FREQ=DAILY;COUNT=2"),
        PostRequest(channels=["dc-m"], text="x", repeat="FREQ=DAILY;COUNT=2", next_slot=True),
    ):
        with pytest.raises(InputError) as e:
            chans.add_posts([req], now=NOW)
        assert e.value.field in ("repeat", "next-slot")
    assert _snapshot(chans) == before


def test_shift_gap_and_fold_settle_the_occurrences_at_a_clock_change(chans: Any) -> None:
    moved = _add(
        "--repeat",
        "FREQ=DAILY;COUNT=3",
        "--at",
        "2030-03-09T02:30",
        "--tz",
        "America/New_York",
        "--shift-gap",
    )
    second = _add(
        "--repeat",
        "FREQ=WEEKLY;COUNT=2",
        "--at",
        "2030-10-27T01:30",
        "--tz",
        "America/New_York",
        "--fold",
        "second",
    )
    posts = {p["id"]: p["scheduled_at"][:16] for p in json.loads(_ok("post", "list", "--format", "json"))}
    assert [posts[i] for i in moved] == ["2030-03-09T07:30", "2030-03-10T07:30", "2030-03-11T06:30"]
    assert [posts[i] for i in second] == ["2030-10-27T05:30", "2030-11-03T06:30"]  # 01:30 EST


def test_a_bulk_batch_with_a_bad_series_names_it_and_queues_nothing(chans: Any) -> None:
    before = _snapshot(chans)
    with pytest.raises(InputError) as e:
        chans.add_posts(
            [
                PostRequest(channels=["dc-m"], text="fine", at=datetime(2030, 5, 1)),
                PostRequest(
                    channels=["dc-m"],
                    text="gap",
                    local_at=datetime(2030, 3, 9, 2, 30),
                    tz="America/New_York",
                    repeat="FREQ=DAILY;COUNT=2",
                ),
            ],
            now=NOW,
            labels=["line 2", "line 3"],
        )
    assert "line 3: repeat: occurrence 2 of 2" in str(e.value)
    assert _snapshot(chans) == before


def test_cancel_following_cancels_this_and_later_occurrences_and_leaves_what_was_published(
    chans: Any,
) -> None:
    ids = _add("--repeat", "FREQ=WEEKLY;COUNT=4", "--at", "2030-03-03T09:00", "--tz", "America/New_York")
    _publish(chans, ids[2])
    out = _ok("post", "cancel", ids[1], "--following")
    assert (
        "3 occurrence(s)" in out and "cancelled 4 deliveries" in out and "2 already publishing or done" in out
    )
    status = {(e["occurrence"], e["channel"]): e["status"] for e in json.loads(_ok("log", "--format", "json"))
              if e["post_id"] in ids}  # fmt: skip
    assert {n: status[(n, "dc-m")] for n in (1, 2, 3, 4)} == {
        1: states.QUEUED,
        2: states.CANCELLED,
        3: states.PUBLISHED,
        4: states.CANCELLED,
    }
    # Only the first occurrence is still staged (plus the post queued before).
    assert chans.queue.redis.zcard(chans.queue.keys.due) == 2 + 1
    with chans.db.session() as s:
        events = (
            s.execute(select(AuditEvent.target_id).where(AuditEvent.action == "post.cancel")).scalars().all()
        )
    assert sorted(events) == sorted(ids[1:])  # one audit event per occurrence


def test_cancel_following_is_refused_for_a_single_post_an_unknown_one_and_a_staff_member(chans: Any) -> None:
    single = chans.add_post(PostRequest(channels=["dc-m"], text="one", at=datetime(2030, 5, 1)), now=NOW)
    ids = _add("--repeat", "FREQ=DAILY;COUNT=2", "--at", "2030-03-03T09:00")
    before = _snapshot(chans)
    assert "not part of a recurring series" in _refused("post", "cancel", single, "--following")
    assert "unknown post" in _refused("post", "cancel", "f" * 32, "--following")
    with pytest.raises(NotFound):
        chans.cancel_following("nope")
    chans.add_user("staff@example.org", "correct horse battery staple", "staff")
    staff = actor_of(chans, "staff@example.org", "correct horse battery staple")
    with pytest.raises(AccessDenied):
        chans.cancel_following(ids[0], actor=staff)
    assert _snapshot(chans) == before


def test_the_api_queues_a_series_and_answers_with_its_first_occurrence(chans: Any) -> None:
    from fastapi.testclient import TestClient

    from herald.web import create_app
    from tests.web import BASE_URL

    chans.add_user("admin@example.org", "correct horse battery staple", "admin")
    token = chans.create_token("admin@example.org").token.reveal()
    with TestClient(create_app(chans), base_url=BASE_URL) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        body = {"channels": ["dc-m"], "text": "weekly", "local_at": "2030-03-03T09:00:00"}
        r = c.post("/api/v1/posts", json={**body, "tz": "America/New_York", "repeat": "FREQ=WEEKLY;COUNT=3"})
        assert r.status_code == 201, r.text
        first = r.json()
        assert first["occurrence"] == 1 and first["series_id"]
        assert first["scheduled_at"].startswith("2030-03-03T14:00")
        before = _snapshot(chans)
        bad = c.post("/api/v1/posts", json={**body, "repeat": "FREQ=WEEKLY"})
        assert bad.status_code == 422 and "never ends" in bad.text
        assert _snapshot(chans) == before
    series = [p for p in chans.list_posts() if p.series_id == first["series_id"]]
    assert sorted(p.occurrence for p in series) == [1, 2, 3]


def test_every_occurrence_stays_within_the_campaigns_date_range(chans: Any) -> None:
    chans.set_campaign("ranged", timezone="America/New_York", ends="2030-03-20")
    before = _snapshot(chans)
    err = _refused(
        "post", "add", "--channel", "dc-m", "--text", "x", "--campaign", "ranged",
        "--repeat", "FREQ=WEEKLY;COUNT=4", "--at", "2030-03-03T09:00",
    )  # fmt: skip
    assert "occurrence 4 of 4" in err
    assert _snapshot(chans) == before
    ids = _add("--campaign", "ranged", "--repeat", "FREQ=WEEKLY;COUNT=3", "--at", "2030-03-03T09:00")
    assert len(ids) == 3
