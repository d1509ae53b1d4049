"""Managers' actions from the dashboard's buttons (real app, service, Redis and SQLite, signed
in through the real form): cancel, take down (asked first), retry, release, record an uncertain
delivery as published; each needs the session's CSRF token and a manager's role, and leaves a
one-time note on the next page. And the statistics a manager sees."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from herald.service import PostRequest
from tests.e2e.browser import add_person
from tests.web import MANAGER, STAFF, add_channels, csrf_of, finish_takedowns, settle, web_client


@pytest.fixture
def manager(herald: Any) -> Iterator[TestClient]:
    add_channels(herald)
    add_person(herald, MANAGER)
    with web_client(herald, MANAGER) as c:
        yield c


def token_of(client: TestClient) -> str:
    return csrf_of(client.get("/").text)


def act(client: TestClient, path: str, token: str | None, **fields: str) -> Any:
    data = dict(fields)
    if token is not None:
        data["csrf_token"] = token
    return client.post(path, data=data, follow_redirects=False)


def statuses(herald: Any, post_id: str) -> dict[str, str]:
    return {r.channel: r.status for r in herald.delivery_log(post_id=post_id)}


def note_once(client: TestClient, answer: Any, text: str) -> str:
    """Follow an action's redirect: the dashboard shows ``text`` in its note, and the next load
    no longer does. The page that showed it."""
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/"
    page = client.get(answer.headers["location"]).text
    note = re.search(r'<div class="note note-success" role="status">(.*?)</div>', page, re.S)
    assert note and text in note.group(1), page
    assert 'role="status"' not in client.get("/").text
    return str(page)


# -- cancel ------------------------------------------------------------------------------------


def test_cancel_post(manager: TestClient, herald: Any) -> None:
    post_id = herald.add_post(PostRequest(channels=["m1", "x1"], text="bye", at=None))
    token = token_of(manager)
    assert f'action="/posts/{post_id}/cancel"' in manager.get("/").text
    assert manager.post(f"/posts/{post_id}/cancel", follow_redirects=False).status_code == 403
    r = act(manager, f"/posts/{post_id}/cancel", token)
    assert herald.list_posts()[0].deliveries == {"m1": "cancelled", "x1": "cancelled"}
    note_once(manager, r, f"Post <code>{post_id}</code>:\n        2 deliveries cancelled.")

    missing = act(manager, "/posts/nope/cancel", token)
    assert missing.status_code == 404
    assert "unknown post" in missing.text


# -- every action: CSRF, and a manager's role --------------------------------------------------

#: (the state a delivery is in, the action it offers, the form's fields).
ACTIONS = [
    ("published", "takedown", {"channel": "m1", "confirm": "yes"}),
    ("failed", "retry", {"channel": "m1"}),
    ("held", "release", {"channel": "m1"}),
    ("uncertain", "confirm", {"channel": "m1"}),
    ("published", "cancel", {}),
]


def test_every_action_needs_a_valid_csrf_token(manager: TestClient, herald: Any) -> None:
    token_of(manager)
    for state, path, fields in ACTIONS:
        post_id = herald.add_post(PostRequest(channels=["m1"], text="x", at=None))
        settle(herald, post_id, state, error="e")
        for token in (None, "", "0" * 64, "토큰"):
            r = act(manager, f"/posts/{post_id}/{path}", token, **fields)
            assert r.status_code == 403, (path, token)
            assert 'role="alert"' in r.text and "did not come from Herald" in r.text, (path, token)
        assert statuses(herald, post_id) == {"m1": state}, path


def test_staff_may_not_act_on_a_post(herald: Any) -> None:
    """Staff see the posts but get no buttons, and a form post with their own valid token is
    refused for the role (not the token)."""
    add_channels(herald)
    add_person(herald, STAFF)
    with web_client(herald, STAFF) as staff:
        token = token_of(staff)
        for state, path, fields in ACTIONS:
            post_id = herald.add_post(PostRequest(channels=["m1"], text="x", at=None))
            settle(herald, post_id, state, error="e")
            r = act(staff, f"/posts/{post_id}/{path}", token, **fields)
            assert r.status_code == 403, (path, r.text)
            assert "Not allowed" in r.text and "allows act" in r.text
            assert statuses(herald, post_id) == {"m1": state}
        queued = herald.add_post(PostRequest(channels=["m1"], text="waiting", at=None))
        page = staff.get("/").text
        assert queued[:8] in page
        assert "/cancel" not in page and "/takedown" not in page and "/retry" not in page


# -- take down ---------------------------------------------------------------------------------


def test_takedown_asks_first_then_takes_down(manager: TestClient, herald: Any) -> None:
    post_id = herald.add_post(PostRequest(channels=["m1", "x1"], text="실수 mistake", at=None))
    settle(herald, post_id, "published", url="https://social.example/@herald/9")
    token = token_of(manager)
    html = manager.get("/").text
    assert html.count(f'action="/posts/{post_id}/takedown"') == 2

    assert act(manager, f"/posts/{post_id}/takedown", None, channel="m1").status_code == 403
    ask = act(manager, f"/posts/{post_id}/takedown", token, channel="m1")
    assert ask.status_code == 200
    assert "<h1>Take this post down from every channel?</h1>" in ask.text
    assert 'name="scope" value="all">Take down from every channel' in ask.text
    assert "Only from m1" in ask.text
    # Asking changed nothing.
    assert statuses(herald, post_id) == {"m1": "published", "x1": "published"}

    r = act(manager, f"/posts/{post_id}/takedown", token, channel="m1", confirm="yes", scope="all")
    assert statuses(herald, post_id) == {"m1": "deleting", "x1": "deleting"}
    page = note_once(manager, r, "Takedown requested.")
    assert f"Post <code>{post_id}</code>: being deleted from m1, x1." in page
    assert page.count('<span class="badge badge-deleting">deleting</span>') == 2

    finish_takedowns(herald, post_id)
    assert manager.get("/").text.count('<span class="badge badge-deleted">deleted</span>') == 2


def test_takedown_of_one_channel_only(manager: TestClient, herald: Any) -> None:
    post_id = herald.add_post(PostRequest(channels=["m1", "x1"], text="one", at=None))
    settle(herald, post_id, "published")
    r = act(
        manager, f"/posts/{post_id}/takedown", token_of(manager), channel="x1", confirm="yes", scope="channel"
    )
    assert statuses(herald, post_id) == {"m1": "published", "x1": "deleting"}
    note_once(manager, r, f"Post <code>{post_id}</code>: being deleted from x1.")


def test_takedown_of_an_unknown_post(manager: TestClient) -> None:
    token = token_of(manager)
    assert act(manager, "/posts/nope/takedown", token).status_code == 404
    r = act(manager, "/posts/nope/takedown", token, confirm="yes")
    assert r.status_code == 422 and "unknown post" in r.text


# -- retry, confirm, release -------------------------------------------------------------------


def test_retry_a_failed_delivery(manager: TestClient, herald: Any) -> None:
    post_id = herald.add_post(PostRequest(channels=["x1"], text="again", at=None))
    settle(herald, post_id, "failed", error="HTTP 503")
    token = token_of(manager)
    assert f'action="/posts/{post_id}/retry"' in manager.get("/").text
    assert act(manager, f"/posts/{post_id}/retry", None, channel="x1").status_code == 403
    r = act(manager, f"/posts/{post_id}/retry", token, channel="x1")
    assert statuses(herald, post_id) == {"x1": "queued"}
    note_once(manager, r, f"<strong>Retrying.</strong> Post <code>{post_id}</code> is queued again on x1.")
    # Nothing left to retry: refused with the reason.
    again = act(manager, f"/posts/{post_id}/retry", token, channel="x1")
    assert again.status_code == 422 and "has no failed or uncertain deliveries on x1" in again.text


def test_uncertain_delivery_confirmed_as_published_or_retried(manager: TestClient, herald: Any) -> None:
    a = herald.add_post(PostRequest(channels=["m1"], text="maybe", at=None))
    b = herald.add_post(PostRequest(channels=["m1"], text="maybe not", at=None))
    settle(herald, a, "uncertain", error="read timed out")
    settle(herald, b, "uncertain", error="read timed out")
    token = token_of(manager)
    html = manager.get("/").text
    assert f'action="/posts/{a}/confirm"' in html and "Not there: retry" in html

    bad = act(manager, f"/posts/{a}/confirm", token, channel="m1", url="javascript:alert(1)")
    assert bad.status_code == 422 and "must start with https://" in bad.text
    r = act(manager, f"/posts/{a}/confirm", token, channel="m1", url="https://social.example/@herald/77")
    [row] = herald.delivery_log(post_id=a)
    assert row.status == "published" and row.remote_url == "https://social.example/@herald/77"
    note_once(manager, r, "Recorded as published.")

    r = act(manager, f"/posts/{b}/retry", token, channel="m1")
    assert statuses(herald, b) == {"m1": "queued"}
    note_once(manager, r, "Retrying.")


def test_release_a_held_delivery(manager: TestClient, herald: Any) -> None:
    post_id = herald.add_post(PostRequest(channels=["m1"], text="late", at=None))
    settle(herald, post_id, "held", error="missed its window by 3 hours")
    token = token_of(manager)
    html = manager.get("/").text
    assert '<span class="badge badge-held">held</span>' in html
    r = act(manager, f"/posts/{post_id}/release", token, channel="m1")
    assert statuses(herald, post_id) == {"m1": "queued"}
    note_once(
        manager, r, f"<strong>Released.</strong> Post <code>{post_id}</code> is queued to go out now on m1."
    )


# -- statistics --------------------------------------------------------------------------------


def test_stats_section(manager: TestClient, herald: Any) -> None:
    herald.set_campaign("봄")
    ok = herald.add_post(PostRequest(channels=["m1", "x1"], text="ok", at=None, campaign="봄"))
    settle(herald, ok, "published")
    bad = herald.add_post(PostRequest(channels=["x1"], text="bad", at=None, campaign="봄"))
    settle(herald, bad, "failed", error="HTTP 403")
    herald.add_post(PostRequest(channels=["m1"], text="later", at=None))
    html = manager.get("/").text.split('id="stats-h"')[1]
    rows = [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)[1:]
    ]
    assert rows == [
        ["no campaign", "mastodon", "—", "0", "0", "0", "1", "0", "0"],
        ["봄", "mastodon", "100% (1 of 1)", "1", "0", "0", "0", "0", "0"],
        ["봄", "x", "50% (1 of 2)", "1", "1", "0", "0", "0", "0"],
    ]
