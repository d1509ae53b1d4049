"""Approval: in a campaign that requires it, staff's posts wait (their deliveries ``scheduled``,
never in the content queue) until a manager approves them, or sends them back with a note;
sent back, they can be resubmitted. Every decision is in the audit log and shown in the log."""

from __future__ import annotations

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import Conflict, InputError
from herald.core.i18n import N_, _
from herald.service.base import ServiceBase
from herald.store import audit
from herald.store.decisions import approve_post, resubmit_post, return_post

#: Longest note a manager may send back with a post.
MAX_NOTE_CHARS = 2000


class Approvals(ServiceBase):
    def approve_post(self, post_id: str, *, actor: Actor = SYSTEM) -> list[int]:
        """Approve a pending post: its deliveries are queued (due now if their time passed
        while it waited). Returns their ids. Raises InputError for an unknown post or one not
        pending, AccessDenied unless a manager of its campaign."""
        with self.db.session() as s:
            campaign_id = self._campaign_of(s, post_id)
            self._require(actor, Capability.APPROVE, campaign_id, N_("approving a post"))
            ids = approve_post(s, post_id, by=actor.email)
            if ids is None:
                raise Conflict("post", _("post %(post)s is not waiting for approval") % {"post": post_id})
            audit.record(
                s,
                actor=actor.email,
                action="post.approve",
                target_type="post",
                target_id=post_id,
                campaign_id=campaign_id,
                detail={"deliveries": len(ids)},
            )
        self._stage(ids)
        return ids

    def return_post(self, post_id: str, note: str, *, actor: Actor = SYSTEM) -> None:
        """Send a pending post back to its author with a note (required)."""
        note = note.strip()
        if not note:
            raise InputError("note", _("say why the post is sent back"))
        if len(note) > MAX_NOTE_CHARS:
            raise InputError("note", _("a note has at most %(max)d characters") % {"max": MAX_NOTE_CHARS})
        with self.db.session() as s:
            campaign_id = self._campaign_of(s, post_id)
            self._require(actor, Capability.APPROVE, campaign_id, N_("sending a post back"))
            if not return_post(s, post_id, note=note):
                raise Conflict("post", _("post %(post)s is not waiting for approval") % {"post": post_id})
            audit.record(
                s,
                actor=actor.email,
                action="post.return",
                target_type="post",
                target_id=post_id,
                campaign_id=campaign_id,
                detail={"note": note},
            )

    def resubmit_post(self, post_id: str, *, actor: Actor = SYSTEM) -> None:
        """Submit a post that was sent back for approval again."""
        with self.db.session() as s:
            campaign_id = self._campaign_of(s, post_id)
            self._require(actor, Capability.DRAFT, campaign_id, N_("resubmitting a post"))
            if not resubmit_post(s, post_id):
                raise Conflict("post", _("post %(post)s was not sent back") % {"post": post_id})
            audit.record(
                s,
                actor=actor.email,
                action="post.resubmit",
                target_type="post",
                target_id=post_id,
                campaign_id=campaign_id,
            )
