"""Live status in a real browser (Debian's Chromium, headless, through Playwright), against the
app served by uvicorn over a running Herald: a real dispatcher and Celery worker publishing on
the platform simulator.

A person opens the delivery log; a post is queued and a worker publishes it on the sandbox;
its row appears in the open page, published, without a reload (``static/live.js`` polls the
version and reads the page's live part again). Then the dashboard with its charts and health
panel, photographed at 1280 and 390 px wide when ``HERALD_SCREENSHOT`` is set (the README's
``docs/screenshot-dashboard-1280.png`` and ``-390.png`` are made that way:
``HERALD_SCREENSHOT=docs/screenshot.png pytest tests/web/test_live_browser.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from herald.service import PostRequest
from herald.web import create_app
from tests.e2e.browser import (
    BROWSER_MARKS,
    DESKTOP,
    PHONE,
    add_person,
    browser_page,
    chromium,
    screenshot_path,
    served,
    sign_in,
)
from tests.e2e.conftest import MASTODON_TOKEN, X_CREDS, wait_for
from tests.web import ADMIN, settle
from tests.web.test_charts import dated

pytestmark = BROWSER_MARKS
pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")

#: How long the page may take to show a change: the worker publishes in well under a second;
#: the page polls every 5 s.
LIVE_SECONDS = 30
TEXT = "라이브 업데이트 — live update on the sandbox"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def sandbox(herald: Any, sim: Any) -> dict[str, str]:
    """Two channels on the simulator's sandbox accounts (Mastodon and X), and an admin."""
    sim.add_account("mastodon", username="unify_kr", access_token=MASTODON_TOKEN)
    sim.add_account("x", username="unify_kr", **X_CREDS)
    herald.add_channel(
        "kr-mastodon", "mastodon", {"access_token": MASTODON_TOKEN}, base_url=sim.url_for("mastodon")
    )
    herald.add_channel("kr-x", "x", dict(X_CREDS), base_url=sim.url_for("x"))
    herald.set_campaign("spring")
    herald.set_campaign("summer", timezone="Asia/Seoul")
    add_person(herald, ADMIN)
    return {"kr-mastodon": "mastodon", "kr-x": "x"}


@pytest.fixture
def base_url(herald: Any, sandbox: dict[str, str], running: Any) -> Iterator[str]:
    with served(create_app(herald)) as url:
        yield url


@pytest.fixture
def history(herald: Any, sandbox: dict[str, str]) -> None:
    """Two weeks of deliveries, as a running Herald would have left them: mostly published,
    some late, some failed or uncertain, one held, and a few posts waiting to go out. Written
    before the worker starts (``running`` comes after it), settled as a worker would, then
    dated back."""
    now = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    later = datetime.now(UTC) + timedelta(days=5)
    plan = [
        # (days ago, hour, channels, campaign, state, seconds late)
        (13, 9, ["kr-mastodon", "kr-x"], "spring", "published", 0.4),
        (12, 9, ["kr-mastodon"], "spring", "published", 2.0),
        (11, 18, ["kr-x"], "summer", "failed", None),
        (10, 9, ["kr-mastodon", "kr-x"], "spring", "published", 0.6),
        (9, 12, ["kr-mastodon"], "summer", "published", 45.0),
        (8, 9, ["kr-x"], "spring", "uncertain", None),
        (7, 9, ["kr-mastodon", "kr-x"], "summer", "published", 0.3),
        (6, 21, ["kr-mastodon"], None, "published", 700.0),
        (5, 9, ["kr-mastodon", "kr-x"], "spring", "published", 0.8),
        (4, 9, ["kr-x"], "summer", "failed", None),
        (3, 9, ["kr-mastodon", "kr-x"], "spring", "published", 1.5),
        (2, 15, ["kr-mastodon"], "summer", "published", 0.2),
        (1, 9, ["kr-mastodon", "kr-x"], "spring", "published", 8.0),
        (1, 13, ["kr-mastodon"], "spring", "held", None),
    ]
    for days, hour, channels, campaign, state, late in plan:
        text = f"{campaign or 'notice'}: day -{days}"
        post_id = herald.add_post(PostRequest(channels=channels, text=text, campaign=campaign))
        settle(herald, post_id, state, url="https://social.example/@unify_kr/1")
        dated(herald, post_id, (now - timedelta(days=days)).replace(hour=hour), late)
    for n in range(3):
        text = f"다음 주 예고 {n + 1} — next week's notice"
        herald.add_post(PostRequest(channels=["kr-mastodon"], text=text, campaign="spring", at=later))


@pytest.fixture
def seeded_url(herald: Any, history: None, running: Any) -> Iterator[str]:
    with served(create_app(herald)) as url:
        yield url


def test_a_post_published_on_the_sandbox_appears_in_the_open_log(
    browser: Any, base_url: str, herald: Any, sim: Any
) -> None:
    with browser_page(browser, locale="en-US") as page:
        sign_in(page, base_url, ADMIN)
        page.goto(base_url + "/log")
        page.evaluate("window.__notReloaded = true")
        rows = page.locator("table.log tbody tr").filter(has_text=TEXT)
        assert rows.count() == 0

        herald.add_post(PostRequest(channels=["kr-mastodon"], text=TEXT, campaign="spring"))
        assert wait_for(lambda: len(sim.ledger()) >= 1, timeout=LIVE_SECONDS), "the worker did not publish"

        # The row appears, published, in the page as it is: no navigation happened.
        rows.locator(".badge-published").wait_for(timeout=LIVE_SECONDS * 1000)
        assert page.evaluate("window.__notReloaded") is True
        assert rows.count() == 1


def test_dashboard_with_charts_and_a_working_health_panel(browser: Any, seeded_url: str) -> None:
    base_url = seeded_url
    for name, viewport in (("dashboard-1280", DESKTOP), ("dashboard-390", PHONE)):
        with browser_page(browser, locale="en-US", viewport=viewport) as page:
            sign_in(page, base_url, ADMIN)
            page.goto(base_url + "/")
            # The running worker and scheduler beat: the panel says so (it re-reads itself).
            page.locator("#health.health-ok").wait_for(timeout=LIVE_SECONDS * 1000)
            for chart in (
                "#dash-daily svg",
                "#dash-lateness svg",
                "#dash-platforms svg",
                "#dash-campaigns svg",
            ):
                assert page.locator(chart).count() == 1, chart
            # The numbers behind a chart open as a table.
            page.locator("#dash-platforms summary").click()
            assert page.locator("#dash-platforms-table").is_visible()
            page.locator("#dash-platforms summary").click()
            # The page fits the screen; wide tables scroll in their own box.
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            target = screenshot_path(name)
            if target is not None:
                page.locator("#charts").scroll_into_view_if_needed()
                page.screenshot(path=str(target), full_page=True)


@pytest.fixture
def plain_url(herald: Any, sandbox: dict[str, str]) -> Iterator[str]:
    with served(create_app(herald)) as url:
        yield url


def test_a_long_import_shows_its_progress(browser: Any, plain_url: str, herald: Any, tmp_path: Any) -> None:
    """8,000 rows take a few seconds to check and queue: meanwhile the page (still showing the
    form, its progress box open) asks how far the import has got and is told each step."""
    later = datetime.now(UTC) + timedelta(days=3)
    rows = "".join(
        f"kr-mastodon,{(later + timedelta(minutes=n)).isoformat()},post {n}\n" for n in range(8000)
    )
    plan = tmp_path / "plan.csv"
    plan.write_text("channels,at,text\n" + rows, encoding="utf-8")
    polls: list[dict[str, Any]] = []

    def spy(route: Any) -> None:  # the page's polls, passed on to the app and noted
        answer = route.fetch()
        polls.append(answer.json())
        route.fulfill(response=answer)

    with browser_page(browser, locale="en-US") as page:
        sign_in(page, plain_url, ADMIN)
        page.goto(plain_url + "/import")
        page.route("**/live/progress/*", spy)
        page.get_by_label("CSV file").set_input_files(str(plan))
        with page.expect_navigation(timeout=120_000):
            page.get_by_role("button", name="Import").click(no_wait_after=True)
        assert "8000 posts queued" in page.get_by_role("status").inner_text()
    assert len(polls) >= 2, polls
    assert {p["phase"] for p in polls} <= {"sending", "reading", "checking", "writing", "done"}
    counted = [p for p in polls if p["total"]]
    assert counted and all(p["total"] == 8000 and 0 < p["done"] <= 8000 for p in counted), polls
