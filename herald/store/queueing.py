"""What the content queue is built from: the rows of the deliveries to stage (with their post,
variants, campaign, photos and channel, in one read), the renditions made for their platforms,
photo bytes by digest, and the deliveries SQL says are pending."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from herald.store import states
from herald.store.models import Delivery, PhotoBlob, PhotoRendition, Post, PostPhoto


def deliveries_to_stage(s: Session, delivery_ids: Sequence[int]) -> list[Delivery]:
    """The deliveries, each with everything its payload is made of loaded."""
    if not delivery_ids:
        return []
    return list(
        s.execute(
            select(Delivery)
            .where(Delivery.id.in_(delivery_ids))
            .options(
                selectinload(Delivery.post).selectinload(Post.variants),
                selectinload(Delivery.post).selectinload(Post.campaign),
                selectinload(Delivery.post).selectinload(Post.photos).selectinload(PostPhoto.blob),
                selectinload(Delivery.channel),
                selectinload(Delivery.parts),
            )
        )
        .scalars()
        .all()
    )


def renditions_of(s: Session, source_shas: set[str]) -> dict[tuple[str, str], PhotoBlob]:
    """(source photo's digest, platform) → the rendition made for that platform."""
    if not source_shas:
        return {}
    return {
        (r.source_sha256, r.platform): r.blob
        for r in s.execute(
            select(PhotoRendition)
            .where(PhotoRendition.source_sha256.in_(source_shas))
            .options(selectinload(PhotoRendition.blob))
        ).scalars()
    }


def photo_bytes(s: Session, shas: Sequence[str]) -> dict[str, bytes]:
    """Photo bytes by digest (digests with no stored bytes are absent)."""
    if not shas:
        return {}
    rows = s.execute(select(PhotoBlob.sha256, PhotoBlob.data).where(PhotoBlob.sha256.in_(shas))).all()
    return {str(sha): bytes(data) for sha, data in rows}


@dataclass(frozen=True)
class Pending:
    """A delivery SQL says is waiting to go out (``queued``) or going out (``publishing``)."""

    delivery_id: int
    state: str
    lease_expires_at: datetime | None


def pending_after(s: Session, *, after_id: int, due_before: datetime | None, limit: int) -> list[Pending]:
    """Pending deliveries with ids above ``after_id`` (due before ``due_before`` if given), in
    id order: keyset pages over the whole table, whatever its size."""
    q = select(Delivery.id, Delivery.state, Delivery.lease_expires_at).where(
        Delivery.state.in_(states.QUEUE_WORK), Delivery.id > after_id
    )
    if due_before is not None:
        q = q.where(Delivery.due_at <= due_before)
    rows = s.execute(q.order_by(Delivery.id).limit(limit)).all()
    return [Pending(int(r[0]), str(r[1]), r[2]) for r in rows]
