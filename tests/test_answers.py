"""The service's answers, on SQLite and PostgreSQL: the store's queries behind them filter, order
and limit as the service always did, and the JSON that outside scripts read (``herald ...
--format json`` and the JSON API) keeps every key, in order, in the same format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from herald.cli import app as cli
from herald.core.errors import InputError
from herald.service import PhotoInput, PostRequest
from herald.store import states
from herald.store.deliveries import pause_channel
from herald.store.models import utcnow
from herald.web import create_app
from tests.web import add_channels, jpeg_bytes, settle

#: The records scripts read, key by key, as the service's dicts had them. Keys are only ever
#: added at the end (the approval fields came with accounts and approval); none is removed.
LOG_KEYS = [
    "post_id",
    "delivery_id",
    "campaign",
    "channel",
    "platform",
    "status",
    "text",
    "scheduled_at",
    "due_at",
    "published_at",
    "lateness_seconds",
    "remote_id",
    "remote_url",
    "attempts",
    "error",
    "approval",
    "approved_by",
    "approved_at",
    "created_by",
    "parts",
    "series_id",
    "occurrence",
    "language",
]
POST_KEYS = [
    "id",
    "text",
    "campaign",
    "scheduled_at",
    "photos",
    "deliveries",
    "approval",
    "approved_by",
    "approved_at",
    "approval_note",
    "created_by",
    "series_id",
    "occurrence",
    "language",
    "variants",
]
CHANNEL_KEYS = ["id", "name", "platform", "base_url", "paused", "pause_reason", "credentials"]
CAMPAIGN_KEYS = [
    "name",
    "timezone",
    "late_tolerance_seconds",
    "require_alt_text",
    "protect_faces",
    "requires_approval",
    "paused",
    "starts_at",
    "ends_at",
    "starts_local",
    "ends_local",
    "hashtags",
    "utm",
    "utm_campaign",
    "blackouts",
]
CHECK_KEYS = ["channel", "platform", "fits", "count", "limit", "unit", "problems"]
#: The JSON API's channel record names the credentials ``credential_keys`` and has no id.
API_CHANNEL_KEYS = ["id", "name", "platform", "base_url", "paused", "pause_reason", "credential_keys"]
#: The JSON API gives times as RFC 3339 date-times and a stats row's counts in one object.
TIME_KEYS = ("scheduled_at", "due_at", "published_at", "approved_at")

runner = CliRunner()


@pytest.fixture
def db_url(any_db_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_db_url


@dataclass(frozen=True)
class World:
    """Four posts: ``later`` (no campaign, m1, in two hours), ``soon`` (spring, m1 and x1 with
    its own text for x1, in one hour), ``out`` (spring, x1, published) and ``broken`` (no
    campaign, m1, failed)."""

    later: str
    soon: str
    out: str
    broken: str


@pytest.fixture
def world(herald: Any) -> World:
    add_channels(herald)
    herald.set_campaign("spring", timezone="Asia/Seoul")
    now = utcnow()
    soon = herald.add_post(
        PostRequest(
            channels=["m1", "x1"],
            text="soon",
            text_for={"x1": "soon, for X"},
            campaign="spring",
            at=now + timedelta(hours=1),
        )
    )
    later = herald.add_post(PostRequest(channels=["m1"], text="later", at=now + timedelta(hours=2)))
    out = herald.add_post(PostRequest(channels=["x1"], text="out", campaign="spring"))
    settle(herald, out, states.PUBLISHED, url="https://x.example/i/1")
    broken = herald.add_post(PostRequest(channels=["m1"], text="broken"))
    settle(herald, broken, states.FAILED, error="401 token revoked")
    return World(later=later, soon=soon, out=out, broken=broken)


def test_delivery_log_filters_orders_and_limits(herald: Any, world: World) -> None:
    log = herald.delivery_log()
    assert len(log) == 5
    # Newest scheduled first; one post's deliveries by delivery id.
    assert [(r.post_id, r.channel) for r in log[:3]] == [
        (world.later, "m1"),
        (world.soon, "m1"),
        (world.soon, "x1"),
    ]
    assert [r.scheduled_at for r in log] == sorted((r.scheduled_at for r in log), reverse=True)
    assert {r.post_id for r in log[3:]} == {world.out, world.broken}
    # Each channel gets its own text, else the post's.
    assert {r.channel: r.text for r in herald.delivery_log(post_id=world.soon)} == {
        "m1": "soon",
        "x1": "soon, for X",
    }
    assert {r.post_id for r in herald.delivery_log(campaign="spring")} == {world.soon, world.out}
    assert {(r.post_id, r.channel) for r in herald.delivery_log(channel="x1")} == {
        (world.soon, "x1"),
        (world.out, "x1"),
    }
    assert [(r.post_id, r.status) for r in herald.delivery_log(campaign="spring", channel="m1")] == [
        (world.soon, "queued")
    ]
    assert herald.delivery_log(limit=2) == log[:2]
    (failed,) = herald.delivery_log(status="failed")
    assert failed.post_id == world.broken and failed.error == "401 token revoked" and failed.attempts == 1
    (published,) = herald.delivery_log(status="published")
    assert published.post_id == world.out and published.remote_url == "https://x.example/i/1"
    assert published.published_at is not None and published.published_at.endswith("Z")
    assert published.lateness_seconds is not None and published.lateness_seconds >= 0
    assert log[0].published_at is None and log[0].lateness_seconds is None
    with pytest.raises(InputError) as e:
        herald.delivery_log(status="exploded")
    assert e.value.field == "status"


def test_posts_listed_newest_first_by_campaign(herald: Any, world: World) -> None:
    posts = herald.list_posts()
    assert [p.id for p in posts[:2]] == [world.later, world.soon]
    assert {p.id for p in posts} == {world.later, world.soon, world.out, world.broken}
    assert [p.id for p in herald.list_posts(campaign="spring")] == [world.soon, world.out]
    assert [p.id for p in herald.list_posts(limit=1)] == [world.later]
    soon = posts[1]
    assert soon.campaign == "spring" and soon.photos == 0 and soon.text == "soon"
    assert soon.deliveries == {"m1": "queued", "x1": "queued"}
    assert soon.scheduled_at is not None and soon.scheduled_at.endswith("Z")


def test_stats_per_campaign_and_platform(herald: Any, world: World) -> None:
    stats = herald.stats()
    # Dicts compare without order: the counts of each row, whatever order the database gave.
    assert [r.to_dict() for r in stats] == [
        {"campaign": None, "platform": "mastodon", "queued": 1, "failed": 1, "success_rate": 0.0},
        {"campaign": "spring", "platform": "mastodon", "queued": 1, "success_rate": None},
        {"campaign": "spring", "platform": "x", "queued": 1, "published": 1, "success_rate": 1.0},
    ]
    for row in stats:
        keys = list(row.to_dict())
        assert keys[:2] == ["campaign", "platform"] and keys[-1] == "success_rate"
    assert stats[0].count(states.QUEUED, states.FAILED) == 2 and stats[0].count(states.HELD) == 0


def test_a_persons_actions(herald: Any, world: World) -> None:
    cancelled = herald.cancel_post(world.later)
    assert len(cancelled.cancelled) == 1 and cancelled.too_late == ()
    assert herald.cancel_post(world.out).to_dict() == {
        "cancelled": [],
        "too_late": [r.delivery_id for r in herald.delivery_log(post_id=world.out)],
    }
    done = herald.takedown(world.soon, channel="x1")
    assert done.to_dict() == {"deleting": [], "cancelled": ["x1"], "after_publish": [], "cannot_delete": []}
    assert herald.takedown(world.out).deleting == ("x1",)
    with pytest.raises(InputError) as e:
        herald.takedown(world.soon, channel="nowhere")
    assert e.value.field == "channel"
    assert len(herald.requeue(world.broken, channel="m1", what="retry")) == 1
    with pytest.raises(InputError) as e:
        herald.requeue(world.broken, channel="nowhere", what="retry")
    assert e.value.field == "channel"
    assert {r.status for r in herald.delivery_log(post_id=world.broken)} == {"queued"}


def test_resume_releases_what_a_paused_channel_held(herald: Any, world: World) -> None:
    held = herald.add_post(PostRequest(channels=["m1"], text="held while paused"))
    settle(herald, held, states.HELD, error="channel paused")
    with herald.db.session() as s:
        pause_channel(s, herald.list_channels()[0].id, "credentials revoked")
    (m1, x1) = herald.list_channels()
    assert m1.name == "m1" and m1.paused and m1.pause_reason == "credentials revoked" and not x1.paused
    before = utcnow()
    assert herald.resume_channel("m1") == 1
    (row,) = herald.delivery_log(post_id=held)
    assert row.status == "queued" and row.due_at is not None
    assert datetime.fromisoformat(row.due_at) >= before.replace(tzinfo=UTC)  # due no earlier than the resume
    assert not herald.list_channels()[0].paused
    assert herald.resume_channel("m1") == 0
    with pytest.raises(InputError):
        herald.resume_channel("nowhere")


def test_photos_are_purged_once_no_post_needs_them(herald: Any, world: World) -> None:
    photo = PhotoInput(jpeg_bytes(), "a.jpg", "alt")
    sent = herald.add_post(PostRequest(channels=["m1"], text="with a photo", photos=[photo]))
    settle(herald, sent, states.PUBLISHED, url="https://social.example/@m1/9")
    waiting = herald.add_post(
        PostRequest(channels=["m1"], text="the same photo", photos=[photo], at=utcnow() + timedelta(hours=1))
    )
    later = utcnow() + timedelta(days=2)
    assert herald.purge_photos(older_than_days=1) == 0  # too recent
    assert herald.purge_photos(older_than_days=1, now=later) == 0  # a queued post still needs it
    herald.cancel_post(waiting)
    assert herald.purge_photos(older_than_days=1, now=later) >= 1
    assert herald.purge_photos(older_than_days=1, now=later) == 0  # done already
    with pytest.raises(InputError) as e:
        herald.requeue(sent, what="retry")
    assert "purged" in e.value.message


# -- the JSON scripts read ------------------------------------------------------------------


def _cli_json(*args: str) -> Any:
    res = runner.invoke(cli, [*args, "--format", "json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_cli_json_keeps_every_key(herald: Any, world: World) -> None:
    log = _cli_json("log")
    assert [list(r) for r in log] == [LOG_KEYS] * 5
    assert log == [r.to_dict() for r in herald.delivery_log()]
    published = next(r for r in log if r["status"] == "published")
    assert published["scheduled_at"].endswith("Z") and published["published_at"].endswith("Z")
    assert isinstance(published["lateness_seconds"], float)

    posts = _cli_json("post", "list")
    assert [list(p) for p in posts] == [POST_KEYS] * 4
    assert posts[1]["deliveries"] == {"m1": "queued", "x1": "queued"}
    assert posts == [p.to_dict() for p in herald.list_posts()]

    channels = _cli_json("channel", "list")
    assert [list(c) for c in channels] == [CHANNEL_KEYS] * 2
    assert channels[0]["credentials"] == ["access_token"] and channels[0]["paused"] is False

    (campaign,) = _cli_json("campaign", "list")
    assert campaign == {
        "name": "spring",
        "timezone": "Asia/Seoul",
        "late_tolerance_seconds": 3600,
        "require_alt_text": True,  # the installation's defaults for a new campaign
        "protect_faces": "review",
        "requires_approval": False,
        "paused": False,
        "starts_at": None,
        "ends_at": None,
        "starts_local": None,
        "ends_local": None,
        "hashtags": None,
        "utm": False,
        "utm_campaign": None,
        "blackouts": [],
    }
    assert list(campaign) == CAMPAIGN_KEYS

    stats = _cli_json("stats")
    assert stats == [r.to_dict() for r in herald.stats()]

    checked = _cli_json("check", "--channel", "m1", "--platform", "x", "--text", "fits")
    assert [list(c) for c in checked] == [CHECK_KEYS] * 2
    assert checked[1]["channel"] is None and checked[1]["problems"] == [] and checked[1]["fits"] is True

    res = runner.invoke(cli, ["campaign", "set", "spring", "--no-require-alt-text"], catch_exceptions=False)
    assert json.loads(res.stdout) == {**campaign, "require_alt_text": False}


@pytest.fixture
def client(herald: Any) -> Iterator[TestClient]:
    herald.add_user("reader@example.org", "a long enough passphrase", "admin")
    token = herald.create_token("reader@example.org").token.reveal()
    with TestClient(create_app(herald), base_url="http://localhost") as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def _same(api: dict[str, Any], answer: dict[str, Any]) -> bool:
    """An API record and a service answer agree (times compared as instants)."""
    for key, value in answer.items():
        got = api[key]
        if key in TIME_KEYS and value is not None:
            if datetime.fromisoformat(got.replace("Z", "+00:00")) != datetime.fromisoformat(
                value.replace("Z", "+00:00")
            ):
                return False
        elif got != value:
            return False
    return True


def test_api_json_keeps_every_key(client: TestClient, herald: Any, world: World) -> None:
    log = client.get("/api/v1/log", params={"limit": 500}).json()["items"]
    assert [list(r) for r in log] == [LOG_KEYS] * 5
    # Both newest scheduled first; rows of one post in either order of their ids.
    answers = sorted(herald.delivery_log(), key=lambda r: r.delivery_id)
    log = sorted(log, key=lambda r: r["delivery_id"])
    assert all(_same(a, b.to_dict()) for a, b in zip(log, answers, strict=True))
    posts = client.get("/api/v1/posts", params={"limit": 500}).json()["items"]
    assert list(posts[0]) == POST_KEYS
    assert all(_same(a, b.to_dict()) for a, b in zip(posts, herald.list_posts(), strict=True))
    channels = client.get("/api/v1/channels").json()["items"]
    assert [list(c) for c in channels] == [API_CHANNEL_KEYS] * 2
    stats = client.get("/api/v1/stats").json()["items"]
    assert [(r["campaign"], r["platform"], r["counts"], r["success_rate"]) for r in stats] == [
        (r.campaign, r.platform, dict(r.counts), r.success_rate) for r in herald.stats()
    ]


def test_openapi_describes_the_answers(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert list(schemas["LogEntryOut"]["properties"]) == LOG_KEYS
    assert list(schemas["PostOut"]["properties"]) == POST_KEYS
    assert list(schemas["ChannelOut"]["properties"]) == API_CHANNEL_KEYS
    assert list(schemas["StatsOut"]["properties"]) == ["campaign", "platform", "counts", "success_rate"]
    assert schemas["LogPage"]["properties"]["next_cursor"]
