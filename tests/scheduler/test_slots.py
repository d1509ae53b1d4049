"""Posting slots: parsing them as people write them, placing them in the channel's zone across
DST (09:00 stays 09:00 local; a slot in the gap is skipped that day, never shifted), the minimum
gap, and the next free slot common to several channels."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from herald.core.errors import InputError
from scheduler.localtime import local_of, zone
from scheduler.slots import ChannelSlots, WeeklySlots, next_free_slot, parse_duration, slot_times

NY, BERLIN, SEOUL = zone("America/New_York"), zone("Europe/Berlin"), zone("Asia/Seoul")


def test_slots_read_as_people_write_them_and_back() -> None:
    slots = WeeklySlots.parse("mon-fri 09:00,13:00; sat 10:00")
    assert slots.to_dict() == {d: ["09:00", "13:00"] for d in ("mon", "tue", "wed", "thu", "fri")} | {
        "sat": ["10:00"]
    }
    assert slots.text() == "mon-fri 09:00,13:00; sat 10:00"
    assert WeeklySlots.from_dict(slots.to_dict()) == slots
    assert WeeklySlots.parse("fri-mon 7:05").by_day[6] == (time(7, 5),)  # wraps over the weekend
    assert WeeklySlots.parse("daily 12:00").count == 7
    assert WeeklySlots.parse("").count == 0


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("mon-fry 09:00", "'mon-fry' is not a day"),
        ("mon 9am", "'9am'"),
        ("mon 24:00", "'24:00'"),
        ("09:00", "give days, then times"),
        ("mon-fri 09:00;; sat 25:61", "'25:61'"),
    ],
)
def test_bad_slots_are_refused_naming_the_part(text: str, named: str) -> None:
    with pytest.raises(InputError, match=named) as e:
        WeeklySlots.parse(text)
    assert e.value.field == "slots"


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("2h", 7200), ("90s", 90), ("45", 2700)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_nine_stays_nine_local_across_dst_and_a_slot_in_the_gap_is_skipped() -> None:
    slots = WeeklySlots.parse("daily 02:30,09:00")
    start = datetime(2026, 3, 7, 0, 0)  # New York springs forward on Sunday 8 March
    got = []
    for s in slot_times(slots, NY, start):
        if s.local >= datetime(2026, 3, 10):
            break
        got.append(s)
    locals_ = [(s.local, s.at is not None) for s in got]
    assert (datetime(2026, 3, 8, 2, 30), False) in locals_  # skipped, not moved
    for s in got:
        if s.at is not None:
            assert local_of(s.at, NY).replace(tzinfo=None) == s.local
    nines = [s.at for s in got if s.local.time() == time(9)]
    assert [local_of(a, NY).strftime("%H:%M %z") for a in nines if a] == [
        "09:00 -0500",
        "09:00 -0400",
        "09:00 -0400",
    ]


def test_a_slot_in_the_hour_that_happens_twice_is_the_first() -> None:
    slots = WeeklySlots.parse("sun 01:30")
    [first] = [s for s, _ in zip(slot_times(slots, NY, datetime(2026, 10, 31)), range(1), strict=False)]
    assert first.at == datetime(2026, 11, 1, 5, 30)  # 01:30 EDT, not 01:30 EST


def _chan(
    name: str, text: str, tz: object, gap: int = 0, taken: list[datetime] | None = None
) -> ChannelSlots:
    return ChannelSlots(name, WeeklySlots.parse(text), tz, gap, sorted(taken or []))  # type: ignore[arg-type]


def test_next_free_slot_is_common_to_the_channels_and_free_on_each() -> None:
    after = datetime(2026, 12, 7, 0, 0)  # a Monday, 09:00 Seoul
    a = _chan("seoul", "mon-fri 09:00,13:00", SEOUL, taken=[datetime(2026, 12, 7, 0, 0)])
    b = _chan("seoul-2", "mon-fri 13:00", SEOUL)
    assert next_free_slot([a], after) == datetime(2026, 12, 7, 4, 0)  # 09:00 taken: 13:00
    assert next_free_slot([a, b], after) == datetime(2026, 12, 7, 4, 0)
    b2 = _chan("seoul-2", "mon-fri 13:00", SEOUL, taken=[datetime(2026, 12, 7, 4, 0)])
    assert next_free_slot([a, b2], after) == datetime(2026, 12, 8, 4, 0)  # Tuesday 13:00


def test_the_minimum_gap_keeps_posts_apart() -> None:
    taken = [datetime(2026, 12, 7, 0, 20)]  # a post at 09:20 Seoul
    tight = _chan("c", "mon 09:00,09:30,10:00", SEOUL, gap=0, taken=taken)
    apart = _chan("c", "mon 09:00,09:30,10:00", SEOUL, gap=30 * 60, taken=taken)
    after = datetime(2026, 12, 7, 0, 0)
    assert next_free_slot([tight], after) == datetime(2026, 12, 7, 0, 0)
    assert next_free_slot([apart], after) == datetime(2026, 12, 7, 1, 0)  # 09:00, 09:30 too close


def test_no_common_slot_and_no_slots_are_refused_clearly() -> None:
    after = datetime(2026, 12, 7)
    with pytest.raises(InputError, match="never fall at the same instant"):
        next_free_slot([_chan("seoul", "mon 09:00", SEOUL), _chan("berlin", "mon 09:00", BERLIN)], after)
    with pytest.raises(InputError, match="herald schedule set bare"):
        next_free_slot([_chan("bare", "", SEOUL)], after)


def test_a_week_of_three_channels_in_three_zones_keeps_every_local_time() -> None:
    """A week, clock injected, crossing Berlin's spring-forward: each channel fills its own slots
    in order, and every instant is the slot's local time in its zone."""
    start = datetime(2026, 3, 26, 0, 0)  # Thursday; Berlin springs forward on Sunday the 29th
    chans = {
        "seoul": _chan("seoul", "mon-fri 09:00,18:00", SEOUL),
        "berlin": _chan("berlin", "daily 02:30,09:00", BERLIN),
        "washington": _chan("washington", "mon-sat 08:00", NY, gap=3600),
    }
    placed: dict[str, list[datetime]] = {n: [] for n in chans}
    for name, c in chans.items():
        while True:
            at = next_free_slot([c], start)
            if at >= start + timedelta(days=7):
                break
            placed[name].append(at)
            c.take(at)
    local = {n: [local_of(a, chans[n].tz).replace(tzinfo=None) for a in ats] for n, ats in placed.items()}
    assert [t.strftime("%a %H:%M") for t in local["seoul"]] == [
        f"{d} {h}" for d in ("Thu", "Fri", "Mon", "Tue", "Wed") for h in ("09:00", "18:00")
    ]
    berlin = [t.strftime("%a %H:%M") for t in local["berlin"]]
    assert "Sun 02:30" not in berlin and "Sun 09:00" in berlin  # the gap's slot is skipped
    assert len(berlin) == 13
    assert {local_of(a, BERLIN).strftime("%z") for a in placed["berlin"]} == {"+0100", "+0200"}
    assert [t.strftime("%a %H:%M") for t in local["washington"]] == [
        f"{d} 08:00" for d in ("Thu", "Fri", "Sat", "Mon", "Tue", "Wed")
    ]
    for ats in placed.values():
        assert ats == sorted(ats) and len(set(ats)) == len(ats)
