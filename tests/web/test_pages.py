"""The dashboard and what every page shares (real app, service, Redis and SQLite, signed in
through the real form): what each role sees on the dashboard, the log's filters and links,
``/healthz``, the app building its own service, and the pages' own hygiene: no inline script
or style (the policy forbids both), the stylesheet, interactive docs off, and no credential
value in any page a form post answers with.

Script in what people type and forged notes are ``test_hostile.py``'s; the security headers
of every route, ``test_hostile.py``'s and ``test_api_v1.py``'s."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from herald.service import PostRequest
from herald.web import create_app
from herald.web.middleware import SECURITY_HEADERS
from tests.e2e.browser import add_person
from tests.web import (
    ADMIN,
    ALL_TOKENS,
    BASE_URL,
    MANAGER,
    STAFF,
    add_channels,
    csrf_of,
    face_jpeg,
    settle,
    sign_in,
    web_client,
)

KOREAN = "안녕하세요 hello"
#: 150 Hangul syllables weigh 300 on X (CJK counts double), over its 280; Mastodon counts 150.
OVER_X_LIMIT = "가" * 150
NO_FILE = {"photo1": ("", b"", "application/octet-stream")}


@pytest.fixture
def manager(herald: Any) -> Iterator[TestClient]:
    add_channels(herald)
    add_person(herald, MANAGER)
    with web_client(herald, MANAGER) as c:
        yield c


@pytest.fixture
def anonymous(herald: Any) -> Iterator[TestClient]:
    add_channels(herald)
    with TestClient(create_app(herald), base_url=BASE_URL) as c:
        yield c


def log_of(html: str) -> str:
    """The delivery-log section of the dashboard."""
    assert 'id="log-h"' in html, "no delivery log on the page"
    return html.split('id="log-h"')[1].split('id="stats-h"')[0]


# -- the dashboard -----------------------------------------------------------------------------


def test_dashboard_shows_health_upcoming_posts_and_log(manager: TestClient, herald: Any) -> None:
    herald.set_campaign("launch")
    post_id = herald.add_post(PostRequest(channels=["m1", "x1"], text=KOREAN, at=None, campaign="launch"))
    r = manager.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    # The health panel (tests/web/test_live.py has what it says in each state).
    assert "Queue (Redis)" in html and "due now" in html and "going out" in html
    assert KOREAN in html
    assert post_id[:8] in html
    # One log row per channel, each with a status badge carrying the word.
    assert log_of(html).count('<span class="badge badge-queued">queued</span>') == 2
    # Column heads name no zone: the footer says the one the page's times are in, once.
    assert '<th scope="col">Scheduled</th>' in html and "(UTC)</th>" not in html
    assert "Times are shown in UTC (the default)." in html and "All times are UTC" not in html
    assert 'id="stats-h"' in html
    # The cancel form carries the session's CSRF token.
    form = html.split(f'action="/posts/{post_id}/cancel"')[1].split("</form>")[0]
    assert csrf_of(form) == csrf_of(manager.get("/compose").text)


def test_staff_see_posts_and_compose_but_not_the_log_or_stats(herald: Any) -> None:
    add_channels(herald)
    add_person(herald, STAFF)
    post_id = herald.add_post(PostRequest(channels=["m1", "x1"], text=KOREAN, at=None))
    with web_client(herald, STAFF) as staff:
        r = staff.get("/")
    assert r.status_code == 200
    html = r.text
    assert KOREAN in html and post_id[:8] in html and "Queued and upcoming" in html
    assert 'href="/compose"' in html
    assert 'id="log-h"' not in html and 'id="stats-h"' not in html
    assert f'action="/posts/{post_id}/cancel"' not in html


def test_dashboard_filters_by_channel_status_and_campaign(manager: TestClient, herald: Any) -> None:
    a = herald.add_post(PostRequest(channels=["m1"], text="only mastodon", at=None, campaign="spring"))
    b = herald.add_post(PostRequest(channels=["x1"], text="only x", at=None))
    settle(herald, b, "failed", error="HTTP 403: duplicate content")

    log = log_of(manager.get("/", params={"channel": "m1"}).text)
    assert a[:8] in log and b[:8] not in log
    log = log_of(manager.get("/", params={"status": "failed"}).text)
    assert b[:8] in log and a[:8] not in log
    assert "HTTP 403: duplicate content" in log
    log = log_of(manager.get("/", params={"campaign": "spring", "channel": "", "status": ""}).text)
    assert a[:8] in log and b[:8] not in log

    bad = manager.get("/", params={"status": "exploded"})
    assert bad.status_code == 422
    assert 'role="alert"' in bad.text and "unknown status" in bad.text


def test_published_link_opens_in_new_tab_without_referrer(manager: TestClient, herald: Any) -> None:
    good = herald.add_post(PostRequest(channels=["m1"], text="out", at=None))
    settle(herald, good, "published", url="https://social.example/@herald/1")
    evil = herald.add_post(PostRequest(channels=["m1"], text="evil", at=None))
    settle(herald, evil, "published", url="javascript:alert(1)")
    html = manager.get("/").text
    assert '<a href="https://social.example/@herald/1" target="_blank" rel="noopener noreferrer">' in html
    assert '<span class="badge badge-published">published</span>' in html
    assert "javascript:" not in html


def test_post_text_is_escaped(manager: TestClient, herald: Any) -> None:
    herald.add_post(PostRequest(channels=["m1"], text="<script>alert(1)</script>", at=None))
    html = manager.get("/").text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# -- health, and the app on its own --------------------------------------------------------------


def test_healthz_is_public(anonymous: TestClient, herald: Any) -> None:
    herald.add_post(PostRequest(channels=["m1"], text="due now", at=None))
    r = anonymous.get("/healthz", follow_redirects=False)
    assert r.status_code == 200
    assert r.json() == {"ok": True, "redis": True, "due": 1, "inflight": 0, "workers": None}


def test_healthz_is_503_while_the_workers_are_stalled(anonymous: TestClient, herald: Any) -> None:
    """What the scheduler judged (``scheduler.liveness``) is what a load balancer or a monitor
    reads: a stall is not healthy, and the body names the deaf or gone workers."""
    from content_queue.heartbeats import Heartbeats

    beats = Heartbeats(herald.queue.redis, herald.queue.keys)
    beats.publish_verdict({"health": "stalled", "workers_deaf": ["w1@host"], "waiting": 3}, 30)
    r = anonymous.get("/healthz")
    assert r.status_code == 503
    assert r.json()["ok"] is False and r.json()["workers"]["workers_deaf"] == ["w1@host"]
    beats.publish_verdict({"health": "busy", "waiting": 300}, 30)
    assert anonymous.get("/healthz").status_code == 200


def test_app_builds_its_service_from_the_settings(herald: Any) -> None:
    """``create_app()`` without a service reads the same settings (so the same Redis and
    database) as the service the fixture made: its people sign in, its channels are listed."""
    add_channels(herald)
    add_person(herald, ADMIN)
    with TestClient(create_app(), base_url=BASE_URL) as c:
        assert c.get("/healthz").json()["redis"] is True
        sign_in(c, ADMIN)
        channels = c.get("/api/v1/channels")
        assert channels.status_code == 200, channels.text
        assert sorted(ch["name"] for ch in channels.json()["items"]) == ["m1", "x1"]


# -- every page --------------------------------------------------------------------------------


def every_kind_of_page(client: TestClient, herald: Any) -> list[Any]:
    """One response of each page the app renders for an admin, in states that show their notes,
    tables, problems and actions."""
    herald.set_campaign("봄", protect_faces="blur")
    published = herald.add_post(PostRequest(channels=["m1", "x1"], text=KOREAN, at=None, campaign="봄"))
    settle(herald, published, "published", url="https://social.example/@herald/1")
    failed = herald.add_post(PostRequest(channels=["x1"], text="x", at=None))
    settle(herald, failed, "failed", error="HTTP 401: token refused")
    unsure = herald.add_post(PostRequest(channels=["m1"], text="?", at=None))
    settle(herald, unsure, "uncertain", error="timed out")
    held = herald.add_post(PostRequest(channels=["m1"], text="late", at=None))
    settle(herald, held, "held", error="missed its window")
    token = csrf_of(client.get("/").text)

    def post(path: str, files: dict[str, Any] | None = None, **fields: Any) -> Any:
        data = {"csrf_token": token, **fields}
        return client.post(path, data=data, files=files, follow_redirects=False)

    def compose(files: dict[str, Any] | None = None, **fields: Any) -> Any:
        return post("/compose", files=files or NO_FILE, tz="UTC", now="1", **fields)

    def note_after(answer: Any) -> Any:
        """The dashboard showing the note an action left."""
        assert answer.status_code == 303, answer.text
        page = client.get(answer.headers["location"])
        assert 'role="status"' in page.text
        return page

    face = {"photo1": ("face.jpg", face_jpeg(), "image/jpeg")}
    return [
        client.get("/"),
        client.get("/?channel=m1&status=failed"),
        client.get("/compose"),
        client.get("/campaigns"),
        client.get("/campaigns?edit=봄"),
        client.get("/log"),
        client.get("/audit"),
        client.get("/users"),
        client.get("/account"),
        client.get("/import"),
        client.get("/no/such/page"),
        compose(text=OVER_X_LIMIT, channels=["m1", "x1"]),
        compose(text=OVER_X_LIMIT, channels=["m1", "x1"], action="check"),
        compose(files=face, text="hi", channels=["m1"], faces1="blur"),
        post(f"/posts/{published}/takedown", channel="m1"),
        post("/campaigns", name="c", timezone="Nowhere/Land"),
        post("/compose/confirm", draft="x", action="confirm"),
        note_after(post(f"/posts/{published}/takedown", channel="m1", confirm="yes")),
        note_after(post(f"/posts/{failed}/retry", channel="x1")),
        note_after(post("/campaigns", name="봄", protect_faces="pixelate")),
    ]


def test_pages_have_no_inline_script_or_style(herald: Any) -> None:
    add_channels(herald)
    add_person(herald, ADMIN)
    with web_client(herald, ADMIN) as admin:
        pages = every_kind_of_page(admin, herald)
    for r in pages:
        html = r.text
        where = (r.request.method, str(r.request.url), r.status_code)
        assert r.headers["content-type"].startswith("text/html"), where
        # Script only as the app's own files (the live updates', the import's progress), never
        # inline: every script element is empty and loads a file from /static/.
        scripts = re.findall(r"<script\b[^>]*>.*?</script>", html, re.S)
        assert html.count("<script") == len(scripts), where
        for tag in scripts:
            assert re.fullmatch(r'<script src="/static/[a-z]+\.js"[^>]*></script>', tag), (where, tag)
        assert "<style" not in html, where
        assert " style=" not in html, where
        assert re.search(r"\son[a-z]+=", html) is None, where  # no inline event handlers
        for name, value in SECURITY_HEADERS.items():
            assert r.headers.get(name) == value, (where, name)
    # What holds these pages to it: no inline script or style may run; images may be data: URLs.
    policy = dict(d.strip().split(" ", 1) for d in SECURITY_HEADERS["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["img-src"] == "'self' data:"
    # The preview's photos are data: URLs, which the policy allows for images only.
    assert '<img src="data:image/jpeg;base64,' in pages[13].text


def test_stylesheet_is_served_and_cjk_ready(manager: TestClient) -> None:
    r = manager.get("/static/herald.css")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/css")
    for family in ('"Noto Sans CJK KR"', '"Apple SD Gothic Neo"', '"Malgun Gothic"', "sans-serif"):
        assert family in r.text
    assert '<link rel="stylesheet" href="/static/herald.css">' in manager.get("/").text


def test_interactive_docs_are_off_and_the_schema_is_the_apis(manager: TestClient) -> None:
    # They load scripts from a CDN, which the policy (and the no-fetch rule) forbid.
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect", "/api/openapi.json"):
        assert manager.get(path).status_code == 404, path
    r = manager.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["info"]["title"] == "Herald API"
    # API operations only: no page or form of the app.
    assert doc["paths"] and all(path.startswith("/api/v1/") for path in doc["paths"]), sorted(doc["paths"])


def test_no_credential_value_in_any_page_or_answer(herald: Any) -> None:
    """Pages and the answers to form posts (the JSON API's are ``test_api_v1.py``'s, every GET
    route's ``test_hostile.py``'s)."""
    add_channels(herald)
    add_person(herald, ADMIN)
    p = herald.add_post(PostRequest(channels=["m1", "x1"], text=KOREAN, at=None))
    settle(herald, p, "failed", error="HTTP 401: token refused")
    with web_client(herald, ADMIN) as admin:
        token = csrf_of(admin.get("/").text)
        form = {"tz": "UTC", "now": "1"}
        responses = [
            admin.post(
                "/compose",
                data={**form, "csrf_token": token, "text": OVER_X_LIMIT, "channels": ["x1"]},
                files=NO_FILE,
            ),
            admin.post("/compose", data={**form, "text": "hi", "channels": ["m1"]}, files=NO_FILE),
            admin.post(f"/posts/{p}/retry", data={"csrf_token": token, "channel": "x1"}),
            admin.post(f"/posts/{p}/retry", data={"csrf_token": token, "channel": "x1"}),
            *every_kind_of_page(admin, herald),
        ]
    for r in responses:
        assert r.status_code < 500, (r.request.url, r.text)
        blob = r.text + "\n".join(f"{k}: {v}" for k, v in r.headers.items())
        for secret in ALL_TOKENS:
            assert secret not in blob, (r.request.url, secret)
