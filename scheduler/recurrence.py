"""Recurring posts: an RFC 5545 RRULE, read on the wall clock of a zone, made a bounded list of
instants.

A series is written the way calendars write it, ``FREQ=WEEKLY;BYDAY=MO;COUNT=4`` (with or
without the ``RRULE:`` prefix), and its first occurrence is the post's own time (the rule's
DTSTART). python-dateutil expands it on *naive local* times from the local start, so 09:00
stays 09:00 local on both sides of a daylight saving change; each occurrence is then made an
instant with ``scheduler.localtime.to_utc``, under the same rule as a single post: a time in
the spring-forward gap or the fall-back overlap is refused, naming the occurrence, unless the
person said what they mean (``gap="forward"``, ``fold``).

What is refused, and why:

- a rule without an end (neither COUNT nor UNTIL): a post must not repeat for ever;
- more than ``MAX_OCCURRENCES`` occurrences, or any later than ``MAX_SPAN_YEARS`` after the
  first: every occurrence is written as its own post and deliveries when the series is queued;
- anything but one RRULE line of known parts: no DTSTART (the post's time is the start), no
  EXDATE/RDATE/EXRULE, no second line, at most ``MAX_RULE_CHARS`` characters;
- frequencies finer than daily (use BYHOUR/BYMINUTE with FREQ=DAILY), BYSECOND, BYYEARDAY,
  BYWEEKNO: a campaign does not need them, and dateutil searches such rules to the year 9999
  when they can never match;
- a rule that gives no occurrence near its start (e.g. February 30th): dateutil would search
  for one until the year 9999, so a cheap over-approximating scan of the candidate days
  (``_may_match``) refuses it first;
- a first occurrence that is not the start: RFC 5545 leaves such a series undefined.

UNTIL may be a local date (through the end of that day), a local date-time, or a UTC instant
(``...Z``), compared with each occurrence's instant, not its wall clock.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from herald.core.errors import InputError
from scheduler.localtime import Gap, to_utc

#: The most occurrences one series may have (a daily post for a year).
MAX_OCCURRENCES = 366
#: The latest an occurrence may fall after the first.
MAX_SPAN_YEARS = 10
#: The longest rule text accepted (the posts.recurrence column holds 500).
MAX_RULE_CHARS = 300

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
#: Rule parts Herald accepts, in the order a rule is written back.
PARTS = (
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYMONTH",
    "BYMONTHDAY",
    "BYDAY",
    "BYHOUR",
    "BYMINUTE",
    "BYSETPOS",
    "WKST",
)
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
#: Refused with a reason of their own (the rest of RFC 5545 is refused as unknown).
_NOT_HERE = {
    "DTSTART": "the series starts at the post's own time (--at); give no DTSTART",
    "EXDATE": "a series is one RRULE line; cancel single occurrences after queueing instead",
    "RDATE": "a series is one RRULE line; queue extra posts on their own",
    "EXRULE": "a series is one RRULE line",
    "BYSECOND": "posts go out to the minute; BYSECOND is not accepted",
    "BYYEARDAY": "BYYEARDAY is not accepted; use BYMONTH with BYMONTHDAY",
    "BYWEEKNO": "BYWEEKNO is not accepted; use BYMONTH with BYDAY",
    "BYEASTER": "BYEASTER is not accepted",
}
_SAFE = re.compile(r"^[A-Z0-9=;,+\-]+$")
_DAY = re.compile(r"^([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$")
#: The numbers list parts take: (lowest, highest, may be negative).
_RANGES = {
    "BYMONTH": (1, 12, False),
    "BYMONTHDAY": (1, 31, True),
    "BYHOUR": (0, 23, False),
    "BYMINUTE": (0, 59, False),
    "BYSETPOS": (1, 366, True),
}
#: How many occurrences of BYSETPOS's set a period can hold, at most, per frequency's days.
_DAYS_IN_PERIOD = {"DAILY": 1, "WEEKLY": 7, "MONTHLY": 31, "YEARLY": 366}


@dataclass(frozen=True)
class Until:
    """The rule's end: a wall-clock time in the series' zone (``local``), or an instant
    (``instant``, naive UTC) when the rule gave one with ``Z``."""

    local: datetime | None = None
    instant: datetime | None = None


@dataclass(frozen=True)
class Rule:
    """An RRULE that passed every check that needs no start: known parts, each once, an end."""

    #: The rule written back in a fixed form (upper case, no prefix): what the post keeps.
    text: str
    freq: str
    interval: int
    count: int | None
    until: Until | None
    #: Every part as given, but COUNT and UNTIL (Herald applies those itself).
    parts: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.parts if k == name), None)


@dataclass(frozen=True)
class Occurrence:
    """One post of a series: its place (1-based), wall-clock time and instant (naive UTC)."""

    number: int
    local: datetime
    at: datetime


def parse_rule(text: str, field: str = "repeat") -> Rule:
    """Read one RRULE line. Raises InputError (``field``) naming what is wrong: an endless rule,
    a part that is not accepted, a bad value (dateutil's own reason), too long a text."""
    given = text.strip()
    if not given:
        raise InputError(field, "no rule given (e.g. FREQ=WEEKLY;BYDAY=MO;COUNT=4)")
    if len(given) > MAX_RULE_CHARS:
        raise InputError(field, f"the rule has {len(given)} characters; at most {MAX_RULE_CHARS}")
    body = re.sub(r"[ \t]+", "", given.upper())
    if "\n" in body or "\r" in body:
        named = [n for n in ("DTSTART", "EXDATE", "RDATE", "EXRULE") if n in body]
        reason = f" ({_NOT_HERE[named[0]]})" if named else ""
        raise InputError(field, f"give one RRULE line, not several{reason}")
    if body.startswith("RRULE:"):
        body = body[len("RRULE:") :]
    for name, reason in _NOT_HERE.items():
        if re.search(rf"(^|[;:]){name}\b", body):
            raise InputError(field, f"{name}: {reason}")
    if not _SAFE.match(body):
        bad = sorted({c for c in body if not _SAFE.match(c)})
        raise InputError(
            field,
            f"unexpected character(s) {''.join(bad)!r}; a rule is NAME=VALUE parts separated by ';' "
            "(e.g. FREQ=WEEKLY;BYDAY=MO;COUNT=4)",
        )
    parts: dict[str, str] = {}
    for piece in body.strip(";").split(";"):
        name, eq, value = piece.partition("=")
        if not eq or not name or not value:
            raise InputError(field, f"{piece!r} is not NAME=VALUE")
        if name not in PARTS:
            raise InputError(
                field, f"unknown or unsupported rule part {name!r} (accepted: {', '.join(PARTS)})"
            )
        if name in parts:
            raise InputError(field, f"{name} is given twice")
        parts[name] = value
    freq = parts.get("FREQ")
    if freq is None:
        raise InputError(field, "FREQ is missing (DAILY, WEEKLY, MONTHLY or YEARLY)")
    if freq not in FREQUENCIES:
        raise InputError(
            field,
            f"FREQ={freq} is not accepted: use DAILY, WEEKLY, MONTHLY or YEARLY "
            "(several times a day: FREQ=DAILY;BYHOUR=9,17)",
        )
    count_text, until_text = parts.get("COUNT"), parts.get("UNTIL")
    if count_text is None and until_text is None:
        raise InputError(
            field,
            f"the rule never ends: give COUNT (at most {MAX_OCCURRENCES}) or UNTIL; "
            "a post must not repeat for ever",
        )
    if count_text is not None and until_text is not None:
        raise InputError(field, "give COUNT or UNTIL, not both (RFC 5545)")
    count = None
    if count_text is not None:
        count = _number(count_text, "COUNT", field)
        if not 1 <= count <= MAX_OCCURRENCES:
            raise InputError(field, f"COUNT={count_text}: between 1 and {MAX_OCCURRENCES} occurrences")
    interval = _number(parts.get("INTERVAL", "1"), "INTERVAL", field)
    if not 1 <= interval <= 1000:
        raise InputError(field, f"INTERVAL={parts['INTERVAL']}: between 1 and 1000")
    until = _until(until_text, field) if until_text is not None else None
    for name, (lo, hi, signed) in _RANGES.items():
        for value in parts[name].split(",") if name in parts else ():
            n = _number(value[1:] if signed and value[:1] in "+-" else value, name, field)
            if not lo <= n <= hi:
                raise InputError(field, f"{name}={parts[name]}: {value} is not between {lo} and {hi}")
    for day in parts.get("BYDAY", "").split(",") if "BYDAY" in parts else ():
        m = _DAY.match(day)
        if not m:
            raise InputError(field, f"BYDAY: {day!r} is not a weekday (MO … SU, e.g. MO or 1MO or -1FR)")
        if m.group(2) is not None:
            n, limit = int(m.group(2)), 53 if freq == "YEARLY" and "BYMONTH" not in parts else 5
            if freq not in ("MONTHLY", "YEARLY"):
                raise InputError(field, f"BYDAY={day}: a numbered weekday needs FREQ=MONTHLY or YEARLY")
            if not 1 <= n <= limit:
                raise InputError(
                    field, f"BYDAY={day}: the number is between 1 and {limit} (or -1 … -{limit})"
                )
    if "WKST" in parts and parts["WKST"] not in _WEEKDAYS:
        raise InputError(field, f"WKST={parts['WKST']}: a weekday (MO … SU)")
    kept = tuple((k, parts[k]) for k in PARTS if k in parts and k not in ("COUNT", "UNTIL"))
    if "BYSETPOS" in parts:
        most = _DAYS_IN_PERIOD[freq] * _many(parts, "BYHOUR") * _many(parts, "BYMINUTE")
        for pos in parts["BYSETPOS"].split(","):
            n = _number(pos.lstrip("+-"), "BYSETPOS", field)
            if not 1 <= n <= most:
                raise InputError(field, f"BYSETPOS={pos}: a period of this rule holds at most {most}")
    # dateutil's own reading of the values (months 1-12, hours 0-23 ...), with any start; built,
    # never iterated here (an impossible rule is iterated only after ``_may_match``).
    _build(kept, datetime(2000, 1, 1), datetime(2000, 1, 2), field)
    text_out = ";".join(f"{k}={parts[k]}" for k in PARTS if k in parts)
    return Rule(text_out, freq, interval, count, until, kept)


def occurrences(
    rule: Rule | str,
    start: datetime,
    tz: ZoneInfo,
    *,
    fold: int | None = None,
    gap: Gap = "refuse",
    field: str = "repeat",
) -> list[Occurrence]:
    """Every occurrence of ``rule`` from the wall-clock time ``start`` (naive, in ``tz``; the
    first occurrence), each with its instant. Raises InputError (``field``) for a start that is
    not an occurrence, no occurrence at all, too many or too far, and an occurrence in a DST
    gap or overlap (unless ``gap``/``fold`` say what to do), naming it."""
    if start.tzinfo is not None:
        raise ValueError("occurrences takes a wall-clock (naive) start")
    r = parse_rule(rule, field) if isinstance(rule, str) else rule
    horizon = _add_years(start, MAX_SPAN_YEARS)
    until_local = _until_wall(r.until, tz) if r.until else None
    if until_local is not None and until_local > horizon + timedelta(days=1):
        raise InputError(
            field,
            f"UNTIL is more than {MAX_SPAN_YEARS} years after the first occurrence; end the series sooner",
        )
    if not _may_match(r, start, min(horizon, until_local or horizon)):
        raise InputError(
            field,
            f"the rule gives no occurrence from {start:%Y-%m-%d %H:%M} within {MAX_SPAN_YEARS} years "
            "(a day that does not exist, such as February 30th?)",
        )
    bound = min(horizon, until_local or horizon)
    locals_: list[datetime] = []
    for local in _build(r.parts, start, bound + timedelta(days=1), field):
        if r.until is not None and not _before_until(local, r.until, tz):
            break
        if local > horizon:
            break
        locals_.append(local)
        if r.count is not None and len(locals_) == r.count:
            break
        if len(locals_) > MAX_OCCURRENCES:
            raise InputError(
                field,
                f"the rule gives more than {MAX_OCCURRENCES} occurrences; end it sooner (COUNT or UNTIL)",
            )
    if not locals_:
        raise InputError(
            field, f"the rule gives no occurrence from {start:%Y-%m-%d %H:%M} (is UNTIL before it?)"
        )
    if locals_[0] != start:
        raise InputError(
            field,
            f"{start:%Y-%m-%d %H:%M} ({start:%A}) is not an occurrence of the rule; its first would be "
            f"{locals_[0]:%Y-%m-%d %H:%M} ({locals_[0]:%A}): start the series on an occurrence",
        )
    if r.count is not None and len(locals_) < r.count:
        raise InputError(
            field,
            f"only {len(locals_)} of COUNT={r.count} occurrences fall within {MAX_SPAN_YEARS} years "
            "of the first",
        )
    return _instants(locals_, tz, fold, gap, field)


def _instants(
    locals_: list[datetime], tz: ZoneInfo, fold: int | None, gap: Gap, field: str
) -> list[Occurrence]:
    """Each wall-clock occurrence made an instant; the first refused one is named, with how
    many more were refused (all are checked before anything is written)."""
    out: list[Occurrence] = []
    refused: list[tuple[int, InputError]] = []
    for n, local in enumerate(locals_, 1):
        try:
            out.append(Occurrence(n, local, to_utc(local, tz, fold=fold, gap=gap, field=field)))
        except InputError as e:
            refused.append((n, e))
    if refused:
        first, why = refused[0]
        more = f" (and {len(refused) - 1} more occurrence(s) at a clock change)" if len(refused) > 1 else ""
        raise InputError(field, f"occurrence {first} of {len(locals_)}: {why.message}{more}")
    return out


def _build(
    parts: tuple[tuple[str, str], ...], start: datetime, until: datetime, field: str
) -> Iterator[datetime]:
    """dateutil's rule of ``parts`` from ``start`` up to ``until`` (naive wall clock), not yet
    iterated; its parser's errors become InputError with its reason."""
    text = ";".join(f"{k}={v}" for k, v in parts)
    try:
        parsed = rrulestr(text, dtstart=start)
        if not isinstance(parsed, rrule):  # one RRULE line always parses to one rrule
            raise ValueError("not a single rule")
        bounded: rrule = parsed.replace(until=until)
    except (ValueError, TypeError, KeyError, OverflowError) as e:
        raise InputError(field, f"not a valid RRULE: {e}") from None
    return iter(bounded)


def _may_match(r: Rule, start: datetime, bound: datetime) -> bool:
    """Could any day from ``start`` to ``bound`` hold an occurrence? Checks the interval and
    the BYMONTH, BYMONTHDAY and weekday filters only, so it never says no where dateutil would
    find one; it says no, cheaply, where dateutil would search until the year 9999."""
    months = {int(m) for m in _list(r, "BYMONTH")} or None
    monthdays = {int(d) for d in _list(r, "BYMONTHDAY")} or None
    weekdays = {_WEEKDAYS.index(d[-2:]) for d in _list(r, "BYDAY")} or None
    if monthdays is None and weekdays is None:  # RFC 5545's defaults, as dateutil applies them
        if r.freq == "WEEKLY":
            weekdays = {start.weekday()}
        elif r.freq == "MONTHLY":
            monthdays = {start.day}
        elif r.freq == "YEARLY":
            months = months or {start.month}
            monthdays = {start.day}
    wkst = _WEEKDAYS.index(r.get("WKST") or "MO")
    first = start.date()
    first_week = first - timedelta(days=(first.weekday() - wkst) % 7)
    day = first
    while day <= bound.date():
        if (
            _on_interval(r, first, first_week, day, wkst)
            and (months is None or day.month in months)
            and (weekdays is None or day.weekday() in weekdays)
            and (monthdays is None or _is_monthday(day, monthdays))
        ):
            return True
        day += timedelta(days=1)
    return False


def _list(r: Rule, name: str) -> list[str]:
    value = r.get(name)
    return value.split(",") if value else []


def _on_interval(r: Rule, first: date, first_week: date, day: date, wkst: int) -> bool:
    if r.interval == 1:
        return True
    if r.freq == "DAILY":
        return (day - first).days % r.interval == 0
    if r.freq == "WEEKLY":
        week = day - timedelta(days=(day.weekday() - wkst) % 7)
        return ((week - first_week).days // 7) % r.interval == 0
    if r.freq == "MONTHLY":
        return ((day.year - first.year) * 12 + day.month - first.month) % r.interval == 0
    return (day.year - first.year) % r.interval == 0


def _is_monthday(day: date, monthdays: set[int]) -> bool:
    length = calendar.monthrange(day.year, day.month)[1]
    return day.day in monthdays or day.day - length - 1 in monthdays


def _until(text: str, field: str) -> Until:
    m = _UNTIL.match(text)
    if not m:
        raise InputError(
            field,
            f"UNTIL={text}: a date (20271231), a local time (20271231T090000) or UTC (20271231T140000Z)",
        )
    y, mo, d, h, mi, s, z = m.groups()
    try:
        if h is None:  # a date: through the end of that local day
            return Until(local=datetime(int(y), int(mo), int(d), 23, 59, 59))
        at = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
    except ValueError as e:
        raise InputError(field, f"UNTIL={text}: {e}") from None
    return Until(instant=at) if z else Until(local=at)


def _until_wall(until: Until, tz: ZoneInfo) -> datetime:
    """UNTIL on the series' wall clock (an instant's, read in ``tz``)."""
    if until.local is not None:
        return until.local
    assert until.instant is not None
    return until.instant.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)


def _before_until(local: datetime, until: Until, tz: ZoneInfo) -> bool:
    """Is the occurrence at ``local`` no later than UNTIL? An instant is compared with the
    occurrence's instant (its first reading where the clock is ambiguous)."""
    if until.instant is None:
        assert until.local is not None
        return local <= until.local
    return local.replace(tzinfo=tz).astimezone(UTC).replace(tzinfo=None) <= until.instant


def _number(text: str, name: str, field: str) -> int:
    if not text.isdigit():
        raise InputError(field, f"{name}={text}: a whole number")
    return int(text)


def _many(parts: dict[str, str], name: str) -> int:
    return len(parts[name].split(",")) if name in parts else 1


def _add_years(when: datetime, years: int) -> datetime:
    year = min(when.year + years, datetime.max.year)
    try:
        return when.replace(year=year)
    except ValueError:  # 29 February
        return when.replace(year=year, day=28)
