"""A real browser for the web tests: Debian's Chromium, headless, driven by Playwright, against
the app served by uvicorn on 127.0.0.1 (one of the default ``HERALD_ALLOWED_HOSTS``).

Never run ``playwright install``: these tests use the system's Chromium and are skipped when
it is missing (``make test`` installs Debian's package). Set ``HERALD_SCREENSHOT`` to a path to
save the README's screenshots: the dashboard there, the others beside it (``screenshot_path``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from herald.embedded import free_port
from tests.web import PASSWORD, PEOPLE

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_SECONDS = 10.0
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

#: Marks for a module of browser tests: skipped, with the reason, where Chromium is missing.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (install Debian's chromium package)"
    ),
]
#: Console messages Chromium logs for an answer the test expects (a refused form is 422, a
#: wrong password or code 401, a page the role may not see 403): not errors of the page.
EXPECTED_STATUS_MESSAGES = ("status of 401", "status of 403", "status of 422")


def add_person(herald: Any, *emails: str) -> None:
    """Some of the fixture people (``tests.web.PEOPLE``), installation-wide: each costs an
    argon2 hash, so a test adds only those it signs in as."""
    for email in emails:
        herald.add_user(email, PASSWORD, PEOPLE[email], [])


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser (Playwright's ``Browser``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="test-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not server.started:
        assert thread.is_alive(), "uvicorn exited while starting"
        assert time.monotonic() < deadline, "uvicorn did not start in time"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(SERVER_START_SECONDS)


@contextmanager
def browser_page(browser: Any, **context_options: Any) -> Iterator[Any]:
    """A page in a fresh context (its own cookies). Fails on console errors, which is where
    Chromium reports Content-Security-Policy violations (expected error answers aside)."""
    # English unless a test asks otherwise: pages answer in the browser's language (issue 18),
    # and most tests read the English text; tests/web/test_korean_browser.py opens Korean ones.
    options = {"viewport": DESKTOP, "locale": "en-US", **context_options}
    context = browser.new_context(**options)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert [e for e in errors if not any(s in e for s in EXPECTED_STATUS_MESSAGES)] == []


def submit_sign_in(page: Any, base_url: str, email: str, password: str = PASSWORD) -> Any:
    """Fill and send the sign-in form as a person would; the answer to the form post."""
    page.goto(base_url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Sign in").click()
    return nav.value


def sign_in(page: Any, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form and land on the dashboard, signed in as ``email``."""
    submit_sign_in(page, base_url, email, password)
    assert page.url == base_url + "/", f"signing in as {email} ended on {page.url}"
    assert page.locator(".signout .who").inner_text() == email


def note_post_id(page: Any) -> str:
    """The post id in the dashboard's note ("Queued. Post <id> is queued ...")."""
    return str(page.get_by_role("status").locator("code").first.inner_text())


def screenshot_path(name: str) -> Path | None:
    """Where to save the screenshot ``name`` (beside ``HERALD_SCREENSHOT``), or None."""
    target = os.environ.get("HERALD_SCREENSHOT")
    if not target:
        return None
    folder = Path(target).parent
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"screenshot-{name}.png"
