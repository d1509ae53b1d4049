"""The delivery log in a real browser (Debian's Chromium, headless, Playwright; ``tests.e2e.browser``)
over a real service: at 1280 px the whole table fits with the Error column in view, the filter
form narrows the log into an address that can be shared, "Older" and "Newer" walk the pages,
and "Export CSV" downloads exactly the rows the filters select.

Set ``HERALD_SCREENSHOT`` to save a screenshot of the log beside the README's."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from herald.service import PostRequest
from herald.web import create_app
from tests.e2e.browser import (
    BROWSER_MARKS,
    DESKTOP,
    add_person,
    browser_page,
    chromium,
    screenshot_path,
    served,
    sign_in,
)
from tests.web import ADMIN, add_channels, settle

pytestmark = BROWSER_MARKS
pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")

#: A platform's error as long as they come: it wraps in its column, it never widens the table.
LONG_ERROR = (
    "x: HTTP 403: You are not allowed to create a Tweet with duplicate content. "
    "https://developer.x.com/en/docs/twitter-api/v1/tweets/post-and-engage/api-reference/"
    "post-statuses-update " + "details " * 20
)
LINK = "https://social.example/@herald/117716833289633792?utm_source=herald&utm_campaign=평화통일"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def base_url(herald: Any) -> Iterator[str]:
    add_channels(herald)
    add_person(herald, ADMIN)
    with served(create_app(herald)) as url:
        yield url


@pytest.fixture
def page(browser: Any, base_url: str) -> Iterator[Any]:
    """Signed in as the admin, in English (the labels the test reads), at 1280 x 900."""
    with browser_page(browser, locale="en-US", viewport=DESKTOP) as pg:
        sign_in(pg, base_url, ADMIN)
        yield pg


def seed(herald: Any) -> dict[str, str]:
    """Posts in several states on both channels, with a long error and a long link."""
    herald.set_campaign("autumn")
    posts = {}
    for n in range(3):
        posts[f"spring {n}"] = herald.add_post(
            PostRequest(channels=["m1", "x1"], text=f"봄 소식 {n} — spring news {n}", campaign="spring")
        )
    posts["refused"] = herald.add_post(
        PostRequest(channels=["x1"], text="Duplicate again", campaign="autumn")
    )
    settle(herald, posts["refused"], "failed", error=LONG_ERROR)
    posts["out"] = herald.add_post(
        PostRequest(channels=["m1"], text="평화 통일 — published", campaign="autumn")
    )
    settle(herald, posts["out"], "published", url=LINK)
    return posts


def test_the_log_fits_1280_pixels_with_the_error_in_view(page: Any, base_url: str, herald: Any) -> None:
    seed(herald)
    page.goto(base_url + "/log")
    error_header = page.get_by_role("columnheader", name="Error")
    box = error_header.bounding_box()
    assert box is not None and box["x"] + box["width"] <= DESKTOP["width"], box
    wrap = page.locator(".table-wrap")
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth"), "the log scrolls sideways at 1280 px"
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    refused = page.locator("table.log tbody tr").filter(has_text="Duplicate again")
    cell = refused.locator("td.cell-error")
    assert "refused it as a duplicate" in cell.inner_text()  # what it means, in plain words
    assert cell.is_visible() and (cell.bounding_box() or {"x": 9999})["x"] < DESKTOP["width"]
    published = page.locator("table.log tbody tr").filter(has_text="published")
    assert published.get_by_role("link").get_attribute("href") == LINK
    target = screenshot_path("log")
    if target:
        page.screenshot(path=str(target), full_page=True)


def test_filters_make_a_shareable_address_and_the_export_downloads_them(
    page: Any, base_url: str, herald: Any, tmp_path: Path
) -> None:
    posts = seed(herald)
    page.goto(base_url + "/log")
    assert page.locator("table.log tbody tr").count() == 8
    page.get_by_label("Channel").select_option("x1")
    page.get_by_label("Text contains").fill("SPRING NEWS")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/log?*")
    assert "channel=x1" in page.url and "q=SPRING+NEWS" in page.url
    rows = page.locator("table.log tbody tr")
    assert rows.count() == 3
    assert all("x1" in rows.nth(i).inner_text() for i in range(3))
    assert "3 deliveries match" not in page.content()  # words: the counts cannot tell

    # The address is the filter: opened again (shared), it shows the same rows.
    shared = page.url
    page.goto(base_url + "/log")
    page.goto(shared)
    assert page.locator("table.log tbody tr").count() == 3
    assert page.get_by_label("Text contains").input_value() == "SPRING NEWS"

    with page.expect_download() as got:
        page.get_by_role("link", name="Export CSV").click()
    download = got.value
    assert download.suggested_filename.startswith("herald-log-") and download.suggested_filename.endswith(
        ".csv"
    )
    saved = tmp_path / "log.csv"
    download.save_as(saved)
    rows_csv = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert rows_csv[0][:4] == ["post_id", "delivery_id", "campaign", "channel"]
    assert sorted(r[0] for r in rows_csv[1:]) == sorted(posts[f"spring {n}"] for n in range(3))
    assert {r[3] for r in rows_csv[1:]} == {"x1"}

    page.goto(base_url + "/log")
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**status=failed*")
    assert page.locator("table.log tbody tr").count() == 1
    assert page.get_by_text("1 delivery matches.").is_visible()


def test_older_and_newer_walk_the_pages(
    page: Any, base_url: str, herald: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("herald.web.routes.log.LOG_PAGE_ROWS", 3)
    seed(herald)
    page.goto(base_url + "/log")
    first = page.locator("table.log tbody tr").all_inner_texts()
    seen = list(first)
    while page.get_by_role("link", name="Older deliveries").count():
        page.get_by_role("link", name="Older deliveries").click()
        page.wait_for_load_state()
        seen += page.locator("table.log tbody tr").all_inner_texts()
    assert len(seen) == 8 and len(set(seen)) == 8
    page.get_by_role("link", name="Newer deliveries").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Newer deliveries").click()
    page.wait_for_load_state()
    assert page.locator("table.log tbody tr").all_inner_texts() == first
    assert page.get_by_role("link", name="Newer deliveries").count() == 0
