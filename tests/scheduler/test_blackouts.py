"""Issue 16, campaign controls: the pure rules. Blackout windows read in local time (Seoul, no
DST; Berlin and New York across their changes), "is this instant blacked out, and until when",
lateness counted around windows, a campaign's date range and the slot search bounded by it, and
the hashtags and UTM parameters a channel's text gets."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.core.errors import InputError
from herald.core.intervals import Span, blocked_at, late_after, pending
from herald.core.tagging import Utm, read_hashtags, slug, tagged, tagged_link, with_hashtags
from scheduler.blackouts import blocked, read_window, waited
from scheduler.bounds import Bounds
from scheduler.localdates import read_local

SEOUL, BERLIN, NEW_YORK = ZoneInfo("Asia/Seoul"), ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


# -- windows in local time ---------------------------------------------------------------------


def test_a_window_is_read_in_the_campaigns_zone_and_kept_in_utc() -> None:
    w = read_window("2027-06-06T00:00", "2027-06-07T00:00", SEOUL, "wait", "Memorial Day")
    assert (w.starts_at, w.ends_at) == (datetime(2027, 6, 5, 15), datetime(2027, 6, 6, 15))
    # A date alone: the whole day, to the midnight after it.
    whole = read_window("2027-06-06", "2027-06-06", SEOUL, "hold")
    assert (whole.starts_at, whole.ends_at) == (datetime(2027, 6, 5, 15), datetime(2027, 6, 6, 15))
    # An explicit offset is that instant, whatever the zone.
    assert read_local("2027-06-06T00:00+00:00", SEOUL, field="from") == datetime(2027, 6, 6)


def test_a_window_across_a_dst_change_keeps_its_wall_clock_edges() -> None:
    # Berlin springs forward on 2027-03-28: a window from 00:00 to 06:00 local lasts 5 hours.
    w = read_window("2027-03-28T00:00", "2027-03-28T06:00", BERLIN, "wait")
    assert w.ends_at - w.starts_at == timedelta(hours=5)
    # New York falls back on 2027-11-07: 00:00 to 06:00 local lasts 7 hours.
    w = read_window("2027-11-07T00:00", "2027-11-07T06:00", NEW_YORK, "wait")
    assert w.ends_at - w.starts_at == timedelta(hours=7)


@pytest.mark.parametrize(
    ("start", "end", "tz", "mode", "label", "field", "says"),
    [
        ("2027-03-14T02:30", "2027-03-14T05:00", NEW_YORK, "wait", "", "from", "does not exist"),
        ("2027-11-07T00:00", "2027-11-07T01:30", NEW_YORK, "wait", "", "to", "happens twice"),
        ("2027-06-07", "2027-06-06T12:00", SEOUL, "wait", "", "to", "ends after it starts"),
        ("2027-06-06", "2028-06-07", SEOUL, "wait", "", "to", "at most 366 days"),
        ("2027-06-06", "2027-06-07", SEOUL, "later", "", "mode", "wait or hold"),
        ("2027-06-06", "2027-06-07", SEOUL, "wait", "a\nb", "label", "line break"),
        ("June 6", "2027-06-07", SEOUL, "wait", "", "from", "not a local date or time"),
        ("2027-02-30", "2027-06-07", SEOUL, "wait", "", "from", "not a date"),
    ],
)
def test_a_bad_window_is_refused_naming_the_field(
    start: str, end: str, tz: ZoneInfo, mode: str, label: str, field: str, says: str
) -> None:
    with pytest.raises(InputError) as e:
        read_window(start, end, tz, mode, label)
    assert e.value.field == field and says in e.value.message


# -- blacked out, and until when ---------------------------------------------------------------


def test_an_instant_in_a_wait_window_goes_at_its_end_in_the_order_it_was_due() -> None:
    spans = [Span(100.0, 200.0, False, "a")]
    assert blocked_at(spans, 99.9) is None and blocked_at(spans, 200.0) is None  # half-open
    b = blocked_at(spans, 150.0)
    assert b is not None and not b.hold and b.until == 200.0
    first, second = b.release_at(110.0), b.release_at(150.0)
    assert 200.0 < first < second < 200.001


def test_back_to_back_windows_are_waited_through_and_a_hold_window_holds() -> None:
    wait_then_wait = [Span(100.0, 200.0, False), Span(200.0, 300.0, False), Span(250.0, 400.0, False)]
    b = blocked_at(wait_then_wait, 150.0)
    assert b is not None and b.until == 400.0 and b.span.start == 100.0
    wait_then_hold = [Span(100.0, 200.0, False), Span(200.0, 300.0, True, "silence")]
    b = blocked_at(wait_then_hold, 150.0)
    assert b is not None and b.hold and b.span.label == "silence"


def test_lateness_is_not_counted_while_a_post_waits_out_a_window() -> None:
    # Due at 0 with an hour's tolerance; a window from 600 to 4200 pauses the clock.
    assert late_after(0.0, 3600.0, []) == 3600.0
    assert late_after(0.0, 3600.0, [Span(600.0, 4200.0, False)]) == 7200.0
    assert late_after(0.0, 3600.0, [Span(5000.0, 6000.0, False)]) == 3600.0  # after it: no matter
    # The windows a payload carries: those still ahead, less the one a person's release overrode.
    spans = [Span(0.0, 10.0, False), Span(20.0, 30.0, True), Span(40.0, 50.0, False)]
    assert pending(spans, 15.0) == tuple(spans[1:])
    assert pending(spans, 15.0, released=25.0) == (spans[2],)


@given(
    st.lists(
        st.tuples(st.integers(0, 1000), st.integers(1, 300), st.booleans()).map(
            lambda t: Span(float(t[0]), float(t[0] + t[1]), t[2])
        ),
        max_size=6,
    ),
    st.integers(0, 1400),
)
def test_a_wait_always_ends_clear_of_every_window(spans: list[Span], t: int) -> None:
    b = blocked_at(spans, float(t))
    if b is None:
        assert not any(s.start <= t < s.end for s in spans)
    elif b.hold:
        assert b.span.hold and b.span.start <= b.until
    else:
        assert not any(s.start <= b.until < s.end for s in spans)


# -- a campaign's range and windows together ---------------------------------------------------


def _bounds(**kw: object) -> Bounds:
    windows = kw.pop("windows", ())
    return Bounds(
        "unification",
        SEOUL,
        starts_at=read_local("2027-01-01", SEOUL, field="starts"),
        ends_at=read_local("2027-03-31T18:00", SEOUL, field="ends", end=True),
        windows=windows,  # type: ignore[arg-type]  # a test's tuple of windows
    )


def test_a_time_outside_the_range_is_refused_naming_the_range_in_local_time() -> None:
    b = _bounds()
    with pytest.raises(InputError) as e:
        b.place(read_local("2027-04-02T09:00", SEOUL, field="at"))
    assert e.value.message == (
        "campaign unification runs from 2027-01-01 00:00 to 2027-03-31 18:00 (Asia/Seoul); "
        "2027-04-02 09:00 is after its end"
    )
    with pytest.raises(InputError, match="2026-12-31 23:59 is before its start"):
        b.place(read_local("2026-12-31T23:59", SEOUL, field="at"))
    inside = read_local("2027-02-01T09:00", SEOUL, field="at")
    assert b.place(inside).at == inside and b.place(inside).held is None


def test_a_time_in_a_window_moves_to_its_end_or_is_held() -> None:
    wait = read_window("2027-03-01", "2027-03-01", SEOUL, "wait", "Independence Movement Day")
    hold = read_window("2027-03-03", "2027-03-03", SEOUL, "hold", "election silence")
    b = _bounds(windows=(wait, hold))
    at = read_local("2027-03-01T09:00", SEOUL, field="at")
    placed = b.place(at)
    assert placed.held is None and wait.ends_at < placed.at < wait.ends_at + timedelta(seconds=1)
    assert placed.at == waited(blocked([wait], at), at)  # type: ignore[arg-type]  # it is blocked
    held = b.place(read_local("2027-03-03T12:00", SEOUL, field="at"))
    assert held.held is not None and "'election silence' holds" in held.held


def test_a_wait_that_would_end_after_the_campaign_is_refused() -> None:
    last = read_window("2027-03-31T12:00", "2027-04-01T00:00", SEOUL, "wait", "closing")
    with pytest.raises(InputError, match="would move it to its end, but .* is after its end"):
        _bounds(windows=(last,)).place(read_local("2027-03-31T13:00", SEOUL, field="at"))


def test_the_slot_search_starts_at_the_range_skips_windows_and_fails_past_the_end() -> None:
    daily_nine = [
        read_local(f"2027-{m:02d}-{d:02d}T09:00", SEOUL, field="at")
        for m in (1, 2, 3, 4)
        for d in range(1, 29)
    ]

    def find(after: datetime) -> datetime:
        return next(t for t in daily_nine if t >= after)

    wait = read_window("2027-01-01", "2027-01-02", SEOUL, "wait")
    b = _bounds(windows=(wait,))
    assert b.first_slot(find, datetime(2026, 6, 1)) == read_local("2027-01-03T09:00", SEOUL, field="at")
    with pytest.raises(InputError) as e:
        b.first_slot(find, read_local("2027-03-28T10:00", SEOUL, field="at"))
    assert e.value.field == "next-slot" and "is after its end" in e.value.message


# -- hashtags and UTM ---------------------------------------------------------------------------


def test_hashtags_are_appended_once_and_only_those_missing() -> None:
    tags = read_hashtags("#통일, Unification #unification")
    assert tags == "#통일 #Unification"
    assert with_hashtags("평화 #통일", tags) == "평화 #통일\n\n#Unification"
    assert with_hashtags("peace #UNIFICATION #통일", tags) == "peace #UNIFICATION #통일"
    assert read_hashtags("  ") is None
    for bad, says in (
        ("#two words-x", "not a hashtag"),
        (" ".join(f"#t{i}" for i in range(11)), "at most 10"),
    ):
        with pytest.raises(InputError, match=says):
            read_hashtags(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "See https://example.org/a?b=1#part.",
            "See https://example.org/a?b=1&utm_source=x&utm_medium=social&utm_campaign=spring-2027#part.",
        ),
        (
            "(https://example.org/wiki/A_(b))",
            "(https://example.org/wiki/A_(b)?utm_source=x&utm_medium=social&utm_campaign=spring-2027)",
        ),
        ("kept https://example.org/?utm_source=press now", "kept https://example.org/?utm_source=press now"),
        ("no link here", "no link here"),
        ("http://", "http://"),
    ],
)
def test_links_get_utm_parameters_kept_when_tagged_and_the_fragment_stays(text: str, expected: str) -> None:
    assert tagged(text, hashtags=None, utm=Utm("x", slug("Spring 2027"))) == expected


def test_utm_values_are_url_encoded() -> None:
    link = tagged_link("https://통일.kr/가?q=a%20b", Utm("mastodon", slug("통일 캠페인")))
    assert link.endswith(
        "?q=a%20b&utm_source=mastodon&utm_medium=social&utm_campaign=%ED%86%B5%EC%9D%BC-%EC%BA%A0%ED%8E%98%EC%9D%B8"
    )
