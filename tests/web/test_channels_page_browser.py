"""``/channels`` in a real browser (issue 18): an admin follows the nav link, chooses Mastodon,
fills its token in the password field, adds the channel against the simulator and checks it.
Debian's Chromium, headless, driven by Playwright (``tests.e2e.browser``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from herald.web import create_app
from tests.e2e.browser import BROWSER_MARKS, add_person, browser_page, chromium, served, sign_in
from tests.web import ADMIN

TOKEN = "browser-mastodon-token-7e21"

pytestmark = BROWSER_MARKS
pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def test_an_admin_adds_a_mastodon_channel_and_checks_it(browser: Any, herald: Any, sim: Any) -> None:
    sim.add_account("mastodon", username="browser_kr", access_token=TOKEN)
    add_person(herald, ADMIN)
    with served(create_app(herald)) as url, browser_page(browser) as page:
        sign_in(page, url, ADMIN)
        page.get_by_role("link", name="Channels").click()
        page.get_by_label("Platform", exact=True).select_option("mastodon")
        page.get_by_role("button", name="Show its fields").click()
        page.get_by_label("Name").fill("m-browser")
        token_field = page.get_by_label("access_token")
        assert token_field.get_attribute("type") == "password"
        token_field.fill(TOKEN)
        page.get_by_label("Base URL").fill(sim.url_for("mastodon"))
        page.get_by_role("button", name="Add channel").click()
        assert "Channel m-browser is ready" in page.get_by_role("status").inner_text()
        assert page.get_by_role("rowheader", name="m-browser").is_visible()
        page.get_by_role("button", name="Check m-browser").click()
        verdict = page.locator("#check-result").inner_text()
        assert "Works" in verdict and "browser_kr" in verdict
        assert TOKEN not in page.content()
    assert [c.name for c in herald.list_channels()] == ["m-browser"]
