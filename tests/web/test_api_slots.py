"""Issue 16 in the JSON API: ``POST /api/v1/posts`` with ``next_slot`` (``after``,
``each_channel``) or a wall-clock ``local_at`` with ``tz`` (``fold``, ``shift_gap``), as the
command line takes them; ``GET``/``PUT /api/v1/channels/{name}/schedule`` (anyone who may view
reads, an installation-wide admin sets). Every refusal is a problem document naming the field,
and queues or changes nothing. Real app, service, Redis and SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from herald.web import create_app
from tests.web import ADMIN, BASE_URL, PASSWORD, PEOPLE, STAFF

API = "/api/v1"
PROBLEM = "application/problem+json"


@pytest.fixture
def clients(herald: Any) -> Iterator[dict[str, TestClient]]:
    herald.set_campaign("spring", timezone="Asia/Seoul")
    for name, tz, slots in (
        ("seoul", "Asia/Seoul", "mon-fri 09:00"),
        ("dc", "America/New_York", "mon-fri 09:00"),
    ):
        herald.add_channel(
            name, "mastodon", {"access_token": "tok-123456"}, base_url="http://127.0.0.1:9", timezone=tz
        )
        herald.set_schedule(name, slots=slots)
    app = create_app(herald)
    out = {}
    for email in (ADMIN, STAFF):
        herald.add_user(email, PASSWORD, PEOPLE[email])
        c = TestClient(app, base_url=BASE_URL, follow_redirects=False)
        c.headers["Authorization"] = f"Bearer {herald.create_token(email).token.reveal()}"
        out[email] = c
    yield out
    for c in out.values():
        c.close()


def _problem(r: Any, status: int, field: str) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert field in [e["field"] for e in body["errors"]], body
    return str(body["detail"])


def _due(herald: Any, post_id: str) -> dict[str, str]:
    return {r.channel: r.due_at[:16] for r in herald.delivery_log(post_id=post_id)}


def test_next_slot_common_and_each_channel(clients: dict[str, TestClient], herald: Any) -> None:
    staff = clients[STAFF]
    common = staff.post(
        f"{API}/posts",
        json={"channels": ["seoul"], "text": "a", "next_slot": True, "after": "2030-01-07T00:00:00Z"},
    )
    assert common.status_code == 201, common.text
    assert common.json()["scheduled_at"].startswith("2030-01-07T00:00")
    each = staff.post(
        f"{API}/posts",
        json={
            "channels": ["seoul", "dc"],
            "text": "b",
            "next_slot": True,
            "each_channel": True,
            "after": "2030-01-07T00:00:00Z",
        },
    )
    assert each.status_code == 201, each.text
    assert _due(herald, each.json()["id"]) == {"seoul": "2030-01-08T00:00", "dc": "2030-01-07T14:00"}
    form = staff.post(
        f"{API}/posts",
        data={"channels": ["seoul", "dc"], "text": "c", "next_slot": "true", "each_channel": "true",
              "after": "2030-01-07T00:00:00Z"},
        files={"unused": ("", b"")},
    )  # fmt: skip
    assert form.status_code == 201, form.text
    assert _due(herald, form.json()["id"]) == {"seoul": "2030-01-09T00:00", "dc": "2030-01-08T14:00"}


def test_local_time_with_zone_fold_and_gap(clients: dict[str, TestClient], herald: Any) -> None:
    staff = clients[STAFF]

    def post(**fields: Any) -> Any:
        return staff.post(f"{API}/posts", json={"channels": ["seoul"], "text": "x", **fields})

    in_campaign = post(local_at="2030-01-07T09:00:00", campaign="spring")
    assert in_campaign.status_code == 201 and in_campaign.json()["scheduled_at"].startswith(
        "2030-01-07T00:00"
    )
    given = post(local_at="2030-01-07T09:00:00", tz="Europe/Berlin")
    assert given.json()["scheduled_at"].startswith("2030-01-07T08:00")
    moved = post(local_at="2030-03-10T02:30:00", tz="America/New_York", shift_gap=True)
    assert moved.json()["scheduled_at"].startswith("2030-03-10T07:30")
    second = post(local_at="2030-11-03T01:30:00", tz="America/New_York", fold="second")
    assert second.json()["scheduled_at"].startswith("2030-11-03T06:30")
    before = len(herald.list_posts())
    assert "does not exist" in _problem(
        post(local_at="2030-03-10T02:30:00", tz="America/New_York"), 422, "at"
    )
    assert "happens twice" in _problem(post(local_at="2030-11-03T01:30:00", tz="America/New_York"), 422, "at")
    assert "unknown time zone" in _problem(post(local_at="2030-01-07T09:00:00", tz="Mars/Olympus"), 422, "tz")
    assert len(herald.list_posts()) == before


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"next_slot": True, "now": True}, "at", "either now or next_slot, not both"),
        (
            {"local_at": "2030-01-07T09:00:00", "at": "2030-01-07T09:00:00Z"},
            "at",
            "either at or local_at, not both",
        ),
        ({}, "at", "next_slot: true"),
        ({"now": True, "each_channel": True}, "each_channel", "go with next_slot"),
        ({"now": True, "after": "2030-01-07T00:00:00Z"}, "after", "go with next_slot"),
        ({"now": True, "fold": "first"}, "fold", "go with local_at"),
        ({"local_at": "2030-01-07T09:00:00+09:00"}, "local_at", "timezone"),
        ({"next_slot": True, "after": "2030-01-07T00:00:00"}, "after", "timezone"),
        ({"local_at": "2030-01-07T09:00:00", "fold": "third"}, "fold", ""),
        ({"local_at": "2030-01-07T09:00:00", "tz": "Asia/Seoul\x00"}, "tz", ""),
    ],
)
def test_wrong_and_hostile_times_are_refused_and_queue_nothing(
    clients: dict[str, TestClient], herald: Any, fields: dict[str, Any], field: str, message: str
) -> None:
    r = clients[STAFF].post(f"{API}/posts", json={"channels": ["seoul"], "text": "x", **fields})
    assert message in _problem(r, 422, field)
    assert herald.list_posts() == []


def test_schedule_read_by_anyone_who_views_and_set_by_an_admin(
    clients: dict[str, TestClient], herald: Any
) -> None:
    staff, admin = clients[STAFF], clients[ADMIN]
    shown = staff.get(f"{API}/channels/seoul/schedule")
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["channel"], body["timezone"], body["slots_text"]) == ("seoul", "Asia/Seoul", "mon-fri 09:00")
    assert all(u["local"].endswith("+09:00") and u["free"] for u in body["upcoming"])

    refused = staff.put(f"{API}/channels/seoul/schedule", json={"slots": "daily 03:00"})
    assert refused.status_code == 403 and "admin" in refused.json()["detail"]
    done = admin.put(
        f"{API}/channels/seoul/schedule",
        json={"slots": "mon-fri 09:00,13:00; sat 10:00", "min_gap_seconds": 1800, "timezone": "Asia/Seoul"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["slots"]["sat"] == ["10:00"] and done.json()["min_gap_seconds"] == 1800

    before = herald.schedule("seoul")
    for payload, status, field in (
        ({"slots": "mon-fry 09:00"}, 422, "slots"),
        ({"timezone": "Mars/Olympus"}, 422, "tz"),
        ({"min_gap_seconds": -1}, 422, "min_gap_seconds"),
        ({"slots": "mon 09:00'; DROP TABLE channels;--"}, 422, "slots"),
        ({"slots": "mon 09:00", "extra": 1}, 422, "extra"),
    ):
        _problem(admin.put(f"{API}/channels/seoul/schedule", json=payload), status, field)
    _problem(admin.get(f"{API}/channels/nowhere/schedule"), 404, "channel")
    _problem(admin.put(f"{API}/channels/nowhere/schedule", json={"slots": ""}), 404, "channel")
    assert herald.schedule("seoul").slots == before.slots
