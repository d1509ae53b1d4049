"""Spans of time when nothing goes out (a campaign's blackout windows, in UTC epoch seconds):
which one an instant falls in, when that instant is clear of them all, and how lateness is
counted around them.

The rule lives on the floor because two floors apply it: the service when a post is queued,
and the delivery engine at its last check before a platform call (a retry or a deferral that
lands in a window). The engine sits below ``scheduler``, so it cannot reach
``scheduler.blackouts`` (which reads windows in a campaign's local time and builds on this);
the payload carries the spans, and both sides ask the same function.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

#: Posts that wait out a window go at its end in the order they were due: each second into the
#: window becomes one microsecond after its end (a day-long window spreads over 0.09 s), so the
#: due set, ordered by time, keeps their order even across separate queue calls and retries.
ORDER_SCALE: Final = 1_000_000.0


@dataclass(frozen=True)
class Span:
    """A half-open span [start, end) of epoch seconds when nothing goes out."""

    start: float
    end: float
    #: What falls in it is held for a person (True), or waits for its end (False).
    hold: bool
    #: What people call it ("Memorial Day"), for messages.
    label: str = ""


@dataclass(frozen=True)
class Blocked:
    """An instant falls in a span. ``span`` is the one that decided: a hold span (``hold``),
    or the first of the wait spans the instant waits through; ``until`` is when it may go
    (the first instant clear of every span), or, held, the end of the hold span."""

    span: Span
    hold: bool
    until: float

    def release_at(self, due: float) -> float:
        """When a delivery due at ``due`` goes out after waiting: at ``until``, kept in the
        order it was due (``ORDER_SCALE``)."""
        return self.until + max(0.0, due - self.span.start) / ORDER_SCALE


def blocked_at(spans: Iterable[Span], t: float) -> Blocked | None:
    """Is ``t`` inside a span? None if it is clear. Waiting through a wait span can end inside
    another span (windows back to back, or overlapping): the wait goes on through it, or, if it
    is a hold span, the delivery is held."""
    ordered = sorted(spans, key=lambda s: (s.start, s.end))
    first: Span | None = None
    at = t
    moved = True
    while moved:
        moved = False
        for span in ordered:
            if span.start <= at < span.end:
                if span.hold:
                    return Blocked(span, True, span.end)
                first = first or span
                at = span.end
                moved = True
    return None if first is None else Blocked(first, False, at)


def late_after(start: float, tolerance: float, spans: Iterable[Span]) -> float:
    """When a post meant for ``start`` becomes late: ``tolerance`` seconds later, not counting
    the time spent inside spans (a post that waited out a window is not late for having
    waited)."""
    at, left = start, tolerance
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if span.end <= at:
            continue
        if span.start > at + left:
            break
        left -= max(0.0, span.start - at)
        at = max(at, span.end)
    return at + left


def pending(spans: Iterable[Span], due: float, released: float | None = None) -> tuple[Span, ...]:
    """The spans a delivery due at ``due`` must still respect: those that end after it, less
    any a person's "send it now" at ``released`` overrode (the span it was said in)."""
    return tuple(
        s
        for s in sorted(spans, key=lambda s: (s.start, s.end))
        if s.end > due and not (released is not None and s.start <= released < s.end)
    )
