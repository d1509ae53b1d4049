"""A channel's queue: what is still to go out on it, and posts trading places in it (reorder,
shuffle, ``scheduler.slots``) with compare-and-set on each delivery's state and time.

Moving a delivery sets its ``due_at`` and restarts its missed-window clock there
(``released_at``: a person chose that time). The post's ``scheduled_at`` stays the earliest
time of its deliveries that still hold a place; where that makes it earlier, the other
deliveries of the post keep their window (``released_at`` no earlier than the post's old time),
so a move on one channel never holds the post on another as late.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from herald.store import states
from herald.store.models import Campaign, Delivery, Post

#: States of a delivery that still has to go out, shown in a channel's queue.
SHOWN = (states.SCHEDULED, states.QUEUED, states.HELD, states.PUBLISHING)
#: States of a delivery that no longer holds its time (as ``channels.taken_times``).
_GONE = (states.CANCELLED, states.FAILED, states.DELETED, states.DELETING)
#: States whose payload window matters still (they may yet be staged and claimed).
_OPEN = (states.SCHEDULED, states.QUEUED, states.HELD, states.PUBLISHING)
#: Ids per lookup in ``lanes`` (under every database's limit on bound parameters).
_LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class QueueRow:
    delivery_id: int
    post_id: str
    campaign_id: int | None
    campaign: str | None
    #: Whether the post's campaign has its posts approved (moving one is then a manager's call).
    requires_approval: bool
    state: str
    #: Naive UTC.
    due_at: datetime
    #: Held by an emergency stop (not only by a missed window).
    paused: bool
    text: str


def channel_queue(s: Session, channel_id: int, since: datetime, *, lock: bool = False) -> list[QueueRow]:
    """The channel's deliveries due at or after ``since`` that have still to go out, by time.
    ``lock``: also lock its queued rows until the transaction ends (PostgreSQL ``FOR UPDATE``;
    a SQLite write transaction holds the whole file already), so a worker's claim waits, then
    sees the new time."""
    q = (
        select(
            Delivery.id,
            Delivery.post_id,
            Post.campaign_id,
            Campaign.name,
            Campaign.requires_approval,
            Delivery.state,
            Delivery.due_at,
            Delivery.paused_at,
            Post.text,
        )
        .join(Post, Post.id == Delivery.post_id)
        .outerjoin(Campaign, Campaign.id == Post.campaign_id)
        .where(Delivery.channel_id == channel_id, Delivery.due_at >= since, Delivery.state.in_(SHOWN))
        .order_by(Delivery.due_at, Delivery.id)
    )
    if lock:
        q = q.with_for_update(of=Delivery)
    return [
        QueueRow(int(i), str(p), c, name, bool(appr), str(st), due, paused is not None, str(text))
        for i, p, c, name, appr, st, due, paused, text in s.execute(q).all()
    ]


def move_queued(
    s: Session,
    moves: Mapping[int, tuple[datetime, datetime]],
    *,
    now: datetime,
    from_states: Collection[str] = (states.QUEUED,),
) -> list[int]:
    """For each delivery id → (its time as read, its new time): compare-and-set, still queued
    (or in one of ``from_states``: a post waiting for approval moves too, on the calendar) at
    the time read → the new time, its missed-window clock restarted there. Returns the ids
    moved; one claimed, cancelled, held or moved meanwhile is not."""
    moved = []
    for delivery_id, (was, to) in moves.items():
        res = s.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.state.in_(list(from_states)), Delivery.due_at == was)
            .values(due_at=to, released_at=to, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if res.rowcount:  # type: ignore[attr-defined]  # CursorResult has rowcount
            moved.append(delivery_id)
    return moved


def refresh_post_times(
    s: Session, post_ids: Collection[str], moved: Collection[int], *, now: datetime
) -> None:
    """After deliveries of ``post_ids`` moved: each post's ``scheduled_at`` becomes the earliest
    time of its deliveries that hold a place; where that is earlier than it was, every other
    open delivery of the post keeps its late window (``released_at`` at least the old time)."""
    if not post_ids:
        return
    posts = {
        str(p): old for p, old in s.execute(select(Post.id, Post.scheduled_at).where(Post.id.in_(post_ids)))
    }
    rows = s.execute(
        select(Delivery.id, Delivery.post_id, Delivery.state, Delivery.due_at, Delivery.released_at).where(
            Delivery.post_id.in_(post_ids)
        )
    ).all()
    for post_id, old in posts.items():
        mine = [r for r in rows if r.post_id == post_id]
        held = [r.due_at for r in mine if r.state not in _GONE]
        new = min(held, default=old)
        if new == old:
            continue
        s.execute(
            update(Post)
            .where(Post.id == post_id)
            .values(scheduled_at=new, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if new > old:
            continue  # every window only widens
        for r in mine:
            if r.id in moved or r.state not in _OPEN or (r.released_at is not None and r.released_at >= old):
                continue
            s.execute(
                update(Delivery)
                .where(Delivery.id == r.id)
                .values(released_at=old)
                .execution_options(synchronize_session=False)
            )


def set_own_times(s: Session, times: Mapping[int, datetime]) -> None:
    """Deliveries written with a time of their own, later than their post's (the next free slot
    of each channel): their missed-window clock starts at that time, not the post's."""
    for delivery_id, at in times.items():
        s.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(released_at=at)
            .execution_options(synchronize_session=False)
        )


def lanes(s: Session, delivery_ids: Collection[int]) -> list[tuple[int, ...]]:
    """``delivery_ids`` (a hand-over) by channel, each channel's in its queue's order (due time,
    then the order they were made), the channels in the order of their first delivery; an id
    with no row (gone since it was staged) is a lane of its own, last. See ``scheduler.lanes``."""
    wanted = sorted({int(i) for i in delivery_ids})
    rows: list[tuple[int, int, datetime]] = []
    for k in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[k : k + _LOOKUP_CHUNK]
        rows.extend(
            (r.id, r.channel_id, r.due_at)
            for r in s.execute(
                select(Delivery.id, Delivery.channel_id, Delivery.due_at).where(Delivery.id.in_(chunk))
            )
        )
    rows.sort(key=lambda r: (r[2], r[0]))
    by_channel: dict[int, list[int]] = {}
    for delivery_id, channel_id, _ in rows:
        by_channel.setdefault(channel_id, []).append(delivery_id)
    found = {r[0] for r in rows}
    return [tuple(ids) for ids in by_channel.values()] + [(i,) for i in wanted if i not in found]
