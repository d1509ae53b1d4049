"""Delivery counts for the success statistics.

Counted without counting: triggers (migration 0016) append +1/-1 per (campaign, channel, state)
to ``delivery_count_changes`` as deliveries come, move and go, and ``fold_counts`` adds those
into ``delivery_counts`` now and then (the scheduler, every consistency check). A read takes the
counts plus what is not folded yet, so it is exact at any moment and costs the number of
(campaign, channel, state) combinations, not the number of deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text, union_all
from sqlalchemy.orm import Session

from herald.store.charts import Window
from herald.store.models import Campaign, Channel, Delivery, DeliveryCount, DeliveryCountChange, Post
from herald.store.scope import EVERYTHING, Reach

#: ``campaign_key`` of posts of no campaign (campaign ids start at 1).
NO_CAMPAIGN = 0


@dataclass(frozen=True)
class KeyCount:
    """How many deliveries of campaign ``campaign_key`` (``NO_CAMPAIGN``: none) on channel
    ``channel_id`` are in ``state``."""

    campaign_key: int
    channel_id: int
    state: str
    n: int


def _counted(s: Session) -> Any:  # Any: a SQLAlchemy subquery
    """(campaign_key, channel_id, state, n) rows that add up to the counts: the folded ones,
    and the changes not folded yet when there are any (a union only then)."""
    folded = select(
        DeliveryCount.campaign_key, DeliveryCount.channel_id, DeliveryCount.state, DeliveryCount.n
    )
    if not has_count_changes(s):
        return folded.subquery()
    changes = select(
        DeliveryCountChange.campaign_key,
        DeliveryCountChange.channel_id,
        DeliveryCountChange.state,
        DeliveryCountChange.delta,
    )
    return union_all(folded, changes).subquery()


def key_counts(s: Session) -> list[KeyCount]:
    """Deliveries by (campaign key, channel, state), exact as of this read: the folded counts
    plus the changes not folded yet. Combinations with none are absent."""
    parts = _counted(s)
    total = func.sum(parts.c.n)
    q = (
        select(parts.c.campaign_key, parts.c.channel_id, parts.c.state, total)
        .group_by(parts.c.campaign_key, parts.c.channel_id, parts.c.state)
        .having(total != 0)
    )
    return [KeyCount(int(k), int(ch), str(st), int(n)) for k, ch, st, n in s.execute(q).all()]


#: Folding, per database: the changes are deleted and added in one statement on PostgreSQL, so
#: two folds at once (two schedulers) never add a change twice, nor one committed meanwhile
#: that the addition did not see; SQLite has one writer at a time, so two statements suffice.
_FOLD_PG = """
WITH moved AS (
    DELETE FROM delivery_count_changes WHERE id <= :upto
    RETURNING campaign_key, channel_id, state, delta
)
INSERT INTO delivery_counts (campaign_key, channel_id, state, n)
SELECT campaign_key, channel_id, state, sum(delta) FROM moved GROUP BY 1, 2, 3
ON CONFLICT (campaign_key, channel_id, state) DO UPDATE SET n = delivery_counts.n + excluded.n
"""
_FOLD_SQLITE = (
    """
INSERT INTO delivery_counts (campaign_key, channel_id, state, n)
SELECT campaign_key, channel_id, state, sum(delta) FROM delivery_count_changes WHERE id <= :upto
GROUP BY 1, 2, 3
ON CONFLICT (campaign_key, channel_id, state) DO UPDATE SET n = delivery_counts.n + excluded.n
""",
    "DELETE FROM delivery_count_changes WHERE id <= :upto",
)


def has_count_changes(s: Session) -> bool:
    """Whether any change waits to be folded."""
    return s.scalar(select(DeliveryCountChange.id).limit(1)) is not None


def fold_counts(s: Session) -> int:
    """Add the changes appended so far into the counts (in the caller's transaction). Returns
    about how many changes were folded (ids are not dense)."""
    bounds = s.execute(select(func.min(DeliveryCountChange.id), func.max(DeliveryCountChange.id))).one()
    if bounds[1] is None:
        return 0
    params = {"upto": int(bounds[1])}
    if s.get_bind().dialect.name == "sqlite":
        for statement in _FOLD_SQLITE:
            s.execute(text(statement), params)
    else:
        s.execute(text(_FOLD_PG), params)
    return int(bounds[1]) - int(bounds[0]) + 1


@dataclass(frozen=True)
class StateCount:
    """How many deliveries of ``campaign`` (None: posts without one) on ``platform`` are in
    ``state``."""

    campaign: str | None
    platform: str
    state: str
    count: int


def state_counts(s: Session, reach: Reach = EVERYTHING, *, window: Window | None = None) -> list[StateCount]:
    """Deliveries counted by campaign, platform and state (combinations with none are absent),
    within ``reach`` (and of posts scheduled in ``window``, if given: the charts' rates).
    Without a window, from the counts (``key_counts``); a window counts its deliveries."""
    if window is None:
        return _from_key_counts(s, reach)
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
    if window is not None:
        q = q.where(*window.where())
    rows = s.execute(q).all()
    return [StateCount(camp, str(platform), str(state), int(n)) for camp, platform, state, n in rows]


def _from_key_counts(s: Session, reach: Reach) -> list[StateCount]:
    """``state_counts`` without a window: the counts summed per campaign, platform and state in
    SQL (a few hundred rows, whatever the number of deliveries), then named."""
    parts = _counted(s)
    total = func.sum(parts.c.n)
    q = (
        select(parts.c.campaign_key, Channel.platform, parts.c.state, total)
        .join(Channel, Channel.id == parts.c.channel_id)
        .group_by(parts.c.campaign_key, Channel.platform, parts.c.state)
        .having(total != 0)
    )
    rows = [r for r in s.execute(q).all() if reach.covers(int(r[0]) or None)]
    if not rows:
        return []
    names = {int(i): str(n) for i, n in s.execute(select(Campaign.id, Campaign.name)).all()}
    return [StateCount(names.get(int(k)), str(p), str(st), int(n)) for k, p, st, n in rows]
