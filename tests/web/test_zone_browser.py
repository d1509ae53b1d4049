"""The viewer's zone in a real browser (Debian's Chromium, headless, Playwright;
``tests.e2e.browser``): a browser in Seoul, with no cookie set beforehand, sees the dashboard
in Seoul time. ``static/zone.js`` keeps the zone the browser reports in a cookie on the first
page it loads (the sign-in page), and a page shown in UTC for want of it loads once more.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from herald.service import PostRequest
from herald.web import create_app
from herald.web.zones import BROWSER_ZONE_COOKIE
from tests.e2e.browser import BROWSER_MARKS, add_person, browser_page, chromium, served, sign_in
from tests.web import MANAGER, add_channels

pytestmark = BROWSER_MARKS
pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")

#: 09:30 in Seoul.
AT = datetime(2099, 3, 2, 0, 30, tzinfo=UTC)
IN_SEOUL = "2099-03-02T09:30:00+09:00"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def base_url(herald: Any) -> Iterator[str]:
    add_channels(herald)
    add_person(herald, MANAGER)
    with served(create_app(herald)) as url:
        yield url


def zone_cookie(page: Any) -> str | None:
    return next((c["value"] for c in page.context.cookies() if c["name"] == BROWSER_ZONE_COOKIE), None)


def test_the_dashboard_shows_seoul_time_in_a_browser_in_seoul(
    browser: Any, base_url: str, herald: Any
) -> None:
    herald.add_post(PostRequest(channels=["m1"], text="서울 시간으로", at=AT))
    shown = 'time[datetime^="2099-03-02T00:30"]'
    with browser_page(browser, timezone_id="Asia/Seoul") as page:
        assert page.context.cookies() == []
        sign_in(page, base_url, MANAGER)
        # The sign-in page kept the zone, so the dashboard is in Seoul time from the start.
        assert zone_cookie(page) == "Asia/Seoul"
        assert page.locator(shown).first.inner_text() == IN_SEOUL
        assert (
            "Times are shown in Asia/Seoul (your browser’s zone)."
            in page.locator("#viewer-zone").inner_text()
        )

        # Without the cookie the page comes in UTC, and the script loads it once more in Seoul.
        page.context.clear_cookies(name=BROWSER_ZONE_COOKIE)
        page.goto(base_url + "/")
        page.locator("#viewer-zone", has_text="Asia/Seoul").wait_for()
        assert page.locator(shown).first.inner_text() == IN_SEOUL
        assert zone_cookie(page) == "Asia/Seoul"
        # The <time> element's value stays UTC for machines.
        assert page.locator(shown).first.get_attribute("datetime").startswith("2099-03-02T00:30:00")
