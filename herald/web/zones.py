"""Time zones on the compose form: every IANA name the system knows, and the zone a post's
time is read in when the person leaves the choice as it is.

The default is decided on the server, so it needs no script: the chosen campaign's zone (its
posts are planned in it), else the zone the ticked channels share (their slots are in it), else
UTC. The page marks the zone it offered by default (``tz_auto``); a form sent back with that
zone unchanged gets the default again for what was chosen by then (``forms.compose_form``).
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import available_timezones

from herald.accounts import Actor
from herald.core.errors import AccessDenied, NotFound
from herald.service import Herald

#: Every IANA zone name, sorted (UTC among them): the compose form's list, and the only names
#: a form may send (a name is looked up on disk only once it is known to be one of these).
ZONE_NAMES: tuple[str, ...] = tuple(sorted(available_timezones() | {"UTC"}))
#: Why a zone is the default ("" when the person chose it): see ``default_zone``.
FROM_CAMPAIGN, FROM_CHANNEL, FROM_UTC = "campaign", "channel", "utc"


def default_zone(svc: Herald, actor: Actor, campaign: str, channels: Sequence[str]) -> tuple[str, str]:
    """The zone a post's time is read in when the person does not choose one, and where it
    comes from (``FROM_CAMPAIGN``, ``FROM_CHANNEL``, ``FROM_UTC``). A campaign the person may
    not see, or a channel that does not exist, gives no default: queueing refuses them."""
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
    return "UTC", FROM_UTC
