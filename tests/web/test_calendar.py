"""``/calendar`` over HTTP (TestClient, real Redis, SQLite and PostgreSQL): the week and the month
in the viewer's zone, the zone chosen and remembered, posts moved through the form (stored in
UTC, staged again in Redis, audited), and the attacker's tries: no role, no CSRF token, a post
out of reach, a published or claimed post, a time in the past, a hostile zone or text."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from herald.core.errors import InputError
from herald.service import PostRequest
from herald.service.calendar import MAX_DAYS
from herald.store import deliveries, states
from herald.store.calendar import deliveries_between
from herald.store.models import AuditEvent, Channel, Delivery, Post
from herald.store.scope import EVERYTHING
from herald.web.zones import BROWSER_ZONE_COOKIE, ZONE_COOKIE
from tests.web import ADMIN, MANAGER, STAFF, actor_of, add_channels, add_people, csrf_of, settle, web_client

SEOUL = ZoneInfo("Asia/Seoul")
CAMPAIGN = "seoul"
SCRIPT = "<script>alert('cal')</script>"


# -- helpers ------------------------------------------------------------------------------------


def next_monday(tz: ZoneInfo) -> date:
    """The Monday after this week in ``tz`` (so every time in that week is in the future)."""
    today = datetime.now(UTC).astimezone(tz).date()
    return today + timedelta(days=7 - today.weekday())


def local(day: date, hour: int, minute: int = 0, tz: ZoneInfo = SEOUL) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


def setup(herald: Any) -> None:
    """The fixture channels and people, and a campaign planned in Seoul."""
    add_channels(herald)
    add_people(herald)
    herald.set_campaign(CAMPAIGN, timezone="Asia/Seoul")


def queue(
    herald: Any, at: datetime | None, text: str = "봄 행사 안내", actor: Any = None, **extra: Any
) -> str:
    fields: dict[str, Any] = {"channels": ["m1", "x1"], "campaign": CAMPAIGN, **extra}
    by = {"actor": actor} if actor is not None else {}
    return str(herald.add_post(PostRequest(text=text, at=at, **fields), **by))


def due_of(herald: Any, post_id: str) -> dict[str, datetime]:
    """Channel → due time (naive UTC) of each delivery of ``post_id``, as stored."""
    with herald.db.session() as s:
        found = s.execute(
            select(Channel.name, Delivery.due_at)
            .join(Channel, Channel.id == Delivery.channel_id)
            .where(Delivery.post_id == post_id)
        ).all()
    return {str(name): due for name, due in found}


def rows(herald: Any, post_id: str) -> list[Any]:
    return list(herald.delivery_log(post_id=post_id))


def stored_due(herald: Any, post_id: str) -> list[datetime]:
    with herald.db.session() as s:
        return sorted(s.execute(select(Delivery.due_at).where(Delivery.post_id == post_id)).scalars())


def finish_one(herald: Any, post_id: str, channel: str, state: str) -> None:
    """Claim and finish one channel's delivery of ``post_id`` as a worker would."""
    [row] = [r for r in rows(herald, post_id) if r.channel == channel]
    with herald.db.session() as s:
        claim = deliveries.claim(s, row.delivery_id, lease_seconds=30)
        assert claim is not None
        if state == states.PUBLISHED:
            assert deliveries.mark_published(s, row.delivery_id, claim.token, remote_id="1", remote_url="")
        else:
            assert deliveries.mark_final(s, row.delivery_id, claim.token, state, error="refused")
    herald.queue.release(row.delivery_id)


def move(client: Any, post_id: str, at: str, tz: str = "Asia/Seoul", **extra: Any) -> Any:
    token = csrf_of(client.get("/calendar").text)
    data = {"csrf_token": token, "post": post_id, "at": at, "tz": tz, **extra}
    return client.post("/calendar/move", data=data, follow_redirects=False)


def entries(html: str) -> list[dict[str, str]]:
    """The calendar entries of a page's grid (data attributes and the time shown)."""
    grid = html.split('class="cal-grid', 1)[1].split('class="cal-list"', 1)[0]
    found = []
    for m in re.finditer(
        r'<a class="cal-post cal-(\w+)"[^>]*?data-post="(\w+)"[^>]*?data-local="([^"]+)"'
        r'[^>]*?data-movable="(\d)"[^>]*>(.*?)</a>',
        grid,
        re.S,
    ):
        state, post, at, movable, body = m.groups()
        shown = re.search(r"<time[^>]*>([^<]+)</time>", body)
        found.append(
            {
                "state": state,
                "post": post,
                "local": at,
                "movable": movable,
                "time": shown.group(1) if shown else "",
                "body": body,
            }
        )
    return found


# -- the page -----------------------------------------------------------------------------------


def test_week_shows_each_post_in_the_campaigns_zone_with_its_state(herald: Any) -> None:
    setup(herald)
    monday = next_monday(SEOUL)
    later = queue(herald, local(monday + timedelta(days=2), 9, 30))
    done = queue(herald, None, text="발표 — published")
    settle(herald, done, states.PUBLISHED, url="https://social.example/1")
    broken = queue(herald, None, text="실패 — failed")
    settle(herald, broken, states.FAILED, error="X: HTTP 403")
    mixed = queue(herald, None, text="반반 — partly")
    finish_one(herald, mixed, "m1", states.PUBLISHED)
    finish_one(herald, mixed, "x1", states.FAILED)

    with web_client(herald, STAFF) as staff:
        # One campaign filtered and no zone chosen: the campaign's zone.
        page = staff.get(f"/calendar?campaign={CAMPAIGN}&date={monday.isoformat()}")
        assert page.status_code == 200, page.text
        assert 'data-zone="Asia/Seoul"' in page.text and 'data-zone-source="campaign"' in page.text
        [e] = entries(page.text)
        assert (e["post"], e["state"], e["time"], e["movable"]) == (later, "scheduled", "09:30", "1")
        assert e["local"] == f"{monday + timedelta(days=2)}T09:30"
        # The hour's cell of that day holds it: a drop target for the week view.
        slot = f'data-slot="{monday + timedelta(days=2)}T09"'
        assert re.search(slot + r'[^>]*>\s*<a class="cal-post', page.text)
        assert "m1, x1" in e["body"] and ">scheduled<" in e["body"]

        this_week = staff.get(f"/calendar?campaign={CAMPAIGN}")
        states_shown = {e["post"]: e for e in entries(this_week.text)}
        assert states_shown[done]["state"] == "published" and ">published<" in states_shown[done]["body"]
        assert states_shown[broken]["state"] == "failed" and ">failed<" in states_shown[broken]["body"]
        assert states_shown[mixed]["state"] == "partly"
        assert (
            "m1 (published)" in states_shown[mixed]["body"] and "x1 (failed)" in states_shown[mixed]["body"]
        )
        # Nothing that has gone out (or failed) may move; the staff may move what is queued.
        assert {states_shown[p]["movable"] for p in (done, broken, mixed)} == {"0"}
        # The time shown is when it went out, in Seoul.
        published_at = datetime.now(UTC).astimezone(SEOUL).strftime("%H:")
        assert states_shown[done]["time"].startswith(published_at[:2])
        # Week navigation, the view switch, and the zone's name on the page.
        assert 'rel="prev"' in page.text and 'rel="next"' in page.text
        assert "Times in Asia/Seoul" in page.text


def test_month_view_places_posts_on_their_local_day(herald: Any) -> None:
    setup(herald)
    monday = next_monday(SEOUL)
    # 08:30 on Monday in Seoul is still Sunday in UTC: the day is the viewer's.
    early = queue(herald, local(monday, 8, 30))
    page = None
    with web_client(herald, MANAGER) as manager:
        page = manager.get(f"/calendar?view=month&date={monday.isoformat()}&campaign={CAMPAIGN}")
        assert page.status_code == 200
        cell = re.search(rf'data-day="{monday.isoformat()}"[^>]*>(.*?)</td>', page.text, re.S)
        assert cell and early in cell.group(1)
        assert len(re.findall(r'<td data-day="', page.text)) in (28, 35, 42)
        utc_page = manager.get(f"/calendar?view=month&date={monday.isoformat()}&tz=UTC")
        cell = re.search(
            rf'data-day="{(monday - timedelta(days=1)).isoformat()}"[^>]*>(.*?)</td>', utc_page.text, re.S
        )
        assert cell and early in cell.group(1) and "23:30" in cell.group(1)
        # The phone's list: days with posts, in order.
        assert f'id="day-{monday.isoformat()}"' in page.text


def test_the_zone_chosen_is_remembered_and_auto_forgets_it(herald: Any) -> None:
    setup(herald)
    with web_client(herald, STAFF) as staff:
        assert 'data-zone-source="utc"' in staff.get("/calendar").text
        chosen = staff.get("/calendar?tz=America/New_York")
        assert (chosen.cookies.get(ZONE_COOKIE) or "").strip('"') == "America/New_York"
        again = staff.get(f"/calendar?campaign={CAMPAIGN}")
        # The person's choice wins over the campaign's zone.
        assert 'data-zone="America/New_York"' in again.text and 'data-zone-source="choice"' in again.text
        staff.get("/calendar?tz=auto")
        assert ZONE_COOKIE not in staff.cookies
        assert 'data-zone-source="campaign"' in staff.get(f"/calendar?campaign={CAMPAIGN}").text
        # The browser's zone (set by the script) when no campaign decides.
        staff.cookies.set(BROWSER_ZONE_COOKIE, "Europe/Berlin")
        page = staff.get("/calendar").text
        assert 'data-zone="Europe/Berlin"' in page and 'data-zone-source="browser"' in page


@pytest.mark.parametrize(
    "hostile",
    ["../../etc/passwd", "Asia/Seoul<script>", "/etc/localtime", "Asia/../../../etc/passwd", "x" * 5000],
)
def test_a_hostile_zone_is_refused_and_shown_as_text(herald: Any, hostile: str) -> None:
    setup(herald)
    with web_client(herald, STAFF) as staff:
        page = staff.get("/calendar", params={"tz": hostile})
        assert page.status_code == 422
        assert 'data-zone="UTC"' in page.text
        assert "<script>" not in page.text
        assert ZONE_COOKIE not in page.cookies
        # A cookie someone planted is passed over, never used as a file name.
        staff.cookies.set(ZONE_COOKIE, hostile[:100])
        staff.cookies.set(BROWSER_ZONE_COOKIE, hostile[:100])
        planted = staff.get("/calendar")
        assert planted.status_code == 200 and 'data-zone="UTC"' in planted.text


def test_bad_filters_are_said_on_the_page(herald: Any) -> None:
    setup(herald)
    herald.set_campaign("autumn", timezone="Europe/Berlin")
    herald.add_user("autumn@herald.test", "correct horse battery staple", "staff", ["autumn"])
    with web_client(herald, "autumn@herald.test") as outsider:
        # A campaign out of the person's reach reads as one that does not exist.
        page = outsider.get(f"/calendar?campaign={CAMPAIGN}")
        assert page.status_code == 404 and "no campaign" in page.text
        for query, field in (
            ("view=year", "view"),
            ("date=2026-13-40", "date"),
            ("date=9999-12-31", "date"),
            ("channel=nope", "channel"),
        ):
            answer = outsider.get(f"/calendar?{query}")
            assert answer.status_code in (404, 422), query
            assert f"{field}:" in answer.text, query


def test_only_the_posts_in_reach_are_shown(herald: Any) -> None:
    setup(herald)
    herald.set_campaign("autumn", timezone="Europe/Berlin")
    herald.add_user("autumn@herald.test", "correct horse battery staple", "staff", ["autumn"])
    monday = next_monday(SEOUL)
    secret = queue(herald, local(monday, 12), text="비밀 — not for autumn")
    mine = queue(herald, local(monday, 13), text="autumn's", campaign="autumn")
    with web_client(herald, "autumn@herald.test") as outsider:
        page = outsider.get(f"/calendar?date={monday.isoformat()}&tz=Asia/Seoul").text
        assert mine in page and secret not in page and "not for autumn" not in page
        opened = outsider.get(f"/calendar?post={secret}")
        assert opened.status_code == 404 and "not for autumn" not in opened.text


def test_opening_a_post_shows_its_times_and_the_move_form(herald: Any) -> None:
    setup(herald)
    monday = next_monday(SEOUL)
    post_id = queue(herald, local(monday, 10, 15), text=SCRIPT + " 안내")
    with web_client(herald, STAFF) as staff:
        page = staff.get(f"/calendar?post={post_id}&tz=Europe/London")
        assert page.status_code == 200
        detail = page.text.split('id="post-detail"', 1)[1].split("</section>", 1)[0]
        assert "&lt;script&gt;alert(&#39;cal&#39;)&lt;/script&gt; 안내" in detail
        assert f"{monday.isoformat()} 10:15" in detail  # the campaign's zone (Seoul)
        utc = local(monday, 10, 15).astimezone(UTC)
        assert utc.strftime("%Y-%m-%dT%H:%M:%SZ") in detail
        london = local(monday, 10, 15).astimezone(ZoneInfo("Europe/London"))
        assert london.strftime("%Y-%m-%d %H:%M") in detail
        assert f'name="at" value="{london.strftime("%Y-%m-%dT%H:%M")}"' in detail
        assert 'name="channels" value="m1" checked' in detail


def test_an_opened_post_shows_each_channels_own_text_and_language(herald: Any) -> None:
    setup(herald)
    post_id = queue(
        herald,
        local(next_monday(SEOUL), 11),
        text="Peace starts with listening.",
        language="en",
        text_for={"m1": "평화는 경청에서 시작됩니다."},
        languages={"m1": "ko", "x1": "en-GB"},
    )
    opened = herald.calendar_post(post_id, tz="Asia/Seoul")
    assert opened.language == "en"
    assert {n: (v.text, v.language) for n, v in opened.variants.items()} == {
        "m1": ("평화는 경청에서 시작됩니다.", "ko"),
        "x1": ("Peace starts with listening.", "en-GB"),
    }
    with web_client(herald, STAFF) as staff:
        page = staff.get(f"/calendar?post={post_id}")
        assert page.status_code == 200
        detail = page.text.split('id="post-detail"', 1)[1].split("</section>", 1)[0]
        assert "<dt>Language</dt>\n        <dd>en</dd>" in detail
        assert '<dt>m1 <span class="hint">(language: ko)</span></dt>' in detail
        assert '<dd class="post-text">평화는 경청에서 시작됩니다.</dd>' in detail
        assert '<dt>x1 <span class="hint">(language: en-GB)</span></dt>' in detail


def test_the_page_runs_only_its_own_script(herald: Any) -> None:
    setup(herald)
    herald.set_campaign(SCRIPT)
    queue(herald, local(next_monday(SEOUL), 11), text=SCRIPT, campaign=SCRIPT)
    with web_client(herald, STAFF) as staff:
        page = staff.get(f"/calendar?date={next_monday(SEOUL).isoformat()}&tz=Asia/Seoul")
        assert page.status_code == 200
        # Scripts are the app's own files (the calendar's among them), never inline.
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
        assert all(re.search(r'\ssrc="/static/[\w.-]+\.js"', attrs) and not body for attrs, body in scripts)
        assert any('src="/static/calendar.js"' in attrs for attrs, _ in scripts)
        assert "&lt;script&gt;alert(&#39;cal&#39;)&lt;/script&gt;" in page.text
        assert not re.search(r"\son\w+=", page.text)
        assert "script-src 'self'" in page.headers["content-security-policy"]
        js = staff.get("/static/calendar.js")
        assert js.status_code == 200 and "javascript" in js.headers["content-type"]


def test_anonymous_is_sent_to_sign_in(herald: Any) -> None:
    setup(herald)
    with web_client(herald, None) as anonymous:
        assert anonymous.get("/calendar", follow_redirects=False).headers["location"] == "/login"
        answer = anonymous.post(
            "/calendar/move", data={"post": "x", "at": "2030-01-01T10:00"}, follow_redirects=False
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/login"


# -- moving a post ------------------------------------------------------------------------------


def test_a_move_is_stored_in_utc_staged_again_and_audited(herald: Any) -> None:
    setup(herald)
    monday = next_monday(SEOUL)
    post_id = queue(herald, local(monday, 9))
    with web_client(herald, STAFF) as staff:
        answer = move(staff, post_id, f"{monday + timedelta(days=1)}T14:30", campaign=CAMPAIGN)
        assert answer.status_code == 303, answer.text
        assert f"date={monday + timedelta(days=1)}" in answer.headers["location"]
        new = datetime(monday.year, monday.month, monday.day, 5, 30) + timedelta(days=1)  # 14:30 KST
        assert stored_due(herald, post_id) == [new, new]
        # The post's own time follows, and Redis holds the new time for both deliveries.
        with herald.db.session() as s:
            assert s.get(Post, post_id).scheduled_at == new
        for r in rows(herald, post_id):
            payload = herald.queue.payload(r.delivery_id)
            assert payload is not None and payload.due == new.replace(tzinfo=UTC).timestamp()
            assert herald.queue.redis.zscore(herald.queue.keys.due, str(r.delivery_id)) == payload.due
        with herald.db.session() as s:
            [event] = s.execute(select(AuditEvent).where(AuditEvent.action == "post.reschedule")).scalars()
            assert event.actor == STAFF and event.target_id == post_id
            assert event.detail["to"] == new.isoformat() + "Z" and event.detail["timezone"] == "Asia/Seoul"
        page = staff.get(answer.headers["location"])
        assert "Moved." in page.text and "14:30 (Asia/Seoul)" in page.text
        [e] = entries(page.text)
        assert e["post"] == post_id and e["time"] == "14:30"


def test_one_channel_moves_alone(herald: Any) -> None:
    setup(herald)
    monday = next_monday(SEOUL)
    post_id = queue(herald, local(monday, 9))
    with web_client(herald, STAFF) as staff:
        answer = move(staff, post_id, f"{monday}T11:00", channels="x1")
        assert answer.status_code == 303
    due = due_of(herald, post_id)
    assert due["m1"].hour == 0 and due["x1"].hour == 2  # 09:00 and 11:00 in Seoul
    with web_client(herald, STAFF) as staff:
        page = staff.get(f"/calendar?date={monday}&tz=Asia/Seoul")
        assert sorted(e["time"] for e in entries(page.text)) == ["09:00", "11:00"]


def test_a_post_waiting_for_approval_moves_for_a_manager_not_for_staff(herald: Any) -> None:
    """The viewer without the role: staff may not move a post of a campaign that approves its
    posts (moving it is a manager's decision)."""
    setup(herald)
    herald.set_campaign(CAMPAIGN, requires_approval=True)
    monday = next_monday(SEOUL)
    post_id = queue(herald, local(monday, 9), actor=actor_of(herald, STAFF))
    before = stored_due(herald, post_id)
    with web_client(herald, STAFF) as staff:
        page = staff.get(f"/calendar?date={monday}&campaign={CAMPAIGN}")
        [e] = entries(page.text)
        assert e["movable"] == "0"
        refused = move(staff, post_id, f"{monday}T15:00")
        assert refused.status_code == 403 and "needs the manager role" in refused.text
    assert stored_due(herald, post_id) == before
    with web_client(herald, MANAGER) as manager:
        assert move(manager, post_id, f"{monday}T15:00").status_code == 303
    assert stored_due(herald, post_id) == [before[0] + timedelta(hours=6)] * 2
    # Still waiting for approval, still not in Redis.
    assert {r.status for r in rows(herald, post_id)} == {states.SCHEDULED}
    assert all(herald.queue.payload(r.delivery_id) is None for r in rows(herald, post_id))


def test_a_post_of_a_campaign_out_of_reach_is_not_moved(herald: Any) -> None:
    setup(herald)
    herald.set_campaign("autumn", timezone="Europe/Berlin")
    herald.add_user("autumn@herald.test", "correct horse battery staple", "manager", ["autumn"])
    monday = next_monday(SEOUL)
    post_id = queue(herald, local(monday, 9))
    before = stored_due(herald, post_id)
    with web_client(herald, "autumn@herald.test") as outsider:
        answer = move(outsider, post_id, f"{monday}T15:00")
        assert answer.status_code == 403
    assert stored_due(herald, post_id) == before


def test_a_move_without_the_csrf_token_is_refused(herald: Any) -> None:
    setup(herald)
    monday = next_monday(SEOUL)
    post_id = queue(herald, local(monday, 9))
    before = stored_due(herald, post_id)
    with web_client(herald, STAFF) as staff:
        data = {"post": post_id, "at": f"{monday}T15:00", "tz": "Asia/Seoul"}
        assert staff.post("/calendar/move", data=data).status_code == 403
        forged = staff.post("/calendar/move", data={**data, "csrf_token": "0" * 64})
        assert forged.status_code == 403
    assert stored_due(herald, post_id) == before


def test_published_and_claimed_posts_keep_their_time(herald: Any) -> None:
    setup(herald)
    done = queue(herald, None)
    settle(herald, done, states.PUBLISHED, url="https://social.example/2")
    claimed = queue(herald, None)
    with herald.db.session() as s:
        for r in rows(herald, claimed):
            assert deliveries.claim(s, r.delivery_id, lease_seconds=60) is not None
    tomorrow = (datetime.now(UTC).astimezone(SEOUL) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    with web_client(herald, ADMIN) as admin:
        for post_id, why in ((done, "m1: published; x1: published"), (claimed, "being published: a worker")):
            before = stored_due(herald, post_id)
            answer = move(admin, post_id, tomorrow)
            assert answer.status_code == 409, answer.text
            assert why in answer.text
            assert stored_due(herald, post_id) == before


@pytest.mark.parametrize(
    ("at", "tz", "field", "says"),
    [
        ("2001-01-01T10:00", "Asia/Seoul", "at", "is in the past"),
        ("yesterday", "Asia/Seoul", "at", "is not a date and time"),
        ("2031-03-09T02:30", "America/New_York", "at", "does not exist"),
        ("2031-11-02T01:30", "America/New_York", "at", "happens twice"),
        ("9999-12-31T23:00", "Pacific/Pago_Pago", "at", "beyond the calendar"),
        ("2031-01-01T10:00+09:00", "Asia/Seoul", "at", "without an offset"),
        ("2031-01-01T10:00", "../../etc/passwd", "tz", "unknown time zone"),
        ("2031-01-01T10:00", "Mars/Olympus_Mons", "tz", "unknown time zone"),
    ],
)
def test_a_bad_time_or_zone_moves_nothing(herald: Any, at: str, tz: str, field: str, says: str) -> None:
    setup(herald)
    post_id = queue(herald, local(next_monday(SEOUL), 9))
    before = stored_due(herald, post_id)
    with web_client(herald, STAFF) as staff:
        answer = move(staff, post_id, at, tz=tz)
        assert answer.status_code == 422, answer.text
        assert f"{field}:" in answer.text and says in answer.text
    assert stored_due(herald, post_id) == before


def test_a_time_that_happens_twice_moves_once_a_fold_is_chosen(herald: Any) -> None:
    setup(herald)
    post_id = queue(herald, local(next_monday(SEOUL), 9))
    with web_client(herald, STAFF) as staff:
        assert (
            move(staff, post_id, "2031-11-02T01:30", tz="America/New_York", fold="second").status_code == 303
        )
    assert stored_due(herald, post_id) == [datetime(2031, 11, 2, 6, 30)] * 2  # 01:30 EST


def test_a_move_into_a_blackout_or_past_the_campaigns_end_is_refused(herald: Any) -> None:
    setup(herald)
    monday = next_monday(SEOUL)
    post_id = queue(herald, local(monday, 9))
    herald.add_blackout(CAMPAIGN, starts=f"{monday}T12:00", ends=f"{monday}T18:00", label="추모")
    herald.set_campaign(CAMPAIGN, ends=(monday + timedelta(days=3)).isoformat())
    before = stored_due(herald, post_id)
    with web_client(herald, STAFF) as staff:
        blacked = move(staff, post_id, f"{monday}T13:00")
        assert blacked.status_code == 422 and "blackout" in blacked.text
        late = move(staff, post_id, f"{monday + timedelta(days=10)}T13:00")
        assert late.status_code == 422 and "after its end" in late.text
    assert stored_due(herald, post_id) == before


def test_a_post_id_that_does_not_exist(herald: Any) -> None:
    setup(herald)
    with web_client(herald, STAFF) as staff:
        answer = move(staff, "f" * 32, "2031-01-01T10:00")
        assert answer.status_code == 404


# -- the service and the store -----------------------------------------------------------------


def test_the_service_reads_at_most_a_month_and_a_half(herald: Any) -> None:
    setup(herald)
    with pytest.raises(InputError) as e:
        herald.calendar(date(2030, 1, 1), MAX_DAYS + 1, tz="Asia/Seoul")
    assert e.value.field == "days"
    with pytest.raises(InputError) as e:
        herald.calendar(date(2030, 1, 1), 7, tz="Nowhere/Atlantis")
    assert e.value.field == "tz"


def test_the_range_is_read_through_the_state_and_time_index(herald: Any) -> None:
    if herald.db.engine.dialect.name != "sqlite":
        pytest.skip("the plan is checked on SQLite; PostgreSQL plans small tables as scans")
    setup(herald)
    start = datetime(2030, 1, 1)
    with herald.db.session() as s:
        deliveries_between(s, start, start + timedelta(days=7), reach=EVERYTHING, limit=10)
        from herald.store import calendar as store_calendar

        q = store_calendar._select().where(
            Delivery.due_at >= start, Delivery.due_at < start + timedelta(days=7)
        )
        compiled = q.compile(herald.db.engine, compile_kwargs={"literal_binds": True})
        plan = " ".join(str(r[-1]) for r in s.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    assert "ix_deliveries_state_due" in plan, plan
