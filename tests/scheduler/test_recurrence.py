"""Recurring posts as RRULEs read on a zone's wall clock: 09:00 stays 09:00 local across DST in
America/New_York and Europe/Berlin (and Asia/Seoul, which has none); an occurrence at a DST gap
or overlap is refused by name unless the person said what they mean; endless, oversized and
hostile rules are refused with the reason, before anything is evaluated."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from herald.core.errors import InputError
from scheduler.localtime import zone
from scheduler.recurrence import MAX_OCCURRENCES, MAX_RULE_CHARS, occurrences, parse_rule

NY, BERLIN, SEOUL = zone("America/New_York"), zone("Europe/Berlin"), zone("Asia/Seoul")
# 2030: New York springs forward on 10 March and falls back on 3 November; Berlin on 31 March
# and 27 October.


def _refused(rule: str, start: datetime = datetime(2030, 1, 7, 9), tz: object = NY, **kw: object) -> str:
    with pytest.raises(InputError) as e:
        occurrences(rule, start, tz, **kw)  # type: ignore[arg-type]
    assert e.value.field == "repeat"
    return e.value.message


def test_weekly_at_nine_stays_nine_local_across_spring_forward_in_new_york() -> None:
    got = occurrences("RRULE:FREQ=WEEKLY;BYDAY=SU;COUNT=3", datetime(2030, 3, 3, 9), NY)
    assert [o.local for o in got] == [datetime(2030, 3, d, 9) for d in (3, 10, 17)]
    assert [o.at for o in got] == [
        datetime(2030, 3, 3, 14),
        datetime(2030, 3, 10, 13),
        datetime(2030, 3, 17, 13),
    ]
    assert [o.number for o in got] == [1, 2, 3]


def test_daily_at_nine_stays_nine_local_across_fall_back_in_berlin() -> None:
    got = occurrences("FREQ=DAILY;COUNT=3", datetime(2030, 10, 26, 9), BERLIN)
    assert [o.at for o in got] == [
        datetime(2030, 10, 26, 7),  # CEST, +2
        datetime(2030, 10, 27, 8),  # CET, +1 (the clocks fell back that night)
        datetime(2030, 10, 28, 8),
    ]


def test_seoul_has_no_dst_so_every_occurrence_is_nine_hours_ahead() -> None:
    got = occurrences("FREQ=MONTHLY;BYMONTHDAY=1;COUNT=12", datetime(2030, 1, 1, 9), SEOUL)
    assert len(got) == 12
    assert all(o.at.hour == 0 and o.local.hour == 9 for o in got)


def test_until_in_utc_is_compared_with_each_occurrences_instant() -> None:
    # 09:00 New York on 11 March is 13:00Z (EDT): an UNTIL of 13:00Z takes it, 12:59Z does not.
    rule = "FREQ=DAILY;UNTIL=20300311T130000Z"
    assert [o.local.day for o in occurrences(rule, datetime(2030, 3, 9, 9), NY)] == [9, 10, 11]
    rule = "FREQ=DAILY;UNTIL=20300311T125900Z"
    assert [o.local.day for o in occurrences(rule, datetime(2030, 3, 9, 9), NY)] == [9, 10]


def test_until_as_a_local_date_takes_that_whole_day() -> None:
    got = occurrences("FREQ=DAILY;BYHOUR=9,17;UNTIL=20300108", datetime(2030, 1, 7, 9), SEOUL)
    assert [o.local for o in got] == [
        datetime(2030, 1, 7, 9),
        datetime(2030, 1, 7, 17),
        datetime(2030, 1, 8, 9),
        datetime(2030, 1, 8, 17),
    ]


def test_an_occurrence_in_the_spring_forward_gap_is_refused_by_name_unless_moved_forward() -> None:
    msg = _refused("FREQ=DAILY;COUNT=3", datetime(2030, 3, 9, 2, 30))
    assert msg.startswith("occurrence 2 of 3: 2030-03-10 02:30 in America/New_York does not exist")
    moved = occurrences("FREQ=DAILY;COUNT=3", datetime(2030, 3, 9, 2, 30), NY, gap="forward")
    assert [o.at for o in moved] == [
        datetime(2030, 3, 9, 7, 30),
        datetime(2030, 3, 10, 7, 30),  # 03:30 EDT
        datetime(2030, 3, 11, 6, 30),
    ]


def test_an_occurrence_in_the_fall_back_overlap_is_refused_unless_first_or_second_is_chosen() -> None:
    msg = _refused("FREQ=WEEKLY;COUNT=2", datetime(2030, 10, 20, 2, 30), BERLIN)
    assert "occurrence 2 of 2: 2030-10-27 02:30 in Europe/Berlin happens twice" in msg
    first = occurrences("FREQ=WEEKLY;COUNT=2", datetime(2030, 10, 20, 2, 30), BERLIN, fold=0)
    second = occurrences("FREQ=WEEKLY;COUNT=2", datetime(2030, 10, 20, 2, 30), BERLIN, fold=1)
    assert first[1].at == datetime(2030, 10, 27, 0, 30) and second[1].at == datetime(2030, 10, 27, 1, 30)


def test_every_refused_occurrence_is_counted() -> None:
    msg = _refused("FREQ=YEARLY;BYMONTH=3;BYDAY=2SU;COUNT=3", datetime(2030, 3, 10, 2, 30))
    assert msg.startswith("occurrence 1 of 3") and "(and 2 more occurrence(s) at a clock change)" in msg


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("FREQ=WEEKLY", "never ends"),
        ("FREQ=WEEKLY;BYDAY=MO", "never ends"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20300201", "COUNT or UNTIL, not both"),
        (f"FREQ=DAILY;COUNT={MAX_OCCURRENCES + 1}", f"between 1 and {MAX_OCCURRENCES}"),
        ("FREQ=DAILY;COUNT=0", "between 1 and"),
        ("FREQ=DAILY;COUNT=-1", "whole number"),
        ("FREQ=DAILY;UNTIL=20310201", f"more than {MAX_OCCURRENCES} occurrences"),
        ("FREQ=DAILY;UNTIL=20500101", "more than 10 years"),
        ("FREQ=YEARLY;COUNT=30", "within 10 years"),
        ("FREQ=HOURLY;COUNT=3", "not accepted"),
        ("FREQ=SECONDLY;COUNT=3", "not accepted"),
        ("FREQ=DAILY;BYSECOND=1,2;COUNT=3", "BYSECOND"),
        ("FREQ=YEARLY;BYYEARDAY=1;COUNT=3", "BYYEARDAY"),
        ("FREQ=YEARLY;BYWEEKNO=1;COUNT=3", "BYWEEKNO"),
        ("DTSTART:20200101T090000\nRRULE:FREQ=DAILY;COUNT=2", "one RRULE line"),
        ("DTSTART=20200101T090000;FREQ=DAILY;COUNT=2", "DTSTART"),
        ("FREQ=DAILY;COUNT=2\nEXDATE:20300108T090000", "one RRULE line"),
        ("EXDATE:20300108T090000", "EXDATE"),
        ("RDATE:20300108T090000", "RDATE"),
        ("FREQ=DAILY;COUNT=2;X-HERALD=1", "unknown or unsupported rule part"),
        ("FREQ=DAILY;COUNT=2;COUNT=3", "given twice"),
        ("FREQ=DAILY;COUNT=2;<script>", "unexpected character"),
        ("FREQ=DAILY;COUNT=2;BYDAY=MO\x00", "unexpected character"),
        ("COUNT=2", "FREQ is missing"),
        ("FREQ=DAILY;COUNT", "not NAME=VALUE"),
        ("FREQ=DAILY;COUNT=2;BYHOUR=25", "25 is not between 0 and 23"),
        ("FREQ=DAILY;COUNT=2;BYMONTHDAY=0", "0 is not between 1 and 31"),
        ("FREQ=DAILY;COUNT=2;BYMONTHDAY=-1;BYMINUTE=1,,2", "a whole number"),
        ("FREQ=DAILY;COUNT=2;BYMONTH=13", "13 is not between 1 and 12"),
        ("FREQ=WEEKLY;COUNT=2;BYDAY=XX", "not a weekday"),
        ("FREQ=WEEKLY;COUNT=2;BYDAY=1MO", "needs FREQ=MONTHLY or YEARLY"),
        ("FREQ=MONTHLY;COUNT=2;BYDAY=6MO", "between 1 and 5"),
        ("FREQ=DAILY;COUNT=2;BYSETPOS=2", "at most 1"),
        ("FREQ=DAILY;UNTIL=tomorrow", "UNTIL=TOMORROW"),
        ("FREQ=DAILY;UNTIL=20300230", "day is out of range"),
        ("FREQ=DAILY;COUNT=2;INTERVAL=0", "between 1 and 1000"),
        ("", "no rule given"),
        ("FREQ=DAILY;COUNT=2;" + "BYMINUTE=1;" * 40, f"at most {MAX_RULE_CHARS}"),
    ],
)
def test_endless_oversized_and_hostile_rules_are_refused_with_the_reason(rule: str, reason: str) -> None:
    assert reason in _refused(rule)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=3",  # February 30th
        "FREQ=MONTHLY;BYMONTH=4,6,9,11;BYMONTHDAY=31;COUNT=2",
        "FREQ=DAILY;INTERVAL=7;BYDAY=TU;COUNT=3",  # every 7th day from a Monday is never a Tuesday
        "FREQ=WEEKLY;BYMONTH=2;BYMONTHDAY=31;BYDAY=MO;COUNT=2",
    ],
)
def test_a_rule_that_can_never_match_is_refused_at_once(rule: str) -> None:
    # dateutil would search such a rule until the year 9999; refused in a scan of ten years.
    t0 = time.monotonic()
    assert "gives no occurrence" in _refused(rule)
    assert time.monotonic() - t0 < 5  # a generous bound: the point is that it returns


def test_the_start_must_be_an_occurrence() -> None:
    msg = _refused("FREQ=WEEKLY;BYDAY=MO;COUNT=4", datetime(2030, 1, 8, 9))
    assert "2030-01-08 09:00 (Tuesday) is not an occurrence" in msg and "2030-01-14 09:00 (Monday)" in msg


def test_the_rule_is_written_back_in_one_form() -> None:
    assert parse_rule(" rrule:count=4;freq=weekly; byday=MO ").text == "FREQ=WEEKLY;COUNT=4;BYDAY=MO"


def test_monthly_on_the_31st_skips_shorter_months_as_rfc_5545_says() -> None:
    got = occurrences("FREQ=MONTHLY;COUNT=3", datetime(2030, 1, 31, 9), SEOUL)
    assert [o.local.month for o in got] == [1, 3, 5]


def test_last_weekday_of_the_month_with_bysetpos() -> None:
    got = occurrences(
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3", datetime(2030, 1, 31, 9), BERLIN
    )
    assert [o.local.date().isoformat() for o in got] == ["2030-01-31", "2030-02-28", "2030-03-29"]
