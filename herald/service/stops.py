"""Emergency stop and resume: of one campaign, or of the whole installation (``store.pauses``
holds the rules). A stop is one transaction; when it returns nothing in its reach is claimed
again until a person resumes, and it waits (a bounded time) for the tries that were already
under way so that, when it returns, nothing in its reach is still going out."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy.orm import Session

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import NotFound
from herald.service.actions import Actions
from herald.service.answers import Resumed, Stopped
from herald.store import audit
from herald.store.campaigns import campaign_ids_by_name
from herald.store.models import utcnow
from herald.store.pauses import STOP_REASON, in_flight, pause, published_since, resume

log = logging.getLogger(__name__)

#: How long a stop waits, at most, for the tries already under way when it committed.
STOP_WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.05


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
            self._require(actor, Capability.ACT, campaign_id, "an emergency stop")
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

    def resume(self, *, campaign: str | None = None, actor: Actor = SYSTEM) -> Resumed:
        """Undo a stop: what it held goes back on the queue, due no earlier than now (posts keep
        their time and go out late). Raises NotFound, AccessDenied as ``stop`` does."""
        with self.db.session() as s:
            campaign_id = self._campaign_id(s, campaign)
            self._require(actor, Capability.ACT, campaign_id, "resuming after a stop")
            ids = resume(s, campaign_id=campaign_id)
            audit.record(
                s,
                actor=actor.email,
                action="resume",
                target_type="campaign" if campaign else "installation",
                target_id=campaign or "everything",
                campaign_id=campaign_id,
                detail={"released": len(ids)},
            )
        self._stage(ids)
        return Resumed(scope=campaign or "everything", released=len(ids))

    def _campaign_id(self, s: Session, campaign: str | None) -> int | None:
        if campaign is None:
            return None
        found = campaign_ids_by_name(s).get(campaign)
        if found is None:
            raise NotFound("campaign", f"unknown campaign {campaign!r}")
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
