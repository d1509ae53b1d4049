"""A person's actions on a queued or published post: cancel it, take it down, send held or
failed deliveries again, or record an uncertain one as published."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import Conflict, InputError, NotFound
from herald.core.i18n import N_, _, pgettext
from herald.platforms import connector_class
from herald.service.answers import Cancelled, TakedownResult
from herald.service.base import ServiceBase
from herald.store import audit, states
from herald.store.channels import channel_id_by_name
from herald.store.decisions import cancel_post, confirm_published_by_person, requeue_by_person
from herald.store.pauses import pause_of
from herald.store.photos import has_purged_photos
from herald.store.takedowns import request_takedown, takedown_targets

log = logging.getLogger(__name__)

#: What ``requeue`` may do, and the states it takes deliveries from.
REQUEUE_FROM = {"release": (states.HELD,), "retry": (states.FAILED, states.UNCERTAIN)}


class Actions(ServiceBase):
    def cancel_post(self, post_id: str, *, actor: Actor = SYSTEM) -> Cancelled:
        """Cancel what has not gone out yet. Deliveries already publishing or done are reported,
        not touched: "too late" is an answer, not an error. Raises InputError for an unknown
        post, AccessDenied unless a manager of its campaign."""
        with self.db.session() as s:
            campaign_id = self._campaign_of(s, post_id)
            self._require(actor, Capability.ACT, campaign_id, N_("cancelling a post"))
            cancelled, late = cancel_post(s, post_id)
            audit.record(
                s,
                actor=actor.email,
                action="post.cancel",
                target_type="post",
                target_id=post_id,
                campaign_id=campaign_id,
                detail={"cancelled": len(cancelled), "too_late": len(late)},
            )
        for i in cancelled:
            self.queue.release(i)
        return Cancelled(cancelled=tuple(cancelled), too_late=tuple(late))

    def takedown(self, post_id: str, *, channel: str | None = None, actor: Actor = SYSTEM) -> TakedownResult:
        """Pull a post from every channel (or one), fast: published copies are deleted by the
        workers (through the queue, like publishing), pending ones are cancelled, ones being
        published now are deleted right after. Returns channel names by outcome, including
        channels whose platform cannot delete through its API. Raises InputError for an unknown
        post, or a channel the post was not queued for."""
        with self.db.session() as s:
            campaign_id = self._campaign_of(s, post_id)
            self._require(actor, Capability.ACT, campaign_id, N_("taking a post down"))
            targets = takedown_targets(s, post_id)
            if channel is not None:
                targets = [t for t in targets if t.channel == channel]
                if not targets:
                    raise NotFound(
                        "channel",
                        _("post %(post)s was not queued for channel %(channel)r")
                        % {"post": post_id, "channel": channel},
                    )
            able = [
                t for t in targets if connector_class(t.platform).can_delete or t.state != states.PUBLISHED
            ]
            cannot = [t.channel for t in targets if t not in able]
            done = request_takedown(s, post_id, [t.channel_id for t in able])
            audit.record(
                s,
                actor=actor.email,
                action="post.takedown",
                target_type="post",
                target_id=post_id,
                campaign_id=campaign_id,
                detail={"channel": channel or "(all)"},
            )
        names = {t.delivery_id: t.channel for t in targets}
        self._stage(list(done.deleting))
        for i in done.cancelled:
            self.queue.release(i)
        out = TakedownResult(
            deleting=tuple(names[i] for i in done.deleting),
            cancelled=tuple(names[i] for i in done.cancelled),
            after_publish=tuple(names[i] for i in done.after_publish),
            cannot_delete=tuple(cannot),
        )
        log.warning("takedown of post %s requested: %s", post_id, out.to_dict(), extra={"post_id": post_id})
        return out

    def requeue(
        self, post_id: str, *, channel: str | None = None, what: str = "release", actor: Actor = SYSTEM
    ) -> list[int]:
        """A person's decision to send now: ``release`` held deliveries (a missed window, a
        paused channel that is fixed), or ``retry`` failed and uncertain ones (after checking
        the platform that an uncertain one is not there). Returns the delivery ids queued.
        Raises InputError for an unknown action, post or channel, a post whose photos were
        purged, or one with nothing in those states."""
        from_states = REQUEUE_FROM.get(what)
        if from_states is None:
            raise InputError("action", _("unknown action %(action)r") % {"action": what})
        with self.db.session() as s:
            campaign_id = self._campaign_of(s, post_id)
            self._require(
                actor,
                Capability.ACT,
                campaign_id,
                N_("retrying a delivery") if what == "retry" else N_("releasing a delivery"),
            )
            channel_id = _channel_id(s, channel) if channel else None
            if has_purged_photos(s, post_id):
                raise Conflict(
                    "post",
                    _("the photos of post %(post)s were purged under the retention policy; queue it again")
                    % {"post": post_id},
                )
            ids = requeue_by_person(s, post_id, from_states, channel_id=channel_id)
            paused = None if ids else pause_of(s, post_id)
            if ids:
                audit.record(
                    s,
                    actor=actor.email,
                    action=f"post.{what}",
                    target_type="post",
                    target_id=post_id,
                    campaign_id=campaign_id,
                    detail={"channel": channel or "(all)", "deliveries": len(ids)},
                )
        if paused is not None:
            raise Conflict(
                "post",
                _("post %(post)s is held by a pause: %(pause)s; resume it first")
                % {"post": post_id, "pause": paused},
            )
        if not ids:
            raise Conflict(
                "post",
                (
                    _("post %(post)s has no %(states)s deliveries on %(channel)s")
                    if channel
                    else _("post %(post)s has no %(states)s deliveries")
                )
                % {
                    "post": post_id,
                    "states": f" {_('or')} ".join(pgettext("status", st) for st in from_states),
                    "channel": channel,
                },
            )
        self._stage(ids)
        return ids

    def confirm_published(
        self, post_id: str, channel: str, *, url: str | None = None, actor: Actor = SYSTEM
    ) -> None:
        """A person checked: the uncertain post is on the platform. Record it as published.
        Raises InputError for a URL that is not http(s), an unknown channel, or no uncertain
        delivery of the post there."""
        if url is not None and not url.startswith(("https://", "http://")):
            raise InputError("url", _("the post's URL must start with https:// or http://"))
        with self.db.session() as s:
            campaign_id = self._campaign_of(s, post_id)
            self._require(actor, Capability.ACT, campaign_id, N_("marking a post as sent"))
            if not confirm_published_by_person(s, post_id, _channel_id(s, channel), remote_url=url):
                raise Conflict(
                    "post",
                    _("post %(post)s has no uncertain delivery on %(channel)s")
                    % {"post": post_id, "channel": channel},
                )
            audit.record(
                s,
                actor=actor.email,
                action="post.mark-sent",
                target_type="post",
                target_id=post_id,
                campaign_id=campaign_id,
                detail={"channel": channel, "url": url},
            )


def _channel_id(s: Session, name: str) -> int:
    cid = channel_id_by_name(s, name)
    if cid is None:
        raise NotFound("channel", _("unknown channel %(name)r") % {"name": name})
    return cid
