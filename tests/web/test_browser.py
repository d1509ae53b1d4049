"""The web app in a real browser: Debian's Chromium, headless, driven by Playwright, against the
app served by uvicorn on 127.0.0.1 over a real service (Redis + SQLite), signed in through the
sign-in form (``tests.e2e.browser``).

Set ``HERALD_SCREENSHOT`` to a path to save a full-page screenshot of the dashboard there (the
README's ``docs/screenshot.png`` is made that way), and of the sign-in page beside it. Never run
``playwright install``: these tests use the system's Chromium and are skipped when it is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from herald.service import PostRequest
from herald.web import create_app
from tests.e2e.browser import (
    BROWSER_MARKS,
    PHONE,
    add_person,
    browser_page,
    chromium,
    note_post_id,
    served,
    sign_in,
)
from tests.web import (
    ADMIN,
    add_channels,
    face_jpeg,
    finish_takedowns,
    jpeg_bytes,
    settle,
    stored_photos,
)

KOREAN_AND_ENGLISH = "새 캠페인을 시작합니다 — launching our spring campaign"
#: 150 Hangul syllables weigh 300 on X (CJK counts double): over X's 280.
OVER_X_LIMIT = "가" * 150

pytestmark = BROWSER_MARKS
pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def base_url(herald: Any) -> Iterator[str]:
    """The app over this test's Herald (two channels, an admin), served by uvicorn
    in a thread."""
    add_channels(herald)
    add_person(herald, ADMIN)
    with served(create_app(herald)) as url:
        yield url


@pytest.fixture
def page(browser: Any, base_url: str) -> Iterator[Any]:
    """A fresh browser context, signed in as the admin through the sign-in form; fails the
    test on console errors (Content-Security-Policy violations among them)."""
    with browser_page(browser) as pg:
        sign_in(pg, base_url, ADMIN)
        yield pg


def seed(herald: Any) -> None:
    """A few posts in different states, as a worker would have left them."""
    published = herald.add_post(
        PostRequest(channels=["m1", "x1"], text="안녕하세요 hello", campaign="spring")
    )
    settle(herald, published, "published", url="https://social.example/@herald/110")
    failed = herald.add_post(PostRequest(channels=["x1"], text="Spring sale starts today", campaign="spring"))
    settle(
        herald,
        failed,
        "failed",
        error="X: HTTP 403: You are not allowed to create a Tweet with duplicate content.",
    )
    unsure = herald.add_post(PostRequest(channels=["m1"], text="봄 신상품 안내", campaign="spring"))
    settle(herald, unsure, "uncertain", error="Mastodon: read timed out after the post was sent")
    removed = herald.add_post(
        PostRequest(channels=["m1"], text="잘못 올린 글 — posted by mistake", campaign="spring")
    )
    settle(herald, removed, "published", url="https://social.example/@herald/111")
    herald.takedown(removed)
    finish_takedowns(herald, removed)
    pulling = herald.add_post(
        PostRequest(channels=["x1"], text="가격 정정 — price correction", campaign="spring")
    )
    settle(herald, pulling, "published", url="https://social.example/x/112")
    herald.takedown(pulling)
    herald.set_campaign("summer")
    late = herald.add_post(PostRequest(channels=["m1"], text="아침 인사 — good morning", campaign="summer"))
    settle(herald, late, "held", error="missed its 09:00 window by 3 h; waiting for a person")
    later = datetime_in_days(30)
    herald.add_post(
        PostRequest(channels=["m1", "x1"], text="다음 달 이벤트 예고 — next month's event", at=later)
    )


def datetime_in_days(days: int) -> Any:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)


def test_dashboard_compose_with_photo_and_screenshot(
    page: Any, base_url: str, herald: Any, tmp_path: Path
) -> None:
    seed(herald)
    page.goto(base_url + "/")
    rows = page.locator("table.log tbody tr")
    before = rows.count()
    assert before == 9
    log = page.locator("table.log")
    for status, n in (("published", 2), ("deleting", 1), ("deleted", 1), ("held", 1), ("failed", 1)):
        assert log.locator(f".badge-{status}").count() == n, status
    # The stats section: one row per campaign and platform, with the success rate.
    stats = page.locator("table.stats-table tbody tr")
    assert stats.count() == 5  # (none, spring, summer) x (mastodon, x) where there were posts
    spring = stats.filter(has_text="spring")
    assert "50% (1 of 2)" in spring.filter(has_text="mastodon").inner_text()
    link = page.locator('table.log a[target="_blank"]').first
    assert link.get_attribute("rel") == "noopener noreferrer"
    # The stylesheet loaded under the CSP and carries the Korean font stack.
    assert "Noto Sans CJK KR" in page.evaluate("getComputedStyle(document.body).fontFamily")

    photo = tmp_path / "blue.jpg"
    photo.write_bytes(jpeg_bytes((320, 200)))
    page.get_by_role("link", name="Compose").click()
    page.wait_for_url(base_url + "/compose")
    page.get_by_label("Text", exact=True).fill(KOREAN_AND_ENGLISH)
    page.locator('input[name="channels"][value="m1"]').check()
    page.get_by_label("Post now").check()
    page.get_by_label("Photo 1", exact=True).set_input_files(str(photo))
    page.get_by_label("Alt text for photo 1").fill("파란 사각형 — a blue rectangle")
    page.get_by_label("Campaign").fill("spring")
    page.get_by_role("button", name="Queue post").click()

    # The note comes from the server's session, not from the address.
    page.wait_for_url(base_url + "/")
    note = page.get_by_role("status").filter(has_text="Queued.")
    post_id = note_post_id(page)
    assert "is queued for m1" in note.inner_text()
    assert rows.count() == before + 1
    assert page.locator("table").first.get_by_text(KOREAN_AND_ENGLISH[:10]).count() == 1
    [post] = [p for p in herald.list_posts() if p.id == post_id]
    assert post.photos == 1 and post.text == KOREAN_AND_ENGLISH

    target = os.environ.get("HERALD_SCREENSHOT")
    if target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=target, full_page=True)
    # Shown once: the note is gone on the next visit.
    page.reload()
    assert page.get_by_role("status").count() == 0


def test_text_over_x_limit_is_refused_with_the_reason(page: Any, base_url: str, herald: Any) -> None:
    page.goto(base_url + "/compose")
    page.get_by_label("Text", exact=True).fill(OVER_X_LIMIT)
    page.locator('input[name="channels"][value="x1"]').check()
    page.get_by_label("Post now").check()
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Queue post").click()
    assert nav.value.status == 422
    alert = page.get_by_role("alert")
    assert "X allows 280" in alert.inner_text()
    # What was typed is still there; nothing was queued.
    assert page.get_by_label("Text", exact=True).input_value() == OVER_X_LIMIT
    assert page.locator('input[name="channels"][value="x1"]').is_checked()
    assert herald.list_posts() == []


def test_phone_width_has_no_sideways_scrolling(browser: Any, base_url: str, herald: Any) -> None:
    seed(herald)
    with browser_page(browser, viewport=PHONE, device_scale_factor=2, is_mobile=True) as pg:
        pg.goto(base_url + "/login")
        assert pg.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "/login"
        sign_in(pg, base_url, ADMIN)
        for path in ("/", "/compose", "/import", "/campaigns", "/log", "/audit", "/users"):
            answer = pg.goto(base_url + path)
            assert answer is not None and answer.status == 200, path
            # Wide tables scroll inside their own box; the page itself must fit the screen.
            # (Compared with the width asked for: a mobile viewport grows to fit what overflows.)
            width = pg.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (path, width)


def test_check_button_gives_a_verdict_per_channel(page: Any, base_url: str, herald: Any) -> None:
    page.goto(base_url + "/compose")
    page.get_by_label("Text", exact=True).fill(OVER_X_LIMIT)
    page.locator('input[name="channels"][value="m1"]').check()
    page.locator('input[name="channels"][value="x1"]').check()
    page.get_by_role("button", name="Check", exact=True).click()
    page.wait_for_load_state()
    assert "Fits 1 of 2 channels." in page.get_by_role("status").inner_text()
    table = page.locator("table.checks")
    mastodon = table.get_by_role("row").filter(has_text="m1")
    x = table.get_by_role("row").filter(has_text="x1")
    assert mastodon.get_by_text("fits", exact=True).is_visible()
    assert "150" in mastodon.inner_text() and "500" in mastodon.inner_text()
    assert x.get_by_text("does not fit", exact=True).is_visible()
    assert "X allows 280 weighted characters; this text has 300" in x.inner_text()
    # Nothing was queued, and the draft is still in the form.
    assert page.get_by_label("Text", exact=True).input_value() == OVER_X_LIMIT
    assert page.locator('input[name="channels"][value="x1"]').is_checked()
    assert herald.list_posts() == []


def test_faces_are_previewed_then_confirmed(page: Any, base_url: str, herald: Any, tmp_path: Path) -> None:
    photo = tmp_path / "얼굴.jpg"
    photo.write_bytes(face_jpeg(200))
    page.goto(base_url + "/compose")
    page.get_by_label("Text", exact=True).fill("행사 현장 사진 — photos from the event")
    page.locator('input[name="channels"][value="m1"]').check()
    page.get_by_label("Post now").check()
    page.get_by_label("Photo 1", exact=True).set_input_files(str(photo))
    page.get_by_label("Alt text for photo 1").fill("행사장의 참가자")
    page.get_by_label("Faces in photo 1").select_option("blur")
    page.get_by_role("button", name="Queue post").click()

    page.wait_for_url(base_url + "/compose")
    assert page.get_by_role("heading", level=1).inner_text() == "Check the faces before queueing"
    img = page.get_by_role("img", name="Photo 1, faces blurred: 행사장의 참가자")
    # Loaded as a data: URL under the policy (a refusal would be a console error).
    assert img.evaluate("i => i.complete && i.naturalWidth") == 400
    assert img.get_attribute("src").startswith("data:image/jpeg;base64,")
    assert page.get_by_text("1 face blurred.").is_visible()
    assert herald.list_posts() == []

    page.get_by_role("button", name="Confirm and queue").click()
    page.wait_for_url(base_url + "/")
    assert page.get_by_role("status").filter(has_text="Queued.").count() == 1
    post_id = note_post_id(page)
    [(_, faces, _)] = stored_photos(herald, post_id)
    assert faces == 1


def test_takedown_from_the_dashboard(page: Any, base_url: str, herald: Any) -> None:
    post_id = herald.add_post(PostRequest(channels=["m1", "x1"], text="잘못된 공지 — wrong notice"))
    settle(herald, post_id, "published", url="https://social.example/@herald/120")
    page.goto(base_url + "/")
    row = page.locator("table.log tbody tr").filter(has_text="m1")
    row.get_by_role("button", name=f"Take down… post {post_id[:8]} on m1").click()

    page.get_by_role("heading", name="Take this post down from every channel?").wait_for()
    assert herald.delivery_log(post_id=post_id)[0].status == "published"
    page.get_by_role("button", name="Take down from every channel").click()

    page.wait_for_url(base_url + "/")
    assert "being deleted from m1, x1" in page.get_by_role("status").inner_text()
    log = page.locator("table.log tbody tr")
    for channel in ("m1", "x1"):
        assert log.filter(has_text=channel).locator(".badge").inner_text() == "deleting"
