"""Pauses: an emergency stop of one campaign or of the whole installation, and resuming it.

A stop is one transaction: the campaign is marked paused (or, for the installation, every
channel is), every queued delivery in its reach becomes ``held`` with ``paused_at`` set, and
every one being published is marked ``paused_at`` too. From its commit on nothing in its reach
is claimed: a claim needs ``queued`` (or an expired lease on an unpaused row, see
``deliveries.claim_many``), and a try that ends in a retry or a deferral goes to ``held``, not
back to the queue. Posts queued into a paused reach are held as they are written
(``hold_new_if_paused``). Resuming puts exactly the deliveries a pause held back on the queue,
due no earlier than now; what was held for another reason (a missed window) stays held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, DateTime, and_, bindparam, case, exists, func, or_, select, true, update
from sqlalchemy.orm import Session

from herald.store import states
from herald.store.models import Campaign, Channel, Delivery, Post, table_of, utcnow

#: The reason an installation-wide stop gives the channels it pauses (so that resuming unpauses
#: those, and not a channel a platform paused).
STOP_REASON: Final = "emergency stop"


@dataclass(frozen=True)
class Paused:
    #: Deliveries the stop moved from queued to held.
    held: list[int]
    #: Deliveries being published when it committed (claimed before): they finish, and a retry
    #: or deferral of theirs is held.
    in_flight: list[int]


def _reach(campaign_id: int | None) -> ColumnElement[bool]:
    if campaign_id is None:
        return true()
    return Delivery.post_id.in_(select(Post.id).where(Post.campaign_id == campaign_id))


def pause(
    s: Session, *, campaign_id: int | None, reason: str = STOP_REASON, now: datetime | None = None
) -> Paused:
    """Stop ``campaign_id``'s deliveries (None: every delivery, and every channel paused)."""
    now = now or utcnow()
    if campaign_id is None:
        s.execute(
            update(Channel)
            .where(Channel.paused_at.is_(None))
            .values(paused_at=now, pause_reason=STOP_REASON)
            .execution_options(synchronize_session=False)
        )
    else:
        s.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(paused_at=now, pause_reason=reason)
            .execution_options(synchronize_session=False)
        )
    return _hold(s, _reach(campaign_id), reason, now)


def _hold(s: Session, reach: ColumnElement[bool], reason: str, now: datetime) -> Paused:
    """What a pause does to the deliveries in ``reach``: the queued ones held, with
    ``paused_at``, and those being published marked, so that a retry of theirs is held too."""
    held = s.execute(
        update(Delivery)
        .where(reach, Delivery.state == states.QUEUED)
        .values(state=states.HELD, paused_at=now, last_error=f"paused: {reason}", updated_at=now)
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    ).scalars()
    held_ids = [int(i) for i in held]
    flying = s.execute(
        update(Delivery)
        .where(reach, Delivery.state == states.PUBLISHING)
        .values(paused_at=now)
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    ).scalars()
    return Paused(held_ids, [int(i) for i in flying])


def pause_one_channel(s: Session, channel_id: int, *, reason: str, now: datetime | None = None) -> Paused:
    """A person pauses one channel: marked paused with ``reason`` (the worker holds whatever of
    it is claimed from then on, and new posts for it are held when a worker takes them), its
    queued deliveries held at once and those being published marked, as a stop does."""
    now = now or utcnow()
    s.execute(
        update(Channel)
        .where(Channel.id == channel_id)
        .values(paused_at=now, pause_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return _hold(s, Delivery.channel_id == channel_id, reason, now)


def resume(s: Session, *, campaign_id: int | None, now: datetime | None = None) -> list[int]:
    """Undo a pause: the campaign (None: the channels an installation-wide stop paused) is no
    longer paused, and the deliveries a pause held are queued, due no earlier than now. Returns
    their ids."""
    now = now or utcnow()
    if campaign_id is None:
        s.execute(
            update(Channel)
            .where(Channel.pause_reason == STOP_REASON)
            .values(paused_at=None, pause_reason=None)
            .execution_options(synchronize_session=False)
        )
    else:
        s.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(paused_at=None, pause_reason=None)
            .execution_options(synchronize_session=False)
        )
    reach = _reach(campaign_id)
    ids = s.execute(
        update(Delivery)
        .where(reach, Delivery.state == states.HELD, Delivery.paused_at.is_not(None))
        .values(
            state=states.QUEUED,
            due_at=case((Delivery.due_at < now, now), else_=Delivery.due_at),
            paused_at=None,
            last_error=None,
            updated_at=now,
        )
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    ).scalars()
    released = [int(i) for i in ids]
    s.execute(
        update(Delivery)
        .where(reach, Delivery.paused_at.is_not(None), Delivery.state != states.HELD)
        .values(paused_at=None)
        .execution_options(synchronize_session=False)
    )
    # Still under another pause (a campaign resumed while the installation is stopped, or
    # the other way round): held again.
    again = hold_new_if_paused(s, released, now=now)
    return [i for i in released if i not in again]


def _hold_new() -> Any:
    """``hold_new_if_paused``'s statement, built once (the queueing path; why:
    ``models.table_of``)."""
    table = table_of(Delivery)
    d = table.c
    campaign_paused = exists().where(
        Post.id == d.post_id, Post.campaign_id == Campaign.id, Campaign.paused_at.is_not(None)
    )
    channel_stopped = exists().where(Channel.id == d.channel_id, Channel.pause_reason == STOP_REASON)
    now = bindparam("now", type_=DateTime())
    return (
        update(table)
        .where(
            d.id.in_(bindparam("ids", expanding=True)),
            d.state == states.QUEUED,
            or_(campaign_paused, channel_stopped),
        )
        .values(state=states.HELD, paused_at=now, last_error=f"paused: {STOP_REASON}", updated_at=now)
        .returning(d.id)
    )


_HOLD_NEW = _hold_new()


def hold_new_if_paused(s: Session, delivery_ids: Sequence[int], *, now: datetime | None = None) -> set[int]:
    """Hold, as they are written, those of ``delivery_ids`` whose campaign is paused or whose
    channel an installation-wide stop paused. Returns their ids (not to be staged)."""
    if not delivery_ids:
        return set()
    held = s.execute(_HOLD_NEW, {"ids": list(delivery_ids), "now": now or utcnow()}).scalars()
    return {int(i) for i in held}


def pause_of(s: Session, post_id: str) -> str | None:
    """Why a pause holds ``post_id``'s deliveries (its campaign's reason, or the installation's
    stop), or None."""
    reason = s.execute(
        select(Campaign.pause_reason)
        .join(Post, Post.campaign_id == Campaign.id)
        .where(Post.id == post_id, Campaign.paused_at.is_not(None))
    ).scalar_one_or_none()
    if reason is not None:
        return f"its campaign is paused ({reason})"
    stopped = s.execute(
        select(Channel.name)
        .join(Delivery, Delivery.channel_id == Channel.id)
        .where(Delivery.post_id == post_id, Channel.pause_reason == STOP_REASON)
        .limit(1)
    ).scalar_one_or_none()
    return None if stopped is None else f"an emergency stop paused channel {stopped}"


def in_flight(s: Session, ids: Sequence[int]) -> list[int]:
    """Those of ``ids`` still being published."""
    if not ids:
        return []
    rows = s.execute(
        select(Delivery.id).where(and_(Delivery.id.in_(list(ids)), Delivery.state == states.PUBLISHING))
    ).scalars()
    return [int(i) for i in rows]


def published_since(s: Session, *, campaign_id: int | None, since: datetime) -> list[str]:
    """The posts in reach with a delivery published at or after ``since`` (for a takedown)."""
    rows = s.execute(
        select(Delivery.post_id)
        .where(_reach(campaign_id), Delivery.state == states.PUBLISHED, Delivery.published_at >= since)
        .distinct()
    ).scalars()
    return sorted(str(p) for p in rows)


@dataclass(frozen=True)
class PausedNow:
    """A channel or campaign paused now: since when, and the reason its pause gave (which names
    who paused it: "paused by ...", "emergency stop by ...")."""

    kind: str  # "channel" or "campaign"
    name: str
    #: The campaign's id (None for a channel: channels belong to no campaign).
    campaign_id: int | None
    since: datetime
    reason: str | None
    #: Held deliveries waiting on this pause (the campaign's posts, or those on the channel).
    held: int


def paused_now(s: Session) -> list[PausedNow]:
    """Every paused channel and campaign, the longest paused first. A few rows: channels and
    campaigns are short lists; the held counts read only held deliveries."""
    held_on_channel = (
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.channel_id == Channel.id, Delivery.state == states.HELD)
        .scalar_subquery()
    )
    held_in_campaign = (
        select(func.count())
        .select_from(Delivery)
        .join(Post, Delivery.post_id == Post.id)
        .where(Post.campaign_id == Campaign.id, Delivery.state == states.HELD)
        .scalar_subquery()
    )
    channels = s.execute(
        select(Channel.name, Channel.paused_at, Channel.pause_reason, held_on_channel).where(
            Channel.paused_at.is_not(None)
        )
    ).all()
    campaigns = s.execute(
        select(Campaign.id, Campaign.name, Campaign.paused_at, Campaign.pause_reason, held_in_campaign).where(
            Campaign.paused_at.is_not(None)
        )
    ).all()
    rows = [PausedNow("channel", str(name), None, at, reason, int(n)) for name, at, reason, n in channels]
    rows += [
        PausedNow("campaign", str(name), int(cid), at, reason, int(n))
        for cid, name, at, reason, n in campaigns
    ]
    return sorted(rows, key=lambda r: (r.since, r.kind, r.name))
