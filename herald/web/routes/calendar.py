"""``/calendar``: a week (hours by day) or a month (days by week) of posts in the viewer's time
zone, filtered by campaign and channel, and ``/calendar/move``, the form that moves a post
(dragged, moved with the keyboard by ``static/calendar.js``, or typed in its "Move to…" form).

The page is whole without script: every post is a link that opens it on the page, with its
"Move to…" form. The script adds dragging and the arrow keys (``zone.js``, on every page,
reports the browser's zone).

Which zone (``web.zones.viewer_zone``): ``tz`` in the address, kept in a cookie as the
person's choice (``tz=auto`` forgets it; ``web.zones.remember_zone``, as the account page's
choice); else the zone of the one campaign filtered by; else the zone the browser reports (a
cookie ``zone.js`` sets on every page, then reloads once); else UTC. The service turns the
local days and times into UTC (``herald.service.calendar``), in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from herald.accounts import Actor
from herald.core.errors import Conflict, InputError, NotFound
from herald.core.i18n import _
from herald.service import CalendarEntry, CalendarPost, Herald
from herald.service.calendar import FIRST_DAY, LAST_DAY
from herald.web.auth import CanDraft, CanView
from herald.web.deps import FormDep, ServiceDep
from herald.web.flash import Note
from herald.web.security import CsrfDep
from herald.web.templating import Pages, PagesDep, flash_redirect
from herald.web.zones import (
    AUTOMATIC,
    BROWSER_ZONE_COOKIE,
    ZONE_COOKIE,
    ZONE_NAMES,
    known_zone,
    remember_zone,
    viewer_zone,
    zone_choice,
)

router = APIRouter(tags=["calendar"])

WEEK, MONTH = "week", "month"
VIEWS = (WEEK, MONTH)
WEEK_DAYS = 7
HOURS = tuple(range(24))
#: A local time that happens twice: "" refuses it until the person picks one.
FOLD_CHOICES = ("", "first", "second")
#: The longest value read from a filter or a form field (names are shorter in the store).
MAX_FIELD_CHARS = 200


@dataclass(frozen=True)
class CalendarQuery:
    """What the address (or the move form's way back) asks to see."""

    view: str = WEEK
    day: date | None = None
    campaign: str = ""
    channel: str = ""
    #: A zone given in the address ("" none, ``AUTOMATIC`` to forget the one chosen).
    tz: str = ""
    post: str = ""
    #: What was wrong with it (each bad part falls back to its default).
    errors: tuple[InputError, ...] = ()

    def back(self, day: date | None = None) -> dict[str, str]:
        """The query string of this view (at ``day`` if given), without the zone or an open post."""
        shown = day or self.day
        query = {"view": self.view, "date": shown.isoformat() if shown else ""}
        query |= {"campaign": self.campaign, "channel": self.channel}
        return {k: v for k, v in query.items() if v and not (k == "view" and v == WEEK)}


def _field(value: str, name: str) -> str:
    value = value.strip()
    if len(value) > MAX_FIELD_CHARS:
        raise InputError(name, _("at most %(max)d characters") % {"max": MAX_FIELD_CHARS})
    return value


def read_query(view: str, day: str, campaign: str, channel: str, tz: str, post: str) -> CalendarQuery:
    """The address's parameters, each checked; a bad one is reported and left at its default."""
    errors: list[InputError] = []

    def checked(value: str, name: str) -> str:
        try:
            return _field(value, name)
        except InputError as e:
            errors.append(e)
            return ""

    view = checked(view, "view") or WEEK
    if view not in VIEWS:
        errors.append(
            InputError("view", _("a calendar shows a week or a month, not %(view)r") % {"view": view})
        )
        view = WEEK
    shown: date | None = None
    if day := checked(day, "date"):
        try:
            shown = date.fromisoformat(day)
        except ValueError:
            errors.append(InputError("date", _("%(value)r is not a date (YYYY-MM-DD)") % {"value": day}))
        if shown is not None and not FIRST_DAY + timedelta(WEEK_DAYS) <= shown <= LAST_DAY - timedelta(45):
            errors.append(
                InputError(
                    "date",
                    _("a calendar shows days from %(first)s to %(last)s")
                    % {"first": FIRST_DAY, "last": LAST_DAY},
                )
            )
            shown = None
    if tz := checked(tz, "tz"):
        try:
            tz = zone_choice(tz)
        except InputError as e:
            errors.append(e)
            tz = ""
    return CalendarQuery(
        view=view,
        day=shown,
        campaign=checked(campaign, "campaign"),
        channel=checked(channel, "channel"),
        tz=tz,
        post=checked(post, "post"),
        errors=tuple(errors),
    )


@dataclass(frozen=True)
class Day:
    """One local day of the grid."""

    day: date
    #: In the month shown (a month view's first and last weeks reach into the months around).
    in_month: bool
    today: bool

    @property
    def iso(self) -> str:
        return self.day.isoformat()


@dataclass(frozen=True)
class Grid:
    """The days on the page and the entries placed on them, for the template to lay out."""

    view: str
    days: tuple[Day, ...]
    #: ISO local date → its entries, and "<date>T<hour>" → the entries of that hour.
    by_day: dict[str, list[CalendarEntry]] = field(default_factory=dict)
    by_hour: dict[str, list[CalendarEntry]] = field(default_factory=dict)
    #: The day before and after this range, as the previous and next links open.
    previous: date | None = None
    following: date | None = None

    @property
    def weeks(self) -> list[tuple[Day, ...]]:
        return [self.days[i : i + WEEK_DAYS] for i in range(0, len(self.days), WEEK_DAYS)]


def grid_days(view: str, shown: date, today: date) -> tuple[tuple[Day, ...], date, date]:
    """The days of the week of ``shown`` (Monday first), or of the weeks its month touches; and
    the days the previous and next links open."""
    if view == WEEK:
        first = shown - timedelta(days=shown.weekday())
        days = [first + timedelta(days=i) for i in range(WEEK_DAYS)]
        return tuple(Day(d, True, d == today) for d in days), first - timedelta(7), first + timedelta(7)
    month_start = shown.replace(day=1)
    following = (month_start + timedelta(days=32)).replace(day=1)
    first = month_start - timedelta(days=month_start.weekday())
    last = following - timedelta(days=1)
    last += timedelta(days=6 - last.weekday())
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    previous = (month_start - timedelta(days=1)).replace(day=1)
    return tuple(Day(d, d.month == shown.month, d == today) for d in days), previous, following


def place(
    entries: tuple[CalendarEntry, ...],
) -> tuple[dict[str, list[CalendarEntry]], dict[str, list[CalendarEntry]]]:
    """The entries (in time order) by local day, and by local day and hour."""
    by_day: dict[str, list[CalendarEntry]] = {}
    by_hour: dict[str, list[CalendarEntry]] = {}
    for e in entries:
        by_day.setdefault(e.day, []).append(e)
        by_hour.setdefault(e.local[:13], []).append(e)
    return by_day, by_hour


def _zone_for(request: Request, query: CalendarQuery, campaigns: dict[str, str]) -> tuple[str, str]:
    if query.tz == AUTOMATIC:
        chosen = None
    else:
        chosen = known_zone(query.tz) or known_zone(request.cookies.get(ZONE_COOKIE))
    return viewer_zone(
        chosen, campaigns.get(query.campaign), known_zone(request.cookies.get(BROWSER_ZONE_COOKIE))
    )


def render_calendar(
    request: Request,
    pages: Pages,
    svc: Herald,
    actor: Actor,
    query: CalendarQuery,
    *,
    error: InputError | None = None,
) -> HTMLResponse:
    """The calendar page for ``query``; ``error`` (a refused move) shown above it."""
    errors = list(query.errors) + ([error] if error else [])
    campaigns = {c.name: c.timezone for c in svc.list_campaigns(actor=actor)}
    tz, source = _zone_for(request, query, campaigns)
    today = datetime.now(UTC).astimezone(ZoneInfo(tz)).date()
    days, previous, following = grid_days(query.view, query.day or today, today)
    entries: tuple[CalendarEntry, ...] = ()
    truncated = False
    try:
        found = svc.calendar(
            days[0].day,
            len(days),
            tz=tz,
            campaign=query.campaign or None,
            channel=query.channel or None,
            actor=actor,
        )
        entries, truncated = found.entries, found.truncated
    except InputError as e:
        errors.append(e)
    by_day, by_hour = place(entries)
    grid = Grid(query.view, days, by_day, by_hour, previous, following)
    opened: CalendarPost | None = None
    if query.post:
        try:
            opened = svc.calendar_post(query.post, tz=tz, actor=actor)
        except InputError as e:
            errors.append(e)
    context = {
        "active": "calendar",
        "query": query,
        "back": query.back(),
        "grid": grid,
        "hours": HOURS,
        "zone": tz,
        "zone_source": source,
        "zones": ZONE_NAMES,
        "campaigns": sorted(campaigns),
        "channels": svc.list_channels(),
        "opened": opened,
        "truncated": truncated,
        "errors": errors,
        "fold_choices": FOLD_CHOICES,
    }
    response = pages.render("calendar.html", context, status_code=_status(errors))
    if query.tz:  # a zone chosen in the address (``read_query`` kept only a known one): remember it
        remember_zone(response, request, query.tz)
    return response


def _status(errors: list[InputError]) -> int:
    """The answer's status for the first thing refused (200 when nothing was)."""
    if not errors:
        return 200
    first = errors[0]
    return 404 if isinstance(first, NotFound) else 409 if isinstance(first, Conflict) else 422


@router.get("/calendar", response_class=HTMLResponse, name="calendar")
def calendar_page(
    request: Request,
    actor: CanView,
    svc: ServiceDep,
    pages: PagesDep,
    view: str = "",
    day: Annotated[str, Query(alias="date")] = "",
    campaign: str = "",
    channel: str = "",
    tz: str = "",
    post: str = "",
) -> HTMLResponse:
    """A week or a month of the posts the person may see, in their zone; ``post`` opens one.
    Anything wrong in the address is said on the page (4xx), the rest shown as asked."""
    query = read_query(view, day, campaign, channel, tz, post)
    return render_calendar(request, pages, svc, actor, query)


def _form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@router.post("/calendar/move", dependencies=[CsrfDep], name="calendar_move")
def calendar_move(
    request: Request, actor: CanDraft, svc: ServiceDep, pages: PagesDep, form: FormDep
) -> Response:
    """Move a post (``post``) on its channels (``channels``; none given: every one that can
    move) to ``at``, a local date and time in ``tz`` (``fold`` "first"/"second" for a time
    that happens twice). Back to the calendar at the new day with a note; refused, the
    calendar again with the reason (nothing moved)."""
    query = read_query(
        _form_text(form, "view"),
        _form_text(form, "date"),
        _form_text(form, "campaign"),
        _form_text(form, "channel"),
        "",
        "",
    )
    post_id = _form_text(form, "post").strip()
    channels = [c for c in form.getlist("channels") if isinstance(c, str) and c]
    try:
        form_tz = _form_text(form, "tz")
        tz = known_zone(form_tz)
        if tz is None:
            raise InputError(
                "tz",
                _("unknown time zone %(name)r (an IANA name, e.g. Asia/Seoul)") % {"name": form_tz[:100]},
            )
        fold = _form_text(form, "fold")
        if fold not in FOLD_CHOICES:
            raise InputError("fold", _("a time that happens twice: choose the first or the second"))
        text = _form_text(form, "at").strip()
        try:
            local_at = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(
                "at", _("%(value)r is not a date and time (YYYY-MM-DDTHH:MM)") % {"value": text[:40]}
            ) from None
        if local_at.tzinfo is not None:
            raise InputError("at", _("give the time as the calendar shows it, without an offset"))
        if not post_id:
            raise InputError("post", _("say which post to move"))
        done = svc.reschedule_post(
            post_id,
            local_at,
            tz=tz,
            fold=FOLD_CHOICES.index(fold) - 1 if fold else None,
            channels=channels or None,
            actor=actor,
        )
    except InputError as e:
        return render_calendar(request, pages, svc, actor, query, error=e)
    note = Note(
        "moved",
        post_id=done.post_id,
        on=done.moved,
        count=len(done.kept),
        name=f"{done.local[:10]} {done.local[11:16]} ({done.timezone})",
    )
    moved_to = date.fromisoformat(done.local[:10])
    return flash_redirect(request, note, "calendar", **query.back(moved_to))
