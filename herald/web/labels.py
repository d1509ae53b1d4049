"""The words a page shows for a value: a delivery's status, a person's role, a counter's unit, a
blackout's mode, a face-protection choice. The value itself stays what the service, the API and
the exports say (``published``); a page shows its word in the reader's language through the
``term`` filter (``{{ status | term("status") }}``), which looks the value up in its context.

The values are listed here only so that the catalogs have them (``herald.core.catalog`` finds
``NC_``); a value not listed shows as it is. ``tests/test_i18n.py`` checks that every status,
role and unit Herald has is listed.
"""

from __future__ import annotations

from herald.core.i18n import NC_, pgettext

#: The contexts ``term`` is used with, each with its values.
TERMS: dict[str, tuple[str, ...]] = {
    "status": (
        NC_("status", "scheduled"),
        NC_("status", "queued"),
        NC_("status", "publishing"),
        NC_("status", "published"),
        NC_("status", "failed"),
        NC_("status", "cancelled"),
        NC_("status", "uncertain"),
        NC_("status", "held"),
        NC_("status", "deleting"),
        NC_("status", "deleted"),
        # A post's approval, shown with the same badges.
        NC_("status", "pending"),
        NC_("status", "returned"),
        NC_("status", "approved"),
    ),
    "role": (
        NC_("role", "staff"),
        NC_("role", "manager"),
        NC_("role", "admin"),
    ),
    "unit": (
        NC_("unit", "characters"),
        NC_("unit", "graphemes"),
        NC_("unit", "weighted characters"),
        NC_("unit", "UTF-16 code units"),
        NC_("unit", "characters (emoji by UTF-8 bytes)"),
    ),
    "faces": (
        NC_("faces", "keep"),
        NC_("faces", "blur"),
        NC_("faces", "pixelate"),
    ),
    "blackout": (
        NC_("blackout", "wait"),
        NC_("blackout", "hold"),
    ),
}


def term(value: object, context: str) -> str:
    """The word for ``value`` in ``context``, in the current locale (the value itself when the
    catalog has none)."""
    text = "" if value is None else str(value)
    return pgettext(context, text) if text else text
