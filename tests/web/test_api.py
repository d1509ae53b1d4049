"""The web app over a real service (Redis + SQLite), through FastAPI's TestClient: pages, the
compose form with CSRF, the JSON API, security headers, escaping, and that no credential value
ever leaves the app."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from herald.service import PostRequest
from herald.web import create_app
from herald.web.app import SECURITY_HEADERS
from tests.web import (
    ALL_TOKENS,
    X_CREDENTIALS,
    add_channels,
    face_jpeg,
    finish_takedowns,
    jpeg_bytes,
    settle,
    stored_photos,
)

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
    assert post.id == post_id
    # Browsers send CRLF line breaks; the post keeps plain LF.
    assert post.text == KOREAN + "\nsecond line"
    assert post.deliveries == {"m1": "queued"}

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
    assert post.photos == 1 and post.campaign == "launch"
    texts = {row.channel: row.text for row in herald.delivery_log(post_id=post.id)}
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
    assert post.scheduled_at == utc


def test_compose_error_names_each_channel_problem_and_keeps_input(client: TestClient, herald: Any) -> None:
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
    # The summary names the channel, its platform, the limit and the count, and which one fits.
    assert "does not fit\n        1 of the 2 channels ticked" in alert.group(1)
    assert (
        '<a href="#channel-x1">x1</a> <span class="platform">x</span>: '
        "X allows 280 weighted characters; this text has 300" in alert.group(1)
    )
    assert "It fits m1." in alert.group(1)
    # Next to the channel itself, tied to its checkbox for screen readers.
    assert 'value="x1" checked aria-describedby="channel-x1-problems"' in html
    problems = re.search(r'<ul class="field-error" id="channel-x1-problems">(.*?)</ul>', html, re.S)
    assert problems and "(300 of 280)" in problems.group(1)
    assert '<p class="field-ok">Fits m1.</p>' in html
    # Everything typed is kept, the photo too (server-side, in a draft).
    assert f"{OVER_X_LIMIT}</textarea>" in html
    assert 'name="channels" value="m1" checked' in html
    assert "mastodon variant</textarea>" in html
    assert 'value="가나다 alt"' in html and 'value="봄 campaign"' in html
    assert 'id="now" name="now" value="1" checked' in html
    assert "Keeping <strong>cat.jpg</strong>" in html and 'name="kept1" value="cat.jpg"' in html
    assert "Choose the photos again" not in html
    assert herald.list_posts() == []


def draft_of(html: str) -> str:
    m = re.search(r'name="draft" value="([^"]+)"', html)
    assert m, "no draft on the page"
    return m.group(1)


def test_kept_photo_goes_out_with_the_corrected_post(client: TestClient, herald: Any) -> None:
    token = csrf_token(client)
    files = {"photo1": ("cat.jpg", jpeg_bytes(), "image/jpeg")}
    refused = compose(client, token, files=files, text=OVER_X_LIMIT, channels=["x1"], now="1", alt1="cat")
    assert refused.status_code == 422
    draft = draft_of(refused.text)
    # Resubmitted with no file chosen: the kept photo is used.
    r = compose(
        client, token, text="short", channels=["x1"], now="1", alt1="cat", draft=draft, kept1="cat.jpg"
    )
    assert r.status_code == 303, r.text
    [post] = herald.list_posts()
    assert post.photos == 1

    # "Remove photo 1" drops it.
    refused = compose(client, token, files=files, text=OVER_X_LIMIT, channels=["x1"], now="1")
    r = compose(
        client,
        token,
        text="no photo",
        channels=["x1"],
        now="1",
        draft=draft_of(refused.text),
        kept1="cat.jpg",
        drop1="1",
    )
    assert r.status_code == 303
    assert sorted(p.photos for p in herald.list_posts()) == [0, 1]


@pytest.mark.parametrize("draft", ["", "forged.0000", "x" * 43 + "." + "0" * 64])
def test_a_kept_photo_that_is_gone_is_never_silently_dropped(
    client: TestClient, herald: Any, draft: str
) -> None:
    r = compose(client, csrf_token(client), text="hi", channels=["m1"], now="1", draft=draft, kept1="cat.jpg")
    assert r.status_code == 422
    assert 'role="alert"' in r.text and "cat.jpg" in r.text and "choose the photo again" in r.text
    assert herald.list_posts() == []


def test_a_draft_belongs_to_the_browser_that_made_it(client: TestClient, herald: Any) -> None:
    token = csrf_token(client)
    files = {"photo1": ("cat.jpg", jpeg_bytes(), "image/jpeg")}
    draft = draft_of(compose(client, token, files=files, text=OVER_X_LIMIT, channels=["x1"], now="1").text)
    with TestClient(client.app) as other:
        r = compose(
            other, csrf_token(other), text="hi", channels=["m1"], now="1", draft=draft, kept1="cat.jpg"
        )
    assert r.status_code == 422 and "choose the photo again" in r.text
    assert herald.list_posts() == []


# -- check -------------------------------------------------------------------------------------


def check_rows(html: str) -> dict[str, list[str]]:
    """The check table: channel → [verdict, count, limit, unit, problems], as text."""
    table = re.search(r'<table class="checks">(.*?)</table>', html, re.S)
    assert table, "no check table"
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)[1:]:
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        out[cells[0].split()[0]] = cells[1:]
    return out


def test_check_gives_a_verdict_per_channel_and_queues_nothing(client: TestClient, herald: Any) -> None:
    token = csrf_token(client)
    r = compose(client, token, text=OVER_X_LIMIT, channels=["m1", "x1"], now="1", action="check")
    assert r.status_code == 200
    assert "Fits 1 of 2 channels." in r.text and "Nothing was queued." in r.text
    rows = check_rows(r.text)
    assert rows["m1"] == ["fits", "150", "500", "characters", ""]
    assert rows["x1"] == [
        "does not fit",
        "300",
        "280",
        "weighted characters",
        "X allows 280 weighted characters; this text has 300",
    ]
    # The form is still filled in, and nothing was queued.
    assert f"{OVER_X_LIMIT}</textarea>" in r.text
    assert 'name="channels" value="x1" checked' in r.text
    assert herald.list_posts() == []


def test_check_uses_each_channels_own_text(client: TestClient, herald: Any) -> None:
    r = compose(
        client,
        csrf_token(client),
        text=OVER_X_LIMIT,
        channels=["m1", "x1"],
        now="1",
        action="check",
        **{"text_for.x1": "짧은 글 short"},
    )
    assert r.status_code == 200
    rows = check_rows(r.text)
    assert rows["m1"][:2] == ["fits", "150"]
    assert rows["x1"][:2] == ["fits", "13"]  # 3 Hangul syllables weigh 2 each on X
    assert 'x1 <span class="platform">x</span> <span class="hint">(its own text)</span>' in r.text
    assert "Fits every channel ticked." in r.text


def test_check_with_a_photo_keeps_it(client: TestClient, herald: Any) -> None:
    files = {"photo1": ("사진.jpg", jpeg_bytes((640, 480)), "image/jpeg")}
    r = compose(client, csrf_token(client), files=files, text="hi", channels=["x1"], now="1", action="check")
    assert r.status_code == 200
    assert check_rows(r.text)["x1"][0] == "fits"
    assert "Keeping <strong>사진.jpg</strong>" in r.text
    assert herald.list_posts() == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": "hi"}, "tick at least one channel"),
        ({"text": "hi", "channels": ["nope"]}, "unknown channel"),
    ],
)
def test_check_refuses_bad_input(client: TestClient, fields: dict[str, Any], message: str) -> None:
    r = compose(client, csrf_token(client), action="check", **fields)
    assert r.status_code == 422
    assert 'role="alert"' in r.text and message in r.text


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
    assert herald.list_posts()[0].deliveries == {"m1": "cancelled", "x1": "cancelled"}
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
    assert r.json() == {"ok": True, "redis": True, "due": 1, "inflight": 0, "workers": None}


def test_healthz_is_503_while_the_workers_are_stalled(client: TestClient, herald: Any) -> None:
    """What the scheduler judged (``scheduler.liveness``) is what a load balancer or a monitor
    reads: a stall is not healthy, and the body names the deaf or gone workers."""
    from content_queue.heartbeats import Heartbeats

    beats = Heartbeats(herald.queue.redis, herald.queue.keys)
    beats.publish_verdict({"health": "stalled", "workers_deaf": ["w1@host"], "waiting": 3}, 30)
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["ok"] is False and r.json()["workers"]["workers_deaf"] == ["w1@host"]
    beats.publish_verdict({"health": "busy", "waiting": 300}, 30)
    assert client.get("/healthz").status_code == 200


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


def every_kind_of_page(client: TestClient, herald: Any) -> list[Any]:
    """One response of each page the app renders, in states that show their notes, tables,
    problems and actions."""
    herald.set_campaign("봄", protect_faces="blur")
    published = herald.add_post(PostRequest(channels=["m1", "x1"], text=KOREAN, at=None, campaign="봄"))
    settle(herald, published, "published", url="https://social.example/@herald/1")
    failed = herald.add_post(PostRequest(channels=["x1"], text="x", at=None))
    settle(herald, failed, "failed", error="HTTP 401: token refused")
    unsure = herald.add_post(PostRequest(channels=["m1"], text="?", at=None))
    settle(herald, unsure, "uncertain", error="timed out")
    held = herald.add_post(PostRequest(channels=["m1"], text="late", at=None))
    settle(herald, held, "held", error="missed its window")
    token = csrf_token(client)
    face = {"photo1": ("face.jpg", face_jpeg(), "image/jpeg")}
    return [
        client.get("/"),
        client.get("/?channel=m1&status=failed"),
        client.get("/compose"),
        client.get("/campaigns"),
        client.get("/campaigns?edit=봄"),
        compose(client, token, text=OVER_X_LIMIT, channels=["m1", "x1"], now="1"),
        compose(client, token, text=OVER_X_LIMIT, channels=["m1", "x1"], now="1", action="check"),
        compose(client, token, files=face, text="hi", channels=["m1"], now="1", faces1="blur"),
        act(client, f"/posts/{published}/takedown", token, channel="m1"),
        act(client, "/campaigns", token, name="c", timezone="Nowhere/Land"),
        client.post("/compose/confirm", data={"csrf_token": token, "draft": "x", "action": "confirm"}),
        client.get(f"/?done=takedown&post={published}&deleting=m1&cannot_delete=x1"),
        client.get(f"/?done=retry&post={failed}&on=x1&count=1"),
    ]


def test_pages_have_no_inline_script_or_style(client: TestClient, herald: Any) -> None:
    pages = every_kind_of_page(client, herald)
    for r in pages:
        html = r.text
        assert r.headers["content-type"].startswith("text/html"), r.request.url
        assert "<script" not in html
        assert "<style" not in html
        assert " style=" not in html
        assert re.search(r"\son[a-z]+=", html) is None  # no inline event handlers
        assert r.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    # The preview's photos are data: URLs, which the policy allows for images only.
    assert '<img src="data:image/jpeg;base64,' in pages[7].text


def test_forged_notes_are_escaped(client: TestClient) -> None:
    html = client.get("/", params={"done": "retry", "post": "<b>x</b>", "on": "<i>y</i>"}).text
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html and "<i>y</i>" not in html


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
        act(client, f"/posts/{p}/retry", token, channel="x1"),
        act(client, f"/posts/{p}/retry", token, channel="x1"),
        *every_kind_of_page(client, herald),
    ]
    for r in responses:
        blob = r.text + "\n".join(f"{k}: {v}" for k, v in r.headers.items())
        for secret in ALL_TOKENS:
            assert secret not in blob, (r.request.url, secret)


def test_shared_photo_is_served_until_revoked(herald: Any) -> None:
    """Platforms that fetch photos (Instagram, Threads) get them from /p/{token}: exactly the
    shared bytes, not cached, and nothing once the token is revoked or unknown."""
    from fastapi.testclient import TestClient

    from herald.web.app import create_app

    client = TestClient(create_app(herald))
    token = herald.queue.share_photo(b"\xff\xd8jpeg-bytes", "image/jpeg", 60)
    r = client.get(f"/p/{token}")
    assert r.status_code == 200 and r.content == b"\xff\xd8jpeg-bytes"
    assert r.headers["content-type"] == "image/jpeg" and r.headers["cache-control"] == "no-store"
    herald.queue.unshare_photos([token])
    assert client.get(f"/p/{token}").status_code == 404
    assert client.get("/p/guess").status_code == 404


# -- face protection: preview, then a person confirms ------------------------------------------


def preview_images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'<img src="data:image/[a-z]+;base64,([^"]+)"', html)]


def test_faces_are_previewed_then_queued_exactly_as_shown(client: TestClient, herald: Any) -> None:
    token = csrf_token(client)
    files = {
        "photo1": ("face.jpg", face_jpeg(), "image/jpeg"),
        "photo2": ("blue.jpg", jpeg_bytes((320, 200)), "image/jpeg"),
    }
    r = compose(
        client,
        token,
        files=files,
        text="행사 사진",
        channels=["m1"],
        now="1",
        alt1="얼굴",
        faces1="blur",
        faces2="keep",
    )
    # Nothing queued yet: the preview comes first.
    assert r.status_code == 200
    assert herald.list_posts() == []
    html = r.text
    assert "<h1>Check the faces before queueing</h1>" in html
    assert "1 face blurred." in html and "Faces left as they are." in html
    assert 'alt="Photo 1, faces blurred: 얼굴"' in html
    assert (
        '<button class="button button-primary" type="submit" name="action" value="confirm">Confirm and queue'
        in html
    )
    shown = preview_images(html)
    assert len(shown) == 2
    # The form carries only a signed token: the photos stay on the server.
    form = html.split('action="/compose/confirm"')[1]
    assert "base64" not in form and 'type="file"' not in form

    r = client.post(
        "/compose/confirm",
        data={"csrf_token": token, "draft": draft_of(html), "action": "confirm"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    post_id = r.headers["location"].split("=", 1)[1]
    stored = stored_photos(herald, post_id)
    assert [faces for _, faces, _ in stored] == [1, None]
    # Exactly the previewed photos (small enough to be shown full size).
    assert [data for _, _, data in stored] == shown
    assert stored[0][0] == hashlib.sha256(shown[0]).hexdigest()

    # A second click on "Confirm and queue" does not queue it twice.
    again = client.post(
        "/compose/confirm",
        data={"csrf_token": token, "draft": draft_of(html), "action": "confirm"},
        follow_redirects=False,
    )
    assert again.status_code == 303 and again.headers["location"] == r.headers["location"]
    assert len(herald.list_posts()) == 1


def test_preview_says_when_no_face_was_found(client: TestClient, herald: Any) -> None:
    files = {"photo1": ("blue.jpg", jpeg_bytes((320, 200)), "image/jpeg")}
    r = compose(
        client, csrf_token(client), files=files, text="hi", channels=["m1"], now="1", faces1="pixelate"
    )
    assert r.status_code == 200
    assert (
        '<p class="warning" role="alert"><strong>No face found — check the photo yourself.</strong></p>'
        in r.text
    )
    assert herald.list_posts() == []


def test_campaign_face_setting_asks_for_a_preview(client: TestClient, herald: Any) -> None:
    herald.set_campaign("시위", protect_faces="pixelate")
    token = csrf_token(client)
    files = {"photo1": ("face.jpg", face_jpeg(), "image/jpeg")}
    r = compose(client, token, files=files, text="hi", channels=["m1"], now="1", campaign="시위")
    assert r.status_code == 200
    assert "1 face pixelated." in r.text and "Campaign 시위 protects faces (pixelate)." in r.text
    r = client.post(
        "/compose/confirm", data={"csrf_token": token, "draft": draft_of(r.text), "action": "confirm"}
    )
    [post] = herald.list_posts()
    assert [faces for _, faces, _ in stored_photos(herald, post.id)] == [1]


def test_preview_back_to_edit_keeps_everything(client: TestClient, herald: Any) -> None:
    token = csrf_token(client)
    files = {"photo1": ("face.jpg", face_jpeg(), "image/jpeg")}
    preview = compose(client, token, files=files, text="다시", channels=["x1"], now="1", faces1="blur")
    r = client.post(
        "/compose/confirm", data={"csrf_token": token, "draft": draft_of(preview.text), "action": "edit"}
    )
    assert r.status_code == 200
    assert "다시</textarea>" in r.text and 'name="channels" value="x1" checked' in r.text
    assert "Keeping <strong>face.jpg</strong>" in r.text
    assert '<option value="blur" selected>' in r.text
    assert herald.list_posts() == []


def test_preview_refuses_a_post_that_does_not_fit_first(client: TestClient, herald: Any) -> None:
    files = {"photo1": ("face.jpg", face_jpeg(), "image/jpeg")}
    r = compose(
        client,
        csrf_token(client),
        files=files,
        text=OVER_X_LIMIT,
        channels=["m1", "x1"],
        now="1",
        faces1="blur",
    )
    assert r.status_code == 422
    assert "X allows 280" in r.text and "It fits m1." in r.text
    assert "Check the faces" not in r.text


@pytest.mark.parametrize("draft", ["", "nope", "x" * 43 + "." + "0" * 64])
def test_confirm_without_a_live_draft_queues_nothing(client: TestClient, herald: Any, draft: str) -> None:
    r = client.post(
        "/compose/confirm", data={"csrf_token": csrf_token(client), "draft": draft, "action": "confirm"}
    )
    assert r.status_code == 422
    assert 'role="alert"' in r.text and "this preview has expired" in r.text
    assert herald.list_posts() == []


def test_confirm_is_bound_to_the_browser_and_to_csrf(client: TestClient, herald: Any) -> None:
    token = csrf_token(client)
    files = {"photo1": ("face.jpg", face_jpeg(), "image/jpeg")}
    draft = draft_of(
        compose(client, token, files=files, text="hi", channels=["m1"], now="1", faces1="blur").text
    )
    assert client.post("/compose/confirm", data={"draft": draft, "action": "confirm"}).status_code == 403
    with TestClient(client.app) as other:
        r = other.post(
            "/compose/confirm", data={"csrf_token": csrf_token(other), "draft": draft, "action": "confirm"}
        )
    assert r.status_code == 422
    assert herald.list_posts() == []
    # The browser that made it still can.
    r = client.post(
        "/compose/confirm",
        data={"csrf_token": token, "draft": draft, "action": "confirm"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert len(herald.list_posts()) == 1


def test_unknown_face_choice_is_refused(client: TestClient, herald: Any) -> None:
    files = {"photo1": ("face.jpg", face_jpeg(), "image/jpeg")}
    r = compose(client, csrf_token(client), files=files, text="hi", channels=["m1"], now="1", faces1="erase")
    assert r.status_code == 422 and "faces in photo 1: choose keep, blur, pixelate" in r.text
    assert herald.list_posts() == []


# -- managers' actions on the dashboard --------------------------------------------------------


def act(client: TestClient, path: str, token: str | None, **fields: str) -> Any:
    data = dict(fields)
    if token is not None:
        data["csrf_token"] = token
    return client.post(path, data=data, follow_redirects=False)


def statuses(herald: Any, post_id: str) -> dict[str, str]:
    return {r.channel: r.status for r in herald.delivery_log(post_id=post_id)}


@pytest.mark.parametrize(
    ("state", "path", "fields"),
    [
        ("published", "takedown", {"channel": "m1", "confirm": "yes"}),
        ("failed", "retry", {"channel": "m1"}),
        ("held", "release", {"channel": "m1"}),
        ("uncertain", "confirm", {"channel": "m1"}),
        ("published", "cancel", {}),
    ],
)
def test_every_action_needs_a_valid_csrf_token(
    client: TestClient, herald: Any, state: str, path: str, fields: dict[str, str]
) -> None:
    post_id = herald.add_post(PostRequest(channels=["m1"], text="x", at=None))
    settle(herald, post_id, state, error="e")
    csrf_token(client)
    for token in (None, "0" * 64, "토큰"):
        r = act(client, f"/posts/{post_id}/{path}", token, **fields)
        assert r.status_code == 403, (path, token)
        assert 'role="alert"' in r.text
    assert statuses(herald, post_id) == {"m1": state}


def test_takedown_asks_first_then_takes_down(client: TestClient, herald: Any) -> None:
    post_id = herald.add_post(PostRequest(channels=["m1", "x1"], text="실수 mistake", at=None))
    settle(herald, post_id, "published", url="https://social.example/@herald/9")
    token = csrf_token(client, "/")
    html = client.get("/").text
    assert html.count(f'action="/posts/{post_id}/takedown"') == 2

    assert act(client, f"/posts/{post_id}/takedown", None, channel="m1").status_code == 403
    ask = act(client, f"/posts/{post_id}/takedown", token, channel="m1")
    assert ask.status_code == 200
    assert "<h1>Take this post down from every channel?</h1>" in ask.text
    assert 'name="scope" value="all">Take down from every channel' in ask.text
    assert "Only from m1" in ask.text
    # Asking changed nothing.
    assert statuses(herald, post_id) == {"m1": "published", "x1": "published"}

    r = act(client, f"/posts/{post_id}/takedown", token, channel="m1", confirm="yes", scope="all")
    assert r.status_code == 303
    assert r.headers["location"] == f"/?done=takedown&post={post_id}&deleting=m1&deleting=x1"
    assert statuses(herald, post_id) == {"m1": "deleting", "x1": "deleting"}
    page = client.get(r.headers["location"]).text
    assert "Takedown requested." in page and "being deleted from m1, x1." in page
    assert page.count('<span class="badge badge-deleting">deleting</span>') == 2

    finish_takedowns(herald, post_id)
    assert client.get("/").text.count('<span class="badge badge-deleted">deleted</span>') == 2


def test_takedown_of_one_channel_only(client: TestClient, herald: Any) -> None:
    post_id = herald.add_post(PostRequest(channels=["m1", "x1"], text="one", at=None))
    settle(herald, post_id, "published")
    r = act(
        client,
        f"/posts/{post_id}/takedown",
        csrf_token(client, "/"),
        channel="x1",
        confirm="yes",
        scope="channel",
    )
    assert r.status_code == 303
    assert statuses(herald, post_id) == {"m1": "published", "x1": "deleting"}


def test_takedown_of_an_unknown_post(client: TestClient) -> None:
    token = csrf_token(client)
    assert act(client, "/posts/nope/takedown", token).status_code == 404
    r = act(client, "/posts/nope/takedown", token, confirm="yes")
    assert r.status_code == 422 and "unknown post" in r.text


def test_retry_a_failed_delivery(client: TestClient, herald: Any) -> None:
    post_id = herald.add_post(PostRequest(channels=["x1"], text="again", at=None))
    settle(herald, post_id, "failed", error="HTTP 503")
    token = csrf_token(client, "/")
    assert f'action="/posts/{post_id}/retry"' in client.get("/").text
    assert act(client, f"/posts/{post_id}/retry", None, channel="x1").status_code == 403
    r = act(client, f"/posts/{post_id}/retry", token, channel="x1")
    assert r.status_code == 303
    assert statuses(herald, post_id) == {"x1": "queued"}
    assert "Retrying." in client.get(r.headers["location"]).text
    # Nothing left to retry: refused with the reason.
    again = act(client, f"/posts/{post_id}/retry", token, channel="x1")
    assert again.status_code == 422 and "has no failed or uncertain deliveries on x1" in again.text


def test_uncertain_delivery_confirmed_as_published_or_retried(client: TestClient, herald: Any) -> None:
    a = herald.add_post(PostRequest(channels=["m1"], text="maybe", at=None))
    b = herald.add_post(PostRequest(channels=["m1"], text="maybe not", at=None))
    settle(herald, a, "uncertain", error="read timed out")
    settle(herald, b, "uncertain", error="read timed out")
    token = csrf_token(client, "/")
    html = client.get("/").text
    assert f'action="/posts/{a}/confirm"' in html and "Not there: retry" in html

    bad = act(client, f"/posts/{a}/confirm", token, channel="m1", url="javascript:alert(1)")
    assert bad.status_code == 422 and "must start with https://" in bad.text
    r = act(client, f"/posts/{a}/confirm", token, channel="m1", url="https://social.example/@herald/77")
    assert r.status_code == 303
    [row] = herald.delivery_log(post_id=a)
    assert row.status == "published" and row.remote_url == "https://social.example/@herald/77"
    assert "Recorded as published." in client.get(r.headers["location"]).text

    assert act(client, f"/posts/{b}/retry", token, channel="m1").status_code == 303
    assert statuses(herald, b) == {"m1": "queued"}


def test_release_a_held_delivery(client: TestClient, herald: Any) -> None:
    post_id = herald.add_post(PostRequest(channels=["m1"], text="late", at=None))
    settle(herald, post_id, "held", error="missed its window by 3 hours")
    token = csrf_token(client, "/")
    html = client.get("/").text
    assert '<span class="badge badge-held">held</span>' in html
    r = act(client, f"/posts/{post_id}/release", token, channel="m1")
    assert r.status_code == 303
    assert statuses(herald, post_id) == {"m1": "queued"}
    assert "Released." in client.get(r.headers["location"]).text


def test_stats_section(client: TestClient, herald: Any) -> None:
    ok = herald.add_post(PostRequest(channels=["m1", "x1"], text="ok", at=None, campaign="봄"))
    settle(herald, ok, "published")
    bad = herald.add_post(PostRequest(channels=["x1"], text="bad", at=None, campaign="봄"))
    settle(herald, bad, "failed", error="HTTP 403")
    herald.add_post(PostRequest(channels=["m1"], text="later", at=None))
    html = client.get("/").text.split('id="stats-h"')[1]
    rows = [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)[1:]
    ]
    assert rows == [
        ["no campaign", "mastodon", "—", "0", "0", "0", "1", "0", "0"],
        ["봄", "mastodon", "100% (1 of 1)", "1", "0", "0", "0", "0", "0"],
        ["봄", "x", "50% (1 of 2)", "1", "1", "0", "0", "0", "0"],
    ]


# -- campaign settings -------------------------------------------------------------------------


def test_campaigns_page_lists_and_saves_settings(client: TestClient, herald: Any) -> None:
    herald.set_campaign("봄 캠페인", timezone="Asia/Seoul")
    r = client.get("/campaigns")
    assert r.status_code == 200
    assert '<th scope="row">봄 캠페인</th>' in r.text and "<td>Asia/Seoul</td>" in r.text
    token = csrf_token(client, "/campaigns")
    fields = {
        "name": "시위",
        "timezone": "Asia/Seoul",
        "late_tolerance": "90",
        "require_alt_text": "1",
        "protect_faces": "blur",
    }
    assert act(client, "/campaigns", None, **fields).status_code == 403
    r = act(client, "/campaigns", token, **fields)
    assert r.status_code == 303
    assert r.headers["location"] == "/campaigns?saved=%EC%8B%9C%EC%9C%84"
    [row] = [c for c in herald.list_campaigns() if c.name == "시위"]
    assert row.to_dict() == {
        "name": "시위",
        "timezone": "Asia/Seoul",
        "late_tolerance_seconds": 5400,
        "require_alt_text": True,
        "protect_faces": "blur",
    }
    page = client.get(r.headers["location"]).text
    assert "Campaign 시위 has its new settings." in page and "90 min" in page

    # Edit: the form comes filled in; blank fields keep what was set; "off" turns faces off.
    edit = client.get("/campaigns", params={"edit": "시위"}).text
    assert 'id="late_tolerance" name="late_tolerance" value="90"' in edit
    assert 'id="require_alt_text" name="require_alt_text" value="1" checked' in edit
    assert '<option value="blur" selected>' in edit
    r = act(client, "/campaigns", token, name="시위", timezone="", late_tolerance="", protect_faces="off")
    assert r.status_code == 303
    [row] = [c for c in herald.list_campaigns() if c.name == "시위"]
    assert row.timezone == "Asia/Seoul" and row.late_tolerance_seconds == 5400
    assert row.require_alt_text is False and row.protect_faces is None


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "  "}, "name", "give the campaign a name"),
        ({"name": "a" * 201}, "name", "at most 200 characters"),
        ({"name": "c", "late_tolerance": "soon"}, "late_tolerance", "number of minutes"),
        ({"name": "c", "late_tolerance": "-5"}, "late_tolerance", "number of minutes"),
        ({"name": "c", "timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
        ({"name": "c", "protect_faces": "erase"}, "protect_faces", "choose off, blur or pixelate"),
    ],
)
def test_campaign_errors_are_shown_by_field(
    client: TestClient, herald: Any, fields: dict[str, str], field: str, message: str
) -> None:
    r = act(client, "/campaigns", csrf_token(client, "/campaigns"), **fields)
    assert r.status_code == 422
    html = r.text
    assert 'role="alert"' in html
    assert f'<li><a href="#{field}">' in html
    assert f'aria-invalid="true" aria-describedby="{field}-error"' in html
    error = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', html, re.S)
    assert error and message in error.group(1)
    # What was typed is still there.
    assert f'value="{fields["name"]}"' in html
    assert [c.name for c in herald.list_campaigns()] == []
