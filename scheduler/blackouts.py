"""Blackout windows: named local-time windows of a campaign when nothing goes out (a memorial
day, an election silence), each with a mode.

- ``wait``: what is due inside goes out at the window's end, in the order it was due;
- ``hold``: it is held for a person (as a post that missed its window is).

A window is entered as two local times in the campaign's zone (``scheduler.localtime``: a time
that does not exist or happens twice is refused, never guessed; an explicit offset picks an
instant) and kept as a UTC span (``herald.core.intervals``, which says whether an instant is
blacked out and until when; the delivery engine asks the same rule before each call).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from herald.core.errors import InputError
from herald.core.intervals import Blocked, Span, blocked_at
from herald.core.text import refuse_controls
from scheduler.localdates import read_local, shown_local

#: What a window does with what falls in it.
MODES: Final = ("wait", "hold")
#: The longest window (a blackout of more than a year is a campaign's end, not a window).
MAX_WINDOW_DAYS: Final = 366
#: The longest label.
MAX_LABEL_CHARS: Final = 200
#: Windows per campaign (each is carried by every payload it may touch).
MAX_WINDOWS: Final = 100


def epoch(at: datetime) -> float:
    """Naive UTC → epoch seconds."""
    return at.replace(tzinfo=UTC).timestamp()


def from_epoch(t: float) -> datetime:
    """Epoch seconds → naive UTC."""
    return datetime.fromtimestamp(t, UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Window:
    """A blackout window as stored: [starts_at, ends_at) naive UTC."""

    starts_at: datetime
    ends_at: datetime
    mode: str
    label: str = ""
    id: int | None = None

    @property
    def span(self) -> Span:
        return Span(epoch(self.starts_at), epoch(self.ends_at), self.mode == "hold", self.label)

    def shown(self, tz: ZoneInfo) -> str:
        """The window as people read it: ``'Memorial Day' 2027-06-06 00:00 to 2027-06-07 00:00``."""
        name = f"{self.label!r} " if self.label else ""
        return f"{name}{shown_local(self.starts_at, tz)} to {shown_local(self.ends_at, tz)}"


def read_window(start: str, end: str, tz: ZoneInfo, mode: str, label: str = "") -> Window:
    """A window from what a person typed: local dates or times (a date alone is its midnight;
    ``end`` a date alone: the end of that day). Raises InputError naming the bad field: an
    unknown mode, a time that does not exist or happens twice, an end not after the start,
    a window over ``MAX_WINDOW_DAYS``, a label too long or with control characters."""
    if mode not in MODES:
        raise InputError("mode", f"a blackout's mode is wait or hold, not {mode!r}")
    refuse_controls("label", label, name=True)
    if len(label) > MAX_LABEL_CHARS:
        raise InputError("label", f"a blackout's label has at most {MAX_LABEL_CHARS} characters")
    starts_at = read_local(start, tz, field="from")
    ends_at = read_local(end, tz, field="to", end=True)
    if ends_at <= starts_at:
        raise InputError(
            "to",
            f"a blackout ends after it starts ({shown_local(ends_at, tz)} is not after "
            f"{shown_local(starts_at, tz)}, {tz.key})",
        )
    if ends_at - starts_at > timedelta(days=MAX_WINDOW_DAYS):
        raise InputError("to", f"a blackout lasts at most {MAX_WINDOW_DAYS} days")
    return Window(starts_at, ends_at, mode, label.strip())


def blocked(windows: Iterable[Window], at: datetime) -> Blocked | None:
    """Does ``at`` (naive UTC) fall in a window? (``herald.core.intervals.blocked_at``)"""
    return blocked_at([w.span for w in windows], epoch(at))


def waited(b: Blocked, due: datetime) -> datetime:
    """When a delivery due at ``due`` goes after waiting out ``b`` (in the order it was due)."""
    return from_epoch(b.release_at(epoch(due)))
