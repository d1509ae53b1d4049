"""The web app over a real service (Redis + SQLite), through FastAPI's TestClient: pages, the
compose form with CSRF, the JSON API, security headers, escaping, and that no credential value
ever leaves the app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from herald.service import PostRequest
from tests.web import ALL_TOKENS, X_CREDENTIALS, add_channels, jpeg_bytes, settle
from web import create_app
from web.app import SECURITY_HEADERS

KOREAN = "안녕하세요 hello"
#: 150 Hangul syllables weigh 300 on X (CJK counts double), over its 280; Mastodon counts 150.
OVER_X_LIMIT = "가" * 150


@pytest.fixture
def client(herald: Any) -> Iterator[TestClient]:
    add_channels(herald)
    with TestClient(create_app(herald)) as c:
        yield c


def csrf_token(client: TestClient, path: str = "/compose") -> str:
    """Load a page with a form (which sets the CSRF cookie) and return the form's token."""
    r = client.get(path)
    assert r.status_code == 200
    m = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', r.text)
    assert m, "no CSRF field on the page"
    return m.group(1)


def compose(client: TestClient, token: str | None, files: dict[str, Any] | None = None, **fields: Any) -> Any:
    data: dict[str, Any] = {"tz": "UTC", **fields}
    if token is not None:
        data["csrf_token"] = token
    # An empty file part, as a browser sends for a file input left empty.
    parts = files or {"photo1": ("", b"", "application/octet-stream")}
    return client.post("/compose", data=data, files=parts, follow_redirects=False)


# -- pages -------------------------------------------------------------------------------------


def test_dashboard_shows_health_upcoming_posts_and_log(client: TestClient, herald: Any) -> None:
    post_id = herald.add_post(PostRequest(channels=["m1", "x1"], text=KOREAN, at=None, campaign="launch"))
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "Redis" in html and "due" in html and "in flight" in html
    assert KOREAN in html
    assert post_id[:8] in html
    # One log row per channel, each with a status badge carrying the word.
    assert html.count('<span class="badge badge-queued">queued</span>') >= 2
    assert "Scheduled (UTC)" in html
    # The cancel form carries a CSRF token.
    assert f'action="/posts/{post_id}/cancel"' in html


def test_dashboard_filters_by_channel_status_and_campaign(client: TestClient, herald: Any) -> None:
    a = herald.add_post(PostRequest(channels=["m1"], text="only mastodon", at=None, campaign="spring"))
    b = herald.add_post(PostRequest(channels=["x1"], text="only x", at=None))
    settle(herald, b, "failed", error="HTTP 403: duplicate content")

    log = client.get("/", params={"channel": "m1"}).text.split('id="log-h"')[1]
    assert a[:8] in log and b[:8] not in log
    log = client.get("/", params={"status": "failed"}).text.split('id="log-h"')[1]
    assert b[:8] in log and a[:8] not in log
    assert "HTTP 403: duplicate content" in log
    log = client.get("/", params={"campaign": "spring", "channel": "", "status": ""}).text.split(
        'id="log-h"'
    )[1]
    assert a[:8] in log and b[:8] not in log

    bad = client.get("/", params={"status": "exploded"})
    assert bad.status_code == 422
    assert 'role="alert"' in bad.text and "unknown status" in bad.text


def test_published_link_opens_in_new_tab_without_referrer(client: TestClient, herald: Any) -> None:
    good = herald.add_post(PostRequest(channels=["m1"], text="out", at=None))
    settle(herald, good, "published", url="https://social.example/@herald/1")
    evil = herald.add_post(PostRequest(channels=["m1"], text="evil", at=None))
    settle(herald, evil, "published", url="javascript:alert(1)")
    html = client.get("/").text
    assert '<a href="https://social.example/@herald/1" target="_blank" rel="noopener noreferrer">' in html
    assert '<span class="badge badge-published">published</span>' in html
    assert "javascript:" not in html


def test_post_text_is_escaped(client: TestClient, herald: Any) -> None:
    herald.add_post(PostRequest(channels=["m1"], text="<script>alert(1)</script>", at=None))
    html = client.get("/").text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_compose_form_lists_channels_with_platform(client: TestClient) -> None:
    r = client.get("/compose")
    assert r.status_code == 200
    html = r.text
    assert 'enctype="multipart/form-data"' in html
    assert 'name="channels" value="m1"' in html and 'name="channels" value="x1"' in html
    assert '<span class="platform">mastodon</span>' in html
    assert 'name="text_for.m1"' in html
    assert html.count('type="file"') == 4 and 'name="alt4"' in html
    assert '<option value="UTC" selected>' in html and '<option value="Asia/Seoul">' in html
    assert 'type="datetime-local"' in html and 'name="now"' in html
    assert "herald_csrf" in r.headers["set-cookie"]
    assert "httponly" in r.headers["set-cookie"].lower()
    assert "samesite=strict" in r.headers["set-cookie"].lower()


def test_compose_queues_post_and_shows_note(client: TestClient, herald: Any) -> None:
    token = csrf_token(client)
    r = compose(client, token, text=KOREAN + "\r\nsecond line", channels=["m1"], now="1")
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/?queued=")
    post_id = location.split("=", 1)[1]
    [post] = herald.list_posts()
    assert post["id"] == post_id
    # Browsers send CRLF line breaks; the post keeps plain LF.
    assert post["text"] == KOREAN + "\nsecond line"
    assert post["deliveries"] == {"m1": "queued"}

    page = client.get(location)
    assert 'role="status"' in page.text
    assert f"Post <code>{post_id}</code> is queued for" in page.text


def test_compose_with_photo_variant_and_campaign(client: TestClient, herald: Any) -> None:
    token = csrf_token(client)
    files = {
        "photo1": ("cat.jpg", jpeg_bytes(), "image/jpeg"),
        "photo2": ("", b"", "application/octet-stream"),
    }
    r = compose(
        client,
        token,
        files=files,
        text="hello",
        channels=["m1", "x1"],
        now="1",
        alt1="A blue square",
        campaign="launch",
        **{"text_for.x1": "hello X", "text_for.m1": ""},
    )
    assert r.status_code == 303, r.text
    [post] = herald.list_posts()
    assert post["photos"] == 1 and post["campaign"] == "launch"
    texts = {row["channel"]: row["text"] for row in herald.delivery_log(post_id=post["id"])}
    assert texts == {"m1": "hello", "x1": "hello X"}


@pytest.mark.parametrize(
    ("zone", "local", "utc"),
    [
        ("UTC", "2099-01-01T09:30", "2099-01-01T09:30:00Z"),
        ("Asia/Seoul", "2099-01-01T09:30", "2099-01-01T00:30:00Z"),
    ],
)
def test_compose_schedules_in_the_chosen_time_zone(
    client: TestClient, herald: Any, zone: str, local: str, utc: str
) -> None:
    token = csrf_token(client)
    r = compose(client, token, text="later", channels=["m1"], at=local, tz=zone)
    assert r.status_code == 303
    [post] = herald.list_posts()
    assert post["scheduled_at"] == utc


def test_compose_error_shows_message_and_keeps_input(client: TestClient, herald: Any) -> None:
    token = csrf_token(client)
    files = {"photo1": ("cat.jpg", jpeg_bytes(), "image/jpeg")}
    r = compose(
        client,
        token,
        files=files,
        text=OVER_X_LIMIT,
        channels=["m1", "x1"],
        now="1",
        alt1="가나다 alt",
        campaign="봄 campaign",
        **{"text_for.m1": "mastodon variant"},
    )
    assert r.status_code == 422
    html = r.text
    alert = re.search(r'<div class="note note-error" role="alert" id="form-error">(.*?)</div>', html, re.S)
    assert alert, html
    assert "x1: X allows 280" in alert.group(1)
    assert f"{OVER_X_LIMIT}</textarea>" in html
    assert 'name="channels" value="m1" checked' in html and 'name="channels" value="x1" checked' in html
    assert "mastodon variant</textarea>" in html
    assert 'value="가나다 alt"' in html and 'value="봄 campaign"' in html
    assert 'id="now" name="now" value="1" checked' in html
    assert "Choose the photos again" in html
    assert herald.list_posts() == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": "hi", "channels": ["m1"]}, "choose a date and time"),
        ({"text": "hi", "channels": ["m1"], "at": "tomorrow"}, "is not a date and time"),
        (
            {"text": "hi", "channels": ["m1"], "at": "2099-01-01T09:30", "tz": "Mars/Olympus"},
            "unknown time zone",
        ),
        ({"text": "hi", "channels": ["m1"], "at": "2001-01-01T09:30"}, "is in the past"),
        ({"text": "hi", "now": "1"}, "at least one channel"),
    ],
)
def test_compose_refuses_bad_input(
    client: TestClient, herald: Any, fields: dict[str, Any], message: str
) -> None:
    r = compose(client, csrf_token(client), **fields)
    assert r.status_code == 422
    assert 'role="alert"' in r.text and message in r.text
    assert herald.list_posts() == []


def test_compose_without_valid_csrf_is_refused(client: TestClient, herald: Any) -> None:
    token = csrf_token(client)
    fields = {"text": "hi", "channels": ["m1"], "now": "1"}
    assert compose(client, None, **fields).status_code == 403
    assert compose(client, "0" * 64, **fields).status_code == 403
    assert compose(client, "토큰" * 32, **fields).status_code == 403
    # A token is bound to its cookie: another browser's cookie does not go with it.
    client.cookies.clear()
    client.cookies.set("herald_csrf", "A" * 43)
    r = compose(client, token, **fields)
    assert r.status_code == 403
    assert 'role="alert"' in r.text
    assert herald.list_posts() == []


def test_cancel_post(client: TestClient, herald: Any) -> None:
    post_id = herald.add_post(PostRequest(channels=["m1", "x1"], text="bye", at=None))
    token = csrf_token(client, "/")
    assert client.post(f"/posts/{post_id}/cancel", follow_redirects=False).status_code == 403
    r = client.post(f"/posts/{post_id}/cancel", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/?cancelled={post_id}&count=2&late=0"
    assert herald.list_posts()[0]["deliveries"] == {"m1": "cancelled", "x1": "cancelled"}
    assert "2 deliveries cancelled" in client.get(r.headers["location"]).text

    missing = client.post("/posts/nope/cancel", data={"csrf_token": token})
    assert missing.status_code == 404
    assert "unknown post" in missing.text


# -- JSON API ----------------------------------------------------------------------------------


def test_api_create_and_list_posts(client: TestClient, herald: Any) -> None:
    r = client.post("/api/posts", json={"channels": ["m1"], "text": KOREAN, "now": True})
    assert r.status_code == 201
    now_id = r.json()["id"]
    r = client.post(
        "/api/posts",
        json={
            "channels": ["m1", "x1"],
            "text": "later",
            "text_for": {"x1": "later on X"},
            "at": "2099-06-01T09:30:00+09:00",
            "campaign": "summer",
        },
    )
    assert r.status_code == 201
    later_id = r.json()["id"]

    posts = {p["id"]: p for p in client.get("/api/posts").json()}
    assert set(posts) == {now_id, later_id}
    assert posts[later_id]["scheduled_at"] == "2099-06-01T00:30:00Z"
    assert posts[later_id]["campaign"] == "summer"
    assert posts[now_id]["text"] == KOREAN
    assert [p["id"] for p in client.get("/api/posts", params={"campaign": "summer"}).json()] == [later_id]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"channels": ["m1"], "text": "hi", "at": "2099-06-01T09:30:00"}, "at", "timezone"),
        ({"channels": ["m1"], "text": "hi"}, "at", "now: true"),
        ({"channels": ["m1"], "text": "hi", "now": True, "at": "2099-06-01T09:30:00Z"}, "at", "not both"),
        ({"channels": ["nope"], "text": "hi", "now": True}, "channel", "unknown channel"),
        ({"channels": ["x1"], "text": OVER_X_LIMIT, "now": True}, "post", "X allows 280"),
        (
            {"channels": ["m1"], "text": "hi", "now": True, "photos": ["a.jpg"]},
            "photos",
            "not accepted in JSON",
        ),
        ({"channels": ["m1"], "text": "hi", "now": True, "colour": "red"}, "colour", "Extra inputs"),
        ({"text": "hi", "now": True}, "channels", "Field required"),
    ],
)
def test_api_create_post_errors(
    client: TestClient, herald: Any, body: dict[str, Any], field: str, message: str
) -> None:
    r = client.post("/api/posts", json=body)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["field"] == field
    assert message in error["message"]
    assert herald.list_posts() == []


def test_api_create_post_needs_a_json_body(client: TestClient, herald: Any) -> None:
    # A cross-site form can send text/plain without a preflight, never application/json.
    r = client.post(
        "/api/posts",
        content=b'{"channels": ["m1"], "text": "hi", "now": true}',
        headers={"content-type": "text/plain"},
    )
    assert r.status_code == 422
    assert herald.list_posts() == []


def test_api_log_and_filters(client: TestClient, herald: Any) -> None:
    a = herald.add_post(PostRequest(channels=["m1", "x1"], text="both", at=None, campaign="spring"))
    b = herald.add_post(PostRequest(channels=["m1"], text="one", at=None))
    settle(herald, b, "published", url="https://social.example/@herald/2")

    rows = client.get("/api/log").json()
    assert len(rows) == 3
    assert set(rows[0]) >= {
        "post_id",
        "channel",
        "platform",
        "status",
        "scheduled_at",
        "published_at",
        "attempts",
        "remote_url",
        "error",
    }
    assert {(r["post_id"], r["channel"]) for r in client.get("/api/log?channel=x1").json()} == {(a, "x1")}
    published = client.get("/api/log", params={"status": "published"}).json()
    assert [(r["post_id"], r["remote_url"]) for r in published] == [(b, "https://social.example/@herald/2")]
    assert {r["post_id"] for r in client.get("/api/log?campaign=spring&channel=&status=").json()} == {a}

    bad = client.get("/api/log", params={"status": "exploded"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "status"


def test_api_stats(client: TestClient, herald: Any) -> None:
    p = herald.add_post(PostRequest(channels=["m1"], text="one", at=None, campaign="spring"))
    settle(herald, p, "published", url="https://social.example/@herald/3")
    herald.add_post(PostRequest(channels=["m1"], text="two", at=None, campaign="spring"))
    [row] = client.get("/api/stats").json()
    assert row["campaign"] == "spring" and row["platform"] == "mastodon"
    assert row["published"] == 1 and row["queued"] == 1 and row["success_rate"] == 1.0


def test_api_channels_names_keys_never_values(client: TestClient) -> None:
    channels = {c["name"]: c for c in client.get("/api/channels").json()}
    assert channels["m1"]["platform"] == "mastodon"
    assert channels["m1"]["credential_keys"] == ["access_token"]
    assert channels["x1"]["credential_keys"] == sorted(X_CREDENTIALS)
    assert set(channels["x1"]) == {
        "name",
        "platform",
        "base_url",
        "paused",
        "pause_reason",
        "credential_keys",
    }


def test_healthz(client: TestClient, herald: Any) -> None:
    herald.add_post(PostRequest(channels=["m1"], text="due now", at=None))
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"ok": True, "redis": True, "due": 1, "inflight": 0}


def test_app_builds_its_service_from_the_settings(herald_env: dict[str, str]) -> None:
    with TestClient(create_app()) as c:
        assert c.get("/healthz").json()["redis"] is True
        assert c.get("/api/channels").json() == []


# -- security ----------------------------------------------------------------------------------


def test_security_headers_on_every_response(client: TestClient) -> None:
    responses = [
        client.get("/"),
        client.get("/compose"),
        client.get("/api/posts"),
        client.get("/healthz"),
        client.get("/static/herald.css"),
        client.get("/no/such/page"),
        client.post("/compose", data={"text": "no token"}),
        client.post("/api/posts", json={}),
    ]
    for r in responses:
        for name, value in SECURITY_HEADERS.items():
            assert r.headers.get(name) == value, (r.request.url, name)
    assert responses[0].headers["content-security-policy"] == (
        "default-src 'self'; img-src 'self' data:; style-src 'self'"
    )


def test_pages_have_no_inline_script_or_style(client: TestClient, herald: Any) -> None:
    herald.add_post(PostRequest(channels=["m1"], text="x", at=None))
    for path in ("/", "/compose"):
        html = client.get(path).text
        assert "<script" not in html
        assert "<style" not in html
        assert " style=" not in html
        assert re.search(r"\son[a-z]+=", html) is None  # no inline event handlers


def test_stylesheet_is_served_and_cjk_ready(client: TestClient) -> None:
    r = client.get("/static/herald.css")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/css")
    for family in ('"Noto Sans CJK KR"', '"Apple SD Gothic Neo"', '"Malgun Gothic"', "sans-serif"):
        assert family in r.text
    assert '<link rel="stylesheet" href="/static/herald.css">' in client.get("/").text


def test_interactive_docs_are_off(client: TestClient) -> None:
    # They load scripts from a CDN, which the policy (and the no-fetch rule) forbid.
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/api/openapi.json").json()["info"]["title"] == "Herald"


def test_no_credential_value_in_any_page_or_answer(client: TestClient, herald: Any) -> None:
    p = herald.add_post(PostRequest(channels=["m1", "x1"], text=KOREAN, at=None))
    settle(herald, p, "failed", error="HTTP 401: token refused")
    token = csrf_token(client)
    responses = [
        client.get("/"),
        client.get("/?channel=m1&status=failed"),
        client.get("/compose"),
        client.get("/api/posts"),
        client.get("/api/log"),
        client.get("/api/stats"),
        client.get("/api/channels"),
        client.get("/healthz"),
        client.get("/api/openapi.json"),
        compose(client, token, text=OVER_X_LIMIT, channels=["x1"], now="1"),
        compose(client, None, text="hi", channels=["m1"], now="1"),
        client.post("/api/posts", json={"channels": ["x1"], "text": OVER_X_LIMIT, "now": True}),
        client.post("/api/posts", json={"channels": ["m1"], "text": "ok", "now": True}),
    ]
    for r in responses:
        blob = r.text + "\n".join(f"{k}: {v}" for k, v in r.headers.items())
        for secret in ALL_TOKENS:
            assert secret not in blob, (r.request.url, secret)


def test_shared_photo_is_served_until_revoked(herald: Any) -> None:
    """Platforms that fetch photos (Instagram, Threads) get them from /p/{token}: exactly the
    shared bytes, not cached, and nothing once the token is revoked or unknown."""
    from fastapi.testclient import TestClient

    from web.app import create_app

    client = TestClient(create_app(herald))
    token = herald.queue.share_photo(b"\xff\xd8jpeg-bytes", "image/jpeg", 60)
    r = client.get(f"/p/{token}")
    assert r.status_code == 200 and r.content == b"\xff\xd8jpeg-bytes"
    assert r.headers["content-type"] == "image/jpeg" and r.headers["cache-control"] == "no-store"
    herald.queue.unshare_photos([token])
    assert client.get(f"/p/{token}").status_code == 404
    assert client.get("/p/guess").status_code == 404
