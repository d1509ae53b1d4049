"""Editing a post's text once it is queued: one post, or an occurrence of a recurring post and
every later one ("this and following").

An edit goes through the same checks as queueing (each platform's counter, the campaign's
hashtags and links, a thread split again for each channel), then, in one transaction per post:
the deliveries that have not started are checked to be still so (compare-and-set: a worker that
claimed one meanwhile wins, and the edit of that post changes nothing), the post's text, its
channels' own texts and languages and its threads' parts are replaced, and its ``version`` is bumped, so a
payload staged for the old text is never sent (a worker rebuilds a stale one from SQL). The
deliveries are staged again with the new text. Photos, times and channels stay as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import Conflict, InputError, NotFound
from herald.core.i18n import N_, _
from herald.delivery.staging import stage_deliveries
from herald.service.answers import Answer
from herald.service.queueing import Queueing
from herald.service.requests import PhotoInput, PostRequest
from herald.store import audit, states
from herald.store.edits import posts_to_edit, write_edit
from herald.store.models import utcnow
from herald.store.parts import NewPart
from herald.store.series import this_and_following

log = logging.getLogger(__name__)

#: Deliveries whose text may still change: nothing of them has been tried.
EDITABLE = (states.SCHEDULED, states.QUEUED, states.HELD)


@dataclass(frozen=True)
class Edited(Answer):
    """What an edit did: the posts changed (in order), their deliveries that take the new text,
    and those that kept the old one because they had started or finished."""

    posts: tuple[str, ...]
    deliveries: tuple[int, ...]
    too_late: tuple[int, ...]


class Edits(Queueing):
    def edit_post(
        self,
        post_id: str,
        *,
        text: str | None = None,
        text_for: Mapping[str, str] | None = None,
        language_for: Mapping[str, str] | None = None,
        following: bool = False,
        actor: Actor = SYSTEM,
    ) -> Edited:
        """Give ``post_id`` (and, with ``following``, every later occurrence of its series) a new
        text: ``text`` for every channel, ``text_for`` for the named ones (a channel's own text
        from before is kept only if neither is given); ``language_for`` gives the named channels
        their own language ("": the post's again; the others keep theirs). Raises InputError
        naming the problem (nothing changes), NotFound, AccessDenied unless ``actor`` may queue
        posts in the campaign (and approve, in a campaign that requires approval), Conflict when
        nothing of the post can change any more."""
        text_for = dict(text_for or {})
        language_for = dict(language_for or {})
        if text is None and not text_for and not language_for:
            raise InputError("text", _("give the new text (--text) or a channel's (--text-for NAME=TEXT)"))
        with self.db.read() as s:
            if following:
                series = this_and_following(s, post_id)
                if series == []:
                    raise NotFound("post", _("unknown post %(post)r") % {"post": post_id})
                if series is None:
                    raise InputError(
                        "following",
                        _("post %(post)s is not part of a recurring series; edit it on its own")
                        % {"post": post_id},
                    )
                ids = [p.post_id for p in series]
            else:
                ids = [post_id]
            posts = posts_to_edit(s, ids)
            s.expunge_all()
        if not posts:
            raise NotFound("post", _("unknown post %(post)r") % {"post": post_id})
        posts.sort(key=lambda p: ids.index(p.id))
        for campaign in {p.campaign.id: p.campaign for p in posts if p.campaign}.values() or [None]:
            where = campaign.id if campaign else None
            self._require(actor, Capability.DRAFT, where, N_("editing a post"))
            if campaign is not None and campaign.requires_approval:
                self._require(
                    actor,
                    Capability.APPROVE,
                    where,
                    N_("editing a post of a campaign that requires approval"),
                )
        now = utcnow()
        plans = []
        late: list[int] = []
        for p in posts:
            open_ = [d for d in p.deliveries if d.state in EDITABLE]
            late += [d.id for d in p.deliveries if d.state not in EDITABLE and d.state != states.CANCELLED]
            if not open_:
                continue
            names = [d.channel.name for d in open_]
            stray = sorted((set(text_for) | set(language_for)) - {d.channel.name for d in p.deliveries})
            if stray:
                raise InputError(
                    "text-for",
                    _("post %(post)s does not go to channel(s): %(names)s")
                    % {"post": p.id, "names": ", ".join(stray)},
                )
            own = {v.channel_id: v.text for v in p.variants}
            own_language = {v.channel_id: v.language for v in p.variants if v.language}
            languages = {
                d.channel.name: language_for[d.channel.name]
                if d.channel.name in language_for
                else own_language.get(d.channel_id, "")
                for d in open_
            }
            texts = {
                d.channel.name: text_for.get(d.channel.name)
                or (text if text is not None else own.get(d.channel_id, p.text))
                for d in open_
            }
            base = text if text is not None else p.text
            req = PostRequest(
                channels=names,
                text=base,
                text_for={n: t for n, t in texts.items() if t != base},
                languages={n: lang for n, lang in languages.items() if lang},
                photos=[
                    PhotoInput(ph.blob.data, f"photo{ph.position}.jpg", ph.alt_text, ph.credit)
                    for ph in p.photos
                ],
                at=max(p.scheduled_at, now).replace(tzinfo=UTC),
                campaign=p.campaign.name if p.campaign else None,
                language=p.language,
                thread=p.thread,
                first_comment=p.first_comment,
            )
            ctx = self._queue_context([req])
            try:
                draft = self._prepare(req, ctx, now)
            except InputError as e:
                if len(posts) == 1:
                    raise
                raise InputError(
                    e.field,
                    _("post %(post)s (occurrence %(n)s): %(why)s")
                    % {"post": p.id, "n": p.occurrence, "why": e},
                ) from None
            plans.append((p, open_, draft))
        if not plans:
            raise Conflict(
                "post", _("every delivery of this post has started or is done: nothing can change any more")
            )
        edited: list[int] = []
        for p, open_, draft in plans:
            chan = {d.channel.name: d for d in open_}
            with self.db.session() as s:
                ours = write_edit(
                    s,
                    p.id,
                    [d.id for d in open_],
                    editable=EDITABLE,
                    text=draft.req.text,
                    own_texts={chan[name].channel_id: t for name, t in draft.req.text_for.items()},
                    own_languages={chan[name].channel_id: lang for name, lang in draft.req.languages.items()},
                    parts=[
                        NewPart(chan[name].id, position, part)
                        for name, parts in draft.parts_for.items()
                        for position, part in enumerate(parts, 1)
                    ],
                    now=now,
                )
                if not ours:
                    s.rollback()
                    late += [d.id for d in open_]
                    log.info("post %s: a worker took a delivery meanwhile; left as it was", p.id)
                    continue
                audit.record(
                    s,
                    actor=actor.email,
                    action="post.edit",
                    target_type="post",
                    target_id=p.id,
                    campaign_id=p.campaign_id,
                    detail={"channels": list(chan), "following": post_id if following else None},
                )
            edited += [d.id for d in open_]
        queued = [d.id for p, open_, _ in plans for d in open_ if d.state == states.QUEUED and d.id in edited]
        if queued:
            stage_deliveries(self.db, self.queue, queued)
        log.info("post %s edited (%d deliveries)", post_id, len(edited), extra={"post_id": post_id})
        return Edited(tuple(p.id for p, _, _ in plans), tuple(edited), tuple(late))
