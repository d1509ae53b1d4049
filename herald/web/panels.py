"""The dashboard's panels that change while a person looks: the health panel, what goes out
next (with what is paused), and the charts. Each is a template of its own (``_health.html``,
``_upcoming.html``, ``_charts.html``) that the dashboard includes and that ``routes.live``
renders alone as a fragment, from the same context function here: the page and its live update
cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request

from herald.accounts import Actor
from herald.core.errors import InputError
from herald.core.i18n import _
from herald.service import Herald
from herald.service.charts import chart_numbers
from herald.service.upcoming import pauses_shown, upcoming_page
from herald.store.upcoming import UpcomingKey
from herald.web.api.cursor import MAX_KEY_CHARS, Cursor
from herald.web.charts import herald_charts
from herald.web.zones import BROWSER_ZONE_COOKIE, ZONE_COOKIE, ZONE_NAMES, viewer_zone

#: Posts on one page of "Queued and upcoming"; "Later posts" continues after the last.
UPCOMING_ROWS = 25
#: The query parameters the panels read (the dashboard's, and their fragments').
UPCOMING_AFTER = "upcoming_after"
ZONE = "zone"


def _upcoming_key(values: list[object]) -> UpcomingKey:
    """A cursor's key: a naive UTC time and a post id (ValueError for anything else)."""
    at, post_id = values
    if not isinstance(at, str) or not isinstance(post_id, str) or len(post_id) > MAX_KEY_CHARS:
        raise ValueError("not an upcoming key")
    due = datetime.fromisoformat(at)
    if due.tzinfo is not None:
        raise ValueError("a key's time has no zone")
    return UpcomingKey(due, post_id)


#: The "Later posts" cursor: the (next due, post id) the page before ended on.
UPCOMING = Cursor[UpcomingKey]("upcoming", lambda k: [k.due_at.isoformat(), k.post_id], _upcoming_key)

_ZONES = frozenset(ZONE_NAMES)


def ago(seconds: float | None) -> str:
    """How long ago, as people say it: "12 s", "3 min", "2 h", "4 days"."""
    if seconds is None:
        return "—"
    if seconds < 90:
        return _("%(n)d s") % {"n": round(seconds)}
    if seconds < 90 * 60:
        return _("%(n)d min") % {"n": round(seconds / 60)}
    if seconds < 36 * 3600:
        return _("%(n)d h") % {"n": round(seconds / 3600)}
    return _("%(n)d days") % {"n": round(seconds / 86400)}


def health_context(svc: Herald) -> dict[str, Any]:
    """``_health.html``: the health panel, read now."""
    return {"panel": svc.health_panel(), "ago": ago}


def upcoming_context(svc: Herald, actor: Actor, *, campaign: str | None, after: str) -> dict[str, Any]:
    """``_upcoming.html``: a page of what goes out next (after the cursor ``after``), and what
    is paused. A cursor that is not one reads as the first page, with the problem shown."""
    error: InputError | None = None
    try:
        key = UPCOMING.decode(after)
    except InputError as e:
        error, key = e, None
    page = upcoming_page(svc, campaign=campaign, after=key, limit=UPCOMING_ROWS, actor=actor)
    later = UPCOMING.encode(page.next)
    query = {"campaign": campaign} if campaign else {}
    return {
        "upcoming": page.items,
        "upcoming_later": dict(query, **{UPCOMING_AFTER: later}) if later else None,
        "upcoming_first": query if key is not None else None,
        "upcoming_query": dict(query, **({UPCOMING_AFTER: after} if key is not None else {})),
        "upcoming_error": error,
        "pauses": pauses_shown(svc, actor=actor),
    }


def chart_zone(
    request: Request, asked: str, campaign_zone: str | None = None
) -> tuple[str, InputError | None]:
    """The zone charts count days in: the one asked for (``?zone=``) if it is a known IANA
    name, else the viewer's as every page has it (``web.zones.viewer_zone``: the one the person
    chose, else ``campaign_zone`` on a campaign's page, else their browser's, else UTC). An
    unknown name asked for comes back as the problem to show."""
    asked = asked.strip()
    if asked in _ZONES:
        return asked, None
    chosen, _source = viewer_zone(
        request.cookies.get(ZONE_COOKIE), campaign_zone, request.cookies.get(BROWSER_ZONE_COOKIE)
    )
    if not asked:
        return chosen, None
    return chosen, InputError(ZONE, _("unknown time zone; the charts use %(zone)s") % {"zone": chosen})


def charts_context(
    svc: Herald,
    actor: Actor,
    request: Request,
    *,
    zone: str,
    campaign: str | None = None,
    campaign_zone: str | None = None,
    prefix: str = "dash",
) -> dict[str, Any]:
    """``_charts.html``: the last 30 days of what ``actor`` may review (of ``campaign``), days
    counted in the zone ``chart_zone`` picks. Raises NotFound for a campaign out of reach."""
    shown, error = chart_zone(request, zone, campaign_zone)
    numbers = chart_numbers(svc, campaign=campaign, zone=shown, actor=actor)
    return {
        "charts": herald_charts(numbers, prefix=prefix),
        "chart_numbers": numbers,
        "chart_zone": shown,
        "chart_zone_error": error,
    }
