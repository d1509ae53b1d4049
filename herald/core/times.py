"""Times people type: ISO 8601 with a zone, read one way everywhere (CLI, CSV import)."""

from __future__ import annotations

from datetime import datetime

from herald.core.errors import InputError


def parse_time(value: str) -> datetime:
    """An aware datetime from ISO 8601 text (``Z`` allowed). Raises InputError (field ``at``)
    naming the value when it is not a time or has no zone: a post's time is never guessed."""
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            "at", f"{value!r} is not an ISO 8601 time (e.g. 2026-12-01T09:00:00+09:00)"
        ) from None
    if dt.tzinfo is None:
        raise InputError("at", f"{value!r} has no time zone; add one, e.g. {value}+09:00 or {value}Z")
    return dt
