"""Series: the posts of one recurring post (``posts.series_id``), found from one occurrence."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from herald.store.models import Post


@dataclass(frozen=True)
class SeriesPost:
    """One occurrence of a series: its post id, place (from 1) and campaign."""

    post_id: str
    occurrence: int
    campaign_id: int | None


def this_and_following(s: Session, post_id: str) -> list[SeriesPost] | None:
    """The occurrence ``post_id`` and every later one of its series, in order; None when the
    post exists but is no occurrence of a series, [] when there is no such post."""
    row = s.execute(select(Post.series_id, Post.occurrence).where(Post.id == post_id)).first()
    if row is None:
        return []
    series_id, occurrence = row
    if series_id is None or occurrence is None:
        return None
    rows = s.execute(
        select(Post.id, Post.occurrence, Post.campaign_id)
        .where(Post.series_id == series_id, Post.occurrence >= occurrence)
        .order_by(Post.occurrence)
    ).all()
    return [SeriesPost(pid, n or 0, cid) for pid, n, cid in rows]  # (n is set: >= occurrence)
