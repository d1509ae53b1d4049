"""Schedules: a channel's posting slots, time zone and minimum gap; the next free slot common
to a post's channels, or of each; and a channel's queue, reordered or shuffled (the rules are
``scheduler.slots`` and ``scheduler.localtime``).

Who may move a post in a channel's queue: whoever may queue it at any time they like, which is
the draft role in a campaign that does not approve its posts, and the approve role (a manager)
in one that does (moving an approved post is a new decision about it). A person moves only the
posts they may; the others keep their times, and the answer says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import AccessDenied, Conflict, InputError, NotFound
from herald.core.i18n import N_
from herald.service.answers import (
    ChannelQueue,
    MovedPost,
    QueueEntry,
    QueueReordered,
    ScheduleInfo,
    UpcomingSlot,
    iso,
)
from herald.service.base import ServiceBase
from herald.service.requests import PostRequest
from herald.store import audit, states
from herald.store.channels import channel_by_name, channels_named, set_schedule, taken_times
from herald.store.models import Channel, utcnow
from herald.store.queue_order import QueueRow, channel_queue, move_queued, refresh_post_times
from scheduler.bounds import Bounds
from scheduler.localtime import local_of, zone
from scheduler.slots import (
    ChannelSlots,
    WeeklySlots,
    is_slot,
    moved_to,
    next_free_slot,
    next_free_slot_each,
    reassigned,
    shuffled,
    slot_times,
)

#: How many upcoming slots ``schedule`` lists by default.
UPCOMING = 10
SKIPPED = "skipped: this local time does not exist that day (the clocks spring forward over it)"
NOT_YOURS = "not yours to move"
#: How many entries ``queue`` lists by default.
QUEUE_SHOWN = 50
#: How much of a post's text a queue entry shows.
QUEUE_TEXT_CHARS = 60


def channel_slots(ch: Channel, taken: Sequence[datetime]) -> ChannelSlots:
    return ChannelSlots(
        ch.name, WeeklySlots.from_dict(ch.slots or {}), zone(ch.timezone), ch.min_gap_seconds, list(taken)
    )


class Schedules(ServiceBase):
    def set_schedule(
        self,
        channel: str,
        *,
        slots: str | None = None,
        min_gap_seconds: int | None = None,
        timezone: str | None = None,
        actor: Actor = SYSTEM,
    ) -> ScheduleInfo:
        """Set a channel's posting slots (``"mon-fri 09:00,13:00; sat 10:00"``, read in its time
        zone; empty: none), minimum gap and time zone (those given). Posts already placed keep
        their times. Raises InputError for bad slots, gap or zone, NotFound for an unknown
        channel, AccessDenied unless an installation-wide admin."""
        self._require(actor, Capability.ADMINISTER, None, N_("changing a channel's schedule"))
        weekly = WeeklySlots.parse(slots) if slots is not None else None
        if min_gap_seconds is not None and not 0 <= min_gap_seconds <= 7 * 86400:
            raise InputError("min-gap", "the minimum gap is 0 to 7 days")
        if timezone is not None:
            zone(timezone)
        with self.db.session() as s:
            ch = set_schedule(
                s,
                channel,
                slots=weekly.to_dict() if weekly is not None else None,
                min_gap_seconds=min_gap_seconds,
                timezone=timezone,
            )
            if ch is None:
                raise NotFound("channel", f"unknown channel {channel!r}")
            audit.record(
                s,
                actor=actor.email,
                action="channel.schedule",
                target_type="channel",
                target_id=channel,
                detail={
                    k: v
                    for k, v in {
                        "slots": weekly.text() if weekly is not None else None,
                        "min_gap_seconds": min_gap_seconds,
                        "timezone": timezone,
                    }.items()
                    if v is not None
                },
            )
        return self.schedule(channel, actor=actor)

    def schedule(
        self, channel: str, *, upcoming: int = UPCOMING, now: datetime | None = None, actor: Actor = SYSTEM
    ) -> ScheduleInfo:
        """A channel's schedule and its next ``upcoming`` slots, each with whether it is free.
        Raises NotFound for an unknown channel."""
        self._require(actor, Capability.VIEW, None, N_("seeing a channel's schedule"))
        now = now or utcnow()
        with self.db.read() as s:
            ch = channel_by_name(s, channel)
            if ch is None:
                raise NotFound("channel", f"unknown channel {channel!r}")
            taken = taken_times(s, [ch.id], now - timedelta(seconds=ch.min_gap_seconds))[ch.id]
            slots = channel_slots(ch, taken)
        rows: list[UpcomingSlot] = []
        for slot in slot_times(slots.slots, slots.tz, now):
            if len(rows) >= upcoming:
                break
            if slot.at is None:
                rows.append(UpcomingSlot(slot.local.isoformat(timespec="minutes"), None, False, SKIPPED))
                continue
            rows.append(
                UpcomingSlot(
                    local_of(slot.at, slots.tz).isoformat(timespec="minutes"),
                    slot.at.replace(tzinfo=UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                    slots.is_free(slot.at),
                    None,
                )
            )
        return ScheduleInfo(
            channel=ch.name,
            timezone=ch.timezone,
            slots=slots.slots.to_dict(),
            slots_text=slots.slots.text(),
            min_gap_seconds=ch.min_gap_seconds,
            upcoming=tuple(rows),
        )

    def _slot_channels(self, names: Sequence[str], since: datetime) -> dict[str, ChannelSlots]:
        """What "next free slot" needs of these channels, read once."""
        with self.db.read() as s:
            return slot_channels(s, names, since)

    def _place(
        self,
        planned: dict[str, ChannelSlots],
        names: Sequence[str],
        after: datetime,
        bounds: Bounds | None = None,
    ) -> datetime:
        """The next free slot common to ``names`` at or after ``after``, marked taken in
        ``planned`` (so the posts of one batch take different slots). Within a campaign's
        ``bounds``: not before its start, never in a blackout window, refused past its end."""
        return place(planned, names, after, bounds)

    def _due_each(
        self,
        req: PostRequest,
        planned: dict[str, ChannelSlots],
        names: Sequence[str],
        now: datetime,
        bounds: Bounds | None = None,
    ) -> dict[str, datetime]:
        """Each channel's own next free slot for a post that asks for it (``slot_each``), by
        channel name, each within the campaign's ``bounds`` (its range, out of its blackout
        windows); {} for any other post. Raises InputError when it is asked without the next
        free slot, or with a time, or a channel has no free slot (in bounds)."""
        if not req.slot_each:
            return {}
        if not req.next_slot:
            raise InputError(
                "each-channel", "each channel's own slot goes with the next free slot (--next-slot)"
            )
        if req.at is not None or req.local_at is not None:
            raise InputError("at", "give either a time or the next free slot, not both")
        missing = [n for n in names if n not in planned]
        if missing:
            planned.update(self._slot_channels(missing, now))
        return self._place_each(planned, names, slot_search_start(req.after, now), bounds)

    def _place_each(
        self,
        planned: dict[str, ChannelSlots],
        names: Sequence[str],
        after: datetime,
        bounds: Bounds | None = None,
    ) -> dict[str, datetime]:
        """Each channel's own next free slot at or after ``after`` (within ``bounds``), by name,
        marked taken in ``planned``."""
        chans = [planned[n] for n in names]
        if bounds is None:
            return next_free_slot_each(chans, after)
        found = {c.name: bounds.first_slot(_finder(c), after) for c in chans}
        for c in chans:
            c.take(found[c.name])
        return found

    # -- a channel's queue --------------------------------------------------------------------

    def queue_of(
        self, channel: str, *, limit: int = QUEUE_SHOWN, now: datetime | None = None, actor: Actor = SYSTEM
    ) -> ChannelQueue:
        """What is still to go out on ``channel``, by time, in its zone: each entry with its
        place among the posts that may trade times (``reorder``, ``shuffle``) or why it stays
        put. Only posts of campaigns ``actor`` may see are listed. Raises NotFound for an
        unknown channel."""
        now = now or utcnow()
        with self.db.read() as s:
            ch = _channel(s, channel)
            rows = channel_queue(s, ch.id, now)
        tz = zone(ch.timezone)
        weekly = WeeklySlots.from_dict(ch.slots or {})
        entries = _entries(rows, weekly, tz, now, actor)
        return ChannelQueue(ch.name, ch.timezone, tuple(entries[:limit]))

    def reorder(
        self, channel: str, post_id: str, to: int, *, now: datetime | None = None, actor: Actor = SYSTEM
    ) -> QueueReordered:
        """Move ``post_id`` to place ``to`` (1: next) among the posts of ``channel`` that may
        trade times; those between shift by one. The set of times stays, so every slot and gap
        holds. Only this channel's delivery of the post moves. Raises NotFound (channel, or a
        post with nothing coming on it), InputError for a place below 1, AccessDenied when the
        actor may not move that post, Conflict when it cannot move (being published, held,
        waiting for approval, at a time of its own)."""
        if to < 1:
            raise InputError("to", f"place {to}: places start at 1")

        def plan(movable: list[QueueEntry], entries: list[QueueEntry]) -> list[int]:
            mine = [e for e in entries if e.post_id == post_id]
            if not mine:
                raise NotFound("post", f"post {post_id} has nothing coming on channel {channel}")
            if mine[0].note is not None and mine[0].note.startswith(NOT_YOURS):
                raise AccessDenied(f"moving post {post_id} on {channel}: {mine[0].note}")
            if mine[0].position is None:
                raise Conflict("post", f"post {post_id} stays where it is on {channel}: {mine[0].note}")
            return moved_to([e.delivery_id for e in movable], mine[0].delivery_id, to)

        return self._trade_times(channel, plan, "channel.reorder", {"post": post_id, "to": to}, now, actor)

    def shuffle(
        self, channel: str, *, seed: int | None = None, now: datetime | None = None, actor: Actor = SYSTEM
    ) -> QueueReordered:
        """Give the posts of ``channel`` that may trade times (those ``actor`` may move) the
        same times in a random order (``seed``: the same order for the same queue). Raises
        NotFound for an unknown channel."""

        def plan(movable: list[QueueEntry], entries: list[QueueEntry]) -> list[int]:
            return shuffled([e.delivery_id for e in movable], seed)

        return self._trade_times(channel, plan, "channel.shuffle", {"seed": seed}, now, actor)

    def _trade_times(
        self,
        channel: str,
        plan: Callable[[list[QueueEntry], list[QueueEntry]], list[int]],
        action: str,
        detail: dict[str, object],
        now: datetime | None,
        actor: Actor,
    ) -> QueueReordered:
        """One transaction: the channel's queue read and its queued rows locked, ``plan`` (the
        new order of the movable deliveries) given out over their times, each move a
        compare-and-set on state and time, the posts' times brought in line, audited per
        campaign; then the moved deliveries are staged again in Redis."""
        now = now or utcnow()
        if not _may_draft_somewhere(actor):
            self._require(actor, Capability.DRAFT, None, N_("reordering a channel's queue"))
        with self.db.session() as s:
            ch = _channel(s, channel)
            tz = zone(ch.timezone)
            rows = channel_queue(s, ch.id, now, lock=True)
            entries = _entries(rows, WeeklySlots.from_dict(ch.slots or {}), tz, now, actor)
            movable = sorted((e for e in entries if e.position is not None), key=lambda e: e.position or 0)
            by_id = {r.delivery_id: r for r in rows}
            times = [by_id[e.delivery_id].due_at for e in movable]
            given = reassigned(times, plan(movable, entries))
            moves = {i: (by_id[i].due_at, at) for i, at in given.items() if at != by_id[i].due_at}
            moved = move_queued(s, moves, now=now)
            if len(moved) != len(moves):
                gone = sorted(set(moves) - set(moved))
                raise Conflict(
                    "queue",
                    f"channel {channel}: deliver{'y' if len(gone) == 1 else 'ies'} "
                    f"{', '.join(map(str, gone))} changed meanwhile (claimed by a worker, "
                    "cancelled or held); nothing was moved, try again",
                )
            refresh_post_times(s, {by_id[i].post_id for i in moved}, moved, now=now)
            per_campaign: dict[int | None, list[str]] = {}
            for i in moved:
                per_campaign.setdefault(by_id[i].campaign_id, []).append(by_id[i].post_id)
            for campaign_id, posts in per_campaign.items():
                audit.record(
                    s,
                    actor=actor.email,
                    action=action,
                    target_type="channel",
                    target_id=ch.name,
                    campaign_id=campaign_id,
                    detail={**detail, "moved": len(posts), "posts": posts[:50]},
                )
            after = channel_queue(s, ch.id, now)
            queue = _entries(after, WeeklySlots.from_dict(ch.slots or {}), tz, now, actor)
            name, timezone = ch.name, ch.timezone
        self._stage(sorted(moved))
        return QueueReordered(
            channel=name,
            timezone=timezone,
            moved=tuple(
                MovedPost(
                    post_id=by_id[i].post_id,
                    delivery_id=i,
                    was=iso(moves[i][0]) or "",
                    at=iso(moves[i][1]) or "",
                    local=local_of(moves[i][1], tz).isoformat(timespec="minutes"),
                )
                for i in sorted(moved, key=lambda i: moves[i][1])
            ),
            kept=tuple(e for e in queue if e.position is None),
            queue=tuple(queue),
        )


def slot_channels(s: Session, names: Sequence[str], since: datetime) -> dict[str, ChannelSlots]:
    """What "next free slot" needs of these channels (``Schedules._slot_channels``)."""
    chans = channels_named(s, names)
    # A post a little before ``since`` still keeps the first slots within its gap.
    gap = max((c.min_gap_seconds for c in chans.values()), default=0)
    taken = taken_times(s, [c.id for c in chans.values()], since - timedelta(seconds=gap))
    return {n: channel_slots(c, taken[c.id]) for n, c in chans.items()}


def place(
    planned: dict[str, ChannelSlots], names: Sequence[str], after: datetime, bounds: Bounds | None = None
) -> datetime:
    """``Schedules._place``, for parts of the service that place posts outside queueing (a
    resume that moves held posts to new slots)."""
    chans = [planned[n] for n in names]
    if bounds is None:
        due = next_free_slot(chans, after)
    else:
        due = bounds.first_slot(lambda at: next_free_slot(chans, at), after)
    for n in names:
        planned[n].take(due)
    return due


def slot_search_start(after: datetime | None, now: datetime) -> datetime:
    """Where "next free slot" starts looking: ``after`` (aware, or naive UTC), never before now."""
    if after is None:
        return now
    if after.tzinfo is not None:
        after = after.astimezone(UTC).replace(tzinfo=None)
    return max(after, now)


def _finder(c: ChannelSlots) -> Callable[[datetime], datetime]:
    """The next free slot of ``c`` alone, from an instant on."""
    return lambda at: next_free_slot([c], at)


def _channel(s: Session, name: str) -> Channel:
    ch = channel_by_name(s, name)
    if ch is None:
        raise NotFound("channel", f"unknown channel {name!r}")
    return ch


def move_capability(requires_approval: bool) -> Capability:
    """Moving a post is queueing it at another time: the draft role, or the approve role where
    the campaign approves its posts (a reorder here, a move on the calendar)."""
    return Capability.APPROVE if requires_approval else Capability.DRAFT


def _move_capability(row: QueueRow) -> Capability:
    return move_capability(row.requires_approval)


def _may_move(row: QueueRow, actor: Actor) -> bool:
    return actor.can(_move_capability(row), row.campaign_id)


def _why_kept(row: QueueRow, weekly: WeeklySlots, tz: ZoneInfo, now: datetime, actor: Actor) -> str | None:
    """Why ``row`` keeps its time in a reorder or shuffle by ``actor`` (None: it may move)."""
    if row.state == states.PUBLISHING:
        return "being published (a worker claimed it): it stays at its time"
    if row.state == states.HELD:
        return "held by an emergency stop" if row.paused else "held for a person"
    if row.state == states.SCHEDULED:
        return "waiting for approval"
    if row.due_at <= now:
        return "due now"
    if not is_slot(weekly, tz, row.due_at):
        return "at a time of its own, not a posting slot"
    if not _may_move(row, actor):
        return f"{NOT_YOURS} (needs the {_move_capability(row).value} capability in its campaign)"
    return None


def _entries(
    rows: Sequence[QueueRow], weekly: WeeklySlots, tz: ZoneInfo, now: datetime, actor: Actor
) -> list[QueueEntry]:
    """The rows ``actor`` may see, as entries, the movable ones numbered in time order."""
    out: list[QueueEntry] = []
    position = 0
    for r in rows:
        if not actor.can(Capability.VIEW, r.campaign_id):
            continue
        note = _why_kept(r, weekly, tz, now, actor)
        if note is None:
            position += 1
        out.append(
            QueueEntry(
                position=position if note is None else None,
                post_id=r.post_id,
                delivery_id=r.delivery_id,
                campaign=r.campaign,
                local=local_of(r.due_at, tz).isoformat(timespec="minutes"),
                at=iso(r.due_at) or "",
                state=r.state,
                note=note,
                text=r.text[:QUEUE_TEXT_CHARS],
            )
        )
    return out


def _may_draft_somewhere(actor: Actor) -> bool:
    return actor.system or any(actor.can(Capability.DRAFT, c) for c in actor.roles)
