"""Time zones on the compose form: every IANA name the system knows, and the zone a post's
time is read in when the person leaves the choice as it is.

The default is decided on the server, so it needs no script: the chosen campaign's zone (its
posts are planned in it), else the zone the ticked channels share (their slots are in it), else
UTC. The page marks the zone it offered by default (``tz_auto``); a form sent back with that
zone unchanged gets the default again for what was chosen by then (``forms.compose_form``).

Every page shows times in the viewer's zone (``viewer_zone``): one they chose (on their account
page or the calendar, remembered in a cookie: ``remember_zone``), else the campaign's when they
look at one (the calendar), else their browser's (a cookie ``static/zone.js`` sets on every
page), else UTC. ``RequestZone`` works it out once per request from the cookies and holds it in
a context variable for the request's page (``format_time``, the templates' ``datetime``
filter; ``request_zone``). It is the web's alone: the command line, the API and the CSV exports
keep UTC.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from zoneinfo import available_timezones

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from herald.accounts import Actor
from herald.core.errors import AccessDenied, InputError, NotFound
from herald.core.i18n import _, format_datetime
from herald.service import Herald
from herald.web.auth import is_https

#: Every IANA zone name, UTC first (the usual default), then sorted: the list every page offers
#: (compose, campaigns, charts, calendar), and the only names a form may send (a name is looked
#: up on disk only once it is known to be one of these).
ZONE_NAMES: tuple[str, ...] = ("UTC", *sorted(available_timezones() - {"UTC"}))
_ZONE_SET = frozenset(ZONE_NAMES)
#: Why a zone is the default ("" when the person chose it): see ``default_zone``.
FROM_CAMPAIGN, FROM_CHANNEL, FROM_UTC = "campaign", "channel", "utc"
#: Where the calendar's zone comes from besides (``viewer_zone``): the person's own choice, and
#: the zone their browser reports.
FROM_CHOICE, FROM_BROWSER = "choice", "browser"
#: The viewer's cookies: the zone a person chose (the server sets it when they choose one, on
#: their account page or the calendar: ``remember_zone``), and the zone their browser reports
#: (``static/zone.js`` sets it on every page). Neither is a secret; both are read only as one
#: of ``ZONE_NAMES``.
ZONE_COOKIE = "herald_tz"
BROWSER_ZONE_COOKIE = "herald_browser_tz"
#: How long the zone a person chose is remembered.
ZONE_COOKIE_SECONDS = 365 * 24 * 3600
#: The choice that forgets the person's zone (back to the campaign's, the browser's or UTC).
AUTOMATIC = "auto"
#: The longest zone choice read from a form or an address (IANA names are about 30 characters).
MAX_CHOICE_CHARS = 100


def known_zone(name: str | None) -> str | None:
    """``name`` if it is one of ``ZONE_NAMES``, else None (anything else a request carries)."""
    return name if name in _ZONE_SET else None


def viewer_zone(chosen: str | None, campaign_zone: str | None, browser: str | None) -> tuple[str, str]:
    """The zone the calendar shows times in, and where it comes from: the person's choice
    (``FROM_CHOICE``), else the zone of the one campaign they look at (``FROM_CAMPAIGN``: its
    posts are planned in it), else their browser's (``FROM_BROWSER``), else UTC. Names that are
    not IANA zones are passed over."""
    for name, source in ((chosen, FROM_CHOICE), (campaign_zone, FROM_CAMPAIGN), (browser, FROM_BROWSER)):
        if known_zone(name):
            return str(name), source
    return "UTC", FROM_UTC


def cookie_zone(cookies: Mapping[str, str]) -> tuple[str, str]:
    """The viewer's own zone from their cookies (their choice, else their browser's, else UTC),
    and where it comes from: what every page shows times in (``RequestZone``), and what the
    composer offers when neither a campaign nor the channels decide."""
    return viewer_zone(cookies.get(ZONE_COOKIE), None, cookies.get(BROWSER_ZONE_COOKIE))


# -- the person's choice -----------------------------------------------------------------------


def zone_choice(value: str) -> str:
    """A zone choice as a form or an address sends it: ``AUTOMATIC`` (forget the one chosen) or
    one of ``ZONE_NAMES``. Raises InputError (``tz``) for anything else."""
    value = value.strip()
    if value == AUTOMATIC or known_zone(value):
        return value
    raise InputError(
        "tz",
        _("unknown time zone %(name)r (an IANA name, e.g. Asia/Seoul)") % {"name": value[:MAX_CHOICE_CHARS]},
    )


def remember_zone(response: Response, request: Request, choice: str) -> None:
    """Keep ``choice`` (a ``zone_choice``) in ``response`` as the person's zone, for every page
    from the next on; ``AUTOMATIC`` forgets it. The one place the cookie is set or cleared (the
    account page and the calendar both choose). Raises InputError as ``zone_choice``."""
    choice = zone_choice(choice)
    secure = is_https(request)
    if choice == AUTOMATIC:
        response.delete_cookie(ZONE_COOKIE, path="/", samesite="lax", httponly=True, secure=secure)
        return
    response.set_cookie(
        ZONE_COOKIE,
        choice,
        max_age=ZONE_COOKIE_SECONDS,
        path="/",
        samesite="lax",
        httponly=True,
        secure=secure,
    )


# -- the request's zone ------------------------------------------------------------------------

#: The zone the request's page shows times in and where it comes from (``viewer_zone``); UTC
#: outside a request (the command line never sets it).
_request_zone: ContextVar[tuple[str, str]] = ContextVar("herald_viewer_zone", default=("UTC", FROM_UTC))


def request_zone() -> tuple[str, str]:
    """The zone the current request's page shows times in, and where it comes from."""
    return _request_zone.get()


@contextmanager
def use_zone(zone: tuple[str, str]) -> Iterator[None]:
    """Show times in ``zone`` (a ``viewer_zone`` answer, so a known name) inside the block."""
    token = _request_zone.set(zone)
    try:
        yield
    finally:
        _request_zone.reset(token)


def format_time(value: datetime | str | None) -> str:
    """A UTC time (an aware ``datetime`` or the service's ISO string) as the request's page
    shows it: in the viewer's zone, the way their language writes it
    (``herald.core.i18n.format_datetime``)."""
    return format_datetime(value, _request_zone.get()[0])


class RequestZone:
    """Sets the request's zone (``use_zone``) from its cookies around the rest of the app, as
    ``web.locale.RequestLocale`` sets its language. Cookies that are not zone names are passed
    over (``viewer_zone``), so a hostile value never reaches ``zoneinfo``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with use_zone(cookie_zone(HTTPConnection(scope).cookies)):
            await self.app(scope, receive, send)


def default_zone(
    svc: Herald,
    actor: Actor,
    campaign: str,
    channels: Sequence[str],
    viewer: tuple[str, str] = ("UTC", FROM_UTC),
) -> tuple[str, str]:
    """The zone a post's time is read in when the person does not choose one, and where it
    comes from (``FROM_CAMPAIGN``, ``FROM_CHANNEL``, else ``viewer``: the viewer's own zone as
    ``viewer_zone`` gives it, UTC by default). A campaign the person may not see, or a channel
    that does not exist, gives no default: queueing refuses them."""
    name = campaign.strip()
    if name:
        for row in svc.list_campaigns(actor=actor):
            if row.name == name:
                return row.timezone, FROM_CAMPAIGN
    zones = set()
    for channel in channels:
        try:
            zones.add(svc.schedule(channel, upcoming=0, actor=actor).timezone)
        except (NotFound, AccessDenied):
            continue
    if len(zones) == 1:
        return zones.pop(), FROM_CHANNEL
    return viewer
