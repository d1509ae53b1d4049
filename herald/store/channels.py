"""Channels: look-ups by name, the list, and the few writes a person makes (add one, point it at
another API root, unpause it). A platform pausing a channel is ``deliveries.pause_channel``."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from herald.store.models import Channel


def channel_by_name(s: Session, name: str) -> Channel | None:
    return s.execute(select(Channel).where(Channel.name == name)).scalar_one_or_none()


def channel_id_by_name(s: Session, name: str) -> int | None:
    cid = s.execute(select(Channel.id).where(Channel.name == name)).scalar_one_or_none()
    return None if cid is None else int(cid)


def channels_listed(s: Session) -> list[Channel]:
    """Every channel, by name."""
    return list(s.execute(select(Channel).order_by(Channel.name)).scalars())


def channels_named(s: Session, names: Collection[str]) -> dict[str, Channel]:
    """The channels among ``names`` that exist, by name (unknown names are absent)."""
    return {c.name: c for c in s.execute(select(Channel).where(Channel.name.in_(names))).scalars()}


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
) -> int:
    """Insert a channel; returns its id. Raises ``IntegrityError`` if the name is taken."""
    ch = Channel(
        name=name,
        platform=platform,
        base_url=base_url,
        credentials_encrypted=credentials_encrypted,
        credential_names=credential_names,
        options=dict(options),
        slots={},
    )
    s.add(ch)
    s.flush()
    return ch.id


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
