"""Queueing posts, one or a bulk import: every post checked before anything is written, then
written in chunks (posts, per-channel texts, photos and deliveries) and staged in Redis."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from content_queue import Payload
from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import HeraldError, InputError
from herald.core.i18n import N_
from herald.delivery.staging import make_payload
from herald.media import CleanPhoto, Rendition
from herald.platforms import connector_class
from herald.service.answers import ChannelPlan, PostPlan, iso
from herald.service.drafts import Context, Draft, Drafts
from herald.service.requests import PostRequest
from herald.service.series import each_occurrence, with_repeats
from herald.store import audit
from herald.store.audit import fit
from herald.store.campaigns import campaign_names, campaigns_named
from herald.store.channels import channel_names, channels_named
from herald.store.models import CREATED_BY_CHARS, DEFAULT_LATE_TOLERANCE_SECONDS, PostPhoto, new_uuid, utcnow
from herald.store.parts import NewPart, add_parts
from herald.store.pauses import hold_new_if_paused
from herald.store.photos import NewPostPhoto, add_post_photos, add_rendition, has_rendition, store_blob
from herald.store.posts import NewDelivery, NewPost, NewVariant, add_posts
from herald.store.queue_order import set_own_times
from herald.store.rescheduling import hold
from scheduler.localtime import local_of, zone

log = logging.getLogger(__name__)

#: Posts written per transaction by ``add_posts`` (each followed by one staging round trip).
BULK_CHUNK = 1000
#: How often a bulk import tells its ``progress`` how many posts it has checked.
PROGRESS_EVERY = 100

#: Told how far a bulk import has got: (step, done, total).
Progress = Callable[[str, int, int], None]
#: Refused posts named one by one in a bulk error's message (all of them are in its details).
MAX_REFUSALS_SHOWN = 20


@dataclass(frozen=True)
class _WrittenPost:
    """The facts of a post just inserted that its payloads carry."""

    id: str
    version: int
    scheduled_at: datetime


class Queueing(Drafts):
    def add_post(self, req: PostRequest, *, now: datetime | None = None, actor: Actor = SYSTEM) -> str:
        """Validate and queue a post (or submit it for approval, in a campaign that requires it
        when ``actor`` may not approve); returns its id. Raises InputError naming every problem,
        AccessDenied when ``actor`` may not draft in its campaign."""
        return self.add_posts([req], now=now, actor=actor)[0]

    def plan_post(self, req: PostRequest, *, now: datetime | None = None, actor: Actor = SYSTEM) -> PostPlan:
        """What ``add_post`` would queue, after every check it makes (the actor's role in the
        campaign, the time, slots, date range and blackout windows, the campaign's alt text
        rule, photos, each channel's parts), writing nothing: what the composer shows before a
        person confirms, so that a post the preview accepts is not refused on confirm. Raises
        what ``add_post`` raises."""
        now = now or utcnow()
        ctx = self._queue_context([req])
        [approval] = self._approvals([req], ctx, actor)
        draft = with_repeats(self._prepare(req, ctx, now), ctx, now)
        if draft.faces_to_review and not self._may_approve(draft, ctx, actor):
            approval = "pending"
        return _plan(draft, ctx, approval)

    def add_posts(
        self,
        reqs: Sequence[PostRequest],
        *,
        now: datetime | None = None,
        labels: Sequence[str] | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
        actor: Actor = SYSTEM,
    ) -> list[str]:
        """Validate and queue many posts (bulk import); returns their ids, in order.

        Every post is checked before anything is written: if any is refused, InputError names
        each refused post (by ``labels``, e.g. "line 7", else "post N") and nothing is queued;
        ``dry_run`` stops there and returns no ids. The writes then go in
        transactions of ``BULK_CHUNK`` posts, each followed by one pipelined staging round
        trip; should the database fail part-way, the error (a HeraldError) says how many posts
        were queued. ``progress``, if given, is told each step as it goes: ("checking", posts
        checked, posts) every ``PROGRESS_EVERY`` posts, then ("writing", posts written, posts)
        after each transaction.
        """
        if not reqs:
            return []
        if labels is not None and len(labels) != len(reqs):
            raise ValueError("one label per post")
        now = now or utcnow()
        ctx = self._queue_context(reqs)
        approvals = self._approvals(reqs, ctx, actor)
        drafts: list[Draft] = []
        refused: list[tuple[int, InputError]] = []
        for n, req in enumerate(reqs, 1):
            try:
                drafts.append(with_repeats(self._prepare(req, ctx, now), ctx, now))
            except InputError as e:
                if len(reqs) == 1 and labels is None:
                    raise
                refused.append((n, e))
            if progress is not None and (n % PROGRESS_EVERY == 0 or n == len(reqs)):
                progress("checking", n, len(reqs))
        if refused:
            raise _refusal(refused, len(reqs), labels)
        approvals = [
            "pending" if d.faces_to_review and not self._may_approve(d, ctx, actor) else approval
            for d, approval in zip(drafts, approvals, strict=True)
        ]
        drafts, approvals = each_occurrence(drafts, approvals)  # a recurring post: one per occurrence
        if dry_run:
            return []
        ids: list[str] = []
        for k in range(0, len(drafts), BULK_CHUNK):
            try:
                with self.db.session() as s:
                    chunk = drafts[k : k + BULK_CHUNK]
                    post_ids, staged = _write(
                        s,
                        chunk,
                        ctx,
                        now,
                        approvals[k : k + BULK_CHUNK],
                        None if actor.system else actor.email,
                    )
                    _audit(s, actor, chunk, post_ids, approvals[k : k + BULK_CHUNK], ctx)
            except SQLAlchemyError:
                if not ids:
                    raise
                log.exception("bulk queueing stopped after %d of %d posts", len(ids), len(drafts))
                raise HeraldError(
                    f"the database failed after {len(ids)} of {len(drafts)} posts were queued "
                    f"(posts 1-{len(ids)}, last id {ids[-1]}); posts {len(ids) + 1}-{len(drafts)} "
                    "were not queued"
                ) from None
            ids += post_ids
            self._stage_payloads(staged)
            if progress is not None:
                progress("writing", len(ids), len(drafts))
            for pid, d in zip(post_ids, drafts[k : k + BULK_CHUNK], strict=True):
                log.log(
                    logging.INFO if len(reqs) == 1 else logging.DEBUG,
                    "post %s queued for %s on %s",
                    pid,
                    d.due.isoformat(),
                    ", ".join(d.names),
                    extra={"post_id": pid},
                )
        if len(reqs) > 1:
            log.info("%d posts queued", len(ids))
        return ids

    def _approvals(self, reqs: Sequence[PostRequest], ctx: Context, actor: Actor) -> list[str]:
        """May ``actor`` draft each post in its campaign? Raises AccessDenied if not. Returns
        each post's approval: "pending" in a campaign that requires approval when ``actor`` may
        not approve there, else "approved"."""
        out = []
        checked: set[str | None] = set()
        for req in reqs:
            campaign = ctx.campaigns.get(req.campaign) if req.campaign else None
            if req.campaign not in checked and not (req.campaign and campaign is None):
                # (A campaign that does not exist is refused by name with the post's checks.)
                checked.add(req.campaign)
                where = campaign.id if campaign else None
                self._require(actor, Capability.DRAFT, where, N_("queueing a post"))
            pending = (
                campaign is not None
                and campaign.requires_approval
                and not actor.can(Capability.APPROVE, campaign.id)
            )
            out.append("pending" if pending else "approved")
        return out

    def _may_approve(self, draft: Draft, ctx: Context, actor: Actor) -> bool:
        """May ``actor`` approve in ``draft``'s campaign (and so pass its faces' review)?"""
        campaign = ctx.campaigns.get(draft.req.campaign) if draft.req.campaign else None
        return actor.can(Capability.APPROVE, campaign.id if campaign else None)

    def _queue_context(self, reqs: Sequence[PostRequest]) -> Context:
        """The channels and campaigns these posts name, read once (detached from the session)."""
        names = list(dict.fromkeys(n for r in reqs for n in r.channels))
        wanted = {r.campaign for r in reqs if r.campaign}
        with self.db.read() as s:
            chans = channels_named(s, names)
            campaigns = campaigns_named(s, wanted)
            known = channel_names(s) if len(chans) < len(names) else []
            known_campaigns = campaign_names(s) if len(campaigns) < len(wanted) else []
            s.expunge_all()
        return Context(chans=chans, known=known, campaigns=campaigns, known_campaigns=known_campaigns)


def _plan(d: Draft, ctx: Context, approval: str) -> PostPlan:
    """``d`` as the answer ``plan_post`` gives: times in UTC and in the zone the post's time is
    read in, each channel's parts as they go out."""
    campaign = ctx.campaigns.get(d.req.campaign) if d.req.campaign else None
    tz = zone(d.req.tz) if d.req.tz else zone(campaign.timezone if campaign else "UTC", "timezone")

    def local(at: datetime) -> str:
        return local_of(at, tz).isoformat(timespec="minutes")

    channels = []
    for n in d.names:
        at = d.due_for.get(n, d.due)
        parts = d.parts_for.get(n) or [d.req.text_for.get(n, d.req.text)]
        channels.append(ChannelPlan(n, ctx.chans[n].platform, iso(at) or "", local(at), tuple(parts)))
    return PostPlan(
        at=iso(d.due) or "",
        timezone=tz.key,
        local=local(d.due),
        channels=tuple(channels),
        each_channel=bool(d.due_for),
        approval=approval,
        held=d.held,
        occurrences=tuple(iso(at) or "" for at, _ in d.repeats),
    )


def _refusal(refused: list[tuple[int, InputError]], total: int, labels: Sequence[str] | None) -> InputError:
    """One error for a batch with refused posts: each named, every problem in its details."""

    def name(n: int) -> str:
        return labels[n - 1] if labels else f"post {n}"

    shown = "; ".join(f"{name(n)}: {e}" for n, e in refused[:MAX_REFUSALS_SHOWN])
    more = len(refused) - MAX_REFUSALS_SHOWN
    return InputError(
        "posts",
        f"{len(refused)} of {total} posts refused, nothing queued: {shown}"
        + (f"; and {more} more" if more > 0 else ""),
        details=[
            {"post": n, "label": name(n), "field": e.field, "message": e.message, "problems": e.details}
            for n, e in refused
        ],
    )


def _write(
    s: Session,
    drafts: Sequence[Draft],
    ctx: Context,
    now: datetime,
    approvals: Sequence[str],
    author: str | None,
) -> tuple[list[str], list[tuple[Payload, dict[str, bytes]]]]:
    """Write ``drafts`` in the caller's transaction: posts, variants and deliveries with one
    multi-row INSERT each, photos content-addressed. Returns the post ids and the payloads
    to stage, built from what was written (``make_payload``, as a rebuild from SQL would);
    posts pending approval have none (nothing of theirs reaches the content queue)."""
    campaigns: dict[str, tuple[int, int]] = {}
    for name in sorted({d.req.campaign for d in drafts if d.req.campaign}):
        c = ctx.campaigns[name]  # every one exists: the checks refused any other
        campaigns[name] = (c.id, c.late_tolerance_seconds)
    post_ids = [new_uuid() for _ in drafts]
    posts = list(zip(post_ids, drafts, strict=True))
    wanted = [(pid, d, name, f"herald-{uuid.uuid4().hex}") for pid, d in posts for name in d.names]
    delivery_ids = add_posts(
        s,
        [
            NewPost(
                id=pid,
                campaign_id=campaigns[d.req.campaign][0] if d.req.campaign else None,
                text=d.req.text,
                language=d.req.language,
                scheduled_at=d.due,
                created_by=_by(d.req.created_by or author),
                approval=approval,
                series_id=d.series.id if d.series else None,
                recurrence=d.series.rule if d.series else None,
                occurrence=d.series.occurrence if d.series else None,
                thread=d.req.thread,
                first_comment=d.req.first_comment,
            )
            for (pid, d), approval in zip(posts, approvals, strict=True)
        ],
        [
            NewVariant(
                pid, ctx.chans[name].id, d.req.text_for.get(name, d.req.text), d.req.languages.get(name)
            )
            for pid, d in posts
            for name in d.names
            if name in d.req.text_for or name in d.req.languages
        ],
        [
            NewDelivery(pid, ctx.chans[name].id, d.due_for.get(name, d.due), key)
            for pid, d, name, key in wanted
        ],
        now=now,
    )
    photo_rows = {pid: _write_photos(s, pid, d) for pid, d in posts}
    # A delivery at its channel's own slot, later than the post's time, is late from its own.
    set_own_times(
        s,
        {
            delivery_id: d.due_for[name]
            for delivery_id, (_, d, name, _) in zip(delivery_ids, wanted, strict=True)
            if d.due_for.get(name, d.due) > d.due
        },
    )
    add_parts(
        s,
        [
            NewPart(delivery_id, position, text)
            for delivery_id, (_, d, name, _) in zip(delivery_ids, wanted, strict=True)
            for position, text in enumerate(d.parts_for.get(name, ()), 1)
        ],
    )
    pending = {pid for (pid, _), approval in zip(posts, approvals, strict=True) if approval != "approved"}
    # In a paused campaign, or on a channel an emergency stop paused: held as written, in this
    # transaction, so a stop that committed first is never outrun.
    held = hold_new_if_paused(s, delivery_ids, now=now)
    # A time that a ``hold`` blackout window covers: held for a person as it is written.
    held |= hold(
        s, {i: d.held for i, (_, d, _, _) in zip(delivery_ids, wanted, strict=True) if d.held}, now=now
    )
    staged = []
    for delivery_id, (pid, d, name, key) in zip(delivery_ids, wanted, strict=True):
        if pid in pending or delivery_id in held:
            continue
        ch = ctx.chans[name]
        blobs: list[CleanPhoto | Rendition] = [d.renditions.get((p.sha256, ch.platform), p) for p in d.photos]
        texts = d.parts_for.get(name) or [d.req.text_for.get(name, d.req.text)]
        payload = make_payload(
            delivery_id=delivery_id,
            post=_WrittenPost(pid, 1, d.due),
            language=d.req.language_for(name),
            channel_id=ch.id,
            platform=ch.platform,
            text=texts[0],
            parts=texts[1:],
            due_at=d.due_for.get(name, d.due),
            released_at=own if (own := d.due_for.get(name, d.due)) > d.due else None,
            idempotency_key=key,
            photos=list(zip(photo_rows[pid], blobs, strict=True)),
            tolerance=campaigns[d.req.campaign][1] if d.req.campaign else DEFAULT_LATE_TOLERANCE_SECONDS,
            blackouts=[w.span for w in ctx.bounds[d.req.campaign].windows] if d.req.campaign else (),
        )
        staged.append((payload, {b.sha256: b.data for b in blobs}))
    return post_ids, staged


def _audit(
    s: Session,
    actor: Actor,
    drafts: Sequence[Draft],
    post_ids: Sequence[str],
    approvals: Sequence[str],
    ctx: Context,
) -> None:
    """One event per post queued one at a time; one per campaign and chunk for a bulk import."""

    def campaign_id(d: Draft) -> int | None:
        c = ctx.campaigns.get(d.req.campaign) if d.req.campaign else None
        return c.id if c else None

    if len(drafts) == 1:
        d, pid, approval = drafts[0], post_ids[0], approvals[0]
        audit.record(
            s,
            actor=actor.email,
            action="post.submit" if approval == "pending" else "post.queue",
            target_type="post",
            target_id=pid,
            campaign_id=campaign_id(d),
            detail={"channels": list(d.names), "at": d.due.isoformat()},
        )
        return
    by_campaign: dict[int | None, list[str]] = {}
    for d, pid in zip(drafts, post_ids, strict=True):
        by_campaign.setdefault(campaign_id(d), []).append(pid)
    for cid, ids in by_campaign.items():
        audit.record(
            s,
            actor=actor.email,
            action="post.import",
            target_type="posts",
            target_id=f"{ids[0]}..{ids[-1]}",
            campaign_id=cid,
            detail={"posts": len(ids), "pending": sum(1 for a in approvals if a == "pending")},
        )


def _write_photos(s: Session, post_id: str, d: Draft) -> list[PostPhoto]:
    """The post's photos, their blobs and renditions (content-addressed: stored once)."""
    for p in d.photos:
        store_blob(s, p.sha256, p.data, p.mime_type, p.width, p.height)
        for (source, platform), r in d.renditions.items():
            if source != p.sha256 or has_rendition(s, source, platform):
                continue
            store_blob(s, r.sha256, r.data, r.mime_type, r.width, r.height)
            add_rendition(
                s,
                source_sha256=source,
                platform=platform,
                rules_key=connector_class(platform).photo_rules.key,
                rendition_sha256=r.sha256,
                steps=r.steps,
            )
    return add_post_photos(
        s,
        post_id,
        [
            NewPostPhoto(
                sha256=p.sha256,
                alt_text=given.alt_text,
                credit=given.credit,
                original_name=p.original_name,
                faces_protected=faces,
            )
            for p, given, faces in zip(d.photos, d.req.photos, d.faces, strict=True)
        ],
    )


def _by(who: str | None) -> str | None:
    """Who queued a post, cut to its column (an email with a token's name after it is long)."""
    return fit(who, CREATED_BY_CHARS) if who else None
