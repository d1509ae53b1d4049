"""The counts behind the charts: deliveries per time bucket and state, and published deliveries
per lateness bucket, each within a window of scheduled times.

Every query here is bounded by a range of the posts' ``scheduled_at`` (the time the log is
ordered by and the lateness is measured from), so a chart reads one window of the log however
long the log grows, and an index on ``posts.scheduled_at`` serves it. Grouping happens in SQL:
what comes back is a few hundred rows at most, never the deliveries themselves.

Buckets are whole seconds since the epoch divided by the bucket's length, computed by each
database in its own words (SQLite's ``strftime('%s')``, PostgreSQL's ``extract(epoch)``; both
read the naive UTC the store keeps as UTC). Which days the buckets make up is the caller's to
decide (a viewer's time zone is not the database's business).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import BigInteger, Float, Integer, and_, case, cast, func, select
from sqlalchemy.orm import Session

from herald.store.models import Delivery, Post
from herald.store.scope import EVERYTHING, Reach

#: Upper bounds (seconds, exclusive) of the lateness buckets; one more bucket holds the rest.
#: Chosen for how a person reads a delay: on time, a few seconds, under a minute, a couple of
#: minutes, several minutes, and "late".
LATENESS_BOUNDS: Final = (1.0, 5.0, 30.0, 120.0, 600.0)


@dataclass(frozen=True)
class Window:
    """Posts scheduled in ``[start, end)`` (naive UTC) that ``reach`` covers, of one campaign
    when ``campaign_id`` is given."""

    start: datetime
    end: datetime
    reach: Reach = EVERYTHING
    campaign_id: int | None = None

    def where(self) -> list[Any]:  # Any: SQLAlchemy boolean clauses on ``Post``
        clauses: list[Any] = [Post.scheduled_at >= self.start, Post.scheduled_at < self.end]
        if self.campaign_id is not None:
            clauses.append(Post.campaign_id == self.campaign_id)
        if (clause := self.reach.where()) is not None:
            clauses.append(clause)
        return clauses


@dataclass(frozen=True)
class BucketCount:
    """``count`` deliveries in ``state`` whose post is scheduled in the bucket that starts at
    ``start`` (epoch seconds, UTC)."""

    start: int
    state: str
    count: int


def _epoch(s: Session, column: Any) -> Any:  # Any: SQL expressions
    """Whole seconds since the epoch of a naive-UTC ``DateTime`` column, in the session's SQL."""
    if s.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", column), BigInteger)
    return cast(func.floor(func.extract("epoch", column)), BigInteger)


def _seconds_between(s: Session, later: Any, earlier: Any) -> Any:  # Any: SQL expressions
    """``later - earlier`` in seconds (with fractions), in the session's SQL."""
    if s.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return cast(func.extract("epoch", later - earlier), Float)


def counts_by_bucket(s: Session, window: Window, seconds: int) -> list[BucketCount]:
    """Deliveries counted by the ``seconds``-long bucket their post is scheduled in, and by
    state; buckets and states with none are absent."""
    if seconds <= 0:
        raise ValueError("a bucket lasts at least a second")
    # Integer division on both databases (both operands are integers): the bucket's number.
    bucket = (_epoch(s, Post.scheduled_at) // seconds).label("bucket")
    q = (
        select(bucket, Delivery.state, func.count())
        .select_from(Delivery)
        .join(Post, Delivery.post_id == Post.id)
        .where(*window.where())
        .group_by(bucket, Delivery.state)
    )
    return [BucketCount(int(number) * seconds, str(state), int(n)) for number, state, n in s.execute(q).all()]


def lateness_counts(s: Session, window: Window) -> list[int]:
    """Published deliveries (taken down since, too) counted by lateness bucket: publication
    minus the post's scheduled time, the same measure as the log's ``lateness_seconds``. One
    count per bucket of ``LATENESS_BOUNDS`` and one for the rest; early (negative) counts as
    under the first bound."""
    lateness = _seconds_between(s, Delivery.published_at, Post.scheduled_at)
    index = case(
        *((lateness < bound, i) for i, bound in enumerate(LATENESS_BOUNDS)),
        else_=len(LATENESS_BOUNDS),
    )
    bucket = cast(index, Integer).label("bucket")
    q = (
        select(bucket, func.count())
        .select_from(Delivery)
        .join(Post, Delivery.post_id == Post.id)
        .where(and_(*window.where(), Delivery.published_at.is_not(None)))
        .group_by(bucket)
    )
    counts = [0] * (len(LATENESS_BOUNDS) + 1)
    for i, n in s.execute(q).all():
        counts[int(i)] += int(n)
    return counts
