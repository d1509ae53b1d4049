"""The parts of a delivery that goes out in several (a thread, or a post and its first comment):
written with the delivery at queue time, then each part's progress, compare-and-set on the
worker's claim.

A part's two writes, each committed on its own by the caller:

- ``mark_sent`` before its platform call: from then on the part may be out;
- ``mark_part_published`` once the platform confirmed it (or a look-up found it).

Both hold only while the delivery is still ``publishing`` under the caller's attempt token, so a
worker whose lease was taken over writes nothing and learns it from the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, insert, select, update
from sqlalchemy.orm import Session

from herald.store import states
from herald.store.models import Delivery, DeliveryPart, utcnow


@dataclass(frozen=True)
class NewPart:
    delivery_id: int
    position: int
    text: str


@dataclass(frozen=True)
class PartState:
    """What is known of one part: out (``remote_id``), maybe out (``sent_at`` alone), or not."""

    position: int
    text: str
    remote_id: str | None
    remote_url: str | None
    remote_cid: str | None
    sent_at: datetime | None
    published_at: datetime | None

    @property
    def out(self) -> bool:
        return self.remote_id is not None

    @property
    def maybe_out(self) -> bool:
        """A call for this part began and no answer was recorded: look before sending again."""
        return self.remote_id is None and self.sent_at is not None


def add_parts(s: Session, parts: Sequence[NewPart]) -> None:
    """Insert the parts of freshly written deliveries, one multi-row INSERT."""
    if parts:
        s.execute(
            insert(DeliveryPart),
            [{"delivery_id": p.delivery_id, "position": p.position, "text": p.text} for p in parts],
        )


def parts_of(s: Session, delivery_ids: Sequence[int]) -> dict[int, list[PartState]]:
    """Each delivery's parts in order; deliveries without parts are absent."""
    if not delivery_ids:
        return {}
    rows = s.execute(
        select(DeliveryPart)
        .where(DeliveryPart.delivery_id.in_(list(delivery_ids)))
        .order_by(DeliveryPart.delivery_id, DeliveryPart.position)
    ).scalars()
    out: dict[int, list[PartState]] = {}
    for r in rows:
        out.setdefault(r.delivery_id, []).append(
            PartState(r.position, r.text, r.remote_id, r.remote_url, r.remote_cid, r.sent_at, r.published_at)
        )
    return out


def _still_ours(delivery_id: int, token: str):  # type: ignore[no-untyped-def]  # a SQL expression
    return exists().where(
        Delivery.id == delivery_id,
        Delivery.attempt_token == token,
        Delivery.state == states.PUBLISHING,
    )


def mark_sent(
    s: Session, delivery_id: int, token: str, position: int, *, now: datetime | None = None
) -> bool:
    """Part ``position`` is about to be sent. False if the claim is no longer ours (then nothing
    may be sent) or the part is already out."""
    result = s.execute(
        update(DeliveryPart)
        .where(
            DeliveryPart.delivery_id == delivery_id,
            DeliveryPart.position == position,
            DeliveryPart.remote_id.is_(None),
            _still_ours(delivery_id, token),
        )
        .values(sent_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of an UPDATE


def mark_part_published(
    s: Session,
    delivery_id: int,
    token: str,
    position: int,
    *,
    remote_id: str,
    url: str,
    cid: str | None,
    now: datetime | None = None,
) -> bool:
    """Part ``position`` is out as ``remote_id``. False if the claim is no longer ours."""
    result = s.execute(
        update(DeliveryPart)
        .where(
            DeliveryPart.delivery_id == delivery_id,
            DeliveryPart.position == position,
            _still_ours(delivery_id, token),
        )
        .values(remote_id=remote_id, remote_url=url, remote_cid=cid, published_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of an UPDATE
