"""Schedules: a channel's posting slots, time zone and minimum gap; and the next free slot
common to a post's channels (the rules are ``scheduler.slots`` and ``scheduler.localtime``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import InputError, NotFound
from herald.service.answers import ScheduleInfo, UpcomingSlot
from herald.service.base import ServiceBase
from herald.store import audit
from herald.store.channels import channel_by_name, channels_named, set_schedule, taken_times
from herald.store.models import Channel, utcnow
from scheduler.localtime import local_of, zone
from scheduler.slots import ChannelSlots, WeeklySlots, next_free_slot, slot_times

#: How many upcoming slots ``schedule`` lists by default.
UPCOMING = 10
SKIPPED = "skipped: this local time does not exist that day (the clocks spring forward over it)"


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
        self._require(actor, Capability.ADMINISTER, None, "changing a channel's schedule")
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
        self._require(actor, Capability.VIEW, None, "seeing a channel's schedule")
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
            chans = channels_named(s, names)
            # A post a little before ``since`` still keeps the first slots within its gap.
            gap = max((c.min_gap_seconds for c in chans.values()), default=0)
            taken = taken_times(s, [c.id for c in chans.values()], since - timedelta(seconds=gap))
            return {n: channel_slots(c, taken[c.id]) for n, c in chans.items()}

    def _place(self, planned: dict[str, ChannelSlots], names: Sequence[str], after: datetime) -> datetime:
        """The next free slot common to ``names`` at or after ``after``, marked taken in
        ``planned`` (so the posts of one batch take different slots)."""
        due = next_free_slot([planned[n] for n in names], after)
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
