"""Campaigns: their settings (time zone, late tolerance, required alt text, face protection,
date range, hashtags and UTM), and their blackout windows (``scheduler.bounds`` and
``scheduler.blackouts`` hold the rules; ``bounds_of`` gives them a campaign's)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import InputError, NotFound
from herald.core.i18n import N_, _
from herald.core.tagging import read_hashtags, slug
from herald.core.text import refuse_controls
from herald.service.answers import BlackoutInfo, CampaignDefaults, CampaignInfo, iso
from herald.service.base import ServiceBase
from herald.store import audit
from herald.store.blackouts import add_blackout, blackouts_of, count_blackouts, remove_blackout
from herald.store.campaigns import (
    KEEP,
    campaign_ids_by_name,
    campaign_named,
    campaigns_listed,
    save_campaign,
)
from herald.store.models import Campaign, CampaignBlackout, utcnow
from herald.store.rescheduling import hold, move, queued_in_campaign
from scheduler.blackouts import MAX_WINDOWS, Window, blocked, read_window
from scheduler.bounds import Bounds
from scheduler.localdates import read_local, shown_local
from scheduler.localtime import local_of, zone

log = logging.getLogger(__name__)

#: What ``protect_faces`` may be set to ("review": a post whose photos show faces waits for a
#: person who may approve; "off": faces are kept).
FACE_MODES = ("blur", "pixelate", "review", "off")


#: The longest campaign name (it is shown in tables and names audit events).
MAX_CAMPAIGN_NAME_CHARS = 100


class Campaigns(ServiceBase):
    def set_campaign(
        self,
        name: str,
        *,
        late_tolerance_seconds: int | None = None,
        require_alt_text: bool | None = None,
        protect_faces: str | None = None,
        timezone: str | None = None,
        requires_approval: bool | None = None,
        starts: str | None = None,
        ends: str | None = None,
        hashtags: str | None = None,
        utm: bool | None = None,
        actor: Actor = SYSTEM,
    ) -> CampaignInfo:
        """Create or change a campaign's settings (those given); returns them all as saved.
        ``protect_faces``: "blur", "pixelate", "review" or "off". A new campaign takes the
        installation's defaults (``campaign_defaults``) for alt text and faces when they are not
        given. ``starts``/``ends``: its date range, local dates or times in its zone
        (``scheduler.localdates``; a date alone as ``ends`` keeps that whole day in; "" clears
        it); posts already queued keep their times. ``hashtags``: appended to its posts ("":
        none); ``utm``: tag their links. Raises InputError for a bad setting (a range that ends
        before it starts), AccessDenied unless an admin of the campaign (a new one: an
        installation-wide admin)."""
        if not name.strip() or len(name) > MAX_CAMPAIGN_NAME_CHARS:
            raise InputError(
                "name", _("a campaign name has 1 to %(max)d characters") % {"max": MAX_CAMPAIGN_NAME_CHARS}
            )
        refuse_controls("name", name, name=True)
        if protect_faces is not None and protect_faces not in FACE_MODES:
            raise InputError("protect_faces", _("protect faces must be blur, pixelate, review or off"))
        if late_tolerance_seconds is not None and late_tolerance_seconds < 0:
            raise InputError("late_tolerance", _("late tolerance must be 0 (never hold) or more seconds"))
        if timezone is not None:
            zone(timezone, "timezone")
        tags = read_hashtags(hashtags) if hashtags is not None else KEEP
        with self.db.session() as s:
            existing = campaign_ids_by_name(s).get(name)
            self._require(actor, Capability.ADMINISTER, existing, N_("changing a campaign's settings"))
            current = campaign_named(s, name) if existing is not None else None
            tz = zone(timezone or (current.timezone if current else "UTC"), "timezone")
            starts_at = (
                KEEP if starts is None else read_local(starts, tz, field="starts") if starts.strip() else None
            )
            ends_at = (
                KEEP
                if ends is None
                else read_local(ends, tz, field="ends", end=True)
                if ends.strip()
                else None
            )
            first = current.starts_at if current and starts_at is KEEP else starts_at
            last = current.ends_at if current and ends_at is KEEP else ends_at
            if isinstance(first, datetime) and isinstance(last, datetime) and last <= first:
                raise InputError(
                    "ends",
                    _("campaign %(name)s would end (%(end)s) before it starts (%(start)s, %(zone)s)")
                    % {
                        "name": name,
                        "end": shown_local(last, tz),
                        "start": shown_local(first, tz),
                        "zone": tz.key,
                    },
                )
            if existing is None:
                defaults = self.campaign_defaults
                require_alt_text = defaults.require_alt_text if require_alt_text is None else require_alt_text
                protect_faces = protect_faces or defaults.protect_faces
            saved = save_campaign(
                s,
                name,
                late_tolerance_seconds=late_tolerance_seconds,
                require_alt_text=require_alt_text,
                protect_faces=protect_faces,
                timezone=timezone,
                requires_approval=requires_approval,
                starts_at=starts_at,
                ends_at=ends_at,
                hashtags=tags,
                utm=utm,
            )
            audit.record(
                s,
                actor=actor.email,
                action="campaign.add" if existing is None else "campaign.change",
                target_type="campaign",
                target_id=name,
                campaign_id=saved.id,
                detail={
                    k: v
                    for k, v in {
                        "late_tolerance_seconds": late_tolerance_seconds,
                        "require_alt_text": require_alt_text,
                        "protect_faces": protect_faces,
                        "timezone": timezone,
                        "requires_approval": requires_approval,
                        "starts": starts,
                        "ends": ends,
                        "hashtags": hashtags,
                        "utm": utm,
                    }.items()
                    if v is not None
                },
            )
            return _info(saved, blackouts_of(s, saved.id))

    def new_campaign_defaults(self) -> CampaignDefaults:
        """What a new campaign starts with unless its creator says otherwise."""
        return self.campaign_defaults

    def list_campaigns(self, *, actor: Actor = SYSTEM) -> list[CampaignInfo]:
        """The campaigns ``actor`` may see, by name, with their settings."""
        with self.db.read() as s:
            return [
                _info(c, blackouts_of(s, c.id))
                for c in campaigns_listed(s)
                if actor.can(Capability.VIEW, c.id)
            ]

    def show_campaign(self, name: str, *, actor: Actor = SYSTEM) -> CampaignInfo:
        """One campaign's settings and blackout windows. Raises NotFound for an unknown
        campaign (or one ``actor`` may not see)."""
        with self.db.read() as s:
            c = self._campaign_seen(s, name, actor)
            return _info(c, blackouts_of(s, c.id))

    # -- blackout windows ----------------------------------------------------------------------

    def add_blackout(
        self,
        campaign: str,
        *,
        starts: str,
        ends: str,
        mode: str = "wait",
        label: str = "",
        now: datetime | None = None,
        actor: Actor = SYSTEM,
    ) -> BlackoutInfo:
        """Add a window when nothing of ``campaign`` goes out: ``starts``/``ends`` local dates
        or times in its zone; ``mode`` "wait" (what is due then goes out at its end, in order)
        or "hold" (held for a person). Deliveries already queued inside it are moved to its end
        or held now, in SQL and in Redis; every queued delivery of the campaign due before its
        end is staged again, so a retry that lands in it is caught by the worker. Raises
        InputError for a bad window, NotFound for an unknown campaign, AccessDenied unless a
        manager or admin of the campaign (a planned pause is a manager's call, like a stop)."""
        now = now or utcnow()
        with self.db.session() as s:
            c = self._campaign_seen(s, campaign, actor)
            self._require(actor, Capability.ACT, c.id, N_("adding a blackout window"))
            window = read_window(starts, ends, zone(c.timezone, "timezone"), mode, label)
            if count_blackouts(s, c.id) >= MAX_WINDOWS:
                raise InputError(
                    "blackout", _("a campaign has at most %(max)d blackout windows") % {"max": MAX_WINDOWS}
                )
            row = add_blackout(
                s,
                c.id,
                starts_at=window.starts_at,
                ends_at=window.ends_at,
                mode=window.mode,
                label=window.label,
                created_by=None if actor.system else actor.email,
            )
            bounds = bounds_of(c, blackouts_of(s, c.id))
            touched = queued_in_campaign(s, c.id, before=window.ends_at)
            moves: dict[int, datetime] = {}
            holds: dict[int, str] = {}
            for q in touched:
                if q.due_at < window.starts_at or blocked(bounds.windows, q.due_at) is None:
                    continue
                try:
                    placed = bounds.place(q.due_at)
                except InputError as e:  # it would wait past the campaign's end: a person decides
                    holds[q.id] = e.message
                    continue
                if placed.held is not None:
                    holds[q.id] = placed.held
                elif placed.at != q.due_at:
                    moves[q.id] = placed.at
            move(s, moves, now=now)
            held = hold(s, holds, now=now)
            info = _blackout_info(row, c)
            audit.record(
                s,
                actor=actor.email,
                action="campaign.blackout.add",
                target_type="campaign",
                target_id=c.name,
                campaign_id=c.id,
                detail={
                    "id": row.id,
                    "label": row.label,
                    "mode": row.mode,
                    "from": info.starts_local,
                    "to": info.ends_local,
                    "moved": len(moves),
                    "held": len(held),
                },
            )
        if moves or held:
            log.warning(
                "blackout %s of campaign %s: %d queued deliveries moved to its end, %d held",
                info.id,
                c.name,
                len(moves),
                len(held),
            )
        self._stage([q.id for q in touched if q.id not in held])
        return info

    def list_blackouts(self, campaign: str, *, actor: Actor = SYSTEM) -> list[BlackoutInfo]:
        """The campaign's blackout windows, by start. Raises NotFound for an unknown campaign."""
        with self.db.read() as s:
            c = self._campaign_seen(s, campaign, actor)
            return [_blackout_info(b, c) for b in blackouts_of(s, c.id)]

    def remove_blackout(self, campaign: str, blackout_id: int, *, actor: Actor = SYSTEM) -> BlackoutInfo:
        """Remove a blackout window. Deliveries it already moved keep their new time, those it
        held stay held for a person (``post release``); the rest are staged again without it.
        Raises NotFound for an unknown campaign or window, AccessDenied as ``add_blackout``."""
        with self.db.session() as s:
            c = self._campaign_seen(s, campaign, actor)
            self._require(actor, Capability.ACT, c.id, N_("removing a blackout window"))
            row = remove_blackout(s, c.id, blackout_id)
            if row is None:
                raise NotFound(
                    "blackout",
                    _("campaign %(name)s has no blackout window %(id)s")
                    % {"name": c.name, "id": blackout_id},
                )
            info = _blackout_info(row, c)
            touched = [q.id for q in queued_in_campaign(s, c.id, before=row.ends_at)]
            audit.record(
                s,
                actor=actor.email,
                action="campaign.blackout.remove",
                target_type="campaign",
                target_id=c.name,
                campaign_id=c.id,
                detail={
                    "id": blackout_id,
                    "label": info.label,
                    "from": info.starts_local,
                    "to": info.ends_local,
                },
            )
        self._stage(touched)
        return info

    def _campaign_seen(self, s: Session, name: str, actor: Actor) -> Campaign:
        """The campaign called ``name``. Raises NotFound if there is none or ``actor`` may not
        see it (the same answer: a name is not confirmed to someone outside the campaign)."""
        c = campaign_named(s, name)
        if c is None or not actor.can(Capability.VIEW, c.id):
            raise NotFound("campaign", _("unknown campaign %(name)r") % {"name": name})
        return c


def bounds_of(c: Campaign, blackouts: Sequence[CampaignBlackout]) -> Bounds:
    """The campaign's date range and blackout windows, as the rules read them."""
    return Bounds(
        campaign=c.name,
        tz=zone(c.timezone, "timezone"),
        starts_at=c.starts_at,
        ends_at=c.ends_at,
        windows=tuple(Window(b.starts_at, b.ends_at, b.mode, b.label, b.id) for b in blackouts),
    )


def _local(at: datetime | None, tz: str) -> str | None:
    return local_of(at, zone(tz, "timezone")).isoformat(timespec="minutes") if at else None


def _blackout_info(b: CampaignBlackout, c: Campaign) -> BlackoutInfo:
    return BlackoutInfo(
        id=b.id,
        campaign=c.name,
        label=b.label,
        mode=b.mode,
        starts_at=iso(b.starts_at),
        ends_at=iso(b.ends_at),
        starts_local=_local(b.starts_at, c.timezone) or "",
        ends_local=_local(b.ends_at, c.timezone) or "",
        created_by=b.created_by,
    )


def _info(c: Campaign, blackouts: Sequence[CampaignBlackout] = ()) -> CampaignInfo:
    return CampaignInfo(
        name=c.name,
        timezone=c.timezone,
        late_tolerance_seconds=c.late_tolerance_seconds,
        require_alt_text=c.require_alt_text,
        protect_faces=c.protect_faces,
        requires_approval=c.requires_approval,
        paused=c.paused_at is not None,
        starts_at=iso(c.starts_at),
        ends_at=iso(c.ends_at),
        starts_local=_local(c.starts_at, c.timezone),
        ends_local=_local(c.ends_at, c.timezone),
        hashtags=c.hashtags,
        utm=bool(c.utm),
        utm_campaign=slug(c.name) if c.utm else None,
        blackouts=tuple(_blackout_info(b, c) for b in blackouts),
    )
