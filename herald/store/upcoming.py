"""What goes out next: the posts with a delivery still to go out, the next due first, a keyset
page at a time.

A post's place is the earliest due time among its deliveries that may still go out (scheduled,
queued or held): the moment something of it is next expected on a platform. A held delivery
keeps the due time it missed, so what waits for a person comes first. Only the deliveries still
to go out are grouped (``ix_deliveries_state_due`` finds them), never the whole log, and a page
continues strictly after the last (due time, post id) of the one before, as the other keyset
pages do (``store.pages``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from herald.store import states
from herald.store.models import Campaign, Delivery, Post
from herald.store.pages import posts_shown
from herald.store.scope import EVERYTHING, Reach


@dataclass(frozen=True)
class UpcomingKey:
    """Where a page of upcoming posts ended: its last post's next due time (naive UTC) and id."""

    due_at: datetime
    post_id: str


@dataclass(frozen=True)
class UpcomingRow:
    post: Post
    #: The earliest due time of its deliveries still to go out (naive UTC).
    next_due: datetime


def upcoming_posts(
    s: Session,
    *,
    reach: Reach = EVERYTHING,
    campaign: str | None = None,
    after: UpcomingKey | None = None,
    limit: int,
) -> list[UpcomingRow]:
    """At most ``limit`` posts with a delivery still to go out (of ``campaign`` if given,
    within ``reach``), the next due first (then by post id), after ``after``; each loaded with
    its deliveries, channels, photos and campaign."""
    next_due = func.min(Delivery.due_at)
    q = (
        select(Delivery.post_id, next_due)
        .where(Delivery.state.in_(states.PENDING))
        .group_by(Delivery.post_id)
        .order_by(next_due, Delivery.post_id)
        .limit(limit)
    )
    clause = reach.where()
    if clause is not None or campaign:
        q = q.join(Post, Delivery.post_id == Post.id)
    if clause is not None:
        q = q.where(clause)
    if campaign:
        q = q.join(Campaign, Post.campaign_id == Campaign.id).where(Campaign.name == campaign)
    if after is not None:
        q = q.having(tuple_(next_due, Delivery.post_id) > tuple_(after.due_at, after.post_id))
    found = [(str(post_id), due) for post_id, due in s.execute(q).all()]
    posts = posts_shown(s, [post_id for post_id, _ in found])
    return [UpcomingRow(posts[post_id], due) for post_id, due in found if post_id in posts]
