"""Keyset pages of the long lists (posts, and the delivery log), and one post loaded as a page
loads it.

A page continues strictly after the last row of the page before it, in the list's own total
order (the scheduled time, then an id as a tie-break, both newest first). Posts queued or
cancelled between two pages therefore never shift a page: no row is shown twice or skipped,
as they would be with OFFSET, and a deep page costs what the first one does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql import Select

from herald.store.log import LogFilters, LogRow
from herald.store.models import Campaign, Channel, Delivery, Post, PostVariant
from herald.store.parts import parts_of
from herald.store.scope import EVERYTHING, Reach


@dataclass(frozen=True)
class PostKey:
    """Where a page of posts ended: its last post's scheduled time (naive UTC) and id."""

    scheduled_at: datetime
    post_id: str


@dataclass(frozen=True)
class DeliveryKey:
    """Where a page of the delivery log ended: its last row's post's scheduled time (naive
    UTC) and the delivery's id."""

    scheduled_at: datetime
    delivery_id: int


@dataclass(frozen=True)
class PostFilters:
    """Each filter given narrows the list; None leaves it open."""

    campaign: str | None = None
    #: "approved", "pending" or "returned".
    approval: str | None = None
    #: What the person asking may see.
    reach: Reach = EVERYTHING


def _with_relations(q: Select[Post]) -> Select[Post]:
    """What a post is shown with: its deliveries and their channels, its photos, its campaign."""
    return q.options(
        selectinload(Post.deliveries).selectinload(Delivery.channel),
        selectinload(Post.photos),
        selectinload(Post.campaign),
    )


def posts_page(s: Session, filters: PostFilters, *, after: PostKey | None, limit: int) -> list[Post]:
    """At most ``limit`` posts matching ``filters`` that come after ``after`` (from the start
    when None), newest scheduled first, then by id (highest first); each with its deliveries
    and their channels, its photos and its campaign loaded."""
    q = _with_relations(select(Post)).order_by(Post.scheduled_at.desc(), Post.id.desc()).limit(limit)
    if filters.campaign:
        q = q.join(Campaign, Post.campaign_id == Campaign.id).where(Campaign.name == filters.campaign)
    if filters.approval:
        q = q.where(Post.approval == filters.approval)
    if (clause := filters.reach.where()) is not None:
        q = q.where(clause)
    if after is not None:
        q = q.where(tuple_(Post.scheduled_at, Post.id) < tuple_(after.scheduled_at, after.post_id))
    return list(s.execute(q).scalars())


def post_shown(s: Session, post_id: str) -> Post | None:
    """One post loaded as ``posts_page`` loads it, or None if there is no such post."""
    return s.execute(_with_relations(select(Post).where(Post.id == post_id))).scalar_one_or_none()


def log_page(
    s: Session, filters: LogFilters, *, platform: str | None, after: DeliveryKey | None, limit: int
) -> list[LogRow]:
    """At most ``limit`` deliveries matching ``filters`` (and on ``platform`` if given) that
    come after ``after``, by their post's scheduled time (newest first), then by delivery id
    (highest first), each with the text its channel gets."""
    # The channel's own text if the post has one for it, else the post's: one join, no second read.
    text = func.coalesce(PostVariant.text, Post.text)
    q = (
        select(Delivery, Post, Channel, Campaign.name, text)
        .join(Post, Delivery.post_id == Post.id)
        .join(Channel, Delivery.channel_id == Channel.id)
        .outerjoin(Campaign, Post.campaign_id == Campaign.id)
        .outerjoin(
            PostVariant,
            and_(PostVariant.post_id == Delivery.post_id, PostVariant.channel_id == Delivery.channel_id),
        )
        .order_by(Post.scheduled_at.desc(), Delivery.id.desc())
        .limit(limit)
    )
    wanted = (
        (Campaign.name, filters.campaign),
        (Channel.name, filters.channel),
        (Channel.platform, platform),
        (Delivery.state, filters.status),
        (Delivery.post_id, filters.post_id),
    )
    for column, value in wanted:
        if value:
            q = q.where(column == value)
    if (clause := filters.reach.where()) is not None:
        q = q.where(clause)
    if after is not None:
        q = q.where(tuple_(Post.scheduled_at, Delivery.id) < tuple_(after.scheduled_at, after.delivery_id))
    rows = s.execute(q).all()
    parts = parts_of(s, [r[0].id for r in rows])
    return [LogRow(d, p, ch, camp, body, parts.get(d.id, [])) for d, p, ch, camp, body in rows]
