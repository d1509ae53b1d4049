"""Channels: look-ups by name, the list, and the few writes a person makes (add one, point it at
another API root, unpause it). A platform pausing a channel is ``deliveries.pause_channel``."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from herald.store import states
from herald.store.models import Channel, Delivery


def channel_by_name(s: Session, name: str) -> Channel | None:
    return s.execute(select(Channel).where(Channel.name == name)).scalar_one_or_none()


def channel_id_by_name(s: Session, name: str) -> int | None:
    cid = s.execute(select(Channel.id).where(Channel.name == name)).scalar_one_or_none()
    return None if cid is None else int(cid)


def channels_listed(s: Session) -> list[Channel]:
    """Every channel, by name."""
    return list(s.execute(select(Channel).order_by(Channel.name)).scalars())


#: Built once (queueing reads a post's channels; why: ``models.table_of``).
_NAMED = select(Channel).where(Channel.name.in_(bindparam("names", expanding=True)))


def channels_named(s: Session, names: Collection[str]) -> dict[str, Channel]:
    """The channels among ``names`` that exist, by name (unknown names are absent)."""
    return {c.name: c for c in s.execute(_NAMED, {"names": list(names)}).scalars()}


def channel_names(s: Session) -> list[str]:
    """Every channel's name, sorted."""
    return sorted(s.execute(select(Channel.name)).scalars())


def add_channel(
    s: Session,
    *,
    name: str,
    platform: str,
    base_url: str | None,
    credentials_encrypted: bytes,
    credential_names: list[str],
    options: Mapping[str, str],
    timezone: str = "UTC",
) -> int:
    """Insert a channel; returns its id. Raises ``IntegrityError`` if the name is taken."""
    ch = Channel(
        name=name,
        platform=platform,
        base_url=base_url,
        credentials_encrypted=credentials_encrypted,
        credential_names=credential_names,
        options=dict(options),
        timezone=timezone,
        slots={},
    )
    s.add(ch)
    s.flush()
    return ch.id


def set_schedule(
    s: Session,
    name: str,
    *,
    slots: Mapping[str, list[str]] | None = None,
    min_gap_seconds: int | None = None,
    timezone: str | None = None,
) -> Channel | None:
    """Change a channel's posting slots, minimum gap or time zone (those given); returns it,
    or None if unknown."""
    ch = channel_by_name(s, name)
    if ch is None:
        return None
    if slots is not None:
        ch.slots = dict(slots)
    if min_gap_seconds is not None:
        ch.min_gap_seconds = min_gap_seconds
    if timezone is not None:
        ch.timezone = timezone
    return ch


def taken_times(s: Session, channel_ids: Collection[int], since: datetime) -> dict[int, list[datetime]]:
    """Per channel, the due times (sorted) of its deliveries from ``since`` on that hold a
    place in its schedule: every one not cancelled, failed or taken down."""
    rows = s.execute(
        select(Delivery.channel_id, Delivery.due_at)
        .where(
            Delivery.channel_id.in_(channel_ids),
            Delivery.due_at >= since,
            Delivery.state.not_in((states.CANCELLED, states.FAILED, states.DELETED, states.DELETING)),
        )
        .order_by(Delivery.due_at)
    )
    out: dict[int, list[datetime]] = {cid: [] for cid in channel_ids}
    for cid, due in rows:
        out[cid].append(due)
    return out


def set_base_url(s: Session, name: str, base_url: str | None) -> bool:
    """Point a channel at another API root (None: the platform's own). False if unknown."""
    ch = channel_by_name(s, name)
    if ch is None:
        return False
    ch.base_url = base_url
    return True


def unpause(s: Session, name: str) -> int | None:
    """Clear a channel's pause and its reason; returns its id, or None if unknown."""
    ch = channel_by_name(s, name)
    if ch is None:
        return None
    ch.paused_at = None
    ch.pause_reason = None
    return ch.id
