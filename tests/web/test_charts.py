"""The charts: the SVG builders on their own (escaping, empty data, one point, well-formed and
labelled markup), the numbers behind them over a real store (days in a viewer's zone, a day
the clocks change, a zone a quarter hour off, lateness buckets, rates, reach), and the pages
that show them (the dashboard, a campaign's page) through the real sign-in, on SQLite and
PostgreSQL."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from herald.core.errors import InputError, NotFound
from herald.service import PostRequest
from herald.service.charts import chart_numbers
from herald.store.models import Delivery, Post
from herald.web.charts import (
    Bin,
    Column,
    RateBar,
    Series,
    histogram,
    nice_ceiling,
    rate_bars,
    stacked_bars,
    token,
)
from tests.web import ADMIN, MANAGER, PASSWORD, STAFF, add_channels, add_people, settle, web_client

HOSTILE = '<script>alert(1)</script>" onload="x" &amp;'
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
#: A fixed "now" for the numbers: the window is the 30 days up to this day.
NOW = datetime(2025, 3, 12, 12, 0)


def parse(markup: str) -> ET.Element:
    """The figure as XML: fails on anything not well formed (an unescaped ``<`` or ``&``)."""
    return ET.fromstring(markup)


SVG = "{http://www.w3.org/2000/svg}"


# -- the builders ------------------------------------------------------------------------------


def test_hostile_labels_are_escaped_everywhere() -> None:
    figure = rate_bars(
        f"rates {HOSTILE}",
        title=HOSTILE,
        desc=HOSTILE,
        rows=[RateBar(HOSTILE, 1, 2)],
        empty="none",
        first_header=HOSTILE,
        none_finished="—",
    )
    assert "<script" not in figure and 'onload="x"' not in figure
    assert ESCAPED in figure
    root = parse(figure)
    # The id is reduced to safe characters: nothing of the name leaves its attribute.
    assert re.fullmatch(r"[a-z0-9-]+", root.attrib["id"])
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert any("<script>" in t for t in texts)  # shown as text, cut to its first characters


def test_empty_data_says_what_to_do_and_draws_nothing() -> None:
    empty = "Nothing yet: compose a post."
    for figure in (
        stacked_bars(
            "d", title="t", desc="d", series=[Series("published", "published")], columns=[], empty=empty,
            first_header="Day",
        ),
        stacked_bars(
            "d", title="t", desc="d", series=[Series("published", "published")],
            columns=[Column("1", "2025-03-01", {})], empty=empty, first_header="Day",
        ),
        rate_bars("r", title="t", desc="d", rows=[], empty=empty, first_header="n", none_finished="-"),
        histogram("h", title="t", desc="d", bins=[Bin("< 1 s", 0)], empty=empty, first_header="a",
                  count_header="b"),
    ):  # fmt: skip
        root = parse(figure)
        assert root.find(f"{SVG}svg") is None and "<svg" not in figure
        assert root.find("p").text == empty  # type: ignore[union-attr]


def test_one_point_is_one_bar_with_its_number() -> None:
    figure = stacked_bars(
        "daily",
        title="Deliveries per day",
        desc="1 delivery",
        series=[Series("published", "published"), Series("failed", "failed")],
        columns=[Column("3/1", "2025-03-01", {"published": 1})],
        empty="-",
        first_header="Day",
    )
    root = parse(figure)
    svg = root.find(f"{SVG}svg")
    assert svg is not None
    bars = [r for r in svg.iter(f"{SVG}rect") if "chart-bar" in r.attrib["class"]]
    assert len(bars) == 1 and "chart-published" in bars[0].attrib["class"]
    assert bars[0].find(f"{SVG}title").text == "2025-03-01 · published: 1"  # type: ignore[union-attr]
    # The legend names only the series that have numbers; the table has them.
    assert ["".join(li.itertext()) for li in root.iter("li")] == ["published"]
    cells = [td.text for td in root.iter("td")]
    assert cells == ["1", "1"]


def test_the_svg_is_an_image_named_and_described() -> None:
    figure = histogram(
        "late",
        title="How late",
        desc="3 published: 2 on time",
        bins=[Bin("under 1 s", 2), Bin("1 s–5 s", 0), Bin("over 10 min", 1)],
        empty="-",
        first_header="Lateness",
        count_header="Deliveries",
    )
    root = parse(figure)
    svg = root.find(f"{SVG}svg")
    assert svg is not None and svg.attrib["role"] == "img"
    title_id, desc_id = svg.attrib["aria-labelledby"].split()
    assert svg.find(f"{SVG}title").attrib["id"] == title_id  # type: ignore[union-attr]
    assert svg.find(f"{SVG}desc").text == "3 published: 2 on time"  # type: ignore[union-attr]
    assert svg.find(f"{SVG}desc").attrib["id"] == desc_id  # type: ignore[union-attr]
    # Every bar has its label and count in words, not only a height and a colour.
    labels = [" ".join(t.itertext()) for t in svg.iter(f"{SVG}text")]
    for words in ("under 1 s", "over 10 min", "2", "1"):
        assert words in labels


def test_a_rate_with_nothing_finished_says_so_instead_of_a_bar() -> None:
    figure = rate_bars(
        "r",
        title="t",
        desc="d",
        rows=[RateBar("mastodon", 3, 4), RateBar("x", 0, 0)],
        empty="-",
        first_header="Platform",
        none_finished="nothing finished yet",
    )
    root = parse(figure)
    values = [t.text for t in root.iter(f"{SVG}text") if t.attrib.get("class") == "chart-value"]
    assert values == ["75% (3/4)", "nothing finished yet"]
    assert len([r for r in root.iter(f"{SVG}rect") if r.attrib["class"] == "chart-bar chart-rate"]) == 1


def test_axis_tops_and_tokens() -> None:
    assert [nice_ceiling(n) for n in (0, 1, 2, 3, 7, 10, 11, 99, 101, 4999)] == [
        1,
        1,
        2,
        5,
        10,
        10,
        20,
        100,
        200,
        5000,
    ]
    assert token("Dash <b>") == "dash-b" and token("!!!") == "x"


# -- the numbers over a real store -------------------------------------------------------------


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


def dated(herald: Any, post_id: str, scheduled: datetime, late: float | None = None) -> None:
    """Move a post (and its deliveries) to ``scheduled``, published ``late`` seconds after it
    when given: the history a running Herald would have left."""
    with herald.db.session() as s:
        s.execute(update(Post).where(Post.id == post_id).values(scheduled_at=scheduled))
        values: dict[str, Any] = {"due_at": scheduled}
        if late is not None:
            values["published_at"] = scheduled + timedelta(seconds=late)
        s.execute(update(Delivery).where(Delivery.post_id == post_id).values(**values))


def post(herald: Any, when: str, *, state: str = "published", late: float | None = 0.0, **kw: Any) -> str:
    post_id = herald.add_post(PostRequest(channels=kw.pop("channels", ["m1"]), text=f"at {when}", **kw))
    if state != "queued":
        settle(herald, post_id, state, url="https://social.example/1")
    dated(herald, post_id, at(when), late if state == "published" else None)
    return str(post_id)


@pytest.fixture
def people(herald: Any) -> None:
    add_channels(herald)
    add_people(herald)


def days(numbers: Any) -> dict[str, dict[str, int]]:
    return {d.day: dict(d.counts) for d in numbers.days if d.counts}


def test_days_are_counted_in_the_chosen_zone(herald: Any, people: None) -> None:
    post(herald, "2025-03-10T23:30:00+00:00")
    post(herald, "2025-03-11T00:30:00+00:00", state="failed")
    utc = chart_numbers(herald, now=NOW)
    assert days(utc) == {"2025-03-10": {"published": 1}, "2025-03-11": {"failed": 1}}
    assert (utc.first_day, utc.last_day, len(utc.days)) == ("2025-02-11", "2025-03-12", 30)
    seoul = chart_numbers(herald, zone="Asia/Seoul", now=NOW)  # UTC+9: both on the 11th
    assert days(seoul) == {"2025-03-11": {"published": 1, "failed": 1}}


def test_a_day_the_clocks_change_and_a_zone_half_an_hour_off(herald: Any, people: None) -> None:
    # New York went to summer time on 9 March 2025 (a 23-hour day).
    post(herald, "2025-03-09T04:30:00+00:00")  # 23:30 on the 8th, EST
    post(herald, "2025-03-09T05:30:00+00:00")  # 00:30 on the 9th, EST
    post(herald, "2025-03-10T03:30:00+00:00")  # 23:30 on the 9th, EDT
    post(herald, "2025-03-10T04:30:00+00:00")  # 00:30 on the 10th, EDT
    ny = chart_numbers(herald, zone="America/New_York", now=NOW)
    assert days(ny) == {
        "2025-03-08": {"published": 1},
        "2025-03-09": {"published": 2},
        "2025-03-10": {"published": 1},
    }
    # Kolkata is UTC+5:30: hours would straddle its midnight; quarter hours do not.
    post(herald, "2025-03-05T18:15:00+00:00")  # 23:45 on the 5th
    post(herald, "2025-03-05T18:45:00+00:00")  # 00:15 on the 6th
    kolkata = chart_numbers(herald, zone="Asia/Kolkata", now=NOW)
    assert days(kolkata)["2025-03-05"] == {"published": 1}
    assert days(kolkata)["2025-03-06"] == {"published": 1}


def test_lateness_buckets_and_rates(herald: Any, people: None) -> None:
    for late in (0.4, 3.0, 45.0, 1200.0):
        post(herald, "2025-03-10T09:00:00+00:00", late=late)
    post(herald, "2025-03-10T10:00:00+00:00", state="failed", channels=["x1"])
    post(herald, "2025-03-10T11:00:00+00:00", state="uncertain", channels=["x1"])
    post(herald, "2025-03-10T12:00:00+00:00", state="published", channels=["x1"], campaign="spring")
    numbers = chart_numbers(herald, now=NOW)
    counts = [b.count for b in numbers.lateness]
    # 0.4 s and the x1 post published on time: under 1 s; 3 s; 45 s (30 s–2 min); 20 min.
    assert counts == [2, 1, 0, 1, 0, 1]
    assert [(b.lower, b.upper) for b in numbers.lateness][-1] == (600.0, None)
    rates = {r.name: (r.published, r.finished) for r in numbers.platforms}
    assert rates == {"mastodon": (4, 4), "x": (1, 3)}
    by_campaign = {r.name: (r.published, r.finished) for r in numbers.campaigns}
    assert by_campaign == {None: (4, 6), "spring": (1, 1)}
    # Outside the window: not counted.
    post(herald, "2025-01-01T09:00:00+00:00")
    assert chart_numbers(herald, now=NOW).total == numbers.total == 7


def test_bad_zone_days_and_campaign_are_refused(herald: Any, people: None) -> None:
    for zone in ("../../etc/passwd", "/etc/localtime", "Mars/Olympus", "", " UTC"):
        with pytest.raises(InputError) as e:
            chart_numbers(herald, zone=zone)
        assert e.value.field == "zone"
    for n in (0, -1, 367):
        with pytest.raises(InputError):
            chart_numbers(herald, days=n)
    with pytest.raises(NotFound):
        chart_numbers(herald, campaign="no such campaign")


def test_reach_a_person_sees_only_their_campaigns_numbers(herald: Any) -> None:
    add_channels(herald)
    herald.set_campaign("summer")
    herald.add_user("spring-manager@herald.test", PASSWORD, "manager", ["spring"])
    post(herald, "2025-03-10T09:00:00+00:00", campaign="spring")
    post(herald, "2025-03-10T09:00:00+00:00", campaign="summer", channels=["x1"], state="failed")
    post(herald, "2025-03-10T09:00:00+00:00")  # no campaign
    signed = herald.sign_in("spring-manager@herald.test", PASSWORD, address="10.0.0.1")
    actor = herald.session(herald.start_session(signed.user_id)[0]).actor
    mine = chart_numbers(herald, now=NOW, actor=actor)
    assert mine.total == 1 and [r.name for r in mine.campaigns] == ["spring"]
    assert [r.name for r in mine.platforms] == ["mastodon"]
    with pytest.raises(NotFound):  # out of reach reads as unknown
        chart_numbers(herald, campaign="summer", now=NOW, actor=actor)
    assert chart_numbers(herald, campaign="spring", now=NOW, actor=actor).total == 1


# -- the pages ---------------------------------------------------------------------------------


@pytest.fixture
def manager(herald: Any, people: None) -> Iterator[TestClient]:
    with web_client(herald, MANAGER) as c:
        yield c


def recent(herald: Any, **kw: Any) -> str:
    """A post published an hour ago (inside every chart's window)."""
    when = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return post(herald, when, **kw)


def test_dashboard_shows_the_charts_to_who_may_review(herald: Any, people: None, manager: TestClient) -> None:
    recent(herald, campaign="spring")
    recent(herald, state="failed", channels=["x1"])
    page = manager.get("/").text
    for chart in ("dash-daily", "dash-lateness", "dash-platforms", "dash-campaigns"):
        assert '<figure class="chart' in page and f'id="{chart}"' in page, chart
    assert 'role="img"' in page and "<desc id=" in page
    # Each campaign links to its own page of charts.
    assert 'href="/campaigns/spring"' in page
    with web_client(herald, STAFF) as staff:  # sees posts, not the log's numbers
        assert 'id="dash-daily"' not in staff.get("/").text


def test_hostile_campaign_name_in_the_charts_is_escaped(
    herald: Any, people: None, manager: TestClient
) -> None:
    name = "<script>alert(1)</script>"
    herald.set_campaign(name)
    recent(herald, campaign=name)
    page = manager.get("/").text
    assert "<script>alert" not in page and ESCAPED in page
    campaign = manager.get("/campaigns/%3Cscript%3Ealert(1)%3C/script%3E")
    assert campaign.status_code == 200 and "<script>alert" not in campaign.text


def test_days_in_a_chosen_zone_and_a_bad_zone(herald: Any, people: None, manager: TestClient) -> None:
    recent(herald)
    assert "(UTC)" in manager.get("/").text  # nobody chose: UTC
    seoul = manager.get("/", params={"zone": "Asia/Seoul"})
    assert seoul.status_code == 200 and "(Asia/Seoul)" in seoul.text
    # The zone the person chose on the calendar (its cookie) is the charts' too, unless the
    # page asks for another; a cookie that is not a zone is passed over.
    manager.cookies.set("herald_tz", "America/New_York")
    assert "(America/New_York)" in manager.get("/").text
    assert "(Asia/Seoul)" in manager.get("/", params={"zone": "Asia/Seoul"}).text
    manager.cookies.set("herald_tz", "../../etc/passwd")
    assert "(UTC)" in manager.get("/").text
    bad = manager.get("/", params={"zone": "../../etc/passwd"})
    assert bad.status_code == 200
    assert 'id="chart-zone-error"' in bad.text and "(UTC)" in bad.text
    assert "etc/passwd" not in bad.text.split('id="charts"', 1)[1].split("</form>", 1)[1]


def test_a_campaigns_page_shows_its_numbers_only(herald: Any, people: None, manager: TestClient) -> None:
    herald.set_campaign("summer", timezone="Asia/Seoul")
    recent(herald, campaign="spring")
    recent(herald, campaign="summer", channels=["x1"], state="failed")
    page = manager.get("/campaigns/summer")
    assert page.status_code == 200
    assert "(Asia/Seoul)" in page.text  # its own zone unless another is chosen
    manager.cookies.set("herald_tz", "Europe/Berlin")
    assert "(Europe/Berlin)" in manager.get("/campaigns/summer").text
    manager.cookies.delete("herald_tz")
    assert 'id="campaign-daily"' in page.text and 'id="campaign-campaigns"' not in page.text
    table = re.search(r'<table id="campaign-platforms-table">.*?</table>', page.text, re.S)
    assert table is not None and ">x<" in table.group(0) and ">mastodon<" not in table.group(0)
    assert manager.get("/campaigns/nowhere").status_code == 404


def test_a_campaign_out_of_reach_is_not_found_and_anonymous_is_refused(herald: Any) -> None:
    add_channels(herald)
    herald.set_campaign("summer")
    herald.add_user("spring-manager@herald.test", PASSWORD, "manager", ["spring"])
    herald.add_user(ADMIN, PASSWORD, "admin", [])
    recent(herald, campaign="summer")
    with web_client(herald, "spring-manager@herald.test") as c:
        assert c.get("/campaigns/summer").status_code == 404
        page = c.get("/").text
        assert "summer" not in page
    with web_client(herald, None) as anonymous:
        r = anonymous.get("/campaigns/spring", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].endswith("/login")
