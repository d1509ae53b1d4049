"""Local times as people mean them, at the DST edges of America/New_York, Europe/Berlin and
Asia/Seoul (no DST): a time that does not exist is refused unless moved forward on request; a
time that happens twice is refused unless the first or second is picked; never a silent shift."""

from __future__ import annotations

from datetime import datetime

import pytest

from herald.core.errors import InputError
from scheduler.localtime import exists, is_ambiguous, to_utc, zone

NY, BERLIN, SEOUL = zone("America/New_York"), zone("Europe/Berlin"), zone("Asia/Seoul")


@pytest.mark.parametrize(
    ("tz", "local", "utc"),
    [
        (NY, datetime(2026, 1, 15, 9, 0), datetime(2026, 1, 15, 14, 0)),  # EST, -5
        (NY, datetime(2026, 7, 15, 9, 0), datetime(2026, 7, 15, 13, 0)),  # EDT, -4
        (BERLIN, datetime(2026, 1, 15, 9, 0), datetime(2026, 1, 15, 8, 0)),  # CET, +1
        (BERLIN, datetime(2026, 7, 15, 9, 0), datetime(2026, 7, 15, 7, 0)),  # CEST, +2
        (SEOUL, datetime(2026, 3, 8, 2, 30), datetime(2026, 3, 7, 17, 30)),  # +9 all year
        (SEOUL, datetime(2026, 11, 1, 1, 30), datetime(2026, 10, 31, 16, 30)),
    ],
)
def test_ordinary_local_times(tz: object, local: datetime, utc: datetime) -> None:
    assert to_utc(local, tz) == utc  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tz", "local", "gap", "forward"),
    [
        (NY, datetime(2026, 3, 8, 2, 30), "02:00 to 03:00", datetime(2026, 3, 8, 7, 30)),
        (BERLIN, datetime(2026, 3, 29, 2, 30), "02:00 to 03:00", datetime(2026, 3, 29, 1, 30)),
    ],
)
def test_a_time_in_the_spring_forward_gap_is_refused_unless_moved_forward(
    tz: object, local: datetime, gap: str, forward: datetime
) -> None:
    assert not exists(local, tz)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=f"does not exist: the clocks go from {gap}") as e:
        to_utc(local, tz)  # type: ignore[arg-type]
    assert e.value.field == "at"
    with pytest.raises(InputError):
        to_utc(local, tz, fold=0)  # type: ignore[arg-type]  # fold does not pick a gap
    # Moved forward by the gap's length: 02:30 is 03:30 local, on the far side of the change.
    moved = to_utc(local, tz, gap="forward")  # type: ignore[arg-type]
    assert moved == forward


@pytest.mark.parametrize(
    ("tz", "local", "first", "second"),
    [
        (NY, datetime(2026, 11, 1, 1, 30), datetime(2026, 11, 1, 5, 30), datetime(2026, 11, 1, 6, 30)),
        (BERLIN, datetime(2026, 10, 25, 2, 30), datetime(2026, 10, 25, 0, 30), datetime(2026, 10, 25, 1, 30)),
    ],
)
def test_a_time_that_happens_twice_is_refused_unless_one_is_picked(
    tz: object, local: datetime, first: datetime, second: datetime
) -> None:
    assert is_ambiguous(local, tz)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=f"happens twice \\(at {first:%H:%M}Z and at {second:%H:%M}Z\\)"):
        to_utc(local, tz)  # type: ignore[arg-type]
    assert to_utc(local, tz, fold=0) == first  # type: ignore[arg-type]
    assert to_utc(local, tz, fold=1) == second  # type: ignore[arg-type]


def test_seoul_has_no_gap_and_no_overlap_all_year() -> None:
    day = datetime(2026, 1, 1)
    for h in range(365 * 24):
        local = day.replace(hour=0) + (datetime(2026, 1, 1, 1) - datetime(2026, 1, 1)) * h
        assert exists(local, SEOUL) and not is_ambiguous(local, SEOUL)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", " Asia/Seoul", "../etc/passwd", "/etc/localtime"])
def test_an_unknown_or_hostile_zone_is_refused_by_name(name: str) -> None:
    with pytest.raises(InputError, match="unknown time zone"):
        zone(name)
