"""The composer's live counter in a real browser (Debian's Chromium, headless, Playwright;
skipped where it is missing, see ``tests.e2e.browser``): typing updates "count/limit" under the
text and under a channel's own text, from the server's counting, without submitting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from herald.web import create_app
from tests.e2e.browser import BROWSER_MARKS, add_person, browser_page, chromium, served, sign_in
from tests.web import STAFF, add_channels

pytestmark = BROWSER_MARKS
pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")


@pytest.fixture
def page(herald: Any) -> Iterator[Any]:
    add_channels(herald)
    add_person(herald, STAFF)
    with chromium() as browser, served(create_app(herald)) as url, browser_page(browser) as pg:
        sign_in(pg, url, STAFF)
        pg.base_url = url
        yield pg


def test_typing_updates_the_counter_without_submitting(page: Any, herald: Any) -> None:
    from playwright.sync_api import expect

    page.goto(page.base_url + "/compose")
    page.locator('input[name="channels"][value="x1"]').check()
    page.locator('input[name="channels"][value="m1"]').check()
    page.get_by_label("Text", exact=True).fill("안녕")
    counter = page.locator("#text-count")
    # X weighs Hangul 2; Mastodon counts characters.
    expect(counter.locator("li", has_text="x1")).to_have_text("x1 4/280")
    expect(counter.locator("li", has_text="m1")).to_have_text("m1 2/500")

    page.get_by_label("Text", exact=True).press_sequentially("가" * 3)
    expect(counter.locator("li", has_text="x1")).to_have_text("x1 10/280")

    page.get_by_label("Text", exact=True).fill("가" * 150)
    over = counter.locator("li.count-over")
    expect(over).to_have_text("x1 300/280 (20 over)")

    # A channel's own text: counted under its box, and no longer under the main text.
    page.locator("details.variants summary").click()
    page.locator('textarea[name="text_for.x1"]').fill("short")
    own = page.locator('ul[data-counter="x1"]')
    expect(own.locator("li")).to_have_text("x1 5/280")
    expect(counter.locator("li")).to_have_count(1)
    assert page.url == page.base_url + "/compose"
    assert herald.list_posts() == []
