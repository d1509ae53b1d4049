"""Emergency stop and resume: of one campaign, or of the whole installation (``store.pauses``
holds the rules). A stop is one transaction; when it returns nothing in its reach is claimed
again until a person resumes, and it waits (a bounded time) for the tries that were already
under way so that, when it returns, nothing in its reach is still going out.
Resuming is a choice: held posts keep their time and go out late (``keep``), or each moves to
its channel's next free slot from now, in the order of their original times (``next-slot``,
inside its campaign's range and outside its blackout windows)."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import InputError, NotFound
from herald.core.i18n import N_, _
from herald.service.actions import Actions
from herald.service.answers import Resumed, Stoppable, Stopped, StopTarget
from herald.service.campaigns import bounds_of
from herald.service.schedules import place, slot_channels
from herald.store import audit
from herald.store.blackouts import blackouts_of
from herald.store.campaigns import campaign_ids_by_name, campaigns_listed
from herald.store.channels import channels_listed
from herald.store.models import Campaign, utcnow
from herald.store.pauses import STOP_REASON, in_flight, pause, published_since, resume
from herald.store.rescheduling import move, queued_by_id
from scheduler.bounds import Bounds

log = logging.getLogger(__name__)

#: How long a stop waits, at most, for the tries already under way when it committed.
STOP_WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.05
#: What a resume does with the held posts' times.
RESCHEDULE: Final = ("keep", "next-slot")


class Stops(Actions):
    def stop(
        self,
        *,
        campaign: str | None = None,
        takedown_since: timedelta | None = None,
        wait_seconds: float = STOP_WAIT_SECONDS,
        actor: Actor = SYSTEM,
    ) -> Stopped:
        """Stop ``campaign`` (None: everything): its queued deliveries are held, new posts into
        it too, until ``resume``. Then, if asked, take down what it published in the last
        ``takedown_since``. Raises NotFound for an unknown campaign, AccessDenied unless the
        actor may act there (everything: installation-wide)."""
        started = time.monotonic()
        with self.db.session() as s:
            campaign_id = self._campaign_id(s, campaign)
            self._require(actor, Capability.ACT, campaign_id, N_("an emergency stop"))
            paused = pause(s, campaign_id=campaign_id, reason=f"{STOP_REASON} by {actor.email}")
            audit.record(
                s,
                actor=actor.email,
                action="stop",
                target_type="campaign" if campaign else "installation",
                target_id=campaign or "everything",
                campaign_id=campaign_id,
                detail={"held": len(paused.held), "in_flight": len(paused.in_flight)},
            )
        returned_from_sql = time.monotonic() - started
        settled = self._wait_for(paused.in_flight, wait_seconds)
        log.warning(
            "emergency stop of %s by %s: %d held, %d were under way",
            campaign or "everything",
            actor.email,
            len(paused.held),
            len(paused.in_flight),
        )
        taken_down: list[str] = []
        if takedown_since is not None:
            with self.db.read() as s:
                posts = published_since(s, campaign_id=campaign_id, since=utcnow() - takedown_since)
            for post_id in posts:
                self.takedown(post_id, actor=actor)
                taken_down.append(post_id)
        return Stopped(
            scope=campaign or "everything",
            held=len(paused.held),
            in_flight=len(paused.in_flight),
            settled=settled,
            stop_seconds=round(returned_from_sql, 4),
            taken_down=tuple(taken_down),
        )

    def resume(
        self,
        *,
        campaign: str | None = None,
        reschedule: str = "keep",
        now: datetime | None = None,
        actor: Actor = SYSTEM,
    ) -> Resumed:
        """Undo a stop: what it held goes back on the queue. ``reschedule`` "keep": due no
        earlier than now (posts keep their time and go out late); "next-slot": each moves to
        its channel's next free slot from now, in the order of their original times, within
        its campaign's range and outside its blackout windows. Raises InputError for another
        choice, or (nothing resumed) for a channel without slots or no slot before a campaign's
        end; NotFound, AccessDenied as ``stop`` does."""
        if reschedule not in RESCHEDULE:
            raise InputError(
                "reschedule",
                _("a resume keeps the posts' times or moves them: keep or next-slot, not %(given)r")
                % {"given": reschedule},
            )
        now = now or utcnow()
        with self.db.session() as s:
            campaign_id = self._campaign_id(s, campaign)
            self._require(actor, Capability.ACT, campaign_id, N_("resuming after a stop"))
            ids = resume(s, campaign_id=campaign_id, now=now)
            moved = to_next_slots(s, ids, now) if reschedule == "next-slot" else 0
            audit.record(
                s,
                actor=actor.email,
                action="resume",
                target_type="campaign" if campaign else "installation",
                target_id=campaign or "everything",
                campaign_id=campaign_id,
                detail={"released": len(ids), "reschedule": reschedule, "moved": moved},
            )
        self._stage(ids)
        return Resumed(scope=campaign or "everything", released=len(ids), reschedule=reschedule, moved=moved)

    def stoppable(self, *, actor: Actor = SYSTEM) -> Stoppable:
        """What ``actor`` may stop and resume: everything (an installation-wide role that may
        act), and the campaigns where they may act, each with whether it is stopped now."""
        everything = actor.can(Capability.ACT, None)
        with self.db.read() as s:
            campaigns = tuple(
                StopTarget(c.name, c.paused_at is not None)
                for c in campaigns_listed(s)
                if actor.can(Capability.ACT, c.id)
            )
            stopped = everything and any(ch.pause_reason == STOP_REASON for ch in channels_listed(s))
        return Stoppable(everything=everything, everything_stopped=stopped, campaigns=campaigns)

    def _campaign_id(self, s: Session, campaign: str | None) -> int | None:
        if campaign is None:
            return None
        found = campaign_ids_by_name(s).get(campaign)
        if found is None:
            raise NotFound("campaign", _("unknown campaign %(name)r") % {"name": campaign})
        return found

    def _wait_for(self, ids: list[int], seconds: float) -> bool:
        """Wait until none of ``ids`` is still being published; False if ``seconds`` ran out."""
        deadline = time.monotonic() + seconds
        while ids:
            with self.db.read() as s:
                ids = in_flight(s, ids)
            if not ids:
                break
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_SECONDS)
        return True


def to_next_slots(s: Session, ids: list[int], now: datetime) -> int:
    """Move the resumed deliveries ``ids`` each to its channel's next free slot from ``now``, in
    the order of their original times (an earlier post takes an earlier slot), inside its
    campaign's bounds. Returns how many moved."""
    rows = queued_by_id(s, ids)
    if not rows:
        return 0
    planned = slot_channels(s, sorted({r.channel for r in rows}), now)
    bounds: dict[int, Bounds] = {}
    for cid in sorted({r.campaign_id for r in rows if r.campaign_id is not None}):
        c = s.get(Campaign, cid)
        assert c is not None  # a post's campaign is never deleted
        bounds[cid] = bounds_of(c, blackouts_of(s, cid))
    moves = {
        r.id: place(
            planned, [r.channel], now, bounds.get(r.campaign_id) if r.campaign_id is not None else None
        )
        for r in rows
    }
    move(s, moves, now=now)
    return sum(1 for r in rows if moves[r.id] != r.due_at)
