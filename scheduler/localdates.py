"""Local dates and times people type for a campaign (its range's bounds, a blackout window's
edges), read in its zone as ``scheduler.localtime`` reads any wall-clock time, and shown back
the same way."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from herald.core.errors import InputError
from scheduler.localtime import local_of, to_utc

_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


def read_local(text: str, tz: ZoneInfo, *, field: str, end: bool = False) -> datetime:
    """The instant (naive UTC) of a local date or time typed in ``tz``: ``2027-01-01`` (its
    midnight; with ``end``, the midnight after it, so the whole day is inside),
    ``2027-03-31T18:00`` (a wall-clock time: refused if it does not exist or happens twice),
    or a time with an offset (that instant). Raises InputError (``field``) naming the value."""
    value = text.strip()
    if _DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise InputError(field, f"{text!r} is not a date (YYYY-MM-DD)") from None
        if end:
            day += timedelta(days=1)
        return to_utc(datetime(day.year, day.month, day.day), tz, field=field)
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            field, f"{text!r} is not a local date or time (e.g. 2027-01-01 or 2027-03-31T18:00)"
        ) from None
    if at.tzinfo is not None:
        return at.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    return to_utc(at, tz, field=field)


def shown_local(at: datetime, tz: ZoneInfo) -> str:
    """A naive UTC instant as people read it in ``tz``: ``2027-03-31 18:00``."""
    local = local_of(at, tz)
    return local.strftime("%Y-%m-%d %H:%M" + (":%S" if local.second else ""))
