"""Posts: writing a batch of new posts (posts, per-channel texts and deliveries, one multi-row
INSERT each), whether a post exists, and the list of posts with their deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from herald.store import states
from herald.store.models import Campaign, Delivery, Post, PostVariant, table_of
from herald.store.scope import EVERYTHING, Reach

# Built once, on Core tables (why: ``models.table_of``).
_INSERT_POSTS = insert(table_of(Post))
_INSERT_VARIANTS = insert(table_of(PostVariant))
_INSERT_DELIVERIES = insert(table_of(Delivery)).returning(
    table_of(Delivery).c.id, sort_by_parameter_order=True
)


@dataclass(frozen=True)
class NewPost:
    id: str
    campaign_id: int | None
    text: str
    language: str | None
    #: When it should go out, naive UTC.
    scheduled_at: datetime
    created_by: str | None
    #: "approved", or "pending" (its deliveries wait as ``scheduled`` for a manager).
    approval: str = "approved"
    #: An occurrence of a recurring post: its series' id, rule text and place (from 1).
    series_id: str | None = None
    recurrence: str | None = None
    occurrence: int | None = None
    #: Asked to go out as a thread, and its first comment (kept so an edit splits it again).
    thread: bool = False
    first_comment: str | None = None


@dataclass(frozen=True)
class NewVariant:
    """The text of ``post_id`` for one channel, when it differs from the post's own, and its
    language, when that differs from the post's (a channel with only its own language keeps
    the post's text here)."""

    post_id: str
    channel_id: int
    text: str
    language: str | None = None


@dataclass(frozen=True)
class NewDelivery:
    post_id: str
    channel_id: int
    due_at: datetime
    #: The platform-side de-duplication key, the same for every try.
    idempotency_key: str


def add_posts(
    s: Session,
    posts: Sequence[NewPost],
    variants: Sequence[NewVariant],
    deliveries: Sequence[NewDelivery],
    *,
    now: datetime,
) -> list[int]:
    """Insert posts (version 1), their per-channel texts and their deliveries (``queued``, or
    ``scheduled`` for a post pending approval), one multi-row INSERT each, in the caller's
    transaction. Returns the delivery ids, in the order of ``deliveries``."""
    if not posts:
        return []
    s.execute(
        _INSERT_POSTS,
        [
            {
                "id": p.id,
                "campaign_id": p.campaign_id,
                "text": p.text,
                "language": p.language,
                "scheduled_at": p.scheduled_at,
                "created_by": p.created_by,
                "approval": p.approval,
                "series_id": p.series_id,
                "recurrence": p.recurrence,
                "occurrence": p.occurrence,
                "thread": p.thread,
                "first_comment": p.first_comment,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            for p in posts
        ],
    )
    if variants:
        s.execute(
            _INSERT_VARIANTS,
            [
                {"post_id": v.post_id, "channel_id": v.channel_id, "text": v.text, "language": v.language}
                for v in variants
            ],
        )
    if not deliveries:
        return []
    pending = {p.id for p in posts if p.approval != "approved"}
    ids = s.execute(
        _INSERT_DELIVERIES,
        [
            {
                "post_id": d.post_id,
                "channel_id": d.channel_id,
                "state": states.SCHEDULED if d.post_id in pending else states.QUEUED,
                "due_at": d.due_at,
                "idempotency_key": d.idempotency_key,
                "updated_at": now,
            }
            for d in deliveries
        ],
    ).scalars()
    return [int(i) for i in ids]


def post_exists(s: Session, post_id: str) -> bool:
    return s.get(Post, post_id) is not None


def post_campaign(s: Session, post_id: str) -> tuple[bool, int | None]:
    """(whether the post exists, its campaign id)."""
    row = s.execute(select(Post.campaign_id).where(Post.id == post_id)).first()
    return (row is not None, None if row is None else row[0])


def posts_listed(
    s: Session,
    *,
    campaign: str | None,
    limit: int,
    reach: Reach = EVERYTHING,
    approval: str | None = None,
    post_id: str | None = None,
) -> list[Post]:
    """The latest-scheduled ``limit`` posts (of ``campaign`` if given, in ``approval`` if
    given, the one ``post_id`` if given) within ``reach``, newest first, each with its
    deliveries and their channels, its photos, its campaign and its variants loaded."""
    q = (
        select(Post)
        .options(
            selectinload(Post.deliveries).selectinload(Delivery.channel),
            selectinload(Post.photos),
            selectinload(Post.campaign),
            selectinload(Post.variants),
        )
        .order_by(Post.scheduled_at.desc())
        .limit(limit)
    )
    if campaign:
        q = q.join(Campaign).where(Campaign.name == campaign)
    if approval:
        q = q.where(Post.approval == approval)
    if post_id is not None:
        q = q.where(Post.id == post_id)
    if (clause := reach.where()) is not None:
        q = q.where(clause)
    return list(s.execute(q).scalars())
