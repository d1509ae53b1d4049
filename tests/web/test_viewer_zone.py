"""Every page shows times in the viewer's zone (issue 18): the one they chose (the account page
or the calendar), else their browser's (the cookie ``static/zone.js`` sets), else UTC; a
cookie that is not a zone name is passed over. The zone is worked out once per request
(``web.zones.RequestZone``), said once in the footer, and used by the log's date filters; the
``<time datetime>`` attributes, the API and the CSV exports stay in UTC.

The zone's choice and the log's local days are unit-tested first; then the pages, over a real
service (Redis, SQLite and PostgreSQL) through the real sign-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from herald.core.errors import InputError
from herald.service import PostRequest
from herald.web import create_app
from herald.web.routes.log import local_bound
from herald.web.zones import (
    AUTOMATIC,
    BROWSER_ZONE_COOKIE,
    FROM_BROWSER,
    FROM_CHOICE,
    FROM_UTC,
    ZONE_COOKIE,
    cookie_zone,
    format_time,
    request_zone,
    use_zone,
    zone_choice,
)
from tests.e2e.browser import add_person
from tests.web import BASE_URL, MANAGER, add_channels, csrf_of, web_client

#: Values a cookie or a form may carry that are no zone: paths, markup, a name near a real one.
HOSTILE = [
    "../../etc/passwd",
    "/etc/localtime",
    "Asia/../../../etc/passwd",
    'Asia/Seoul"><script>alert(1)</script>',
    "asia/seoul",
    "",
    "x" * 300,
]

#: A post's time: 09:30 in Seoul, 19:30 the day before in New York (EST).
AT = datetime(2099, 3, 2, 0, 30, tzinfo=UTC)
#: How the pages show it (``_macros.when`` breaks the line after the date).
IN_UTC = "2099-03-02<wbr>T00:30:00Z"
IN_SEOUL = "2099-03-02<wbr>T09:30:00+09:00"
IN_NEW_YORK = "2099-03-01<wbr>T19:30:00-05:00"
#: The ``<time>`` element's machine-readable value: UTC whatever the viewer's zone.
UTC_ATTRIBUTE = re.compile(r'<time datetime="2099-03-02T00:30:00(Z|\+00:00)">')


# -- the zone's choice (no database) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("cookies", "expected"),
    [
        ({}, ("UTC", FROM_UTC)),
        ({BROWSER_ZONE_COOKIE: "Asia/Seoul"}, ("Asia/Seoul", FROM_BROWSER)),
        ({ZONE_COOKIE: "America/New_York"}, ("America/New_York", FROM_CHOICE)),
        # The person's choice wins over what the browser reports.
        (
            {ZONE_COOKIE: "America/New_York", BROWSER_ZONE_COOKIE: "Asia/Seoul"},
            ("America/New_York", FROM_CHOICE),
        ),
        # A choice that is no zone is passed over, to the browser's, then to UTC.
        ({ZONE_COOKIE: "../../etc/passwd", BROWSER_ZONE_COOKIE: "Asia/Seoul"}, ("Asia/Seoul", FROM_BROWSER)),
    ],
)
def test_the_viewers_zone_is_their_choice_else_their_browsers_else_utc(
    cookies: dict[str, str], expected: tuple[str, str]
) -> None:
    assert cookie_zone(cookies) == expected


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_cookie_is_never_a_zone(hostile: str) -> None:
    assert cookie_zone({ZONE_COOKIE: hostile, BROWSER_ZONE_COOKIE: hostile}) == ("UTC", FROM_UTC)
    with pytest.raises(InputError) as refused:
        zone_choice(hostile)
    assert refused.value.field == "tz" and len(refused.value.message) < 200


def test_a_choice_is_a_zone_name_or_automatic() -> None:
    assert zone_choice(" Asia/Seoul ") == "Asia/Seoul"
    assert zone_choice(AUTOMATIC) == AUTOMATIC


def test_times_are_shown_in_the_requests_zone_and_utc_outside_one() -> None:
    assert request_zone() == ("UTC", FROM_UTC)
    assert format_time("2099-03-02T00:30:00Z") == "2099-03-02T00:30:00Z"
    with use_zone(("Asia/Seoul", FROM_BROWSER)):
        assert request_zone() == ("Asia/Seoul", FROM_BROWSER)
        assert format_time("2099-03-02T00:30:00Z") == "2099-03-02T09:30:00+09:00"
        assert format_time(None) == "—"
    assert format_time(AT) == "2099-03-02T00:30:00Z"


@pytest.mark.parametrize(
    ("typed", "zone", "end", "expected"),
    [
        # A date is the whole local day: from its midnight, to the next day's midnight.
        ("2026-05-01", "Asia/Seoul", False, "2026-04-30T15:00:00+00:00"),
        ("2026-05-01", "Asia/Seoul", True, "2026-05-01T15:00:00+00:00"),
        ("2026-05-01", "UTC", False, "2026-05-01T00:00:00+00:00"),
        # New York springs forward on 2026-03-08: that day is 23 hours long.
        ("2026-03-08", "America/New_York", False, "2026-03-08T05:00:00+00:00"),
        ("2026-03-08", "America/New_York", True, "2026-03-09T04:00:00+00:00"),
        # A time without an offset is the zone's wall clock; one with an offset is that instant.
        ("2026-05-01T09:30", "Asia/Seoul", False, "2026-05-01T00:30:00+00:00"),
        ("2026-05-01T09:30+02:00", "Asia/Seoul", False, "2026-05-01T07:30:00+00:00"),
        ("2026-05-01T09:30Z", "Asia/Seoul", False, "2026-05-01T09:30:00+00:00"),
    ],
)
def test_the_logs_dates_are_read_in_the_viewers_zone(typed: str, zone: str, end: bool, expected: str) -> None:
    at = local_bound("from", typed, zone, end=end)
    assert at is not None and at.astimezone(UTC).isoformat() == expected


def test_a_bad_log_date_names_its_field_and_the_zone() -> None:
    assert local_bound("from", "", "Asia/Seoul") is None
    for bad in ("2026-02-30", "yesterday", "2026-05-01T25:00", "9999-12-31"):
        with pytest.raises(InputError) as refused:
            local_bound("to", bad, "Asia/Seoul", end=True)
        assert refused.value.field == "to" and "Asia/Seoul" in refused.value.message, bad


# -- the pages -------------------------------------------------------------------------------


@pytest.fixture
def manager(herald: Any) -> Iterator[TestClient]:
    add_channels(herald)
    add_person(herald, MANAGER)
    with web_client(herald, MANAGER) as c:
        yield c


def queue(herald: Any) -> str:
    return str(herald.add_post(PostRequest(channels=["m1"], text="zone post", at=AT)))


def footer(page: str) -> str:
    return page.split('<footer class="site-footer', 1)[1]


@pytest.mark.parametrize("path", ["/", "/log"])
def test_without_a_zone_pages_show_utc(herald: Any, manager: TestClient, path: str) -> None:
    queue(herald)
    page = manager.get(path).text
    assert IN_UTC in page and UTC_ATTRIBUTE.search(page)
    assert "Times are shown in UTC (the default)." in footer(page)
    assert 'href="/account#zone-h"' in footer(page)


@pytest.mark.parametrize("path", ["/", "/log"])
@pytest.mark.parametrize(
    ("cookie", "source"), [(BROWSER_ZONE_COOKIE, "your browser’s zone"), (ZONE_COOKIE, "your choice")]
)
def test_pages_show_the_time_in_the_zone_the_cookie_names(
    herald: Any, manager: TestClient, path: str, cookie: str, source: str
) -> None:
    queue(herald)
    manager.cookies.set(cookie, "Asia/Seoul")
    page = manager.get(path).text
    assert IN_SEOUL in page and IN_UTC not in page
    assert UTC_ATTRIBUTE.search(page), "the <time> element's value stays UTC"
    assert f"Times are shown in Asia/Seoul ({source})." in footer(page)
    assert "(UTC)" not in page and "All times are UTC" not in page


def test_a_zone_with_daylight_saving_and_a_korean_page(herald: Any, manager: TestClient) -> None:
    queue(herald)
    manager.cookies.set(BROWSER_ZONE_COOKIE, "America/New_York")
    assert IN_NEW_YORK in manager.get("/log").text
    manager.cookies.set(ZONE_COOKIE, "Asia/Seoul")
    korean = manager.get("/log", headers={"Accept-Language": "ko"}).text
    assert "2099. 3. 2. 오전 9:30:00 +09:00" in korean and UTC_ATTRIBUTE.search(korean)


@pytest.mark.parametrize("hostile", HOSTILE[:4])
def test_a_hostile_cookie_is_passed_over_on_every_page(
    herald: Any, manager: TestClient, hostile: str
) -> None:
    queue(herald)
    manager.cookies.set(ZONE_COOKIE, hostile)
    manager.cookies.set(BROWSER_ZONE_COOKIE, hostile)
    for path in ("/", "/log", "/audit", "/account"):
        r = manager.get(path)
        assert r.status_code == 200, path
        assert "<script>alert" not in r.text and "etc/passwd" not in r.text, path
        assert "Times are shown in UTC (the default)." in footer(r.text), path
    assert IN_UTC in manager.get("/").text


def test_the_logs_dates_are_the_viewers_days_and_the_export_follows(herald: Any, manager: TestClient) -> None:
    post_id = queue(herald)

    def shown(day: str, **cookies: str) -> bool:
        for name in (ZONE_COOKIE, BROWSER_ZONE_COOKIE):
            manager.cookies.delete(name)
        for name, value in cookies.items():
            manager.cookies.set(name, value)
        page = manager.get("/log", params={"from": day, "to": day})
        assert page.status_code == 200, page.text
        return f'title="{post_id}"' in page.text

    # 00:30 UTC on 2 March is 2 March in UTC and Seoul, 1 March in New York.
    assert shown("2099-03-02") and not shown("2099-03-01")
    seoul = {BROWSER_ZONE_COOKIE: "Asia/Seoul"}
    assert shown("2099-03-02", **seoul) and not shown("2099-03-01", **seoul)
    new_york = {ZONE_COOKIE: "America/New_York"}
    assert shown("2099-03-01", **new_york) and not shown("2099-03-02", **new_york)
    page = manager.get("/log", params={"from": "2099-03-01"}).text
    assert '<label for="f-from">From</label>' in page and "From (UTC)" not in page
    # The export of the page selects the page's rows; its cells stay in UTC.
    exported = manager.get("/log.csv", params={"from": "2099-03-01", "to": "2099-03-01"}).text
    assert post_id in exported and "2099-03-02T00:30:00" in exported and "+09:00" not in exported
    bad = manager.get("/log", params={"from": "2099-02-30"})
    assert bad.status_code == 422 and "America/New_York" in bad.text


def test_the_api_and_the_csv_exports_stay_in_utc(herald: Any, manager: TestClient) -> None:
    post_id = queue(herald)
    token = herald.create_token(MANAGER, name="zones").token.reveal()
    with TestClient(create_app(herald), base_url=BASE_URL) as api:
        api.headers["Authorization"] = f"Bearer {token}"
        plain = api.get("/api/v1/log", params={"from": "2099-03-02", "to": "2099-03-02"}).json()
        api.cookies.set(ZONE_COOKIE, "America/New_York")
        zoned = api.get("/api/v1/log", params={"from": "2099-03-02", "to": "2099-03-02"}).json()
        assert zoned == plain and post_id in str(plain)
        assert api.get(f"/api/v1/posts/{post_id}").json()["scheduled_at"].startswith("2099-03-02T00:30:00")
    utc_export = manager.get("/log.csv").text
    manager.cookies.set(ZONE_COOKIE, "Asia/Seoul")
    assert manager.get("/log.csv").text == utc_export


def test_the_account_page_chooses_the_zone_every_page_uses(herald: Any, manager: TestClient) -> None:
    queue(herald)
    page = manager.get("/account").text
    assert 'id="zone-h"' in page and '<option value="auto" selected>' in page
    assert '<option value="Asia/Seoul">' in page
    token = csrf_of(page)

    saved = manager.post(
        "/account/zone", data={"tz": "Asia/Seoul", "csrf_token": token}, follow_redirects=False
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/account"
    assert (saved.cookies.get(ZONE_COOKIE) or "").strip('"') == "Asia/Seoul"
    back = manager.get("/account").text
    assert "Times are shown in Asia/Seoul." in back and '<option value="Asia/Seoul" selected>' in back
    dashboard = manager.get("/").text
    assert IN_SEOUL in dashboard and "Times are shown in Asia/Seoul (your choice)." in footer(dashboard)
    # The calendar's chooser is the same choice.
    assert 'data-zone="Asia/Seoul" data-zone-source="choice"' in manager.get("/calendar").text

    for hostile in HOSTILE:
        refused = manager.post("/account/zone", data={"tz": hostile, "csrf_token": token})
        assert refused.status_code == 422 and 'id="zone-error"' in refused.text, hostile
        assert ZONE_COOKIE not in refused.cookies and "<script>alert" not in refused.text
    assert manager.cookies.get(ZONE_COOKIE) is not None, "a refused choice keeps the one before"

    forgot = manager.post("/account/zone", data={"tz": AUTOMATIC, "csrf_token": token})
    assert forgot.status_code == 200 and ZONE_COOKIE not in manager.cookies
    assert "your browser’s zone, else in UTC" in forgot.text
    assert IN_UTC in manager.get("/").text
    # Without the CSRF token nothing changes.
    assert manager.post("/account/zone", data={"tz": "Asia/Seoul"}).status_code == 403
    assert ZONE_COOKIE not in manager.cookies


def test_every_page_loads_the_zone_script_and_nothing_inline(herald: Any, manager: TestClient) -> None:
    page = manager.get("/").text
    tag = re.search(r'<script src="/static/zone\.js"[^>]*>', page)
    assert tag and 'data-viewer-zone="UTC"' in tag.group(0) and "data-reload" in tag.group(0)
    with web_client(herald, None) as anonymous:
        login = anonymous.get("/login").text
        assert 'src="/static/zone.js"' in login and "Times are shown in UTC" in login
        # The sign-in page keeps the browser's zone but never reloads under a person typing.
        assert "data-reload" not in login
        assert 'href="/account#zone-h"' not in login
    script = manager.get("/static/zone.js")
    assert script.status_code == 200 and "herald_browser_tz" in script.text
    calendar_js = manager.get("/static/calendar.js").text
    assert "herald_browser_tz" not in calendar_js, "one script sets the browser's zone"
