"""Threads and first comments through ``POST /api/v1/posts`` (JSON and multipart), and their
parts in ``GET /api/v1/log``; a thread that cannot go out is a 422 naming the channel and the
part, and nothing is queued. Real service (Redis + SQLite) through the real app."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from herald.web import create_app
from tests.web import BASE_URL, MANAGER, PASSWORD, STAFF, add_channels

API = "/api/v1"
PARTS = ["하나 one.", "둘 two.", "셋 three."]


@pytest.fixture
def staff(herald: Any) -> TestClient:
    add_channels(herald)
    herald.add_user(STAFF, PASSWORD, "staff")
    c = TestClient(create_app(herald), base_url=BASE_URL, follow_redirects=False)
    c.headers["Authorization"] = f"Bearer {herald.create_token(STAFF).token.reveal()}"
    return c


def test_a_thread_posted_as_json_shows_its_parts_in_the_log(staff: TestClient, herald: Any) -> None:
    r = staff.post(
        f"{API}/posts",
        json={"channels": ["m1", "x1"], "text": "\n---\n".join(PARTS), "thread": True, "now": True},
    )
    assert r.status_code == 201, r.text
    herald.add_user(MANAGER, PASSWORD, "manager")
    staff.headers["Authorization"] = f"Bearer {herald.create_token(MANAGER).token.reveal()}"
    log = staff.get(f"{API}/log", params={"post_id": r.json()["id"]})
    assert log.status_code == 200, log.text
    parts = {i["channel"]: i["parts"] for i in log.json()["items"]}
    assert {c: [p["text"] for p in ps] for c, ps in parts.items()} == {"m1": PARTS, "x1": PARTS}
    assert {p["status"] for ps in parts.values() for p in ps} == {"waiting"}


def test_a_first_comment_posted_as_a_form(staff: TestClient, herald: Any) -> None:
    r = staff.post(
        f"{API}/posts",
        data={"channels": "m1", "text": "Sign today.", "first_comment": "example.org/sign", "now": "true"},
        files={"nothing": ("", b"")},
    )
    assert r.status_code == 201, r.text
    (row,) = herald.delivery_log(post_id=r.json()["id"])
    assert [p.text for p in row.parts] == ["Sign today.", "example.org/sign"]


def test_a_thread_that_cannot_go_out_is_a_422_and_nothing_is_queued(staff: TestClient, herald: Any) -> None:
    r = staff.post(
        f"{API}/posts",
        json={"channels": ["m1"], "text": "one\n---\n\n---\nthree", "thread": True, "now": True},
    )
    assert r.status_code == 422, r.text
    assert "part(s) 2 of the thread are empty" in r.json()["detail"]
    assert herald.delivery_log() == []
