"""Live status over HTTP (real app, service, Redis and both databases, signed in through the real
form): the version a live page polls (304 while nothing changed, a new one when a post, a
delivery or a pause changes), the health panel in words, "Queued and upcoming" next due first
and paged to the end with what is paused, the import's progress, and who may read each: a
signed-out poll is 401 (never the sign-in page), a person sees only their campaigns."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from content_queue.heartbeats import Heartbeats, WorkerBeat
from herald.service import PostRequest
from tests.web import ADMIN, MANAGER, PASSWORD, STAFF, add_channels, add_people, csrf_of, settle, web_client

LIVE_GETS = ("/live/version", "/live/health", "/live/upcoming", "/live/progress/" + "a" * 32)


@pytest.fixture
def people(herald: Any) -> None:
    add_channels(herald)
    add_people(herald)


@pytest.fixture
def manager(herald: Any, people: None) -> Iterator[TestClient]:
    with web_client(herald, MANAGER) as c:
        yield c


def in_days(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


# -- who may poll ------------------------------------------------------------------------------


def test_signed_out_polls_are_401_not_the_sign_in_page(herald: Any, people: None) -> None:
    with web_client(herald, None) as anonymous:
        for path in LIVE_GETS:
            r = anonymous.get(path, follow_redirects=False)
            assert r.status_code == 401, path
            assert r.headers["content-type"].startswith("application/problem+json"), path
        # The page itself still sends a browser to sign in; it loads no script for nobody.
        login = anonymous.get("/login").text
        assert "live.js" not in login


def test_pages_load_the_script_as_a_file_of_the_app(manager: TestClient) -> None:
    page = manager.get("/").text
    # The live pages' script, beside the one every page loads for the browser's time zone.
    zone, tag = re.findall(r"<script[^>]*></script>", page)
    assert zone.startswith('<script src="/static/zone.js"') and "defer" in zone
    assert tag.startswith('<script src="/static/live.js" data-version="/live/version"') and "defer" in tag
    script = manager.get("/static/live.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "data-live" in script.text
    # The parts a page updates carry the attribute; the log page too.
    for part in ('id="health"', 'id="upcoming"', 'id="dashboard-log"', 'id="charts"'):
        assert re.search(part + r"[^>]*data-live", page), part
    assert re.search(r"<section[^>]*data-live", manager.get("/log").text)


# -- the version -------------------------------------------------------------------------------


def test_version_is_304_until_something_changes(
    herald: Any, manager: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("herald.service.changes.VERSION_TTL_SECONDS", 0.0)  # every poll reads
    first = manager.get("/live/version")
    assert first.status_code == 200 and first.headers["cache-control"] == "no-cache, private"
    etag = first.headers["etag"]
    assert etag == f'"{first.json()["version"]}"'
    assert manager.get("/live/version", headers={"If-None-Match": etag}).status_code == 304
    assert manager.get("/live/version", headers={"If-None-Match": f"W/{etag}"}).status_code == 304

    post_id = herald.add_post(PostRequest(channels=["m1"], text="new"))
    second = manager.get("/live/version", headers={"If-None-Match": etag})
    assert second.status_code == 200 and second.headers["etag"] != etag

    settle(herald, post_id, "published", url="https://social.example/1")  # a worker's doing
    third = manager.get("/live/version", headers={"If-None-Match": second.headers["etag"]})
    assert third.status_code == 200

    herald.pause_channel("x1", reason="checking")  # a pause moves it, even with nothing held
    fourth = manager.get("/live/version", headers={"If-None-Match": third.headers["etag"]})
    assert fourth.status_code == 200


def test_one_read_of_the_version_answers_a_process_s_polls_for_a_while(
    herald: Any, manager: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However many pages are open, the database is asked once per interval per process."""
    monkeypatch.setattr("herald.service.changes.VERSION_TTL_SECONDS", 0.5)
    etag = manager.get("/live/version").headers["etag"]
    herald.add_post(PostRequest(channels=["m1"], text="new"))
    assert manager.get("/live/version", headers={"If-None-Match": etag}).status_code == 304
    time.sleep(0.6)
    assert manager.get("/live/version", headers={"If-None-Match": etag}).status_code == 200


# -- the health panel --------------------------------------------------------------------------


def beat(herald: Any, name: str, age: float) -> None:
    now = time.time()
    Heartbeats(herald.queue.redis, herald.queue.keys).publish(
        WorkerBeat(name, 1, now - 60, now - age, True, None, 0, 0, 4)
    )


def test_health_says_in_words_what_is_wrong(herald: Any, manager: TestClient) -> None:
    bare = manager.get("/live/health")
    assert bare.status_code == 200 and 'id="health"' in bare.text
    assert "health-bad" in bare.text and "Posts are not going out." in bare.text
    assert "No scheduler is running" in bare.text and "herald scheduler" in bare.text
    assert "No worker is running" in bare.text and "herald worker" in bare.text

    beats = Heartbeats(herald.queue.redis, herald.queue.keys)
    beats.publish_verdict({"health": "ok", "at": time.time() - 2}, 30)
    beat(herald, "worker-1@host", 1.0)
    beat(herald, "worker-2@host", 40.0)
    good = manager.get("/live/health").text
    assert "health-ok" in good and "Everything is working" in good
    assert "<strong>1</strong> running" in good
    assert "worker-1@host</code>: last heartbeat 1 s ago" in good
    assert "gone</span> <code>worker-2@host</code>: last heartbeat 40 s ago" in good
    assert "checked the workers 2 s ago" in good

    beats.publish_verdict({"health": "stalled", "at": time.time()}, 30)
    stalled = manager.get("/live/health").text
    assert "health-bad" in stalled and "stopped taking posts" in stalled


def test_health_fragment_has_an_etag(manager: TestClient) -> None:
    r = manager.get("/live/health")
    assert r.headers["etag"] and r.headers["cache-control"] == "no-cache, private"
    assert manager.get("/live/health", headers={"If-None-Match": r.headers["etag"]}).status_code == 304


# -- what goes out next ------------------------------------------------------------------------


def upcoming_ids(html: str) -> list[str]:
    table = html.split('<table class="upcoming">', 1)
    rows = table[1].split("</table>", 1)[0] if len(table) == 2 else ""
    return re.findall(r'<code title="([0-9a-f]+)">', rows)


def later_link(html: str) -> str | None:
    m = re.search(r'<a href="/\?([^"]+)#upcoming" rel="next">', html)
    return m.group(1).replace("&amp;", "&") if m else None


def test_upcoming_is_next_due_first_and_paged_to_the_end(herald: Any, manager: TestClient) -> None:
    """Sixty posts queued out of order: the dashboard shows the next due first and "Later
    posts" walks every one of them exactly once (the old list stopped at 100, furthest first)."""
    order = list(range(60))
    order = order[::2] + order[1::2]
    ids = {}
    for n in order:
        ids[n] = herald.add_post(PostRequest(channels=["m1"], text=f"post {n}", at=in_days(1 + n / 24)))
    done = herald.add_post(PostRequest(channels=["m1"], text="already out"))
    settle(herald, done, "published", url="https://social.example/2")
    seen: list[str] = []
    page = manager.get("/").text
    while True:
        seen += upcoming_ids(page)
        link = later_link(page)
        if link is None:
            break
        page = manager.get("/?" + link).text
        assert "Next due" in page  # the way back to the first page
    assert seen == [ids[n] for n in range(60)]
    # The fragment a live page reads is the same page of the same list.
    fragment = manager.get("/live/upcoming").text
    assert upcoming_ids(fragment) == seen[:25]


def test_a_bad_cursor_shows_the_first_page_and_says_so(herald: Any, manager: TestClient) -> None:
    herald.add_post(PostRequest(channels=["m1"], text="soon", at=in_days(1)))
    page = manager.get("/", params={"upcoming_after": "not-a-cursor"})
    assert page.status_code == 200
    assert "Showing the first page." in page.text and len(upcoming_ids(page.text)) == 1


def test_paused_channels_and_campaigns_say_who_and_since_when(herald: Any, manager: TestClient) -> None:
    herald.add_post(PostRequest(channels=["x1"], text="held by the pause", at=in_days(1)))
    herald.pause_channel("x1", reason="account under review")
    herald.stop(campaign="spring", wait_seconds=0)
    page = manager.get("/").text
    section = page.split('id="upcoming"', 1)[1].split("</section>", 1)[0]
    assert "Paused now" in section
    assert re.search(r"channel <strong>x1</strong>,\s+since <time", section)
    assert "paused by system: account under review" in section and "(1 post held)" in section
    assert re.search(r"campaign <strong>spring</strong>,\s+since <time", section)
    assert "emergency stop by system" in section


def test_a_person_sees_only_their_campaigns_upcoming_and_pauses(herald: Any) -> None:
    add_channels(herald)
    herald.set_campaign("summer")
    herald.add_user("spring-staff@herald.test", PASSWORD, "staff", ["spring"])
    herald.add_post(PostRequest(channels=["m1"], text="spring post", campaign="spring", at=in_days(1)))
    herald.add_post(PostRequest(channels=["m1"], text="summer secret", campaign="summer", at=in_days(1)))
    herald.stop(campaign="summer", wait_seconds=0)
    herald.pause_channel("x1")
    with web_client(herald, "spring-staff@herald.test") as c:
        for page in (c.get("/").text, c.get("/live/upcoming").text):
            assert "spring post" in page and "summer" not in page
            # A channel is everyone's; its count of held posts is not (it spans campaigns).
            assert "<strong>x1</strong>" in page and "held)" not in page
        # Viewers may poll what they see, and nothing of the managers' numbers.
        assert c.get("/live/version").status_code == 200
        assert 'id="charts"' not in c.get("/").text


def test_empty_dashboard_tells_a_newcomer_what_to_do(herald: Any) -> None:
    add_people(herald)
    with web_client(herald, ADMIN) as c:
        page = c.get("/").text
        assert "Start here: Herald has no channel yet." in page
        assert "herald channel add my-mastodon --platform mastodon" in page
        assert "No posts were scheduled in these 30 days." in page
    add_channels(herald)
    with web_client(herald, STAFF) as c:
        page = c.get("/").text
        assert "Nothing is waiting to go out." in page and 'href="/compose"' in page


# -- the import's progress ---------------------------------------------------------------------


def test_import_reports_its_progress_to_its_person_only(herald: Any, people: None) -> None:
    job = "job" + "0123456789abcdef" * 2
    rows = "".join(f"m1,{in_days(1 + n / 100).isoformat()},row {n}\n" for n in range(250))
    with web_client(herald, STAFF) as staff:
        assert staff.get(f"/live/progress/{job}").json() == {"phase": "sending", "done": 0, "total": 0}
        token = csrf_of(staff.get("/import").text)
        r = staff.post(
            "/import",
            data={"csrf_token": token, "progress": job},
            files={"csv": ("plan.csv", ("channels,at,text\n" + rows).encode(), "text/csv")},
        )
        assert r.status_code == 200 and "250 posts queued" in r.text
        assert staff.get(f"/live/progress/{job}").json() == {"phase": "done", "done": 250, "total": 250}
        assert staff.get("/live/progress/x").status_code == 422
        assert staff.get("/live/progress/" + "a" * 65).status_code == 422
    with web_client(herald, MANAGER) as other:  # another person's job is never read
        assert other.get(f"/live/progress/{job}").json()["phase"] == "sending"


def test_the_import_page_offers_progress(herald: Any, people: None) -> None:
    with web_client(herald, STAFF) as staff:
        page = staff.get("/import").text
    assert 'data-progress="/live/progress/JOB"' in page and 'name="progress"' in page
    assert '<script src="/static/progress.js" defer></script>' in page
