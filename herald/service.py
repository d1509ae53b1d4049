"""The service layer: what the CLI and the web app may do. They only queue; they never publish.

Every function validates everything first and writes nothing until all input is known to be
good, so bad input changes nothing. SQL is written (and committed) before Redis is staged; if
staging fails the scheduler's consistency check stages it later.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import selectinload

from content_queue import ContentQueue, Payload
from content_queue.heartbeats import Heartbeats
from herald.core.errors import ConfigError, HeraldError, InputError, PhotoError, QueueError
from herald.core.secret import Secret
from herald.delivery.staging import make_payload, stage_deliveries, text_for, to_epoch
from herald.media import (
    CleanPhoto,
    Rendition,
    RenditionCache,
    ingest_photo,
    protect_photo,
)
from herald.platforms import PhotoInfo, Problem, connector_class
from herald.store import states
from herald.store.crypto import CredentialBox
from herald.store.db import Database
from herald.store.deliveries import cancel_post as cancel_deliveries
from herald.store.deliveries import confirm_published_by_person, request_takedown, requeue_by_person
from herald.store.models import (
    DEFAULT_LATE_TOLERANCE_SECONDS,
    Campaign,
    Channel,
    Delivery,
    PhotoBlob,
    PhotoRendition,
    Post,
    PostPhoto,
    PostVariant,
    new_uuid,
    utcnow,
)

log = logging.getLogger(__name__)

#: Delivery states, for filters and "can it still be cancelled" (the edges import them from here).
STATUSES = states.ALL
PENDING_STATES = states.PENDING

#: A time this far in the past is still "now" (a person typing, clocks a little apart).
PAST_GRACE_SECONDS = 60
MAX_PHOTOS_PER_POST = 4
#: Posts written per transaction by ``add_posts`` (each followed by one staging round trip).
BULK_CHUNK = 1000
#: Refused posts named one by one in a bulk error's message (all of them are in its details).
MAX_REFUSALS_SHOWN = 20
MAX_NAME_CHARS = 100


@dataclass(frozen=True)
class PhotoInput:
    data: bytes
    filename: str
    alt_text: str = ""
    credit: str | None = None
    #: Blur or pixelate the faces in this photo before anything is stored ("blur" | "pixelate").
    protect_faces: str | None = None


@dataclass(frozen=True)
class PostRequest:
    channels: Sequence[str]
    text: str
    text_for: dict[str, str] = field(default_factory=dict)
    photos: Sequence[PhotoInput] = ()
    at: datetime | None = None  # aware or naive UTC; None means now
    campaign: str | None = None
    language: str | None = None
    created_by: str | None = None


@dataclass
class _Context:
    """What queueing a batch of posts reads once: channels and campaigns by name."""

    chans: dict[str, Channel]
    known: list[str]
    campaigns: dict[str, Campaign]
    credentials_checked: set[str] = field(default_factory=set)


@dataclass
class _Draft:
    """A post that passed every check, with its cleaned photos and renditions, not yet written."""

    req: PostRequest
    due: datetime
    names: list[str]
    photos: list[CleanPhoto]
    faces: list[int | None]
    renditions: dict[tuple[str, str], Rendition]


@dataclass(frozen=True)
class _WrittenPost:
    """The facts of a post just inserted that its payloads carry."""

    id: str
    version: int
    language: str | None
    scheduled_at: datetime


class Herald:
    """The service layer over one store and one content queue."""

    def __init__(self, db: Database, queue: ContentQueue, box: CredentialBox) -> None:
        self.db = db
        self.queue = queue
        self.box = box
        #: Renditions made in this process, by (source photo, rules): a photo queued for many
        #: posts is re-encoded once.
        self._rendition_cache = RenditionCache()

    # -- channels --------------------------------------------------------------------------

    def add_channel(
        self,
        name: str,
        platform: str,
        credentials: dict[str, str],
        *,
        base_url: str | None = None,
        options: dict[str, str] | None = None,
    ) -> int:
        name = name.strip()
        if not name or len(name) > MAX_NAME_CHARS or any(ch.isspace() for ch in name):
            raise InputError("name", f"channel name must be 1–{MAX_NAME_CHARS} characters without spaces")
        cls = connector_class(platform)
        unknown = sorted(set(credentials) - set(cls.credential_keys))
        if unknown:
            raise InputError(
                "credential",
                f"{platform} does not use credential(s) {', '.join(unknown)}; "
                f"it needs {', '.join(cls.credential_keys)}",
            )
        missing = [k for k in cls.credential_keys if not credentials.get(k, "").strip()]
        if missing:
            raise InputError("credential", f"{platform} needs credential(s): {', '.join(missing)}")
        rate = (options or {}).get("rate_limit")
        if rate is not None and rate.strip().lower() not in ("off", "none", "0"):
            n, sep, secs = rate.partition("/")
            if not (
                sep and n.strip().isdigit() and secs.strip().replace(".", "", 1).isdigit() and float(secs) > 0
            ):
                raise InputError(
                    "option", f"rate_limit must be N/SECONDS (e.g. 300/10800) or off, got {rate!r}"
                )
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            raise InputError("base_url", f"base URL must start with http:// or https://, got {base_url!r}")
        sealed = self.box.seal({k: Secret(v.strip()) for k, v in credentials.items()})
        try:
            with self.db.session() as s:
                ch = Channel(
                    name=name,
                    platform=platform,
                    base_url=base_url,
                    credentials_encrypted=sealed,
                    credential_names=sorted(credentials),
                    options=dict(options or {}),
                    slots={},
                )
                s.add(ch)
                s.flush()
                return ch.id
        except IntegrityError:
            raise InputError("name", f"a channel named {name!r} already exists") from None

    def list_channels(self) -> list[dict[str, Any]]:
        with self.db.read() as s:
            rows = s.execute(select(Channel).order_by(Channel.name)).scalars().all()
            return [
                {
                    "id": c.id,
                    "name": c.name,
                    "platform": c.platform,
                    "base_url": c.base_url,
                    "paused": c.paused_at is not None,
                    "pause_reason": c.pause_reason,
                    # Which credentials are set, never their values.
                    "credentials": sorted(c.credential_names or []),
                }
                for c in rows
            ]

    def set_channel_base_url(self, name: str, base_url: str | None) -> None:
        with self.db.session() as s:
            ch = s.execute(select(Channel).where(Channel.name == name)).scalar_one_or_none()
            if ch is None:
                raise InputError("channel", f"unknown channel {name!r}")
            ch.base_url = base_url

    def resume_channel(self, name: str) -> int:
        """Unpause a channel and put its held deliveries back on the queue."""
        with self.db.session() as s:
            ch = s.execute(select(Channel).where(Channel.name == name)).scalar_one_or_none()
            if ch is None:
                raise InputError("channel", f"unknown channel {name!r}")
            ch.paused_at = None
            ch.pause_reason = None
            held = (
                s.execute(select(Delivery).where(Delivery.channel_id == ch.id, Delivery.state == states.HELD))
                .scalars()
                .all()
            )
            ids = []
            for d in held:
                d.state = states.QUEUED
                d.due_at = max(d.due_at, utcnow())
                ids.append(d.id)
        self._stage(ids)
        return len(ids)

    # -- posts -----------------------------------------------------------------------------

    def add_post(self, req: PostRequest, *, now: datetime | None = None) -> str:
        """Validate and queue a post; returns its id. Raises InputError naming every problem."""
        return self.add_posts([req], now=now)[0]

    def add_posts(
        self,
        reqs: Sequence[PostRequest],
        *,
        now: datetime | None = None,
        labels: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> list[str]:
        """Validate and queue many posts (bulk import); returns their ids, in order.

        Every post is checked before anything is written: if any is refused, InputError names
        each refused post (by ``labels``, e.g. "line 7", else "post N") and nothing is queued;
        ``dry_run`` stops there and returns no ids. The writes then go in
        transactions of ``BULK_CHUNK`` posts, each followed by one pipelined staging round
        trip; should the database fail part-way, the error says how many posts were queued.
        """
        if not reqs:
            return []
        if labels is not None and len(labels) != len(reqs):
            raise ValueError("one label per post")
        now = now or utcnow()
        ctx = self._queue_context(reqs)
        drafts: list[_Draft] = []
        refused: list[tuple[int, InputError]] = []
        for n, req in enumerate(reqs, 1):
            try:
                drafts.append(self._prepare(req, ctx, now))
            except InputError as e:
                if len(reqs) == 1 and labels is None:
                    raise
                refused.append((n, e))
        if refused:
            name = (lambda n: labels[n - 1]) if labels else (lambda n: f"post {n}")
            shown = "; ".join(f"{name(n)}: {e}" for n, e in refused[:MAX_REFUSALS_SHOWN])
            more = len(refused) - MAX_REFUSALS_SHOWN
            raise InputError(
                "posts",
                f"{len(refused)} of {len(reqs)} posts refused, nothing queued: {shown}"
                + (f"; and {more} more" if more > 0 else ""),
                details=[
                    {
                        "post": n,
                        "label": name(n),
                        "field": e.field,
                        "message": e.message,
                        "problems": e.details,
                    }
                    for n, e in refused
                ],
            )
        if dry_run:
            return []
        ids: list[str] = []
        for k in range(0, len(drafts), BULK_CHUNK):
            try:
                with self.db.session() as s:
                    post_ids, staged = self._write(s, drafts[k : k + BULK_CHUNK], ctx, now)
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

    def _queue_context(self, reqs: Sequence[PostRequest]) -> _Context:
        """The channels and campaigns these posts name, read once (detached from the session)."""
        names = list(dict.fromkeys(n for r in reqs for n in r.channels))
        wanted = {r.campaign for r in reqs if r.campaign}
        with self.db.read() as s:
            chans = {c.name: c for c in s.execute(select(Channel).where(Channel.name.in_(names))).scalars()}
            campaigns = (
                {c.name: c for c in s.execute(select(Campaign).where(Campaign.name.in_(wanted))).scalars()}
                if wanted
                else {}
            )
            known = sorted(s.execute(select(Channel.name)).scalars()) if len(chans) < len(names) else []
            s.expunge_all()
        return _Context(chans=chans, known=known, campaigns=campaigns)

    def _prepare(self, req: PostRequest, ctx: _Context, now: datetime) -> _Draft:
        """Everything short of writing: every check, photo cleaning, face protection and
        renditions. Raises InputError naming the problem."""
        due = self._due(req.at, now)
        if not req.channels:
            raise InputError("channel", "at least one channel is needed")
        if len(req.photos) > MAX_PHOTOS_PER_POST:
            raise InputError("photo", f"at most {MAX_PHOTOS_PER_POST} photos per post; got {len(req.photos)}")
        names = list(dict.fromkeys(req.channels))
        unknown = [n for n in names if n not in ctx.chans]
        if unknown:
            raise InputError(
                "channel",
                f"unknown channel(s): {', '.join(unknown)}"
                + (
                    f" (known: {', '.join(ctx.known)})"
                    if ctx.known
                    else " (no channels yet: `herald channel add`)"
                ),
            )
        chans = {n: ctx.chans[n] for n in names}
        campaign = ctx.campaigns.get(req.campaign) if req.campaign else None
        require_alt = bool(campaign and campaign.require_alt_text)
        campaign_faces = campaign.protect_faces if campaign else None
        stray = sorted(set(req.text_for) - set(names))
        if stray:
            raise InputError("text-for", f"text given for channel(s) not in this post: {', '.join(stray)}")
        for ch in chans.values():
            if ch.name not in ctx.credentials_checked:
                self._check_credentials(ch)
                ctx.credentials_checked.add(ch.name)
        if require_alt:
            bare = [i for i, ph in enumerate(req.photos, 1) if not ph.alt_text.strip()]
            if bare:
                raise InputError(
                    "alt",
                    f"campaign {req.campaign} requires alt text; "
                    f"photo(s) {', '.join(map(str, bare))} have none",
                )
        photos: list[CleanPhoto] = []
        faces: list[int | None] = []
        for i, given in enumerate(req.photos, 1):
            clean, n = self._protected(self._ingest(given, i), given.protect_faces or campaign_faces)
            photos.append(clean)
            faces.append(n)
        renditions = self._renditions(photos, {chans[n].platform for n in names}, names, chans)
        problems = self._validate(names, chans, req, photos, renditions)
        if problems:
            raise InputError(
                "post",
                "; ".join(f"{chan}: {p.message}" for chan, p in problems),
                details=[
                    {
                        "channel": chan,
                        "platform": p.platform,
                        "field": p.field,
                        "message": p.message,
                        "count": p.count,
                        "limit": p.limit,
                    }
                    for chan, p in problems
                ],
            )
        return _Draft(req, due, names, photos, faces, renditions)

    def _write(
        self, s: Any, drafts: Sequence[_Draft], ctx: _Context, now: datetime
    ) -> tuple[list[str], list[tuple[Payload, dict[str, bytes]]]]:
        """Write ``drafts`` in the caller's transaction: posts, variants and deliveries with one
        multi-row INSERT each, photos content-addressed. Returns the post ids and the payloads
        to stage, built from what was written (``make_payload``, as a rebuild from SQL would)."""
        campaign_ids: dict[str, tuple[int, int]] = {}
        for name in sorted({d.req.campaign for d in drafts if d.req.campaign}):
            c = self._campaign(s, name)
            campaign_ids[name] = (c.id, c.late_tolerance_seconds)
        post_ids = [new_uuid() for _ in drafts]
        s.execute(
            insert(Post),
            [
                {
                    "id": pid,
                    "campaign_id": campaign_ids[d.req.campaign][0] if d.req.campaign else None,
                    "text": d.req.text,
                    "language": d.req.language,
                    "scheduled_at": d.due,
                    "created_by": d.req.created_by,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
                for pid, d in zip(post_ids, drafts, strict=True)
            ],
        )
        variants = [
            {"post_id": pid, "channel_id": ctx.chans[name].id, "text": text}
            for pid, d in zip(post_ids, drafts, strict=True)
            for name, text in d.req.text_for.items()
        ]
        if variants:
            s.execute(insert(PostVariant), variants)
        rows: list[list[PostPhoto]] = [
            self._write_photos(s, pid, d) for pid, d in zip(post_ids, drafts, strict=True)
        ]
        wanted = [
            (pid, d, name, f"herald-{uuid.uuid4().hex}")
            for pid, d in zip(post_ids, drafts, strict=True)
            for name in d.names
        ]
        delivery_ids = (
            s.execute(
                insert(Delivery).returning(Delivery.id, sort_by_parameter_order=True),
                [
                    {
                        "post_id": pid,
                        "channel_id": ctx.chans[name].id,
                        "state": states.QUEUED,
                        "due_at": d.due,
                        "idempotency_key": key,
                        "updated_at": now,
                    }
                    for pid, d, name, key in wanted
                ],
            )
            .scalars()
            .all()
        )
        photo_rows = dict(zip(post_ids, rows, strict=True))
        staged = []
        for delivery_id, (pid, d, name, key) in zip(delivery_ids, wanted, strict=True):
            ch = ctx.chans[name]
            blobs: list[CleanPhoto | Rendition] = [
                d.renditions.get((p.sha256, ch.platform), p) for p in d.photos
            ]
            payload = make_payload(
                delivery_id=int(delivery_id),
                post=_WrittenPost(pid, 1, d.req.language, d.due),
                channel_id=ch.id,
                platform=ch.platform,
                text=d.req.text_for.get(name, d.req.text),
                due_at=d.due,
                idempotency_key=key,
                photos=list(zip(photo_rows[pid], blobs, strict=True)),
                tolerance=campaign_ids[d.req.campaign][1]
                if d.req.campaign
                else DEFAULT_LATE_TOLERANCE_SECONDS,
            )
            staged.append((payload, {b.sha256: b.data for b in blobs}))
        return post_ids, staged

    def _write_photos(self, s: Any, post_id: str, d: _Draft) -> list[PostPhoto]:
        """The post's photos, their blobs and renditions (content-addressed: stored once)."""
        out = []
        for i, (p, inp) in enumerate(zip(d.photos, d.req.photos, strict=True)):
            _store_blob(s, p.sha256, p.data, p.mime_type, p.width, p.height)
            for (source, platform), r in d.renditions.items():
                if source != p.sha256 or s.get(PhotoRendition, (source, platform)) is not None:
                    continue
                _store_blob(s, r.sha256, r.data, r.mime_type, r.width, r.height)
                s.add(
                    PhotoRendition(
                        source_sha256=source,
                        platform=platform,
                        rules_key=connector_class(platform).photo_rules.key,
                        rendition_sha256=r.sha256,
                        steps=list(r.steps),
                    )
                )
                s.flush()
            row = PostPhoto(
                post_id=post_id,
                position=i,
                sha256=p.sha256,
                alt_text=inp.alt_text,
                credit=inp.credit,
                original_name=p.original_name,
                faces_protected=d.faces[i],
            )
            s.add(row)
            out.append(row)
        if out:
            s.flush()
        return out

    def _stage_payloads(self, staged: list[tuple[Payload, dict[str, bytes]]]) -> None:
        try:
            self.queue.stage_many(staged)
        except (QueueError, redis.RedisError) as e:  # Redis down: SQL has it; the scheduler will stage it
            log.warning(
                "could not stage %d deliveries in Redis (%s); the scheduler will restore them", len(staged), e
            )

    def check(
        self,
        channels: Sequence[str],
        text: str,
        photos: Sequence[PhotoInput] = (),
        *,
        platforms: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """Does this draft fit each channel (or platform)? The same rules, counting and photo
        renditions as queueing; nothing is queued or stored."""
        with self.db.read() as s:
            chans = {
                c.name: c for c in s.execute(select(Channel).where(Channel.name.in_(channels))).scalars()
            }
            for ch in chans.values():
                s.expunge(ch)
        unknown = [n for n in channels if n not in chans]
        if unknown:
            raise InputError("channel", f"unknown channel(s): {', '.join(unknown)}")
        if not channels and not platforms:
            raise InputError("channel", "give at least one channel or platform to check against")
        targets = [(n, chans[n].platform) for n in channels] + [
            (None, connector_class(p).name) for p in platforms
        ]
        clean = [self._ingest(p, i) for i, p in enumerate(photos, 1)]
        out = []
        for name, platform in targets:
            cls = connector_class(platform)
            tc = cls.count_text(text)
            infos: list[PhotoInfo] = []
            problems = []
            for i, (p, inp) in enumerate(zip(clean, photos, strict=True), 1):
                rules = connector_class(platform).photo_rules
                try:
                    r = self._rendition_cache.render(p.data, p.mime_type, rules) if rules else p
                except PhotoError as e:
                    problems.append(Problem(platform, "photos", f"photo {i}: {e.message}"))
                    continue
                infos.append(_info(r, inp))
            problems = cls.validate(text, infos) + problems
            out.append(
                {
                    "channel": name,
                    "platform": cls.name,
                    "fits": not problems,
                    "count": tc.count,
                    "limit": tc.limit,
                    "unit": tc.unit,
                    "problems": [p.message for p in problems],
                }
            )
        return out

    def cancel_post(self, post_id: str) -> dict[str, list[int]]:
        """Cancel what has not gone out yet. Deliveries already publishing or done are reported,
        not touched: "too late" is an answer, not an error."""
        with self.db.session() as s:
            if s.get(Post, post_id) is None:
                raise InputError("post", f"unknown post {post_id!r}")
            cancelled, late = cancel_deliveries(s, post_id)
        for i in cancelled:
            self.queue.release(i)
        return {"cancelled": cancelled, "too_late": late}

    def takedown(self, post_id: str, *, channel: str | None = None) -> dict[str, list[str]]:
        """Pull a post from every channel (or one), fast: published copies are deleted by the
        workers (through the queue, like publishing), pending ones are cancelled, ones being
        published now are deleted right after. Returns channel names by outcome, including
        channels whose platform cannot delete through its API."""
        with self.db.session() as s:
            if s.get(Post, post_id) is None:
                raise InputError("post", f"unknown post {post_id!r}")
            rows = s.execute(
                select(Delivery.id, Channel.id, Channel.name, Channel.platform, Delivery.state)
                .join(Channel, Delivery.channel_id == Channel.id)
                .where(Delivery.post_id == post_id)
            ).all()
            if channel is not None:
                rows = [r for r in rows if r[2] == channel]
                if not rows:
                    raise InputError("channel", f"post {post_id} was not queued for channel {channel!r}")
            able = [r for r in rows if connector_class(r[3]).can_delete or r[4] != states.PUBLISHED]
            cannot = [r[2] for r in rows if r not in able]
            res = request_takedown(s, post_id, [r[1] for r in able])
        names = {r[0]: r[2] for r in rows}
        self._stage(res["deleting"])
        for i in res["cancelled"]:
            self.queue.release(i)
        out = {k: [names[i] for i in v] for k, v in res.items()}
        out["cannot_delete"] = cannot
        log.warning("takedown of post %s requested: %s", post_id, out, extra={"post_id": post_id})
        return out

    def requeue(self, post_id: str, *, channel: str | None = None, what: str = "release") -> list[int]:
        """A person's decision to send now: ``release`` held deliveries (a missed window, a
        paused channel that is fixed), or ``retry`` failed and uncertain ones (after checking
        the platform that an uncertain one is not there)."""
        from_states = {"release": (states.HELD,), "retry": (states.FAILED, states.UNCERTAIN)}.get(what)
        if from_states is None:
            raise InputError("action", f"unknown action {what!r}")
        with self.db.session() as s:
            if s.get(Post, post_id) is None:
                raise InputError("post", f"unknown post {post_id!r}")
            channel_id = self._channel_id(s, channel) if channel else None
            purged = s.execute(
                select(PhotoBlob.sha256)
                .join(PostPhoto, PostPhoto.sha256 == PhotoBlob.sha256)
                .where(PostPhoto.post_id == post_id, PhotoBlob.purged_at.is_not(None))
            ).first()
            if purged is not None:
                raise InputError(
                    "post",
                    f"the photos of post {post_id} were purged under the retention policy; queue it again",
                )
            ids = requeue_by_person(s, post_id, from_states, channel_id=channel_id)
        if not ids:
            raise InputError(
                "post",
                f"post {post_id} has no {' or '.join(from_states)} deliveries"
                + (f" on {channel}" if channel else ""),
            )
        self._stage(ids)
        return ids

    def confirm_published(self, post_id: str, channel: str, *, url: str | None = None) -> None:
        """A person checked: the uncertain post is on the platform. Record it as published."""
        if url is not None and not url.startswith(("https://", "http://")):
            raise InputError("url", "the post's URL must start with https:// or http://")
        with self.db.session() as s:
            if not confirm_published_by_person(s, post_id, self._channel_id(s, channel), remote_url=url):
                raise InputError("post", f"post {post_id} has no uncertain delivery on {channel}")

    def _channel_id(self, s: Any, name: str) -> int:
        cid = s.execute(select(Channel.id).where(Channel.name == name)).scalar_one_or_none()
        if cid is None:
            raise InputError("channel", f"unknown channel {name!r}")
        return int(cid)

    def list_posts(self, *, campaign: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        with self.db.read() as s:
            q = (
                select(Post)
                .options(
                    selectinload(Post.deliveries).selectinload(Delivery.channel),
                    selectinload(Post.photos),
                    selectinload(Post.campaign),
                )
                .order_by(Post.scheduled_at.desc())
                .limit(limit)
            )
            if campaign:
                q = q.join(Campaign).where(Campaign.name == campaign)
            return [
                {
                    "id": p.id,
                    "text": p.text,
                    "campaign": p.campaign.name if p.campaign else None,
                    "scheduled_at": _iso(p.scheduled_at),
                    "photos": len(p.photos),
                    "deliveries": {d.channel.name: d.state for d in p.deliveries},
                }
                for p in s.execute(q).scalars()
            ]

    def delivery_log(
        self,
        *,
        campaign: str | None = None,
        channel: str | None = None,
        status: str | None = None,
        post_id: str | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """One record per (post, channel): what went out where and when, or why not."""
        if status is not None and status not in states.ALL:
            raise InputError("status", f"unknown status {status!r}; one of {', '.join(states.ALL)}")
        with self.db.read() as s:
            q = (
                select(Delivery, Post, Channel, Campaign.name)
                .join(Post, Delivery.post_id == Post.id)
                .join(Channel, Delivery.channel_id == Channel.id)
                .outerjoin(Campaign, Post.campaign_id == Campaign.id)
                .order_by(Post.scheduled_at.desc(), Delivery.id)
                .limit(limit)
            )
            if campaign:
                q = q.where(Campaign.name == campaign)
            if channel:
                q = q.where(Channel.name == channel)
            if status:
                q = q.where(Delivery.state == status)
            if post_id:
                q = q.where(Delivery.post_id == post_id)
            rows = s.execute(q).all()
            variants = {
                (v.post_id, v.channel_id): v.text
                for v in s.execute(
                    select(PostVariant).where(PostVariant.post_id.in_({r[1].id for r in rows}))
                ).scalars()
            }
            out = []
            for d, p, ch, camp in rows:
                out.append(
                    {
                        "post_id": p.id,
                        "delivery_id": d.id,
                        "campaign": camp,
                        "channel": ch.name,
                        "platform": ch.platform,
                        "status": d.state,
                        "text": variants.get((p.id, ch.id), p.text),
                        "scheduled_at": _iso(p.scheduled_at),
                        "due_at": _iso(d.due_at),
                        "published_at": _iso(d.published_at),
                        "lateness_seconds": (d.published_at - p.scheduled_at).total_seconds()
                        if d.published_at
                        else None,
                        "remote_id": d.remote_id,
                        "remote_url": d.remote_url,
                        "attempts": d.attempts,
                        "error": d.last_error,
                    }
                )
            return out

    def stats(self) -> list[dict[str, Any]]:
        """Success rates per campaign and platform."""
        with self.db.read() as s:
            rows = s.execute(
                select(Campaign.name, Channel.platform, Delivery.state, func.count())
                .select_from(Delivery)
                .join(Post, Delivery.post_id == Post.id)
                .join(Channel, Delivery.channel_id == Channel.id)
                .outerjoin(Campaign, Post.campaign_id == Campaign.id)
                .group_by(Campaign.name, Channel.platform, Delivery.state)
            ).all()
        table: dict[tuple[str | None, str], dict[str, int]] = {}
        for campaign_name, platform, state, n in rows:
            table.setdefault((campaign_name, platform), {})[state] = int(n)
        out = []
        for (camp, platform), counts in sorted(table.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
            done = sum(counts.get(k, 0) for k in (states.PUBLISHED, states.FAILED, states.UNCERTAIN))
            out.append(
                {
                    "campaign": camp,
                    "platform": platform,
                    **counts,
                    "success_rate": round(counts.get(states.PUBLISHED, 0) / done, 4) if done else None,
                }
            )
        return out

    def shared_photo(self, token: str) -> tuple[bytes, str] | None:
        """The bytes and MIME type of a photo shared for a platform to fetch, if still shared."""
        try:
            return self.queue.shared_photo(token)
        except redis.RedisError as e:
            log.warning("shared photo lookup failed: %s", e)
            return None

    def purge_photos(self, *, older_than_days: int, now: datetime | None = None) -> int:
        """Drop the bytes of photos (and renditions) whose posts are all done — no delivery
        still scheduled, queued, held, publishing, uncertain or being deleted — and were last
        touched more than ``older_than_days`` ago. Rows stay so the log still says a photo
        went out. Returns how many blobs were purged."""
        if older_than_days <= 0:
            return 0
        cutoff = (now or utcnow()) - timedelta(days=older_than_days)
        open_states = (*states.PENDING, states.PUBLISHING, states.UNCERTAIN, states.DELETING)
        with self.db.session() as s:
            busy_posts = select(Delivery.post_id).where(
                (Delivery.state.in_(open_states)) | (Delivery.updated_at > cutoff)
            )
            busy_sources = select(PostPhoto.sha256).where(PostPhoto.post_id.in_(busy_posts))
            busy = set(s.execute(busy_sources).scalars()) | set(
                s.execute(
                    select(PhotoRendition.rendition_sha256).where(
                        PhotoRendition.source_sha256.in_(busy_sources)
                    )
                ).scalars()
            )
            candidates = (
                s.execute(
                    select(PhotoBlob).where(PhotoBlob.purged_at.is_(None), PhotoBlob.created_at < cutoff)
                )
                .scalars()
                .all()
            )
            n = 0
            for blob in candidates:
                if blob.sha256 in busy:
                    continue
                blob.data = b""
                blob.purged_at = utcnow()
                n += 1
        if n:
            log.info("purged the bytes of %d photos older than %d days", n, older_than_days)
        return n

    def queue_health(self) -> dict[str, Any]:
        """Redis, the queue's depth and the scheduler's latest verdict on the workers."""
        try:
            counts: dict[str, Any] = dict(self.queue.counts())
            counts["workers"] = Heartbeats(self.queue.redis, self.queue.keys).verdict()
            ok = True
        except redis.RedisError as e:
            log.warning("health: Redis unavailable: %s", e)
            counts, ok = {}, False
        return {"redis": ok, **counts}

    # -- helpers ---------------------------------------------------------------------------

    def _stage(self, ids: list[int]) -> None:
        if not ids:
            return
        try:
            stage_deliveries(self.db, self.queue, ids)
        except (QueueError, redis.RedisError) as e:  # Redis down: SQL has it; the scheduler will stage it
            log.warning(
                "could not stage deliveries %s in Redis (%s); the scheduler will restore them", ids, e
            )

    def _due(self, at: datetime | None, now: datetime) -> datetime:
        if at is None:
            return now
        if at.tzinfo is not None:
            at = at.astimezone(UTC).replace(tzinfo=None)
        if at < now - timedelta(seconds=PAST_GRACE_SECONDS):
            raise InputError(
                "at",
                f"{at.isoformat()}Z is in the past (now is {now.replace(microsecond=0).isoformat()}Z); "
                "choose a later time, or post now",
            )
        return max(at, now)

    def _campaign(self, s: Any, name: str) -> Campaign:
        c = s.execute(select(Campaign).where(Campaign.name == name)).scalar_one_or_none()
        if c is None:
            c = Campaign(name=name)
            s.add(c)
            s.flush()
        return c  # type: ignore[no-any-return]  # Session is Any here

    def set_campaign(
        self,
        name: str,
        *,
        late_tolerance_seconds: int | None = None,
        require_alt_text: bool | None = None,
        protect_faces: str | None = None,
        timezone: str | None = None,
    ) -> dict[str, Any]:
        """Create or change a campaign's settings. ``protect_faces``: "blur", "pixelate" or "off"."""
        if protect_faces is not None and protect_faces not in ("blur", "pixelate", "off"):
            raise InputError("protect_faces", "protect faces must be blur, pixelate or off")
        if late_tolerance_seconds is not None and late_tolerance_seconds < 0:
            raise InputError("late_tolerance", "late tolerance must be 0 (never hold) or more seconds")
        if timezone is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise InputError("timezone", f"unknown time zone {timezone!r} (e.g. Asia/Seoul)") from None
        with self.db.session() as s:
            c = self._campaign(s, name)
            if late_tolerance_seconds is not None:
                c.late_tolerance_seconds = late_tolerance_seconds
            if require_alt_text is not None:
                c.require_alt_text = require_alt_text
            if protect_faces is not None:
                c.protect_faces = None if protect_faces == "off" else protect_faces
            if timezone is not None:
                c.timezone = timezone
            return {
                "name": c.name,
                "timezone": c.timezone,
                "late_tolerance_seconds": c.late_tolerance_seconds,
                "require_alt_text": c.require_alt_text,
                "protect_faces": c.protect_faces,
            }

    def list_campaigns(self) -> list[dict[str, Any]]:
        with self.db.read() as s:
            return [
                {
                    "name": c.name,
                    "timezone": c.timezone,
                    "late_tolerance_seconds": c.late_tolerance_seconds,
                    "require_alt_text": c.require_alt_text,
                    "protect_faces": c.protect_faces,
                }
                for c in s.execute(select(Campaign).order_by(Campaign.name)).scalars()
            ]

    def _protected(self, photo: CleanPhoto, mode: str | None) -> tuple[CleanPhoto, int | None]:
        """Blur or pixelate faces (OpenCV's bundled cascades) before the photo is stored."""
        return protect_photo(photo, mode)

    def _check_credentials(self, ch: Channel) -> None:
        try:
            creds = self.box.open(ch.credentials_encrypted)
        except ConfigError as e:
            raise InputError("credential", f"channel {ch.name}: {e}") from None
        cls = connector_class(ch.platform)
        missing = [k for k in cls.credential_keys if not creds.get(k)]
        if missing:
            raise InputError(
                "credential", f"channel {ch.name} is missing credential(s): {', '.join(missing)}"
            )

    def _ingest(self, p: PhotoInput, index: int) -> CleanPhoto:
        return ingest_photo(p.data, p.filename)

    def _renditions(
        self, photos: list[CleanPhoto], platforms: set[str], names: list[str], chans: dict[str, Channel]
    ) -> dict[tuple[str, str], Rendition]:
        """Each photo made to fit each platform (quality, then size, then format and padding),
        once, at queue time: workers never touch pixels at the due time. A photo that cannot
        be made to fit is refused now, naming the channels it was for."""
        out: dict[tuple[str, str], Rendition] = {}
        for i, p in enumerate(photos, 1):
            for platform in sorted(platforms):
                rules = connector_class(platform).photo_rules
                if rules is None:
                    continue
                try:
                    out[(p.sha256, platform)] = self._rendition_cache.render(p.data, p.mime_type, rules)
                except PhotoError as e:
                    for_ = ", ".join(n for n in names if chans[n].platform == platform)
                    raise InputError(
                        "photo", f"photo {i} ({p.original_name}) for {for_}: {e.message}"
                    ) from None
        return out

    def _validate(
        self,
        names: list[str],
        chans: dict[str, Channel],
        req: PostRequest,
        photos: list[CleanPhoto],
        renditions: dict[tuple[str, str], Rendition] | None = None,
    ) -> list[tuple[str, Problem]]:
        out: list[tuple[str, Problem]] = []
        for n in names:
            platform = chans[n].platform
            infos = [
                _info(renditions.get((p.sha256, platform), p) if renditions else p, inp)
                for p, inp in zip(photos, req.photos, strict=True)
            ]
            text = req.text_for.get(n, req.text)
            for problem in connector_class(platform).validate(text, infos):
                out.append((n, problem))
        return out


def _store_blob(s: Any, sha256: str, data: bytes, mime: str, width: int, height: int) -> None:
    """Content-addressed: a blob already stored (another post, another platform) is reused."""
    if s.get(PhotoBlob, sha256) is None:
        s.add(PhotoBlob(sha256=sha256, data=data, mime_type=mime, width=width, height=height, size=len(data)))
        s.flush()


def _info(p: CleanPhoto | Rendition, inp: PhotoInput) -> PhotoInfo:
    return PhotoInfo(
        mime_type=p.mime_type, size=len(p.data), width=p.width, height=p.height, alt_text=inp.alt_text
    )


def _iso(dt: datetime | None) -> str | None:
    return dt.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z") if dt else None


def epoch_of(dt: datetime) -> float:
    return to_epoch(dt)


__all__ = ["Herald", "PhotoInput", "PostRequest", "text_for"]
