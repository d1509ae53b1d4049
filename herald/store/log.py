"""The delivery log: one row per (post, channel), newest scheduled first, with the text that
channel gets (its own variant, else the post's)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from herald.store.models import Campaign, Channel, Delivery, Post, PostVariant
from herald.store.parts import PartState, parts_of
from herald.store.scope import EVERYTHING, Reach


@dataclass(frozen=True)
class LogFilters:
    """Each filter given narrows the log; None leaves it open."""

    campaign: str | None = None
    channel: str | None = None
    status: str | None = None
    post_id: str | None = None
    #: What the person asking may see.
    reach: Reach = EVERYTHING


@dataclass(frozen=True)
class LogRow:
    delivery: Delivery
    post: Post
    channel: Channel
    campaign: str | None
    #: What this channel gets: its variant's text, else the post's.
    text: str
    #: A thread's parts (or a post and its first comment), in order; empty for a single post.
    parts: list[PartState] = field(default_factory=list)


def deliveries_for_log(s: Session, filters: LogFilters, limit: int) -> list[LogRow]:
    """At most ``limit`` deliveries matching ``filters``, ordered by their post's scheduled
    time (newest first), then by delivery id."""
    q = (
        select(Delivery, Post, Channel, Campaign.name)
        .join(Post, Delivery.post_id == Post.id)
        .join(Channel, Delivery.channel_id == Channel.id)
        .outerjoin(Campaign, Post.campaign_id == Campaign.id)
        .order_by(Post.scheduled_at.desc(), Delivery.id)
        .limit(limit)
    )
    if filters.campaign:
        q = q.where(Campaign.name == filters.campaign)
    if filters.channel:
        q = q.where(Channel.name == filters.channel)
    if filters.status:
        q = q.where(Delivery.state == filters.status)
    if filters.post_id:
        q = q.where(Delivery.post_id == filters.post_id)
    if (clause := filters.reach.where()) is not None:
        q = q.where(clause)
    rows = s.execute(q).all()
    variants = {
        (v.post_id, v.channel_id): v.text
        for v in s.execute(
            select(PostVariant).where(PostVariant.post_id.in_({r[1].id for r in rows}))
        ).scalars()
    }
    parts = parts_of(s, [r[0].id for r in rows])
    return [
        LogRow(d, p, ch, camp, variants.get((p.id, ch.id), p.text), parts.get(d.id, []))
        for d, p, ch, camp in rows
    ]
