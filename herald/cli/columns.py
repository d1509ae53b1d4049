"""The headers of the command line's tables, in the reader's language.

A table's columns are the fields of the rows it prints (``emit``), and JSON and CSV keep those
field names: they are what scripts read. Only a table, which is for people, shows a header for
each, looked up here (``pgettext("column", name)``); a field not listed shows its own name.
``tests/test_i18n.py`` checks that every column a command prints is listed.
"""

from __future__ import annotations

from herald.core.i18n import NC_, pgettext

COLUMNS = (
    NC_("column", "at"),
    NC_("column", "attempts"),
    NC_("column", "base_url"),
    NC_("column", "campaign"),
    NC_("column", "campaigns"),
    NC_("column", "channel"),
    NC_("column", "count"),
    NC_("column", "created_at"),
    NC_("column", "created_by"),
    NC_("column", "credentials"),
    NC_("column", "deliveries"),
    NC_("column", "detail"),
    NC_("column", "disabled"),
    NC_("column", "email"),
    NC_("column", "ends_local"),
    NC_("column", "error"),
    NC_("column", "failed"),
    NC_("column", "fits"),
    NC_("column", "free"),
    NC_("column", "hashtags"),
    NC_("column", "hint"),
    NC_("column", "id"),
    NC_("column", "label"),
    NC_("column", "last_login_at"),
    NC_("column", "last_used_at"),
    NC_("column", "late_tolerance_seconds"),
    NC_("column", "limit"),
    NC_("column", "local"),
    NC_("column", "mode"),
    NC_("column", "name"),
    NC_("column", "note"),
    NC_("column", "paused"),
    NC_("column", "platform"),
    NC_("column", "position"),
    NC_("column", "post_id"),
    NC_("column", "problems"),
    NC_("column", "protect_faces"),
    NC_("column", "published"),
    NC_("column", "published_at"),
    NC_("column", "queued"),
    NC_("column", "remote_url"),
    NC_("column", "require_alt_text"),
    NC_("column", "requires_approval"),
    NC_("column", "revoked"),
    NC_("column", "role"),
    NC_("column", "roles"),
    NC_("column", "rows"),
    NC_("column", "scheduled_at"),
    NC_("column", "second_factor"),
    NC_("column", "shown"),
    NC_("column", "starts_local"),
    NC_("column", "state"),
    NC_("column", "status"),
    NC_("column", "success_rate"),
    NC_("column", "table"),
    NC_("column", "text"),
    NC_("column", "timezone"),
    NC_("column", "uncertain"),
    NC_("column", "unit"),
    NC_("column", "utm"),
)


def header(column: str) -> str:
    """The header of ``column`` in the current locale."""
    return pgettext("column", column)
