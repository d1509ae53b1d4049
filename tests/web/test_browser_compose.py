"""The composer's "When" in a real browser (Debian's Chromium, headless, Playwright; skipped
where it is missing, see ``tests.e2e.browser``): a local time typed with a zone from the list,
previewed in that zone and in UTC, then confirmed and queued at the right instant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from herald.web import create_app
from tests.e2e.browser import BROWSER_MARKS, add_person, browser_page, chromium, note_post_id, served, sign_in
from tests.web import STAFF, add_channels

pytestmark = BROWSER_MARKS
pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")


@pytest.fixture
def page(herald: Any) -> Iterator[Any]:
    """A browser signed in as staff, over the app with the fixture channels."""
    add_channels(herald)
    add_person(herald, STAFF)
    with chromium() as browser, served(create_app(herald)) as url, browser_page(browser) as pg:
        sign_in(pg, url, STAFF)
        pg.base_url = url
        yield pg


def test_a_local_time_and_zone_are_confirmed_in_local_time(page: Any, herald: Any) -> None:
    base_url = page.base_url
    page.goto(base_url + "/compose")
    page.get_by_label("Text", exact=True).fill("서울 아침 — Seoul morning")
    page.locator('input[name="channels"][value="m1"]').check()
    assert page.get_by_label("At a date and time").is_checked()
    page.get_by_label("Date and time", exact=True).fill("2099-03-02T09:30")
    page.get_by_label("Time zone").select_option("Asia/Seoul")
    page.get_by_label("If that time happens twice").select_option("second")
    page.get_by_role("button", name="Preview").click()

    page.wait_for_url(base_url + "/compose")
    assert page.get_by_role("heading", level=1).inner_text() == "Check the post before queueing"
    when = page.locator("#when")
    assert when.locator(".local-time").inner_text() == "Mon 2099-03-02 09:30 Asia/Seoul"
    assert "(Mon 2099-03-02 00:30 UTC)" in when.inner_text()
    assert when.locator("time").get_attribute("datetime") == "2099-03-02T00:30:00Z"
    assert herald.list_posts() == []

    page.get_by_role("button", name="Confirm and queue").click()
    page.wait_for_url(base_url + "/")
    assert page.get_by_role("status").filter(has_text="Queued.").count() == 1
    [post] = herald.list_posts(post_id=note_post_id(page))
    assert post.scheduled_at == "2099-03-02T00:30:00Z"
