"""Photos: content-addressed blobs (a photo stored once, however many posts and platforms use
it), the rendition made of a photo for each platform, a post's photos, and the retention
policy's purge of bytes no open delivery still needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from herald.store import states
from herald.store.models import Delivery, PhotoBlob, PhotoRendition, PostPhoto, utcnow

#: A post with a delivery in one of these states may still need its photos' bytes.
OPEN_STATES = (*states.PENDING, states.PUBLISHING, states.UNCERTAIN, states.DELETING)


def store_blob(s: Session, sha256: str, data: bytes, mime: str, width: int, height: int) -> None:
    """Content-addressed: a blob already stored (another post, another platform) is reused."""
    if s.get(PhotoBlob, sha256) is None:
        s.add(PhotoBlob(sha256=sha256, data=data, mime_type=mime, width=width, height=height, size=len(data)))
        s.flush()


def has_rendition(s: Session, source_sha256: str, platform: str) -> bool:
    return s.get(PhotoRendition, (source_sha256, platform)) is not None


def add_rendition(
    s: Session,
    *,
    source_sha256: str,
    platform: str,
    rules_key: str,
    rendition_sha256: str,
    steps: Sequence[str],
) -> None:
    """Record which blob ``platform`` gets for a source photo (the rendition's blob is stored
    first, with ``store_blob``)."""
    s.add(
        PhotoRendition(
            source_sha256=source_sha256,
            platform=platform,
            rules_key=rules_key,
            rendition_sha256=rendition_sha256,
            steps=list(steps),
        )
    )
    s.flush()


@dataclass(frozen=True)
class NewPostPhoto:
    #: The stored source photo (``store_blob``); each platform gets its rendition of it.
    sha256: str
    alt_text: str
    credit: str | None
    original_name: str
    #: How many faces were blurred or pixelated (None: not asked).
    faces_protected: int | None


def add_post_photos(s: Session, post_id: str, photos: Sequence[NewPostPhoto]) -> list[PostPhoto]:
    """A post's photos, in order (their blobs stored first, with ``store_blob``)."""
    rows = [
        PostPhoto(
            post_id=post_id,
            position=i,
            sha256=p.sha256,
            alt_text=p.alt_text,
            credit=p.credit,
            original_name=p.original_name,
            faces_protected=p.faces_protected,
        )
        for i, p in enumerate(photos)
    ]
    s.add_all(rows)
    if rows:
        s.flush()
    return rows


def has_purged_photos(s: Session, post_id: str) -> bool:
    """Were the bytes of any of the post's photos dropped under the retention policy?"""
    purged = s.execute(
        select(PhotoBlob.sha256)
        .join(PostPhoto, PostPhoto.sha256 == PhotoBlob.sha256)
        .where(PostPhoto.post_id == post_id, PhotoBlob.purged_at.is_not(None))
    ).first()
    return purged is not None


def photos_to_purge(s: Session, cutoff: datetime) -> list[PhotoBlob]:
    """Blobs (photos and renditions) stored before ``cutoff``, not purged yet, that no post
    still needs: no delivery of a post using them is open (``OPEN_STATES``) or changed after
    ``cutoff``."""
    busy_posts = select(Delivery.post_id).where(
        (Delivery.state.in_(OPEN_STATES)) | (Delivery.updated_at > cutoff)
    )
    busy_sources = select(PostPhoto.sha256).where(PostPhoto.post_id.in_(busy_posts))
    busy = set(s.execute(busy_sources).scalars()) | set(
        s.execute(
            select(PhotoRendition.rendition_sha256).where(PhotoRendition.source_sha256.in_(busy_sources))
        ).scalars()
    )
    candidates = s.execute(
        select(PhotoBlob).where(PhotoBlob.purged_at.is_(None), PhotoBlob.created_at < cutoff)
    ).scalars()
    return [blob for blob in candidates if blob.sha256 not in busy]


def purge_photo_bytes(s: Session, cutoff: datetime) -> int:
    """Drop the bytes of ``photos_to_purge``; the rows stay, so the log still says a photo went
    out. Returns how many blobs were purged."""
    blobs = photos_to_purge(s, cutoff)
    for blob in blobs:
        blob.data = b""
        blob.purged_at = utcnow()
    return len(blobs)
