"""Moving queued deliveries in time, by a person's decision or a campaign's rule: publish a
post now, move what a new blackout window covers to its end (or hold it), and move what a
resume puts back to new slots. Each write is a compare-and-set on ``queued`` (a worker that
claimed the delivery meanwhile wins, and its own last check applies the rule); callers commit
and then stage the ids in Redis."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, bindparam, select, update
from sqlalchemy.orm import Session

from herald.store import states
from herald.store.models import Channel, Delivery, Post, utcnow


@dataclass(frozen=True)
class Queued:
    """A queued delivery, as a reschedule needs it."""

    id: int
    post_id: str
    channel: str
    campaign_id: int | None
    due_at: datetime


def queued_in_campaign(s: Session, campaign_id: int, *, before: datetime) -> list[Queued]:
    """The campaign's queued deliveries due before ``before``, in the order they are due."""
    return _queued(s, Post.campaign_id == campaign_id, Delivery.due_at < before)


def queued_by_id(s: Session, ids: Sequence[int]) -> list[Queued]:
    """Those of ``ids`` still queued, in the order they are due."""
    if not ids:
        return []
    return _queued(s, Delivery.id.in_(list(ids)))


def _queued(s: Session, *where: ColumnElement[bool]) -> list[Queued]:
    rows = s.execute(
        select(Delivery.id, Delivery.post_id, Channel.name, Post.campaign_id, Delivery.due_at)
        .join(Post, Post.id == Delivery.post_id)
        .join(Channel, Channel.id == Delivery.channel_id)
        .where(Delivery.state == states.QUEUED, *where)
        .order_by(Delivery.due_at, Delivery.id)
    ).all()
    return [Queued(int(i), str(p), str(n), c, d) for i, p, n, c, d in rows]


def move(s: Session, moves: Mapping[int, datetime], *, now: datetime | None = None) -> None:
    """Each of ``moves``' deliveries, if still queued, becomes due at its new time."""
    if not moves:
        return
    now = now or utcnow()
    # A Core UPDATE run once per row (executemany): the ORM's bulk update by primary key would
    # drop the state check that keeps a claim's row alone.
    t = cast(Table, Delivery.__table__)
    s.execute(
        update(t)
        .where(t.c.id == bindparam("b_id"), t.c.state == states.QUEUED)
        .values(due_at=bindparam("b_due"), updated_at=now),
        [{"b_id": i, "b_due": due} for i, due in moves.items()],
    )


def hold(s: Session, reasons: Mapping[int, str], *, now: datetime | None = None) -> set[int]:
    """queued → held for a person, each of ``reasons``' deliveries with its reason. Returns
    the ids held."""
    now = now or utcnow()
    held: set[int] = set()
    by_reason: dict[str, list[int]] = {}
    for i, why in reasons.items():
        by_reason.setdefault(why, []).append(i)
    for why, ids in by_reason.items():
        rows = s.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.state == states.QUEUED)
            .values(state=states.HELD, last_error=why, updated_at=now)
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        ).scalars()
        held.update(int(i) for i in rows)
    return held


def due_now(s: Session, post_id: str, *, now: datetime | None = None) -> list[int]:
    """A person's "publish now": the post's queued deliveries become due now (the missed-window
    clock restarts, as after a release). Returns their ids."""
    now = now or utcnow()
    ids = s.execute(
        update(Delivery)
        .where(Delivery.post_id == post_id, Delivery.state == states.QUEUED)
        .values(due_at=now, released_at=now, updated_at=now)
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    ).scalars()
    return sorted(int(i) for i in ids)


def post_standing(s: Session, post_id: str) -> tuple[str, dict[str, str]]:
    """A post's approval and the state of its delivery on each channel (by name)."""
    approval = s.execute(select(Post.approval).where(Post.id == post_id)).scalar_one()
    rows = s.execute(
        select(Channel.name, Delivery.state)
        .join(Delivery, Delivery.channel_id == Channel.id)
        .where(Delivery.post_id == post_id)
        .order_by(Channel.name)
    ).all()
    return str(approval), {str(n): str(st) for n, st in rows}
