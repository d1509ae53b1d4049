"""Accounts, roles and approval in a real browser (headless Chromium, Playwright) over the whole
system: the app served by uvicorn, a real dispatcher and Celery worker, the platform sandbox.

Staff write a Korean and English post with a photo for three channels in a campaign that needs
approval; nothing goes out until a manager approves it; then it is published, shown in the log
with its links and exported as CSV. Staff are refused the manager's and the admin's pages. An
admin signs in with a second factor (and, where the settings require one, sets it up first).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from herald.core.settings import reset_settings
from herald.runtime import service
from herald.web import create_app
from tests.e2e.browser import (
    BROWSER_MARKS,
    add_person,
    browser_page,
    chromium,
    note_post_id,
    screenshot_path,
    served,
    sign_in,
    submit_sign_in,
)
from tests.e2e.conftest import wait_for
from tests.photos import jpeg
from tests.web import ADMIN, MANAGER, STAFF

pyotp = pytest.importorskip("pyotp")
pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
pytestmark = BROWSER_MARKS

CAMPAIGN = "통일-봄"
TEXT = "평화 통일은 경청에서 시작됩니다. Peaceful unification starts with listening."
#: X's own text (per-channel variant): the others get ``TEXT``.
X_TEXT = "평화는 경청에서 — peace starts with listening #OneKorea"
ALT = "서울에서 현수막을 든 자원봉사자들 — volunteers holding a banner in Seoul"
#: Pages staff may not open: the log and its export, the audit log, people, campaigns.
MANAGER_AND_ADMIN_PAGES = ("/log", "/log.csv", "/audit", "/users", "/campaigns")
#: The dispatcher's consistency pass (HERALD_CONSISTENCY_INTERVAL_SECONDS in the tests) rebuilds
#: Redis from SQL: a pending post must survive one untouched.
CONSISTENCY_PASS_SECONDS = 3.0


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def test_staff_submit_manager_approves_it_goes_out_and_is_logged(
    browser: Any,
    public_web: str,
    three_channels: dict[str, str],
    running: Any,
    sim: Any,
    herald: Any,
    tmp_path: Path,
) -> None:
    herald.set_campaign(CAMPAIGN, requires_approval=True)
    add_person(herald, STAFF, MANAGER)
    base = public_web
    photo = tmp_path / "현수막.jpg"
    photo.write_bytes(jpeg(160, 120, color=(20, 120, 200)))

    with browser_page(browser) as staff:
        sign_in(staff, base, STAFF)
        nav = staff.get_by_role("navigation", name="Main")
        for hidden in ("Log", "Audit", "Campaigns", "People"):
            assert nav.get_by_role("link", name=hidden).count() == 0, hidden
        nav.get_by_role("link", name="Compose").click()
        staff.wait_for_url(base + "/compose")
        staff.get_by_label("Text", exact=True).fill(TEXT)
        for name in three_channels:
            staff.locator(f'input[name="channels"][value="{name}"]').check()
        staff.get_by_text("Different text per channel").click()
        staff.get_by_label("Text for kr-x").fill(X_TEXT)
        staff.get_by_label("Photo 1", exact=True).set_input_files(str(photo))
        staff.get_by_label("Alt text for photo 1").fill(ALT)
        staff.get_by_label("Post now").check()
        staff.get_by_label("Campaign").fill(CAMPAIGN)
        staff.get_by_role("button", name="Queue post").click()

        staff.wait_for_url(base + "/")
        submitted_at = time.monotonic()
        note = staff.get_by_role("status")
        assert "Submitted for approval." in note.inner_text()
        post_id = note_post_id(staff)
        waiting = staff.locator("table.approvals tbody tr")
        assert waiting.count() == 1
        assert post_id[:8] in waiting.inner_text() and "waiting for a manager" in waiting.inner_text()
        assert waiting.get_by_role("button").count() == 0  # staff cannot approve their own post

        # (c) The log, its export and the admin's pages are refused with a 403 page.
        for path in MANAGER_AND_ADMIN_PAGES:
            answer = staff.goto(base + path)
            assert answer is not None and answer.status == 403, path
            assert staff.get_by_role("heading", level=1).inner_text() == "Not allowed", path

    with browser_page(browser) as manager:
        sign_in(manager, base, MANAGER)
        # Nothing unapproved reaches the content queue, even after a consistency pass.
        time.sleep(max(0.0, CONSISTENCY_PASS_SECONDS - (time.monotonic() - submitted_at)))
        assert {r.status for r in herald.delivery_log(post_id=post_id)} == {"scheduled"}
        health = herald.queue_health()
        assert (health.due, health.inflight) == (0, 0)
        assert sim.ledger() == []

        row = manager.locator("table.approvals tbody tr").filter(has_text=post_id[:8])
        assert CAMPAIGN in row.inner_text() and STAFF in row.inner_text()
        assert "(+1 photo)" in row.inner_text()
        shot = screenshot_path("approval")
        if shot:
            manager.screenshot(path=str(shot), full_page=True)
        row.get_by_role("button", name=f"Approve post {post_id[:8]}").click()
        manager.wait_for_url(base + "/")
        assert f"Approved. Post {post_id} is queued." in manager.get_by_role("status").inner_text()
        assert manager.locator("table.approvals").count() == 0

        # Published on the sandbox, once per channel, each with its own text and the alt text.
        assert wait_for(lambda: len(sim.ledger()) >= 3, timeout=30), herald.delivery_log(post_id=post_id)
        ledger = sim.ledger()
        assert sorted(e.platform for e in ledger) == sorted(three_channels.values())
        for entry in ledger:
            expected = X_TEXT if entry.platform == "x" else TEXT
            assert entry.text.startswith(expected[:20]), (entry.platform, entry.text)
            assert [m.alt_text for m in entry.media] == [ALT], entry.platform
            assert not any(m.has_gps or m.has_exif for m in entry.media), entry.platform

        # The manager watches the dashboard until the three deliveries show as published.
        def published_on_dashboard() -> bool:
            manager.reload()
            rows = manager.locator("table.log tbody tr").filter(has_text=post_id[:8])
            return bool(rows.locator(".badge-published").count() == 3)

        assert wait_for(published_on_dashboard, timeout=20)

        # (b) The log shows each delivery with its link and who approved it.
        manager.get_by_role("navigation", name="Main").get_by_role("link", name="Log").click()
        manager.wait_for_url(base + "/log")
        rows = manager.locator("table.log tbody tr").filter(has_text=post_id[:8])
        assert rows.count() == 3
        for entry in ledger:
            link = rows.locator(f'a[href="{entry.url}"]')
            assert link.count() == 1, entry.url
            assert link.get_attribute("rel") == "noopener noreferrer"
        for i in range(3):
            assert MANAGER in rows.nth(i).inner_text() and STAFF in rows.nth(i).inner_text()

        with manager.expect_download() as download:
            manager.get_by_role("link", name="Export CSV").click()
        saved = tmp_path / "log.csv"
        download.value.save_as(saved)
        with saved.open(encoding="utf-8-sig", newline="") as f:
            exported = [r for r in csv.DictReader(f) if r["post_id"] == post_id]
        assert sorted(r["remote_url"] for r in exported) == sorted(e.url for e in ledger)
        for r in exported:
            assert (r["status"], r["campaign"]) == ("published", CAMPAIGN)
            assert (r["created_by"], r["approved_by"]) == (STAFF, MANAGER)
        assert {r["text"] for r in exported} == {TEXT, X_TEXT}


def _wrong_code(totp: Any) -> str:
    """A six-digit code that no step near now accepts (the server allows one step of drift)."""
    now = time.time()
    near = {totp.at(now + k * totp.interval) for k in range(-2, 3)}
    return next(code for n in range(1000) if (code := f"{n:06d}") not in near)


def test_admin_signs_in_with_a_second_factor(browser: Any, herald: Any) -> None:
    add_person(herald, ADMIN)
    totp = pyotp.parse_uri(herald.enable_second_factor(ADMIN))
    with served(create_app(herald)) as base, browser_page(browser) as page:
        shot = screenshot_path("sign-in")
        if shot:
            page.goto(base + "/login")
            page.screenshot(path=str(shot), full_page=True)
        submit_sign_in(page, base, ADMIN)
        assert page.url == base + "/login/code"
        assert page.get_by_role("heading", level=1).inner_text() == "Second factor"
        # The password alone is not a signed-in session.
        page.goto(base + "/campaigns")
        assert page.url == base + "/login"
        page.goto(base + "/login/code")

        page.get_by_label("Code").fill(_wrong_code(totp))
        with page.expect_navigation() as nav:
            page.get_by_role("button", name="Continue").click()
        assert nav.value.status == 401
        assert "Wrong or already used code." in page.get_by_role("alert").inner_text()
        assert page.locator(".signout .who").count() == 0

        page.get_by_label("Code").fill(totp.now())
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(base + "/")
        assert page.locator(".signout .who").inner_text() == ADMIN
        # The admin's pages (refused to staff above) open for the admin.
        for path in ("/campaigns", "/users"):
            answer = page.goto(base + path)
            assert answer is not None and answer.status == 200, path


def test_admin_sets_up_a_second_factor_where_one_is_required(
    browser: Any, herald_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HERALD_REQUIRE_ADMIN_SECOND_FACTOR", "true")
    reset_settings()
    svc = service()
    add_person(svc, ADMIN)
    with served(create_app(svc)) as base:
        with browser_page(browser) as page:
            submit_sign_in(page, base, ADMIN)
            assert page.url == base + "/login/setup"
            shot = screenshot_path("second-factor-setup")
            if shot:
                page.screenshot(path=str(shot), full_page=True)
            first = page.locator("#setup-uri").inner_text()
            assert first.startswith("otpauth://totp/Herald:")

            page.get_by_label("Code").fill(_wrong_code(pyotp.parse_uri(first)))
            with page.expect_navigation() as nav:
                page.get_by_role("button", name="Continue").click()
            assert nav.value.status == 401
            assert page.get_by_role("alert").is_visible()
            # Nothing was stored: a new secret is offered, and a code from it finishes the setup.
            uri = page.locator("#setup-uri").inner_text()
            assert uri.startswith("otpauth://totp/") and uri != first
            page.get_by_label("Code").fill(pyotp.parse_uri(uri).now())
            page.get_by_role("button", name="Continue").click()
            page.wait_for_url(base + "/")
            assert page.locator(".signout .who").inner_text() == ADMIN

        # The secret is kept: the next sign-in asks for a code, with no setup.
        with browser_page(browser) as page:
            submit_sign_in(page, base, ADMIN)
            assert page.url == base + "/login/code"
            assert page.locator("#setup-uri").count() == 0
