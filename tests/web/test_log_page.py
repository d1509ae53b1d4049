"""The managers' read pages, ``/log`` and ``/audit``, over a real service (Redis + SQLite) through
the real sign-in: what a row shows (author, approver, link, error in plain words, tries,
lateness), filters (in the address, to share), the "older" and "newer" links walking every row
once, the export of a filter, who may see them, hostile input, and escaping of every text
someone else chose."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from herald.service import PostRequest
from tests.web import ADMIN, MANAGER, PASSWORD, STAFF, add_channels, add_people, settle, web_client

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
KOREAN = "평화 통일, together"


def actor_of(herald: Any, email: str) -> Any:
    """The actor of a person, as their signed-in session has it."""
    signed = herald.sign_in(email, PASSWORD, address="10.0.0.9")
    sid, _ = herald.start_session(signed.user_id)
    return herald.session(sid).actor


@pytest.fixture
def people(herald: Any) -> None:
    add_channels(herald)
    add_people(herald)


@pytest.fixture
def manager(herald: Any, people: None) -> Iterator[TestClient]:
    with web_client(herald, MANAGER) as c:
        yield c


def rows_of(page: str) -> list[tuple[str, str]]:
    """(post id, channel) of each row of the log table."""
    return re.findall(
        r'<code title="([0-9a-f-]+)">.*?<td class="nowrap">(\S+) <span class="platform">', page, re.S
    )


def older_link(page: str, name: str) -> str | None:
    m = re.search(rf'<a href="(/{name}\?[^"]+)" rel="next">', page)
    return html.unescape(m.group(1)) if m else None


# -- /log --------------------------------------------------------------------------------------


def test_a_row_shows_who_wrote_and_approved_the_post_and_where_it_went(
    herald: Any, people: None, manager: TestClient
) -> None:
    herald.set_campaign("launch", requires_approval=True)
    staff, boss = actor_of(herald, STAFF), actor_of(herald, MANAGER)
    approved = herald.add_post(
        PostRequest(channels=["m1"], text=KOREAN, at=None, campaign="launch"), actor=staff
    )
    herald.approve_post(approved, actor=boss)
    settle(herald, approved, "published", url="https://social.example/@herald/1")
    failed = herald.add_post(PostRequest(channels=["x1"], text="second post", at=None))
    settle(herald, failed, "failed", error="X said: duplicate content")
    waiting = herald.add_post(
        PostRequest(channels=["m1"], text="waits", at=None, campaign="launch"), actor=staff
    )

    r = manager.get("/log")
    assert r.status_code == 200
    page = r.text
    assert 'href="/log" aria-current="page"' in page
    assert KOREAN in page and "second post" in page
    assert '<span class="badge badge-published">published</span>' in page
    assert '<span class="badge badge-failed">failed</span>' in page
    assert 'href="https://social.example/@herald/1"' in page
    assert "X said: duplicate content" in page
    assert (
        'm1 <span class="platform">mastodon</span>' in page and 'x1 <span class="platform">x</span>' in page
    )
    row = page[page.index(f'title="{approved}"') :].split("</tr>", 1)[0]
    assert "launch" in row and STAFF in row and MANAGER in row and "<time" in row
    assert "not needed" in page.split(f'title="{failed}"', 1)[1].split("</tr>", 1)[0]
    assert "pending" in page.split(f'title="{waiting}"', 1)[1].split("</tr>", 1)[0]
    assert 'href="/log.csv"' in page


def test_filters_narrow_the_rows_and_carry_into_the_export_link(
    herald: Any, people: None, manager: TestClient
) -> None:
    a = herald.add_post(PostRequest(channels=["m1", "x1"], text="one", at=None, campaign="spring"))
    herald.set_campaign("autumn")
    b = herald.add_post(PostRequest(channels=["m1"], text="two", at=None, campaign="autumn"))
    settle(herald, b, "failed", error="boom")

    page = manager.get("/log", params={"channel": "m1", "status": "failed"}).text
    assert rows_of(page) == [(b, "m1")]
    assert 'href="/log.csv?channel=m1&amp;status=failed"' in page
    assert '<option value="m1" selected>' in page and '<option value="failed" selected>' in page

    page = manager.get("/log", params={"campaign": "spring"}).text
    assert sorted(rows_of(page)) == sorted([(a, "m1"), (a, "x1")])

    r = manager.get("/log", params={"status": "sideways"})
    assert r.status_code == 422
    assert "unknown status" in r.text and "status:" in r.text


def test_older_pages_show_every_row_once(
    herald: Any, people: None, manager: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("herald.web.routes.log.LOG_PAGE_ROWS", 3)
    for n in range(4):
        herald.add_post(PostRequest(channels=["m1", "x1"], text=f"post {n}", at=None))
    expected = [(row.post_id, row.channel) for row in herald.delivery_log()]
    assert len(expected) == 8

    seen: list[tuple[str, str]] = []
    url: str | None = "/log"
    pages = 0
    while url:
        r = manager.get(url)
        assert r.status_code == 200
        seen += rows_of(r.text)
        url = older_link(r.text, "log")
        pages += 1
    assert pages == 3
    # Newest post first (within a post the keyset page has an order of its own).
    assert len(seen) == len(set(seen)) and set(seen) == set(expected)
    assert [post for post, _ in seen][::2] == [post for post, _ in expected][::2]

    r = manager.get("/log", params={"after": "not-a-cursor"})
    assert r.status_code == 422 and "cursor" in r.text


def test_only_http_links_are_links(herald: Any, people: None, manager: TestClient) -> None:
    pid = herald.add_post(PostRequest(channels=["m1"], text="sneaky", at=None))
    settle(herald, pid, "published", url="javascript:alert(document.cookie)")
    page = manager.get("/log").text
    assert "sneaky" in page and "javascript:" not in page


def test_texts_from_others_are_escaped_on_the_log_and_audit_pages(herald: Any, people: None) -> None:
    herald.add_channel(SCRIPT, "mastodon", {"access_token": "tok-xss-1"}, base_url="http://127.0.0.1:9/m")
    herald.set_campaign(SCRIPT)
    pid = herald.add_post(PostRequest(channels=[SCRIPT], text=SCRIPT, at=None, campaign=SCRIPT))
    settle(herald, pid, "failed", error=f"platform said {SCRIPT}")
    herald.create_token(MANAGER, name=SCRIPT)
    with web_client(herald, ADMIN) as c:
        for path in ("/log", "/audit"):
            page = c.get(path).text
            assert SCRIPT not in page, path
            assert ESCAPED in page, path
        assert f"platform said {ESCAPED}" in c.get("/log").text
        assert f"name: {ESCAPED}" in c.get("/audit").text


# -- /audit ------------------------------------------------------------------------------------


def test_audit_shows_events_newest_first_with_their_detail(herald: Any, people: None) -> None:
    herald.set_campaign("launch", timezone="Asia/Seoul")
    herald.create_token(STAFF, name="nightly import", role="staff")
    with web_client(herald, ADMIN) as c:
        r = c.get("/audit")
    assert r.status_code == 200
    page = r.text
    assert 'href="/audit" aria-current="page"' in page
    assert page.index("token.create") < page.index("campaign.add") < page.index("user.add")
    assert "name: nightly import" in page and f"for: {STAFF}" in page
    assert "timezone: Asia/Seoul" in page
    assert "campaigns: (everywhere)" in page
    assert 'href="/audit.csv"' in page


def test_audit_older_link_continues_before_the_last_event(
    herald: Any, people: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("herald.web.routes.audit.AUDIT_PAGE_ROWS", 4)
    for n in range(6):
        herald.set_campaign(f"campaign-{n}")
    with web_client(herald, ADMIN) as c:
        expected = [e.action for e in herald.audit_log(limit=1000)]  # the sign-in is one too
        seen: list[str] = []
        url: str | None = "/audit"
        while url:
            page = c.get(url).text
            seen += re.findall(r"<td><code>([a-z.-]+)</code></td>", page)
            url = older_link(page, "audit")
        assert seen == expected and len(expected) > 8
        assert c.get("/audit", params={"before_id": "soon"}).status_code == 422


def test_a_campaign_manager_sees_only_their_campaigns_events(herald: Any, people: None) -> None:
    herald.set_campaign("spring")
    herald.set_campaign("autumn")
    herald.add_user("spring@herald.test", PASSWORD, "manager", ["spring"])
    with web_client(herald, "spring@herald.test") as c:
        page = c.get("/audit").text
    assert "spring" in page and "autumn" not in page
    assert "user.add" not in page  # people are no campaign's: admins only


# -- who may see them --------------------------------------------------------------------------

REVIEW_PATHS = ("/log", "/log.csv", "/audit", "/audit.csv")


def test_staff_are_refused(herald: Any, people: None) -> None:
    with web_client(herald, STAFF) as c:
        for path in (*REVIEW_PATHS, "/users"):
            r = c.get(path)
            assert r.status_code == 403, path
            assert "Not allowed" in r.text and r.headers["content-type"].startswith("text/html")


def test_anonymous_visitors_are_sent_to_sign_in(herald: Any, people: None) -> None:
    with web_client(herald, None) as c:
        for path in (*REVIEW_PATHS, "/users", "/account"):
            r = c.get(path, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/login", path


def test_navigation_offers_the_pages_by_role(herald: Any, people: None) -> None:
    with web_client(herald, STAFF) as c:
        page = c.get("/").text
    assert 'href="/log"' not in page and 'href="/users"' not in page and 'href="/account"' in page
    with web_client(herald, MANAGER) as c:
        page = c.get("/").text
    assert 'href="/log"' in page and 'href="/audit"' in page and 'href="/users"' not in page


# -- /log at any size: filters, both ways, the export, words a person can act on ------------------


def newer_link(page: str) -> str | None:
    m = re.search(r'<a href="(/log\?[^"]+)" rel="prev">', page)
    return html.unescape(m.group(1)) if m else None


def test_platform_dates_and_words_filter_in_a_shareable_address(
    herald: Any, people: None, manager: TestClient
) -> None:
    from datetime import timedelta

    from herald.store.models import utcnow

    soon = utcnow() + timedelta(days=3)
    kr = herald.add_post(PostRequest(channels=["m1"], text=f"{KOREAN} 봄 행사", at=soon))
    en = herald.add_post(
        PostRequest(channels=["x1"], text="Spring market, 100% local", at=soon + timedelta(days=2))
    )
    params = {"platform": "x", "from": (soon + timedelta(days=1)).date().isoformat(), "q": "100% LOCAL"}
    r = manager.get("/log", params=params)
    assert r.status_code == 200
    assert rows_of(r.text) == [(en, "x1")]
    assert '<option value="x" selected>' in r.text and 'value="100% LOCAL"' in r.text
    assert "1 delivery matches" not in r.text  # words: the counts cannot tell how many
    # The export link carries every filter; the download holds the same rows.
    link = re.search(r'href="(/log\.csv\?[^"]+)" download', r.text)
    assert link is not None
    csv_rows = list(csv.reader(io.StringIO(manager.get(html.unescape(link.group(1))).text.lstrip("\ufeff"))))
    assert [row[0] for row in csv_rows[1:]] == [en]
    assert rows_of(manager.get("/log", params={"q": "봄 행사"}).text) == [(kr, "m1")]
    page = manager.get("/log", params={"platform": "mastodon"}).text
    assert rows_of(page) == [(kr, "m1")] and "1 delivery matches." in page


def test_newer_and_older_links_walk_the_log_both_ways(
    herald: Any, people: None, manager: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("herald.web.routes.log.LOG_PAGE_ROWS", 3)
    for n in range(4):
        herald.add_post(PostRequest(channels=["m1", "x1"], text=f"post {n}", at=None))
    first = manager.get("/log").text
    assert newer_link(first) is None and "Newest" not in first
    second_url = older_link(first, "log")
    assert second_url is not None
    second = manager.get(second_url).text
    back_url = newer_link(second)
    assert back_url is not None and "before=" in back_url
    assert rows_of(manager.get(back_url).text) == rows_of(first)
    assert manager.get("/log", params={"after": "x", "before": "y"}).status_code == 422


def test_the_export_streams_every_row_of_the_filter_and_the_persons_campaigns(
    herald: Any, people: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("herald.web.routes.log.EXPORT_PAGE_ROWS", 2)
    herald.set_campaign("autumn")
    for n in range(3):
        herald.add_post(PostRequest(channels=["m1", "x1"], text=f"=spring {n}", at=None, campaign="spring"))
        herald.add_post(PostRequest(channels=["m1"], text=f"autumn {n}", at=None, campaign="autumn"))
    herald.add_user("spring@herald.test", PASSWORD, "manager", ["spring"])
    with web_client(herald, "spring@herald.test") as c:
        r = c.get("/log.csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
        assert len(rows) == 1 + 6 and {row[2] for row in rows[1:]} == {"spring"}
        assert {row[6] for row in rows[1:]} == {f"'=spring {n}" for n in range(3)}  # neutralised
        only_x = list(
            csv.reader(io.StringIO(c.get("/log.csv", params={"channel": "x1"}).text.lstrip("\ufeff")))
        )
        assert [row[3] for row in only_x[1:]] == ["x1"] * 3
        bad = c.get("/log.csv", params={"from": "soon"})
        assert bad.status_code == 422 and "not a date or time" in bad.text


def test_errors_in_plain_words_tries_and_lateness(herald: Any, people: None, manager: TestClient) -> None:
    failed = herald.add_post(PostRequest(channels=["m1"], text="refused", at=None))
    settle(herald, failed, "failed", error="mastodon: HTTP 401: The access token is invalid")
    sent = herald.add_post(PostRequest(channels=["x1"], text="out", at=None))
    settle(herald, sent, "published", url="https://x.example/i/1")
    page = manager.get("/log").text
    row = page.split(f'title="{failed}"', 1)[1].split("</tr>", 1)[0]
    assert "Mastodon no longer accepts this channel&#39;s sign-in" in row
    assert "The access token is invalid" in row  # the platform's own words stay beside it
    assert "1 try" in row
    sent_row = page.split(f'title="{sent}"', 1)[1].split("</tr>", 1)[0]
    assert "on time" in sent_row


def test_an_empty_log_says_what_to_do(herald: Any, people: None, manager: TestClient) -> None:
    page = manager.get("/log").text
    assert "Nothing has been queued yet" in page and 'href="/compose"' in page
    herald.add_post(PostRequest(channels=["m1"], text="one", at=None))
    page = manager.get("/log", params={"status": "failed"}).text
    assert "No deliveries match these filters." in page and "Show the whole log" in page


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": "2026-05-02", "to": "2026-05-01"}, "to"),
        ({"q": "x" * 201}, "q"),
        ({"q": "nul\x00byte"}, "q"),
        ({"platform": "myspace"}, "platform"),
        ({"after": "AAAA"}, "cursor"),
        ({"before": "not-a-cursor"}, "cursor"),
    ],
)
def test_hostile_filters_are_refused_on_the_page(
    herald: Any, people: None, manager: TestClient, params: dict[str, str], field: str
) -> None:
    r = manager.get("/log", params=params)
    assert r.status_code == 422
    assert f"{field}:" in r.text and "Traceback" not in r.text


def test_the_api_takes_the_same_filters(herald: Any, people: None) -> None:
    from datetime import timedelta

    from herald.store.models import utcnow

    soon = utcnow() + timedelta(days=3)
    herald.add_post(PostRequest(channels=["m1"], text="not this one", at=soon))
    wanted = herald.add_post(PostRequest(channels=["x1"], text="Harbor lights", at=soon + timedelta(days=2)))
    token = herald.create_token(MANAGER).token.reveal()
    with web_client(herald, None) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        day = (soon + timedelta(days=1)).date().isoformat()
        r = c.get("/api/v1/log", params={"from": day, "q": "harbor"})
        assert r.status_code == 200, r.text
        assert [i["post_id"] for i in r.json()["items"]] == [wanted]
        assert c.get("/api/v1/log", params={"to": "soon"}).status_code == 422
        assert c.get("/api/v1/log", params={"limit": 100000}).status_code == 422
        assert c.get("/api/v1/log", params={"q": "x" * 201}).status_code == 422
        assert c.get("/api/v1/log", params={"cursor": "%%%"}).status_code == 422
