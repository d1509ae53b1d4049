"""When a campaign's posts may go out: its date range and its blackout windows, as one rule
for every way a post gets its time (an explicit time, a recurrence's occurrence, the next free
slot, a reschedule after a pause).

- Nothing goes out outside the range [starts_at, ends_at): a time outside it is refused,
  naming the range in the campaign's zone; a slot search starts no earlier than the start and
  fails past the end.
- A time inside a ``wait`` window moves to the window's end (in the order it was due); inside
  a ``hold`` window it is held for a person; a slot search skips every window.

Range bounds and windows are typed by people as local dates or times in the campaign's zone
(``scheduler.localdates``) and kept as naive UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from herald.core.errors import InputError
from scheduler.blackouts import Window, blocked, from_epoch, waited
from scheduler.localdates import shown_local

#: A slot search gives up after skipping this many windows (each skip is a new search).
MAX_SKIPS: Final = 1000


@dataclass(frozen=True)
class Placed:
    """Where a time lands inside a campaign's bounds: ``at`` (moved to a window's end if it
    waited one out), and ``held`` (why it waits for a person) when a hold window has it."""

    at: datetime
    held: str | None = None


@dataclass(frozen=True)
class Bounds:
    """A campaign's date range and blackout windows (naive UTC), and its zone for messages."""

    campaign: str
    tz: ZoneInfo
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    windows: Sequence[Window] = field(default_factory=tuple)

    def describe(self) -> str:
        """``campaign X runs from 2027-01-01 00:00 to 2027-03-31 18:00 (Asia/Seoul)``."""
        start = f"from {shown_local(self.starts_at, self.tz)} " if self.starts_at else ""
        end = f"to {shown_local(self.ends_at, self.tz)} " if self.ends_at else "with no end "
        return f"campaign {self.campaign} runs {start}{end}({self.tz.key})"

    def refusal(self, at: datetime) -> str | None:
        """Why ``at`` is outside the range, or None."""
        if self.starts_at is not None and at < self.starts_at:
            return f"{self.describe()}; {shown_local(at, self.tz)} is before its start"
        if self.ends_at is not None and at >= self.ends_at:
            return f"{self.describe()}; {shown_local(at, self.tz)} is after its end"
        return None

    def place(self, at: datetime, *, field: str = "at") -> Placed:
        """Where a post due at ``at`` goes. Raises InputError (``field``) when ``at`` is outside
        the range, or a window it waits out ends after the campaign does."""
        why = self.refusal(at)
        if why:
            raise InputError(field, why)
        b = blocked(self.windows, at)
        if b is None:
            return Placed(at)
        name = f"blackout {b.span.label!r}" if b.span.label else "a blackout window"
        if b.hold:
            return Placed(at, f"{name} holds posts due then for a person; release it to send it anyway")
        moved = waited(b, at)
        why = self.refusal(moved)
        if why:
            raise InputError(field, f"{name} would move it to its end, but {why}")
        return Placed(moved)

    def search_start(self, after: datetime) -> datetime:
        """Where a slot search starts: ``after``, never before the range's start."""
        return max(after, self.starts_at) if self.starts_at is not None else after

    def first_slot(self, find: Callable[[datetime], datetime], after: datetime) -> datetime:
        """The first slot ``find`` gives at or after ``after`` that is inside the range and in no
        window (a slot in a window is skipped: the search goes on from the window's end).
        Raises InputError ("next-slot") when the slot found is past the range's end, and
        whatever ``find`` raises."""
        at = self.search_start(after)
        for _ in range(MAX_SKIPS):
            slot = find(at)
            if self.ends_at is not None and slot >= self.ends_at:
                raise InputError(
                    "next-slot",
                    f"{self.describe()}; the next free slot, {shown_local(slot, self.tz)}, is after its end",
                )
            b = blocked(self.windows, slot)
            if b is None:
                return slot
            at = max(from_epoch(b.until), slot + timedelta(microseconds=1))
        raise InputError(
            "next-slot", f"no free slot of campaign {self.campaign} outside its blackout windows"
        )
