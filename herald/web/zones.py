"""Time zones on the compose form: every IANA name the system knows, and the zone a post's
time is read in when the person leaves the choice as it is.

The default is decided on the server, so it needs no script: the chosen campaign's zone (its
posts are planned in it), else the zone the ticked channels share (their slots are in it), else
UTC. The page marks the zone it offered by default (``tz_auto``); a form sent back with that
zone unchanged gets the default again for what was chosen by then (``forms.compose_form``).

The calendar shows times in the viewer's zone (``viewer_zone``): one they chose (remembered in
a cookie), else the campaign's when they look at one, else their browser's, else UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from zoneinfo import available_timezones

from herald.accounts import Actor
from herald.core.errors import AccessDenied, NotFound
from herald.service import Herald

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
#: The calendar's cookies: the zone a person chose (the server sets it when they choose one),
#: and the zone their browser reports (``static/calendar.js`` sets it). Neither is a secret;
#: both are read only as one of ``ZONE_NAMES``.
ZONE_COOKIE = "herald_tz"
BROWSER_ZONE_COOKIE = "herald_browser_tz"
#: The choice that forgets the person's zone (back to the campaign's, the browser's or UTC).
AUTOMATIC = "auto"


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
    """The viewer's own zone from the calendar's cookies (their choice, else their browser's,
    else UTC): what the composer offers when neither a campaign nor the channels decide."""
    return viewer_zone(cookies.get(ZONE_COOKIE), None, cookies.get(BROWSER_ZONE_COOKIE))


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
