"""From SQL to Redis: build a delivery's payload, stage it, and rebuild the queue after loss.

SQL is the source of truth; everything this module writes to Redis can be written again, so
staging is idempotent (``ContentQueue.stage`` counts photo references once per payload).
The queue seals each payload with its MAC as it stages it (``content_queue.integrity``), so a
payload built here, at queue time or in a rebuild, is the only kind a worker will publish.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from content_queue.payload import Payload, PhotoRef
from content_queue.queue import ContentQueue
from herald.core.errors import HeraldError
from herald.core.intervals import Span, late_after, pending
from herald.media import alt_with_credit
from herald.platforms import connector_class
from herald.store import states
from herald.store.blackouts import spans_of
from herald.store.db import Database
from herald.store.models import DEFAULT_LATE_TOLERANCE_SECONDS, Post, utcnow
from herald.store.queueing import deliveries_to_stage, pending_after, photo_bytes, renditions_of

log = logging.getLogger(__name__)

#: Rows read per round trip when rebuilding.
REBUILD_CHUNK = 500


def to_epoch(dt: datetime) -> float:
    """Naive UTC → epoch seconds."""
    return dt.replace(tzinfo=UTC).timestamp()


def from_epoch(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


def text_for(post: Post, channel_id: int) -> str:
    for v in post.variants:
        if v.channel_id == channel_id:
            return v.text
    return post.text


def language_for(post: Post, channel_id: int) -> str | None:
    """The language ``post`` goes out in on the channel: its variant's, else the post's (as
    ``PostRequest.language_for`` reads it before the post is written)."""
    for v in post.variants:
        if v.channel_id == channel_id and v.language:
            return v.language
    return post.language


def build_payloads(s: Session, delivery_ids: Sequence[int]) -> list[tuple[Payload, dict[str, bytes]]]:
    """Payloads for ``delivery_ids`` with the bytes of their photos, read from SQL."""
    rows = deliveries_to_stage(s, delivery_ids)
    renditions = renditions_of(s, {p.sha256 for d in rows for p in d.post.photos})
    blackouts = spans_of(s, {d.post.campaign_id for d in rows if d.post.campaign_id is not None})
    out = []
    for d in rows:
        post = d.post
        platform = d.channel.platform
        blobs = [renditions.get((p.sha256, platform), p.blob) for p in post.photos]
        # A thread's texts are its parts, as split for this platform when it was queued.
        texts = [part.text for part in d.parts] or [text_for(post, d.channel_id)]
        payload = make_payload(
            delivery_id=d.id,
            post=post,
            channel_id=d.channel_id,
            platform=platform,
            text=texts[0],
            parts=texts[1:],
            language=language_for(post, d.channel_id),
            due_at=d.due_at,
            idempotency_key=d.idempotency_key,
            photos=list(zip(post.photos, blobs, strict=True)),
            tolerance=post.campaign.late_tolerance_seconds
            if post.campaign
            else DEFAULT_LATE_TOLERANCE_SECONDS,
            released_at=d.released_at,
            blackouts=blackouts.get(d.post.campaign_id, ()) if d.post.campaign_id is not None else (),
        )
        out.append((payload, {b.sha256: b.data for b in blobs}))
    return out


class _PhotoFacts(Protocol):
    """What a payload needs of a post's photo (a ``PostPhoto`` row, or one about to be)."""

    @property
    def alt_text(self) -> str: ...
    @property
    def credit(self) -> str | None: ...
    @property
    def original_name(self) -> str: ...


class _BlobFacts(Protocol):
    """What a payload needs of the bytes sent for a photo (a blob row or a fresh rendition)."""

    @property
    def sha256(self) -> str: ...
    @property
    def mime_type(self) -> str: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...


class _PostFacts(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def scheduled_at(self) -> datetime: ...


def make_payload(
    *,
    delivery_id: int,
    post: _PostFacts,
    channel_id: int,
    platform: str,
    text: str,
    language: str | None,
    due_at: datetime,
    idempotency_key: str,
    photos: Sequence[tuple[_PhotoFacts, _BlobFacts]],
    tolerance: int,
    released_at: datetime | None = None,
    parts: Sequence[str] = (),
    blackouts: Sequence[Span] = (),
) -> Payload:
    """One delivery's payload: the single definition used both when a post is queued (from the
    objects just written) and when the queue is rebuilt from SQL, so the two cannot drift.
    ``text`` and ``language`` are the channel's (its variant's, else the post's)."""
    max_alt = _max_alt_text(platform)
    refs = tuple(
        PhotoRef(
            sha256=b.sha256,
            mime_type=b.mime_type,
            width=b.width,
            height=b.height,
            alt_text=alt_with_credit(p.alt_text, p.credit, max_alt) if p.credit else p.alt_text,
            filename=neutral_name(i, b.mime_type),
        )
        for i, (p, b) in enumerate(photos, 1)
    )
    window_start = max(post.scheduled_at, released_at or post.scheduled_at)
    # The campaign's blackout windows it may still meet (the worker's last check reads them);
    # lateness is counted without the time spent waiting one out.
    ahead = pending(
        blackouts,
        min(to_epoch(due_at), to_epoch(window_start)),
        to_epoch(released_at) if released_at else None,
    )
    return Payload(
        delivery_id=delivery_id,
        post_id=post.id,
        post_version=post.version,
        channel_id=channel_id,
        platform=platform,
        text=text,
        due=to_epoch(due_at),
        idempotency_key=idempotency_key,
        language=language,
        photos=refs,
        hold_after=late_after(to_epoch(window_start), tolerance, ahead) if tolerance > 0 else None,
        parts=tuple(parts),
        blackouts=tuple((b.start, b.end, b.hold, b.label) for b in ahead),
    )


#: The file name extension a platform sees for each photo type Herald sends.
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}


def neutral_name(position: int, mime_type: str) -> str:
    """The name a photo is uploaded under: ``photo-<position>`` and its type's extension, never
    the name the person's file had (a name can say who and where as surely as GPS; that name
    stays in the database, for the staff's own view)."""
    return f"photo-{position}{EXTENSIONS.get(mime_type, '.bin')}"


def _max_alt_text(platform: str) -> int:
    try:
        return connector_class(platform).max_alt_text
    except HeraldError:
        return 1000


def stage_deliveries(
    db: Database, queue: ContentQueue, delivery_ids: Sequence[int], *, wake: bool = True
) -> int:
    """Stage the given deliveries (read from SQL) into Redis. Returns how many were put on the
    due set (deliveries already in flight are left alone)."""
    staged = 0
    for i in range(0, len(delivery_ids), REBUILD_CHUNK):
        with db.session() as s:
            built = build_payloads(s, delivery_ids[i : i + REBUILD_CHUNK])
        staged += queue.stage_many(built, wake=False)
    if wake and staged:
        queue.wake()
    return staged


def reconcile_queue(db: Database, queue: ContentQueue, *, horizon_seconds: float | None = None) -> int:
    """Make Redis hold every delivery SQL says is pending.

    ``queued`` rows missing from Redis are staged; ``publishing`` rows missing from Redis (their
    in-flight entry was lost) are staged due at their SQL lease expiry, so that the claim that
    follows takes them over and reconciles. With ``horizon_seconds`` only rows due before
    now + horizon are checked (the cheap periodic check); without it, all (after Redis loss).
    Returns how many deliveries were put back.
    """
    due_before = utcnow() + timedelta(seconds=horizon_seconds) if horizon_seconds is not None else None
    restored = 0
    after = 0
    while True:
        with db.session() as s:
            rows = pending_after(s, after_id=after, due_before=due_before, limit=REBUILD_CHUNK)
        if not rows:
            break
        after = rows[-1].delivery_id
        known = queue.is_known([r.delivery_id for r in rows])
        missing = [r for r, k in zip(rows, known, strict=True) if not k]
        if not missing:
            continue
        with db.session() as s:
            built = build_payloads(s, [r.delivery_id for r in missing])
        lease_by_id = {r.delivery_id: r.lease_expires_at for r in missing if r.state == states.PUBLISHING}
        restored += queue.stage_many(
            [
                (_due_after_lease(payload, lease_by_id.get(payload.delivery_id)), photos)
                for payload, photos in built
            ],
            wake=False,
        )
    if restored:
        log.warning("restored %d deliveries to the content queue from SQL", restored)
        queue.wake()
    return restored


def _due_after_lease(payload: Payload, lease: datetime | None) -> Payload:
    """A delivery whose in-flight entry was lost comes due when its SQL lease runs out."""
    if lease is None:
        return payload
    return Payload(**{**payload.__dict__, "due": max(payload.due, to_epoch(lease))})


def ensure_queue(db: Database, queue: ContentQueue, *, horizon_seconds: float) -> int:
    """The scheduler's consistency check: a full rebuild when Redis lost its data (no epoch
    marker), else a check of what is due soon."""
    if queue.epoch() is None:
        t0 = time.monotonic()
        n = reconcile_queue(db, queue)
        queue.set_epoch(uuid.uuid4().hex)
        log.info("content queue rebuilt from SQL: %d deliveries in %.3f s", n, time.monotonic() - t0)
        return n
    return reconcile_queue(db, queue, horizon_seconds=horizon_seconds)


__all__ = [
    "build_payloads",
    "ensure_queue",
    "from_epoch",
    "language_for",
    "photo_bytes",  # the store's, for the engine (herald.store.queueing)
    "reconcile_queue",
    "stage_deliveries",
    "text_for",
    "to_epoch",
]
