"""Campaigns: look-ups by name, the list, and their settings. A campaign is made the first time
a post or a person names it."""

from __future__ import annotations

import enum
from collections.abc import Collection
from datetime import datetime
from typing import Final

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from herald.store.models import Campaign


def campaigns_listed(s: Session) -> list[Campaign]:
    """Every campaign, by name."""
    return list(s.execute(select(Campaign).order_by(Campaign.name)).scalars())


#: Built once (queueing reads a post's campaign; why: ``models.table_of``).
_NAMED = select(Campaign).where(Campaign.name.in_(bindparam("names", expanding=True)))


def campaigns_named(s: Session, names: Collection[str]) -> dict[str, Campaign]:
    """The campaigns among ``names`` that exist, by name (unknown names are absent)."""
    if not names:
        return {}
    return {c.name: c for c in s.execute(_NAMED, {"names": list(names)}).scalars()}


def campaign_names(s: Session) -> list[str]:
    """Every campaign's name, in order."""
    return list(s.execute(select(Campaign.name).order_by(Campaign.name)).scalars())


def campaign_or_new(s: Session, name: str) -> Campaign:
    """The campaign called ``name``, made (with the default settings) if there is none."""
    c = s.execute(select(Campaign).where(Campaign.name == name)).scalar_one_or_none()
    if c is None:
        c = Campaign(name=name)
        s.add(c)
        s.flush()
    return c


class _Keep(enum.Enum):
    KEEP = "keep"


#: "Leave this setting as it is" (where None means "clear it").
KEEP: Final = _Keep.KEEP


def campaign_named(s: Session, name: str) -> Campaign | None:
    return s.execute(select(Campaign).where(Campaign.name == name)).scalar_one_or_none()


def save_campaign(
    s: Session,
    name: str,
    *,
    late_tolerance_seconds: int | None = None,
    require_alt_text: bool | None = None,
    protect_faces: str | None = None,
    timezone: str | None = None,
    requires_approval: bool | None = None,
    starts_at: datetime | None | _Keep = KEEP,
    ends_at: datetime | None | _Keep = KEEP,
    hashtags: str | None | _Keep = KEEP,
    utm: bool | None = None,
) -> Campaign:
    """Create or change a campaign: each setting given (not None; for the range and hashtags,
    not ``KEEP``: None clears them) is stored; ``protect_faces`` "off" is stored as no
    protection. Returns the campaign as saved."""
    c = campaign_or_new(s, name)
    if requires_approval is not None:
        c.requires_approval = requires_approval
    if late_tolerance_seconds is not None:
        c.late_tolerance_seconds = late_tolerance_seconds
    if require_alt_text is not None:
        c.require_alt_text = require_alt_text
    if protect_faces is not None:
        c.protect_faces = None if protect_faces == "off" else protect_faces
    if timezone is not None:
        c.timezone = timezone
    if starts_at is not KEEP:
        c.starts_at = starts_at
    if ends_at is not KEEP:
        c.ends_at = ends_at
    if hashtags is not KEEP:
        c.hashtags = hashtags
    if utm is not None:
        c.utm = utm
    s.flush()
    return c


def campaign_ids_by_name(s: Session) -> dict[str, int]:
    return {str(n): int(i) for i, n in s.execute(select(Campaign.id, Campaign.name)).all()}


def campaign_names_by_id(s: Session) -> dict[int, str]:
    return {int(i): str(n) for i, n in s.execute(select(Campaign.id, Campaign.name)).all()}
