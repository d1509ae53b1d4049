"""Issue 16: the emergency stop button (``/stop``, the campaigns page, the dashboard), on the
real app, service, Redis and SQLite: the question first (what will happen, an optional
takedown), the stop only on ``confirm=yes``, the answer's counts, the paused badge, Resume.
A campaign's manager stops it; staff see no button and a forged POST is refused (403); a
POST without the session's CSRF token is refused; a manager of one campaign cannot stop
everything. Then the same in a real browser (headless Chromium through Playwright)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from herald.service import PostRequest
from herald.web import create_app
from tests.e2e.browser import BROWSER_MARKS, browser_page, chromium, served
from tests.e2e.browser import sign_in as browser_sign_in
from tests.web import ADMIN, BASE_URL, PASSWORD, csrf_of, sign_in

MANAGER_OF = "lead@herald.test"
STAFF_OF = "writer@herald.test"


@pytest.fixture
def world(herald: Any) -> dict[str, str]:
    """Campaigns ``spring`` and ``autumn``, a channel, a manager and a staff member of
    ``spring``, an installation-wide admin, and a queued post in each campaign."""
    herald.set_campaign("spring")
    herald.set_campaign("autumn")
    herald.add_channel("m1", "mastodon", {"access_token": "tok-123456"}, base_url="http://127.0.0.1:9")
    herald.add_user(MANAGER_OF, PASSWORD, "manager", ["spring"])
    herald.add_user(STAFF_OF, PASSWORD, "staff", ["spring"])
    herald.add_user(ADMIN, PASSWORD, "admin", [])
    at = datetime.now(UTC) + timedelta(hours=2)
    return {
        c: str(herald.add_post(PostRequest(channels=["m1"], text=f"{c} post", at=at, campaign=c)))
        for c in ("spring", "autumn")
    }


def _client(herald: Any, email: str) -> TestClient:
    client = TestClient(create_app(herald), base_url=BASE_URL, follow_redirects=False)
    sign_in(client, email)
    return client


def _states(herald: Any, post_id: str) -> set[str]:
    return {r.status for r in herald.delivery_log(post_id=post_id)}


def _paused(herald: Any) -> dict[str, bool]:
    return {c.name: c.paused for c in herald.list_campaigns()}


def test_a_manager_is_asked_first_then_stops_the_campaign_and_resumes_it(
    herald: Any, world: dict[str, str]
) -> None:
    with _client(herald, MANAGER_OF) as c:
        page = c.get("/stop")
        assert page.status_code == 200
        assert ">spring<" in page.text and ">autumn<" not in page.text  # only what they manage
        assert "Stop everything" not in page.text
        token = csrf_of(page.text)

        ask = c.post("/stop", data={"csrf_token": token, "scope": "campaign", "campaign": "spring"})
        assert ask.status_code == 200 and "Stop campaign spring?" in ask.text
        assert "take down what went out in the last" in ask.text
        assert _paused(herald)["spring"] is False  # the question stops nothing

        done = c.post(
            "/stop", data={"csrf_token": token, "scope": "campaign", "campaign": "spring", "confirm": "yes"}
        )
        assert done.status_code == 200, done.text
        assert re.search(r'id="held">1 queued delivery<', done.text)
        assert re.search(r'id="in-flight">0 being published', done.text)
        assert re.search(r'id="taken-down">0 posts<', done.text)
        assert _paused(herald) == {"spring": True, "autumn": False}
        assert _states(herald, world["spring"]) == {"held"} and _states(herald, world["autumn"]) == {"queued"}
        shown = c.get("/stop").text
        assert re.search(r"spring</th>\s*<td><span class=\"badge badge-held\">paused</span>", shown)
        assert "Resume<span" in shown

        back = c.post("/resume", data={"csrf_token": token, "scope": "campaign", "campaign": "spring"})
        assert back.status_code == 200 and "1 held delivery goes back on the queue" in back.text
    assert _paused(herald)["spring"] is False and _states(herald, world["spring"]) == {"queued"}
    actions = [e.action for e in herald.audit_log()]
    assert "stop" in actions and "resume" in actions


def test_staff_see_no_button_and_a_forged_post_is_refused(herald: Any, world: dict[str, str]) -> None:
    with _client(herald, STAFF_OF) as c:
        home = c.get("/")
        assert home.status_code == 200 and "Emergency stop" not in home.text
        assert c.get("/stop").status_code == 403
        token = csrf_of(home.text)
        for path in ("/stop", "/resume"):
            forged = c.post(
                path, data={"csrf_token": token, "scope": "campaign", "campaign": "spring", "confirm": "yes"}
            )
            assert forged.status_code == 403, path
    assert _paused(herald)["spring"] is False and _states(herald, world["spring"]) == {"queued"}


def test_a_post_without_the_csrf_token_is_refused(herald: Any, world: dict[str, str]) -> None:
    with _client(herald, MANAGER_OF) as c:
        for data in (
            {"scope": "campaign", "campaign": "spring", "confirm": "yes"},
            {"scope": "campaign", "campaign": "spring", "confirm": "yes", "csrf_token": "forged"},
        ):
            r = c.post("/stop", data=data)
            assert r.status_code == 403 and "Form expired" in r.text
    assert _paused(herald)["spring"] is False


def test_wrong_and_hostile_requests_are_refused_and_stop_nothing(herald: Any, world: dict[str, str]) -> None:
    with _client(herald, MANAGER_OF) as c:
        token = csrf_of(c.get("/stop").text)
        cases = [
            ({"scope": "everything", "confirm": "yes"}, 403, "needs the manager role everywhere"),
            ({"scope": "campaign", "campaign": "autumn", "confirm": "yes"}, 403, "needs the manager role"),
            ({"scope": "campaign", "campaign": "nowhere", "confirm": "yes"}, 404, "unknown campaign"),
            ({"scope": "campaign", "confirm": "yes"}, 422, "say what to stop"),
            ({"scope": "drop table", "confirm": "yes"}, 422, "say what to stop"),
            (
                {"scope": "campaign", "campaign": "spring", "takedown_hours": "soon", "confirm": "yes"},
                422,
                "not a number of hours",
            ),
            (
                {"scope": "campaign", "campaign": "spring", "takedown_hours": "-1", "confirm": "yes"},
                422,
                "in the last 1 to 168 hours",
            ),
            (
                {"scope": "campaign", "campaign": "<script>alert(1)</script>", "confirm": "yes"},
                404,
                "unknown campaign",
            ),
        ]
        for data, status, message in cases:
            r = c.post("/stop", data={"csrf_token": token, **data})
            assert r.status_code == status, (data, r.status_code, r.text[:300])
            assert message in r.text, (data, r.text[:500])
            assert "<script>alert(1)</script>" not in r.text
    assert _paused(herald) == {"spring": False, "autumn": False}
    assert _states(herald, world["spring"]) == {"queued"}


def test_an_admin_stops_everything_from_the_dashboard_and_campaigns_page(
    herald: Any, world: dict[str, str]
) -> None:
    with _client(herald, ADMIN) as c:
        home = c.get("/")
        assert "Stop everything…" in home.text
        token = csrf_of(home.text)
        assert 'name="campaign" value="autumn"' in c.get("/campaigns").text  # a Stop… per campaign
        done = c.post("/stop", data={"csrf_token": token, "scope": "everything", "confirm": "yes"})
        assert done.status_code == 200 and "Stopped: everything" in done.text
        assert re.search(r'id="held">2 queued deliveries<', done.text)
        assert _states(herald, world["autumn"]) == {"held"}
        home = c.get("/").text
        assert "Everything is stopped" in home and "Resume everything" in home
        back = c.post("/resume", data={"csrf_token": token, "scope": "everything"})
        assert back.status_code == 200 and "2 held deliveries go back" in back.text
    assert _states(herald, world["autumn"]) == {"queued"}


# -- in a real browser ---------------------------------------------------------------------------


@pytest.fixture
def base_url(herald: Any, world: dict[str, str]) -> Iterator[str]:
    with served(create_app(herald)) as url:
        yield url


def _in_browser(test: Any) -> Any:
    """The browser marks (``tests.e2e.browser``) on one test, not the whole module."""
    for mark in BROWSER_MARKS:
        test = mark(test)
    return test


@_in_browser
def test_in_the_browser_a_manager_stops_a_campaign_and_staff_have_no_button(
    herald: Any, world: dict[str, str], base_url: str
) -> None:
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    with chromium() as browser:
        with browser_page(browser) as page:
            browser_sign_in(page, base_url, MANAGER_OF)
            page.get_by_role("link", name="Stop or resume a campaign").click()
            page.get_by_role("button", name="Stop… spring").click()
            assert page.get_by_role("heading", name="Stop campaign spring?").is_visible()
            page.get_by_label("Also take down what went out in the last").fill("2")
            page.get_by_role("button", name="Stop spring now").click()
            assert page.get_by_role("heading", name="Stopped: spring").is_visible()
            assert page.locator("#held").inner_text() == "1 queued delivery"
            page.get_by_role("link", name="Back to the emergency stop page").click()
            row = page.get_by_role("row", name=re.compile("spring"))
            assert row.locator(".badge-held").inner_text() == "paused"
            assert row.get_by_role("button", name="Resume spring").is_visible()
        with browser_page(browser) as page:
            browser_sign_in(page, base_url, STAFF_OF)
            assert page.get_by_role("button", name=re.compile("Stop")).count() == 0
            assert page.get_by_role("link", name="Stop or resume a campaign").count() == 0
            # A forged POST from the staff member's own session, with their CSRF token: 403.
            token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
            forged = page.request.post(
                f"{base_url}/stop",
                form={"csrf_token": token or "", "scope": "campaign", "campaign": "spring", "confirm": "yes"},
            )
            assert forged.status == 403
    assert _paused(herald)["spring"] is True  # the manager's stop stands; the staff's did nothing
