"""Delivery counts for the success statistics."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from herald.store.models import Campaign, Channel, Delivery, Post
from herald.store.scope import EVERYTHING, Reach


@dataclass(frozen=True)
class StateCount:
    """How many deliveries of ``campaign`` (None: posts without one) on ``platform`` are in
    ``state``."""

    campaign: str | None
    platform: str
    state: str
    count: int


def state_counts(s: Session, reach: Reach = EVERYTHING) -> list[StateCount]:
    """Deliveries counted by campaign, platform and state (combinations with none are absent),
    within ``reach``."""
    q = (
        select(Campaign.name, Channel.platform, Delivery.state, func.count())
        .select_from(Delivery)
        .join(Post, Delivery.post_id == Post.id)
        .join(Channel, Delivery.channel_id == Channel.id)
        .outerjoin(Campaign, Post.campaign_id == Campaign.id)
        .group_by(Campaign.name, Channel.platform, Delivery.state)
    )
    if (clause := reach.where()) is not None:
        q = q.where(clause)
    rows = s.execute(q).all()
    return [StateCount(camp, str(platform), str(state), int(n)) for camp, platform, state, n in rows]
