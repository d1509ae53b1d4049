"""Keyset pages of the long lists (posts here; the delivery log's in ``store.log``), and one
post loaded as a page loads it.

A page continues strictly after the last row of the page before it, in the list's own total
order (the scheduled time, then an id as a tie-break, both newest first). Posts queued or
cancelled between two pages therefore never shift a page: no row is shown twice or skipped,
as they would be with OFFSET, and a deep page costs what the first one does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql import Select

from herald.store.log import DeliveryKey
from herald.store.models import Campaign, Delivery, Post
from herald.store.scope import EVERYTHING, Reach


@dataclass(frozen=True)
class PostKey:
    """Where a page of posts ended: its last post's scheduled time (naive UTC) and id."""

    scheduled_at: datetime
    post_id: str


@dataclass(frozen=True)
class PostFilters:
    """Each filter given narrows the list; None leaves it open."""

    campaign: str | None = None
    #: "approved", "pending" or "returned".
    approval: str | None = None
    #: What the person asking may see.
    reach: Reach = EVERYTHING


def _with_relations(q: Select[Post]) -> Select[Post]:
    """What a post is shown with: its deliveries and their channels, its photos, its campaign,
    its channels' own texts and languages."""
    return q.options(
        selectinload(Post.deliveries).selectinload(Delivery.channel),
        selectinload(Post.photos),
        selectinload(Post.campaign),
        selectinload(Post.variants),
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


def posts_shown(s: Session, post_ids: list[str]) -> dict[str, Post]:
    """Posts by id, each loaded as ``posts_page`` loads it (ids with no post are absent)."""
    if not post_ids:
        return {}
    return {p.id: p for p in s.execute(_with_relations(select(Post).where(Post.id.in_(post_ids)))).scalars()}


__all__ = ["DeliveryKey", "PostFilters", "PostKey", "post_shown", "posts_page", "posts_shown"]
