"""The calendar: the posts of a range of days in the viewer's time zone (a week, or the weeks
of a month), each with its channels and state, and moving a post that no worker has claimed
to another time.

Times in and out are read in one zone, here: the days asked for are local days of the viewer's
zone, every entry carries its local time beside its UTC one, and a move's wall-clock time is
made an instant by ``scheduler.localtime.to_utc`` (a time that does not exist or happens twice
is refused, never guessed). The store keeps naive UTC.

An entry is one post at one minute: its deliveries placed then (a post whose channels go out
at different times has an entry per time). Its state is a word, so that colour is never the
only sign of it: ``scheduled`` (still to go out: waiting for approval, queued, held for a
person or being published), ``published``, ``failed`` (failed, or sent without an answer and
waiting for a person to check), or ``partly`` when its channels differ.

A move is queueing the post at another time, so it needs what that needs: the draft role in
its campaign, the approve role in one that approves its posts (``schedules.move_capability``,
the rule a reorder follows), a time in the future, inside the campaign's date range and out of
its blackout windows. Only deliveries no worker has claimed move (``scheduled`` or ``queued``);
each move is a compare-and-set on state and time (``store.queue_order.move_queued``), so a
worker that claimed one meanwhile wins and nothing moves. The moved queued deliveries are
staged again in Redis with their new time, as every other change of time is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import Conflict, InputError, NotFound
from herald.core.i18n import N_, _
from herald.service.answers import Answer, VariantInfo, iso
from herald.service.base import ServiceBase
from herald.service.campaigns import bounds_of
from herald.service.schedules import move_capability
from herald.store import audit, states
from herald.store.blackouts import blackouts_of
from herald.store.calendar import CalendarRow, deliveries_between, deliveries_of_post, languages_of_post
from herald.store.campaigns import campaign_named
from herald.store.channels import channel_id_by_name
from herald.store.models import Campaign, CampaignBlackout, utcnow
from herald.store.queue_order import move_queued, refresh_post_times
from herald.store.scope import EVERYTHING
from scheduler.blackouts import blocked, from_epoch
from scheduler.localdates import shown_local
from scheduler.localtime import local_of, to_utc, zone

log = logging.getLogger(__name__)

#: The most days one read covers: a month view shows the six weeks a month can touch.
MAX_DAYS: Final = 42
#: The most deliveries one range shows; past it the answer says it was cut (filter by a
#: campaign or a channel to see the rest).
MAX_ENTRIES: Final = 2000
#: How much of a post's text an entry carries.
ENTRY_TEXT_CHARS: Final = 80
#: The days a calendar may show (a grid around the year 9999 would leave ``datetime``).
FIRST_DAY: Final = date(1970, 1, 1)
LAST_DAY: Final = date(9998, 12, 31)

#: An entry's state, by what its deliveries' states mean to a person.
SCHEDULED: Final = "scheduled"
PUBLISHED: Final = "published"
FAILED: Final = "failed"
PARTLY: Final = "partly"
ENTRY_STATES: Final = (SCHEDULED, PUBLISHED, FAILED, PARTLY)
_MEANING: Final = {
    states.SCHEDULED: SCHEDULED,
    states.QUEUED: SCHEDULED,
    states.HELD: SCHEDULED,
    states.PUBLISHING: SCHEDULED,
    states.PUBLISHED: PUBLISHED,
    states.FAILED: FAILED,
    states.UNCERTAIN: FAILED,
}
#: States a move takes a delivery from: known to SQL and not claimed by a worker.
MOVABLE: Final = (states.SCHEDULED, states.QUEUED)
#: Why a delivery in another state keeps its time (marked here, read in the reader's language).
KEPT: Final = {
    states.PUBLISHING: N_("being published: a worker claimed it"),
    states.PUBLISHED: N_("published"),
    states.HELD: N_("held for a person: release it from the dashboard first"),
    states.FAILED: N_("failed: retry it from the dashboard instead"),
    states.UNCERTAIN: N_("may have gone out: check the platform, then retry it or record it as sent"),
}


@dataclass(frozen=True)
class CalendarDelivery(Answer):
    """One channel of an entry."""

    channel: str
    platform: str
    #: The delivery's state (``herald.store.states``).
    state: str
    remote_url: str | None


@dataclass(frozen=True)
class CalendarEntry(Answer):
    """One post at one minute: its deliveries placed then."""

    post_id: str
    #: The start of the post's text.
    text: str
    campaign: str | None
    #: The campaign's zone (UTC for a post of no campaign).
    campaign_zone: str
    #: "approved", "pending" (waiting for a manager) or "returned".
    approval: str
    #: When (ISO UTC), and the same wall-clock time in the viewer's zone and in the campaign's
    #: (ISO 8601 to the minute, with the offset).
    at: str
    local: str
    campaign_local: str
    #: The local date (viewer's zone) the entry is on.
    day: str
    #: One of ``ENTRY_STATES``.
    state: str
    deliveries: tuple[CalendarDelivery, ...]
    #: May the person asking move it now? If not, why (None when they may).
    movable: bool
    kept: str | None

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(d.channel for d in self.deliveries)

    @property
    def movable_channels(self) -> tuple[str, ...]:
        return tuple(d.channel for d in self.deliveries if d.state in MOVABLE)


@dataclass(frozen=True)
class CalendarRange(Answer):
    """The entries of ``days`` local days from ``first_day`` in ``timezone``, by time."""

    timezone: str
    first_day: str
    days: int
    #: The range as instants (ISO UTC): [start, end).
    start: str
    end: str
    entries: tuple[CalendarEntry, ...]
    #: More than ``MAX_ENTRIES`` deliveries fell in the range: the later ones are not here.
    truncated: bool


@dataclass(frozen=True)
class CalendarPost(Answer):
    """One post as the calendar opens it: its whole text and an entry per time it has."""

    post_id: str
    text: str
    campaign: str | None
    campaign_zone: str
    approval: str
    timezone: str
    entries: tuple[CalendarEntry, ...]
    #: The post's language tag (None: none given).
    language: str | None = None
    #: Channel name → its own text and language, for the channels that have either.
    variants: Mapping[str, VariantInfo] = field(default_factory=dict)


@dataclass(frozen=True)
class Rescheduled(Answer):
    """What a move did: the post's channels now due ``at``, and those that kept their time."""

    post_id: str
    at: str
    #: The new time in the zone it was given in, and in the campaign's.
    local: str
    timezone: str
    campaign_local: str
    campaign_zone: str
    moved: tuple[str, ...]
    #: Channel → why it kept its time.
    kept: Mapping[str, str]


class Calendar(ServiceBase):
    def calendar(
        self,
        first_day: date,
        days: int,
        *,
        tz: str = "UTC",
        campaign: str | None = None,
        channel: str | None = None,
        now: datetime | None = None,
        actor: Actor = SYSTEM,
    ) -> CalendarRange:
        """The posts ``actor`` may see on ``days`` local days of ``tz`` from ``first_day`` (of
        ``campaign``, on ``channel``, if given). Raises InputError for a zone that is not an
        IANA name, more than ``MAX_DAYS`` days or a day out of range, NotFound for a campaign
        the actor may not see (or none of that name) or an unknown channel."""
        now = now or utcnow()
        tzinfo = zone(tz)
        if not 1 <= days <= MAX_DAYS:
            raise InputError(
                "days",
                _("a calendar shows 1 to %(max)d days at a time, not %(days)d")
                % {"max": MAX_DAYS, "days": days},
            )
        if not FIRST_DAY <= first_day <= LAST_DAY - timedelta(days=days):
            raise InputError(
                "date",
                _("a calendar shows days from %(first)s to %(last)s")
                % {"first": FIRST_DAY, "last": LAST_DAY},
            )
        start, end = day_start(first_day, tzinfo), day_start(first_day + timedelta(days=days), tzinfo)
        with self.db.read() as s:
            reach = self._reach(s, actor, Capability.VIEW)
            campaign_id = None
            if campaign:
                found = campaign_named(s, campaign)
                if found is None or not actor.can(Capability.VIEW, found.id):
                    raise NotFound(
                        "campaign", _("no campaign %(name)r that you may see") % {"name": campaign}
                    )
                campaign_id = found.id
            channel_id = None
            if channel:
                channel_id = channel_id_by_name(s, channel)
                if channel_id is None:
                    raise NotFound("channel", _("unknown channel %(name)r") % {"name": channel})
            rows = deliveries_between(
                s,
                start,
                end,
                reach=reach,
                campaign_id=campaign_id,
                channel_id=channel_id,
                limit=MAX_ENTRIES + 1,
            )
        return CalendarRange(
            timezone=tzinfo.key,
            first_day=first_day.isoformat(),
            days=days,
            start=iso(start) or "",
            end=iso(end) or "",
            entries=_entries(rows[:MAX_ENTRIES], tzinfo, now, actor),
            truncated=len(rows) > MAX_ENTRIES,
        )

    def calendar_post(
        self, post_id: str, *, tz: str = "UTC", now: datetime | None = None, actor: Actor = SYSTEM
    ) -> CalendarPost:
        """``post_id`` as the calendar opens it, its times in ``tz``. Raises InputError for an
        unknown zone, NotFound for a post the actor may not see (or none of that id), or one
        with nothing on a calendar (every delivery cancelled or taken down)."""
        now = now or utcnow()
        tzinfo = zone(tz)
        with self.db.read() as s:
            rows = deliveries_of_post(s, post_id, reach=self._reach(s, actor, Capability.VIEW))
            language, variants = languages_of_post(s, post_id) if rows else (None, [])
        if not rows:
            raise NotFound("post", _("no post %(post)r on the calendar that you may see") % {"post": post_id})
        first = rows[0]
        return CalendarPost(
            post_id=first.post_id,
            text=first.text,
            campaign=first.campaign,
            campaign_zone=first.campaign_zone or "UTC",
            approval=first.approval,
            timezone=tzinfo.key,
            entries=_entries(sorted(rows, key=lambda r: (r.at, r.channel)), tzinfo, now, actor),
            language=language,
            variants={v.channel: VariantInfo(text=v.text, language=v.language) for v in variants},
        )

    def reschedule_post(
        self,
        post_id: str,
        local_at: datetime,
        *,
        tz: str = "UTC",
        fold: int | None = None,
        channels: Sequence[str] | None = None,
        now: datetime | None = None,
        actor: Actor = SYSTEM,
    ) -> Rescheduled:
        """Move ``post_id``'s deliveries on ``channels`` (None: every one) that no worker has
        claimed to the wall-clock time ``local_at`` in ``tz`` (``fold`` picks one of a time that
        happens twice). Raises InputError for an unknown zone, a time that does not exist, happens
        twice or is not in the future, one outside the campaign's range or in a blackout window,
        a channel the post does not go to; NotFound for an unknown post; AccessDenied unless the
        actor may queue posts in its campaign (and approve them, where it approves its posts);
        Conflict when none of those deliveries can move (published, claimed, held, failed), or
        a worker claimed one meanwhile (then nothing moved)."""
        now = now or utcnow()
        tzinfo = zone(tz)
        at = _instant(local_at, tzinfo, fold)
        if at <= now:
            raise InputError(
                "at",
                _("%(time)s (%(zone)s) is in the past (now it is %(now)s): choose a later time")
                % {"time": shown_local(at, tzinfo), "zone": tzinfo.key, "now": shown_local(now, tzinfo)},
            )
        with self.db.session() as s:
            campaign_id = self._campaign_of(s, post_id)
            rows = deliveries_of_post(s, post_id, reach=EVERYTHING)
            c = s.get(Campaign, campaign_id) if campaign_id is not None else None
            self._require(
                actor,
                move_capability(c is not None and c.requires_approval),
                campaign_id,
                N_("moving a post"),
            )
            if channels is not None:
                stray = sorted(set(channels) - {r.channel for r in rows})
                if stray:
                    raise InputError(
                        "channels",
                        _("post %(post)s is not on the calendar on: %(channels)s")
                        % {"post": post_id, "channels": ", ".join(stray)},
                    )
                rows = [r for r in rows if r.channel in set(channels)]
            movable = [r for r in rows if r.state in MOVABLE]
            kept = {r.channel: _(KEPT[r.state]) for r in rows if r.state not in MOVABLE}
            if not movable:
                why = "; ".join(f"{ch}: {reason}" for ch, reason in kept.items()) or _("no channel")
                raise Conflict(
                    "post", _("post %(post)s cannot move (%(why)s)") % {"post": post_id, "why": why}
                )
            campaign_tz = zone(c.timezone, "timezone") if c is not None else zone("UTC")
            if c is not None:
                _check_bounds(at, c, blackouts_of(s, c.id))
            moved: list[int] = []
            for state in MOVABLE:
                # Each compare-and-set expects the state it read: a post approved meanwhile was
                # staged with its old time, and is left to whoever staged it.
                moves = {r.delivery_id: (r.due_at, at) for r in movable if r.state == state}
                got = move_queued(s, moves, now=now, from_states=(state,))
                if len(got) != len(moves):
                    raise Conflict(
                        "post",
                        _(
                            "post %(post)s changed meanwhile (claimed by a worker, approved, cancelled "
                            "or held); nothing was moved, look again"
                        )
                        % {"post": post_id},
                    )
                moved += got
            refresh_post_times(s, {post_id}, moved, now=now)
            audit.record(
                s,
                actor=actor.email,
                action="post.reschedule",
                target_type="post",
                target_id=post_id,
                campaign_id=campaign_id,
                detail={
                    "channels": [r.channel for r in movable],
                    "from": sorted({iso(r.due_at) or "" for r in movable}),
                    "to": iso(at),
                    "timezone": tzinfo.key,
                },
            )
        self._stage(sorted(r.delivery_id for r in movable if r.state == states.QUEUED))
        log.info(
            "post %s moved to %s on %d channel(s)", post_id, iso(at), len(movable), extra={"post_id": post_id}
        )
        return Rescheduled(
            post_id=post_id,
            at=iso(at) or "",
            local=_local(at, tzinfo),
            timezone=tzinfo.key,
            campaign_local=_local(at, campaign_tz),
            campaign_zone=campaign_tz.key,
            moved=tuple(r.channel for r in movable),
            kept=kept,
        )


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first instant (naive UTC) of the local ``day`` in ``tz``: its midnight, or where a
    zone's clocks spring forward over midnight, the first time the day has."""
    return to_utc(datetime(day.year, day.month, day.day), tz, fold=0, gap="forward")


def _instant(local_at: datetime, tz: ZoneInfo, fold: int | None) -> datetime:
    """``local_at`` (a wall-clock time in ``tz``; an aware one is read as the instant it names)
    as naive UTC. Raises InputError for a time that does not exist, happens twice without
    ``fold``, or cannot be an instant at all (the edge of the calendar)."""
    if fold not in (None, 0, 1):
        raise InputError("fold", _("a time that happens twice: choose the first (0) or the second (1)"))
    try:
        if local_at.tzinfo is not None:
            local_at = local_at.astimezone(tz).replace(tzinfo=None)
        return to_utc(local_at, tz, fold=fold, field="at")
    except OverflowError:
        raise InputError(
            "at", _("%(time)s is beyond the calendar") % {"time": f"{local_at:%Y-%m-%d %H:%M}"}
        ) from None


def _check_bounds(at: datetime, c: Campaign, blackouts: Sequence[CampaignBlackout]) -> None:
    """Raises InputError when ``at`` is outside the campaign's date range or in one of its
    blackout windows (a person choosing a time chooses one the campaign allows)."""
    bounds = bounds_of(c, blackouts)
    why = bounds.refusal(at)
    if why:
        raise InputError("at", why)
    b = blocked(bounds.windows, at)
    if b is not None:
        raise InputError(
            "at",
            _(
                "%(time)s is in a blackout window of campaign %(campaign)s%(label)s, until %(until)s "
                "(%(zone)s): choose a time outside it"
            )
            % {
                "time": shown_local(at, bounds.tz),
                "campaign": c.name,
                "label": f" ({b.span.label})" if b.span.label else "",
                "until": shown_local(from_epoch(b.until), bounds.tz),
                "zone": bounds.tz.key,
            },
        )


def _local(at: datetime, tz: ZoneInfo) -> str:
    return local_of(at, tz).isoformat(timespec="minutes")


def _why_kept(rows: Sequence[CalendarRow], now: datetime, actor: Actor) -> str | None:
    """Why ``actor`` may not move the entry of ``rows`` now (None: they may)."""
    open_ = [r for r in rows if r.state in MOVABLE]
    if not open_:
        return _("It keeps its time: %(why)s.") % {"why": _(KEPT[rows[0].state])}
    first = rows[0]
    capability = move_capability(first.requires_approval)
    if not actor.can(capability, first.campaign_id):
        return _("Moving it needs the %(capability)s capability in its campaign.") % {
            "capability": capability.value
        }
    if all(r.due_at <= now for r in open_):
        return _("It is due now: a worker takes it any moment.")
    return None


def _entries(
    rows: Sequence[CalendarRow], tz: ZoneInfo, now: datetime, actor: Actor
) -> tuple[CalendarEntry, ...]:
    """The rows (in time order) as entries: one per post and local minute."""
    groups: dict[tuple[str, str], list[CalendarRow]] = {}
    for r in rows:
        groups.setdefault((r.post_id, _local(r.at, tz)), []).append(r)
    out = []
    for (post_id, local), mine in groups.items():
        first = mine[0]
        campaign_tz = zone(first.campaign_zone or "UTC", "timezone")
        meanings = {_MEANING[r.state] for r in mine}
        why = _why_kept(mine, now, actor)
        out.append(
            CalendarEntry(
                post_id=post_id,
                text=first.text[:ENTRY_TEXT_CHARS],
                campaign=first.campaign,
                campaign_zone=campaign_tz.key,
                approval=first.approval,
                at=iso(first.at) or "",
                local=local,
                campaign_local=_local(first.at, campaign_tz),
                day=local[:10],
                state=meanings.pop() if len(meanings) == 1 else PARTLY,
                deliveries=tuple(
                    CalendarDelivery(r.channel, r.platform, r.state, r.remote_url)
                    for r in sorted(mine, key=lambda r: r.channel)
                ),
                movable=why is None,
                kept=why,
            )
        )
    return tuple(out)
