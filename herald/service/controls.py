"""A person's controls over one post's timing and reach: publish it now, or duplicate it to
other channels (a new post through the normal queueing path, so every check applies)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import Conflict, NotFound
from herald.core.i18n import N_, _, pgettext
from herald.service.answers import PublishedNow, iso
from herald.service.campaigns import bounds_of
from herald.service.queueing import Queueing
from herald.service.requests import PhotoInput, PostRequest
from herald.service.stops import Stops
from herald.store import audit, states
from herald.store.blackouts import blackouts_of
from herald.store.models import Campaign, Post, utcnow
from herald.store.pauses import pause_of
from herald.store.rescheduling import due_now, post_standing
from scheduler.blackouts import blocked, from_epoch
from scheduler.localdates import shown_local


class Controls(Queueing, Stops):
    def publish_now(
        self, post_id: str, *, now: datetime | None = None, actor: Actor = SYSTEM
    ) -> PublishedNow:
        """Make a post's queued deliveries (due now or later) due now, and stage them again.
        Refused (Conflict, naming the post's state) for a post waiting for approval or with
        nothing queued (published, cancelled, held: ``release`` is for held ones), and while
        its campaign is outside its date range or inside a blackout window. Raises NotFound
        for an unknown post, AccessDenied unless the actor may act in its campaign (the right
        to release and retry)."""
        now = now or utcnow()
        with self.db.session() as s:
            campaign_id = self._campaign_of(s, post_id)
            self._require(actor, Capability.ACT, campaign_id, N_("publishing a post now"))
            approval, standing = post_standing(s, post_id)
            if approval != "approved":
                raise Conflict(
                    "post",
                    _("post %(post)s is %(approval)s, not approved: it cannot be published now")
                    % {"post": post_id, "approval": pgettext("status", approval)},
                )
            queued = [n for n, st in standing.items() if st == states.QUEUED]
            if not queued:
                shown = ", ".join(f"{n} {pgettext('status', st)}" for n, st in standing.items()) or _(
                    "no deliveries"
                )
                paused = pause_of(s, post_id)
                hint = (
                    _("; %(pause)s: resume it first") % {"pause": paused}
                    if paused
                    else _("; held ones go with `herald post release`")
                    if states.HELD in standing.values()
                    else ""
                )
                raise Conflict(
                    "post",
                    _("post %(post)s has nothing queued to publish now (%(shown)s)%(hint)s")
                    % {"post": post_id, "shown": shown, "hint": hint},
                )
            if campaign_id is not None:
                c = s.get(Campaign, campaign_id)
                assert c is not None  # a post's campaign is never deleted
                bounds = bounds_of(c, blackouts_of(s, c.id))
                why = bounds.refusal(now)
                if why:
                    raise Conflict(
                        "post",
                        _("%(why)s: post %(post)s cannot be published now") % {"why": why, "post": post_id},
                    )
                b = blocked(bounds.windows, now)
                if b is not None:
                    name = (
                        _("blackout %(label)r") % {"label": b.span.label}
                        if b.span.label
                        else _("a blackout window")
                    )
                    raise Conflict(
                        "post",
                        _(
                            "campaign %(campaign)s is in %(window)s until %(until)s (%(zone)s): post %(post)s"
                            " cannot be published now"
                        )
                        % {
                            "campaign": c.name,
                            "window": name,
                            "until": shown_local(from_epoch(b.until), bounds.tz),
                            "zone": bounds.tz.key,
                            "post": post_id,
                        },
                    )
            ids = due_now(s, post_id, now=now)
            audit.record(
                s,
                actor=actor.email,
                action="post.publish-now",
                target_type="post",
                target_id=post_id,
                campaign_id=campaign_id,
                detail={"channels": queued, "at": now.isoformat()},
            )
        self._stage(ids)
        return PublishedNow(post_id=post_id, channels=tuple(queued), due_at=iso(now))

    def duplicate_post(
        self,
        post_id: str,
        channels: Sequence[str],
        *,
        at: datetime | None = None,
        local_at: datetime | None = None,
        tz: str | None = None,
        next_slot: bool = False,
        now: datetime | None = None,
        actor: Actor = SYSTEM,
    ) -> str:
        """A new post with ``post_id``'s text, photos (with their alt text and credits),
        language and campaign, for ``channels``, at the time given (None: now), queued like
        any post (every check applies; the actor needs the right to draft in the campaign;
        each platform gets its own renditions, the campaign's hashtags and UTM). Returns the
        new post's id. Raises NotFound for an unknown post, Conflict when its photos were
        purged, and whatever queueing raises."""
        with self.db.read() as s:
            campaign_id = self._campaign_of(s, post_id)
            self._require(actor, Capability.VIEW, campaign_id, N_("duplicating a post"))
            post = s.get(Post, post_id)
            if post is None:  # gone between the two reads
                raise NotFound("post", _("unknown post %(post)r") % {"post": post_id})
            if any(p.blob.purged_at is not None for p in post.photos):
                raise Conflict(
                    "post",
                    _(
                        "the photos of post %(post)s were purged under the retention policy; it cannot be"
                        " duplicated"
                    )
                    % {"post": post_id},
                )
            photos = [
                PhotoInput(p.blob.data, p.original_name, alt_text=p.alt_text, credit=p.credit)
                for p in post.photos
            ]
            req = PostRequest(
                channels=list(channels),
                text=post.text,
                photos=photos,
                at=at,
                local_at=local_at,
                tz=tz,
                next_slot=next_slot,
                campaign=post.campaign.name if post.campaign else None,
                language=post.language,
            )
        return self.add_post(req, now=now, actor=actor)
