"""Posting slots: each channel's weekly wall-clock times, and the next free one.

A channel's slots are written the way people say them, ``"mon-fri 09:00,13:00; sat 10:00"``,
and read in the channel's time zone, so 09:00 stays 09:00 local across daylight saving time.
A slot whose local time does not exist that day (the spring-forward gap) is skipped that day,
never shifted; a slot in the hour that happens twice (fall back) is the first of the two.

"Next free slot" is the earliest instant, at or after a given one, that is a slot of every
channel of the post and free on each: no other post of that channel within the channel's
minimum gap of it (with no gap: none at that very slot). Taken slots stay taken, so a post keeps
its place when others are cancelled; nothing here moves a post already placed. Per a
choice, a post takes instead the next free slot of each channel (``next_free_slot_each``).

A channel's queue may be reordered or shuffled (``moved_to``, ``shuffled``, ``reassigned``):
the posts trade the times they hold, so the set of times, and with it every gap, stays.
"""

from __future__ import annotations

import bisect
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from herald.core.errors import InputError
from herald.core.i18n import _
from scheduler.localtime import exists, local_of, to_utc

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: How far ahead "next free slot" looks before it says there is none.
HORIZON_DAYS = 366
#: The most slots one channel may have in a week.
MAX_SLOTS_PER_WEEK = 7 * 48

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_DURATION = re.compile(r"^(\d+)\s*(s|m|min|h)?$")


def parse_duration(text: str, field: str = "min-gap", *, longest: int = 7 * 86400) -> int:
    """Seconds in ``"30m"``, ``"2h"``, ``"90s"`` or ``"45"`` (minutes), at most ``longest``.
    Raises InputError (``field``)."""
    m = _DURATION.match(text.strip().lower())
    if not m:
        raise InputError(field, _("%(text)r is not a duration (e.g. 30m, 2h, 90s)") % {"text": text})
    n, unit = int(m.group(1)), m.group(2) or "m"
    seconds = n * {"s": 1, "m": 60, "min": 60, "h": 3600}[unit]
    if seconds > longest:
        raise InputError(field, f"{text!r} is longer than {longest // 86400} days")
    return seconds


def _days(spec: str, group: str) -> list[int]:
    spec = spec.strip().lower()
    if spec in ("daily", "every day", "all"):
        return list(range(7))
    out: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        first, dash, last = part.partition("-")
        if first not in DAYS or (dash and last not in DAYS):
            raise InputError(
                "slots", f"{group!r}: {part!r} is not a day or a range of days (mon … sun, e.g. mon-fri)"
            )
        a, b = DAYS.index(first), DAYS.index(last) if dash else DAYS.index(first)
        out += list(range(a, b + 1)) if a <= b else [*range(a, 7), *range(0, b + 1)]
    return out


@dataclass(frozen=True)
class WeeklySlots:
    """Wall-clock times per weekday (0 = Monday), each day's sorted and unique."""

    by_day: tuple[tuple[time, ...], ...]

    @classmethod
    def parse(cls, text: str) -> WeeklySlots:
        """``"mon-fri 09:00,13:00; sat 10:00"``: groups split by ``;``, each days then times
        (24-hour ``HH:MM``). Empty text: no slots. Raises InputError naming the bad group."""
        days: list[set[time]] = [set() for _ in range(7)]
        for group in (g.strip() for g in text.split(";")):
            if not group:
                continue
            spec, _sep, times = group.rpartition(" ")
            if not spec.strip():
                raise InputError("slots", f"{group!r}: give days, then times (e.g. mon-fri 09:00,13:00)")
            parsed = []
            for t in times.split(","):
                m = _TIME.match(t.strip())
                if not m:
                    raise InputError("slots", f"{group!r}: {t.strip()!r} is not a time (24-hour HH:MM)")
                parsed.append(time(int(m.group(1)), int(m.group(2))))
            for d in _days(spec, group):
                days[d].update(parsed)
        slots = cls(tuple(tuple(sorted(d)) for d in days))
        if slots.count > MAX_SLOTS_PER_WEEK:
            raise InputError("slots", f"at most {MAX_SLOTS_PER_WEEK} slots a week")
        return slots

    @classmethod
    def from_dict(cls, d: Mapping[str, Sequence[str]]) -> WeeklySlots:
        """As stored: ``{"mon": ["09:00", ...], ...}``."""
        return cls(tuple(tuple(sorted({time.fromisoformat(t) for t in d.get(day, ())})) for day in DAYS))

    def to_dict(self) -> dict[str, list[str]]:
        return {DAYS[i]: [f"{t:%H:%M}" for t in ts] for i, ts in enumerate(self.by_day) if ts}

    def text(self) -> str:
        """The slots written back as ``parse`` reads them, consecutive days with the same times
        joined (``mon-fri 09:00,13:00; sat 10:00``)."""
        groups: list[str] = []
        i = 0
        while i < 7:
            j = i
            while j + 1 < 7 and self.by_day[j + 1] == self.by_day[i]:
                j += 1
            if self.by_day[i]:
                days = DAYS[i] if i == j else f"{DAYS[i]}-{DAYS[j]}"
                groups.append(f"{days} {','.join(f'{t:%H:%M}' for t in self.by_day[i])}")
            i = j + 1
        return "; ".join(groups)

    @property
    def count(self) -> int:
        return sum(len(ts) for ts in self.by_day)


@dataclass(frozen=True)
class SlotTime:
    """One slot on one day: its wall-clock time, and its instant (naive UTC; None when that
    local time does not exist that day, so the slot is skipped)."""

    local: datetime
    at: datetime | None


def slot_times(slots: WeeklySlots, tz: ZoneInfo, start: datetime) -> Iterator[SlotTime]:
    """Every slot at or after ``start`` (naive UTC), in order, for ever (stop it yourself).
    Slots in a DST gap come with ``at=None`` where they fall."""
    if not slots.count:
        return
    day = local_of(start, tz).date() - timedelta(days=1)
    while True:
        for t in slots.by_day[day.weekday()]:
            local = datetime.combine(day, t)
            if not exists(local, tz):
                if local >= local_of(start, tz).replace(tzinfo=None):
                    yield SlotTime(local, None)
                continue
            at = to_utc(local, tz, fold=0)
            if at >= start:
                yield SlotTime(local, at)
        day += timedelta(days=1)


def is_slot(slots: WeeklySlots, tz: ZoneInfo, at: datetime) -> bool:
    """Is the naive-UTC instant ``at`` one of the slots (the first, where a local time happens
    twice)?"""
    local = local_of(at, tz).replace(tzinfo=None)
    if local.time() not in slots.by_day[local.weekday()]:
        return False
    return to_utc(local, tz, fold=0) == at


@dataclass(frozen=True)
class ChannelSlots:
    """What "next free slot" knows of one channel."""

    name: str
    slots: WeeklySlots
    tz: ZoneInfo
    min_gap_seconds: int
    #: Instants (naive UTC) of this channel's posts that hold a place, sorted.
    taken: list[datetime]

    def take(self, at: datetime) -> None:
        """Mark ``at`` as held (a post of this batch was placed there)."""
        bisect.insort(self.taken, at)

    def is_free(self, at: datetime) -> bool:
        gap = timedelta(seconds=max(self.min_gap_seconds, 1))
        i = bisect.bisect_left(self.taken, at - gap + timedelta(microseconds=1))
        return i >= len(self.taken) or self.taken[i] >= at + gap


def next_free_slot(channels: Sequence[ChannelSlots], after: datetime) -> datetime:
    """The earliest instant at or after ``after`` (naive UTC) that is a slot of every channel
    and free on each. Raises InputError when a channel has no slots, or no such instant comes
    within ``HORIZON_DAYS``."""
    if not channels:
        raise InputError("next-slot", "a post needs at least one channel")
    bare = [c.name for c in channels if not c.slots.count]
    if bare:
        raise InputError(
            "next-slot",
            _(
                "channel(s) %(names)s have no posting slots; set them with `herald schedule set %(first)s"
                ' --slots "mon-fri 09:00,13:00"`'
            )
            % {"names": ", ".join(bare), "first": bare[0]},
        )
    # Walk the channel with the fewest slots; the others are checked at each of its instants.
    lead = min(channels, key=lambda c: c.slots.count)
    others = [c for c in channels if c is not lead]
    end = after + timedelta(days=HORIZON_DAYS)
    for slot in slot_times(lead.slots, lead.tz, after):
        if slot.local > local_of(end, lead.tz).replace(tzinfo=None):
            break
        at = slot.at
        if at is None or not lead.is_free(at):
            continue
        if all(is_slot(c.slots, c.tz, at) and c.is_free(at) for c in others):
            return at
    names = ", ".join(c.name for c in channels)
    raise InputError(
        "next-slot",
        (
            _(
                "no free slot common to %(names)s in the next %(days)d days; their slots never fall at"
                " the same instant"
            )
            if others
            else _("no free slot on %(names)s in the next %(days)d days")
        )
        % {"names": names, "days": HORIZON_DAYS},
    )


def next_free_slot_each(channels: Sequence[ChannelSlots], after: datetime) -> dict[str, datetime]:
    """Each channel's own earliest free slot at or after ``after`` (naive UTC), by name, each
    marked taken on its channel (so the posts of one batch take different slots). The choice
    for a post whose channels' slots never meet (Seoul mornings, Washington mornings): each
    copy goes out at its own audience's time. Raises InputError as ``next_free_slot`` does;
    then nothing is marked taken."""
    if not channels:
        raise InputError("next-slot", "a post needs at least one channel")
    found = {c.name: next_free_slot([c], after) for c in channels}
    for c in channels:
        c.take(found[c.name])
    return found


# -- a channel's queue: reorder and shuffle ----------------------------------------------------

K = TypeVar("K")


def moved_to(order: Sequence[K], item: K, position: int) -> list[K]:
    """``order`` with ``item`` moved to ``position`` (1 = first; past the end: last), the
    others keeping their order. Raises InputError for a position below 1 or an item not in
    ``order``."""
    if position < 1:
        raise InputError("to", f"position {position}: positions start at 1")
    if item not in order:
        raise InputError("post", "that post is not in this channel's queue of movable posts")
    rest = [k for k in order if k != item]
    rest.insert(min(position, len(order)) - 1, item)
    return rest


def shuffled(order: Sequence[K], seed: int | None) -> list[K]:
    """``order`` in a random order (``seed``: the same order again for the same queue)."""
    out = list(order)
    random.Random(seed).shuffle(out)
    return out


def reassigned(times: Sequence[datetime], order: Sequence[K]) -> dict[K, datetime]:
    """The times (sorted) given out in ``order``: the first of ``order`` gets the earliest.
    The set of times does not change, only who holds which, so every minimum gap and every
    slot that held before still holds."""
    if len(times) != len(order):
        raise ValueError("one time per item")
    return dict(zip(order, sorted(times), strict=True))
