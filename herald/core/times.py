"""Times people type: ISO 8601 with a zone, read one way everywhere (CLI, CSV import)."""

from __future__ import annotations

from datetime import datetime

from herald.core.errors import InputError
from herald.core.i18n import _


def parse_time(value: str, *, local: bool = False, field: str = "at") -> datetime:
    """A datetime from ISO 8601 text (``Z`` allowed). Aware unless ``local``, where a time
    without an offset comes back naive: a wall-clock time that the service reads in a zone
    (``scheduler.localtime``). Raises InputError (``field``) naming the value when it is not a
    time, or has no offset where one is needed: a post's time is never guessed."""
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            field, _("%(value)r is not an ISO 8601 time (e.g. 2026-12-01T09:00:00+09:00)") % {"value": value}
        ) from None
    if dt.tzinfo is None and not local:
        raise InputError(
            field,
            _("%(value)r has no time zone; add one, e.g. %(bare)s+09:00 or %(bare)sZ")
            % {"value": value, "bare": value},
        )
    return dt
