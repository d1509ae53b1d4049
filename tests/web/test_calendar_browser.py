"""The calendar in a real browser (Debian's Chromium, headless, Playwright; ``tests.e2e.browser``):
a post moved with the keyboard and by dragging, its new time stored in UTC and shown in the
campaign's zone (Asia/Seoul); a click opens a post; the browser's zone used when nothing else
decides; the phone's list of days at 390 px.

Set ``HERALD_SCREENSHOT`` (e.g. ``docs/screenshot.png``) to save the README's screenshots of
the calendar beside it: ``screenshot-calendar-1280.png`` and ``screenshot-calendar-390.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from herald.service import PostRequest
from herald.store import deliveries, states
from herald.store.models import Delivery
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
from tests.web import STAFF, actor_of, add_channels, settle

pytestmark = BROWSER_MARKS
pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")

SEOUL = ZoneInfo("Asia/Seoul")
CAMPAIGN = "서울 캠페인"
#: The pages are read in English here (the words the tests look for).
ENGLISH = {"locale": "en-US"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def base_url(herald: Any) -> Iterator[str]:
    """The app over this test's Herald: the fixture channels, a campaign planned in Seoul, a
    staff member (who may move the campaign's posts)."""
    add_channels(herald)
    herald.set_campaign(CAMPAIGN, timezone="Asia/Seoul")
    add_person(herald, STAFF)
    with served(create_app(herald)) as url:
        yield url


def next_monday() -> date:
    today = datetime.now(UTC).astimezone(SEOUL).date()
    return today + timedelta(days=7 - today.weekday())


def seoul(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SEOUL)


def queue(herald: Any, at: datetime | None, text: str, channels: tuple[str, ...] = ("m1", "x1")) -> str:
    return str(herald.add_post(PostRequest(channels=list(channels), text=text, campaign=CAMPAIGN, at=at)))


def stored(herald: Any, post_id: str) -> set[datetime]:
    """The due times (naive UTC) the store holds for ``post_id``'s deliveries."""
    with herald.db.session() as s:
        return set(s.execute(select(Delivery.due_at).where(Delivery.post_id == post_id)).scalars())


def calendar_url(base_url: str, day: date, view: str = "week") -> str:
    return f"{base_url}/calendar?view={view}&date={day.isoformat()}&campaign={CAMPAIGN}"


def grid_post(page: Any, post_id: str) -> Any:
    return page.locator(f'.cal-grid .cal-post[data-post="{post_id}"]')


def test_move_a_post_with_the_keyboard(browser: Any, base_url: str, herald: Any) -> None:
    monday = next_monday()
    post_id = queue(herald, seoul(monday, 9), "키보드로 옮길 글 — moved by keyboard")
    with browser_page(browser, **ENGLISH) as page:
        sign_in(page, base_url, STAFF)
        page.goto(calendar_url(base_url, monday))
        assert page.locator("[data-calendar]").get_attribute("data-zone") == "Asia/Seoul"
        post = grid_post(page, post_id)
        assert post.locator("time").inner_text() == "09:00"
        post.focus()
        page.keyboard.press("ArrowRight")  # a day later
        page.keyboard.press("ArrowDown")  # an hour later
        tuesday = monday + timedelta(days=1)
        assert f"Move to {tuesday} 10:00 (Asia/Seoul)?" in page.locator("#cal-live").inner_text()
        assert post.get_attribute("data-pending") == f"{tuesday} 10:00"
        # Escape keeps it; the arrows again, then Enter moves it.
        page.keyboard.press("Escape")
        assert post.get_attribute("data-pending") is None
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowDown")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Moved." in page.get_by_role("status").first.inner_text()

        # Stored in UTC: 10:00 in Seoul is 01:00 UTC.
        assert stored(herald, post_id) == {datetime(tuesday.year, tuesday.month, tuesday.day, 1, 0)}
        # Shown in the campaign's zone, in Tuesday's 10:00 hour.
        moved = page.locator(f'td[data-slot="{tuesday}T10"] .cal-post[data-post="{post_id}"]')
        assert moved.locator("time").inner_text() == "10:00"
        assert page.locator(f'td[data-slot="{monday}T09"] .cal-post').count() == 0


def test_drag_a_post_to_another_day_and_hour(browser: Any, base_url: str, herald: Any) -> None:
    monday = next_monday()
    post_id = queue(herald, seoul(monday, 9, 30), "끌어서 옮길 글 — moved by dragging")
    done = queue(herald, None, "이미 나간 글 — already out", channels=("m1",))
    settle(herald, done, states.PUBLISHED, url="https://social.example/@herald/1")
    with browser_page(browser, **ENGLISH) as page:
        sign_in(page, base_url, STAFF)
        page.goto(calendar_url(base_url, monday))
        wednesday = monday + timedelta(days=2)
        target = page.locator(f'td[data-slot="{wednesday}T15"]')
        with page.expect_navigation():
            grid_post(page, post_id).drag_to(target)
        assert "Moved." in page.get_by_role("status").first.inner_text()
        # The minutes stay: 15:30 in Seoul, 06:30 UTC.
        assert stored(herald, post_id) == {datetime(wednesday.year, wednesday.month, wednesday.day, 6, 30)}
        moved = page.locator(f'td[data-slot="{wednesday}T15"] .cal-post[data-post="{post_id}"]')
        assert moved.locator("time").inner_text() == "15:30"

        # A month: dragged to another day, the post keeps its time of day.
        page.goto(calendar_url(base_url, monday, view="month"))
        friday = monday + timedelta(days=4)
        with page.expect_navigation():
            grid_post(page, post_id).drag_to(page.locator(f'td[data-day="{friday}"]'))
        assert stored(herald, post_id) == {datetime(friday.year, friday.month, friday.day, 6, 30)}

        # A click (no drag) opens the post, with its times in Seoul and in UTC.
        grid_post(page, post_id).click()
        page.wait_for_url("**#post-detail")
        detail = page.locator("#post-detail")
        assert "끌어서 옮길 글" in detail.inner_text()
        assert f"{friday} 15:30" in detail.locator(".cal-campaign-local").first.inner_text()
        assert page.locator("#move-at").input_value() == f"{friday}T15:30"

        # A published post is not draggable: dropped elsewhere, nothing happens.
        page.goto(f"{base_url}/calendar?campaign={CAMPAIGN}")
        out = grid_post(page, done)
        assert out.get_attribute("data-movable") == "0"
        before = stored(herald, done)
        out.drag_to(page.locator("td[data-slot]").first)
        assert page.locator(".note-success").count() == 0
        assert stored(herald, done) == before


def test_the_browser_zone_is_used_when_nothing_else_decides(browser: Any, base_url: str, herald: Any) -> None:
    monday = next_monday()
    post_id = queue(herald, seoul(monday, 9), "뉴욕에서 보는 글")
    with browser_page(browser, timezone_id="America/New_York", **ENGLISH) as page:
        sign_in(page, base_url, STAFF)
        page.goto(f"{base_url}/calendar?date={monday}")
        # The script reports the zone and the page loads once more in it.
        page.wait_for_selector('[data-calendar][data-zone-source="browser"]')
        assert page.locator("[data-calendar]").get_attribute("data-zone") == "America/New_York"
        sunday = monday - timedelta(days=1)  # 09:00 Monday in Seoul is 19:00 or 20:00 Sunday in New York
        shown = seoul(monday, 9).astimezone(ZoneInfo("America/New_York"))
        page.goto(f"{base_url}/calendar?date={sunday}")
        assert grid_post(page, post_id).locator("time").inner_text() == shown.strftime("%H:%M")


def _seed_week(herald: Any) -> None:
    """A week with something of every state, around now, as the screenshots show it."""
    now = datetime.now(UTC).astimezone(SEOUL).replace(minute=0, second=0, microsecond=0)
    published = queue(herald, None, "봄 캠페인을 시작합니다 — our spring campaign starts today")
    settle(herald, published, states.PUBLISHED, url="https://social.example/@herald/10")
    failed = queue(herald, None, "할인 안내 — spring sale", channels=("x1",))
    settle(herald, failed, states.FAILED, error="X: HTTP 403: duplicate content")
    partly = queue(herald, None, "반은 나갔어요 — out on one channel")
    for row in herald.delivery_log(post_id=partly):
        with herald.db.session() as s:
            claim = deliveries.claim(s, row.delivery_id, lease_seconds=30)
            assert claim is not None
            if row.channel == "m1":
                assert deliveries.mark_published(
                    s, row.delivery_id, claim.token, remote_id="7", remote_url=""
                )
            else:
                assert deliveries.mark_final(
                    s, row.delivery_id, claim.token, states.FAILED, error="X: HTTP 503"
                )
        herald.queue.release(row.delivery_id)
    for hours, text in (
        (2, "오늘의 사진 — photo of the day"),
        (5, "행사 안내 — event details"),
        (26, "내일 아침 인사 — good morning"),
        (29, "참가 신청 마감 — last call to sign up"),
        (51, "현장 소식 — live from the venue"),
        (76, "감사 인사 — thank you"),
    ):
        queue(herald, now + timedelta(hours=hours, minutes=30 if hours % 2 else 0), text)
    herald.set_campaign("review", timezone="Asia/Seoul", requires_approval=True)
    herald.add_post(
        PostRequest(
            channels=["m1"],
            text="승인 대기 — waiting for a manager",
            campaign="review",
            at=now + timedelta(hours=28),
        ),
        actor=actor_of(herald, STAFF),
    )


def test_phone_shows_a_list_of_days_and_the_screenshots(browser: Any, base_url: str, herald: Any) -> None:
    _seed_week(herald)
    with browser_page(browser, viewport=DESKTOP, **ENGLISH) as page:
        sign_in(page, base_url, STAFF)
        page.goto(f"{base_url}/calendar?tz=Asia/Seoul")
        assert page.locator(".cal-grid").is_visible() and not page.locator(".cal-list").is_visible()
        assert page.locator(".cal-grid .cal-post").count() >= 3
        shot = screenshot_path("calendar-1280")
        if shot:
            page.screenshot(path=str(shot), full_page=True)

    with browser_page(browser, viewport=PHONE, device_scale_factor=2, is_mobile=True, **ENGLISH) as page:
        sign_in(page, base_url, STAFF)
        page.goto(f"{base_url}/calendar?tz=Asia/Seoul")
        assert not page.locator(".cal-grid").is_visible()
        days = page.locator(".cal-list .cal-day")
        assert days.count() == 7 and days.first.is_visible()
        assert page.locator(".cal-list .cal-post").count() >= 3
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        # States are words, not colour alone.
        assert page.locator(".cal-list .badge-cal").first.inner_text() in (
            "scheduled",
            "published",
            "failed",
            "partly",
        )
        shot = screenshot_path("calendar-390")
        if shot:
            page.screenshot(path=str(shot), full_page=True)

        # The keyboard works in the list too (the drag is for the grid).
        first = page.locator('.cal-list .cal-post[data-movable="1"]').first
        post_id = first.get_attribute("data-post")
        local = first.get_attribute("data-local")
        assert post_id and local
        first.focus()
        page.keyboard.press("ArrowDown")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        later = datetime.fromisoformat(local) + timedelta(hours=1)
        expected = later.replace(tzinfo=SEOUL).astimezone(UTC).replace(tzinfo=None)
        assert expected in stored(herald, post_id)
