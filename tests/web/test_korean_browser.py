"""The Korean web app in a real browser (Debian's Chromium, headless, Playwright; skipped where it
is missing, see ``tests.e2e.browser``): a browser that asks for Korean (``Accept-Language:
ko``) signs in through the Korean sign-in form, and every page a signed-in admin can open shows
Korean: ``<html lang="ko">``, the navigation and the page's heading are the catalog's Korean.

With ``HERALD_SCREENSHOT`` set (see ``tests.e2e.browser``), the composer in Korean is saved
beside it at 1280 and 390 px wide: the README's ``docs/screenshot-compose-ko-1280.png`` and
``docs/screenshot-compose-ko-390.png``. Hangul shows only where the system has a CJK font
(Debian: ``fonts-noto-cjk``); the stylesheet names it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from herald.core.i18n import gettext, use_locale
from herald.service import PostRequest
from herald.web import create_app
from tests.e2e.browser import (
    BROWSER_MARKS,
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    browser_page,
    screenshot_path,
    served,
)
from tests.web import ADMIN, PASSWORD, add_channels, settle

pytestmark = BROWSER_MARKS
pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")

#: What a Korean browser sends (Chromium's own, for a Korean desktop).
KOREAN = {"locale": "ko-KR", "extra_http_headers": {"Accept-Language": "ko-KR,ko;q=0.9"}}
HANGUL = re.compile(r"[\uac00-\ud7a3]")

#: Every page an admin opens from the navigation and the dashboard, with its heading's msgid.
PAGES = [
    ("/", "Dashboard"),
    ("/compose", "Compose"),
    ("/import", "Import posts from a CSV file"),
    ("/log", "Delivery log"),
    ("/audit", "Audit log"),
    ("/campaigns", "Campaigns"),
    ("/users", "People"),
    ("/account", "Your account"),
    ("/stop", "Emergency stop"),
    ("/calendar", "Calendar"),
    ("/channels", "Channels"),
]
#: The navigation's links, as the admin sees them.
NAV = ["Dashboard", "Calendar", "Compose", "Import", "Log", "Audit", "Campaigns", "People", "Channels"]


def korean(msgid: str, **params: str) -> str:
    with use_locale("ko"):
        text = gettext(msgid)
    return text % params if params else text


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium asked for Korean in its own words too (a file input's button, a date's format):
    they follow where its Korean resources are installed (Debian: chromium-l10n)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--lang=ko-KR"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def base_url(herald: Any) -> Iterator[str]:
    """The app over this test's Herald: the fixture channels, an admin, a few posts."""
    add_channels(herald)
    herald.add_user(ADMIN, PASSWORD, "admin", [])
    published = herald.add_post(
        PostRequest(channels=["m1"], text="평화 통일을 향한 첫걸음", campaign="spring")
    )
    settle(herald, published, "published", url="https://social.example/@herald/1")
    soon = (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    herald.add_post(PostRequest(channels=["m1", "x1"], text="다음 모임 안내", campaign="spring", at=soon))
    with served(create_app(herald)) as url:
        yield url


def sign_in_korean(page: Any, base_url: str) -> None:
    """The sign-in form, read in Korean."""
    page.goto(base_url + "/login")
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.get_by_role("heading", level=1).inner_text() == korean("Sign in")
    page.get_by_label(korean("Email")).fill(ADMIN)
    page.get_by_label(korean("Password")).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name=korean("Sign in")).click()
    assert page.url == base_url + "/", page.url


@pytest.fixture
def page(browser: Any, base_url: str) -> Iterator[Any]:
    with browser_page(browser, **KOREAN) as pg:
        sign_in_korean(pg, base_url)
        yield pg


def test_every_page_an_admin_opens_is_korean(page: Any, base_url: str) -> None:
    for path, heading in PAGES:
        page.goto(base_url + path)
        assert page.locator("html").get_attribute("lang") == "ko", path
        h1 = page.get_by_role("heading", level=1).inner_text()
        assert h1 == korean(heading), (path, h1)
        assert HANGUL.search(h1), (path, h1)
        assert page.locator("ul.nav a").all_inner_texts() == [korean(n) for n in NAV], path
        assert page.locator(".signout a").inner_text() == korean("Account")
        assert page.locator(".signout button").inner_text() == korean("Sign out")
        assert not {"Dashboard", "Compose", "Sign out"} & set(
            page.locator("body").inner_text().split("\n")
        ), path
    # A campaign's own page is Korean too.
    page.goto(base_url + "/campaigns/spring")
    assert page.get_by_role("heading", level=1).inner_text() == korean("Campaign %(name)s", name="spring")


def test_the_korean_composer_and_its_screenshots(page: Any, base_url: str) -> None:
    page.goto(base_url + "/compose")
    assert page.get_by_role("button", name=korean("Queue post")).is_visible()
    assert page.get_by_label(korean("Text"), exact=True).is_visible()
    # A refusal from the service comes back worded in Korean, next to what the person typed.
    page.get_by_label(korean("Text"), exact=True).fill("가" * 150)  # over X's 280 (Hangul weighs 2)
    page.locator('input[name="channels"][value="x1"]').check()
    page.get_by_label(korean("Post now")).check()
    page.get_by_role("button", name=korean("Check"), exact=True).click()
    summary = page.locator("#check-summary").inner_text()
    assert korean("Does not fit any channel ticked.") in summary
    assert korean("Nothing was queued.") in summary
    # The composer as the README shows it, typed in Korean, on a desktop and on a phone.
    page.goto(base_url + "/compose")
    page.get_by_label(korean("Text"), exact=True).fill(
        "평화 통일을 위한 시민 모임에 초대합니다.\n이번 주 토요일 오후 2시, 서울 시민청에서 만나요."
    )
    page.locator('input[name="channels"][value="m1"]').check()
    page.get_by_label(korean("Campaign")).fill("spring")
    page.evaluate("document.activeElement.blur()")
    for size, name in ((DESKTOP, "compose-ko-1280"), (PHONE, "compose-ko-390")):
        page.set_viewport_size(size)
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], name
        target = screenshot_path(name)
        if target is not None:
            page.screenshot(path=str(target), full_page=True)
