"""The audit log: append an event; read them newest first, a keyset page at a time."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from herald.store.models import AuditEvent, utcnow


def record(
    s: Session,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | int,
    campaign_id: int | None = None,
    detail: Mapping[str, object] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one event in the caller's transaction (it commits with what it describes)."""
    s.add(
        AuditEvent(
            at=at or utcnow(),
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            campaign_id=campaign_id,
            detail=dict(detail or {}),
        )
    )


@dataclass(frozen=True)
class AuditFilters:
    #: Only these campaigns (None: every campaign and events of none).
    campaigns: Collection[int] | None = None
    #: Also events that belong to no campaign (channels, users, settings).
    include_global: bool = True
    actor: str | None = None
    action: str | None = None


def events_listed(
    s: Session, filters: AuditFilters, *, before_id: int | None, limit: int
) -> list[AuditEvent]:
    """Events newest first; ``before_id`` continues a page (keyset, no OFFSET)."""
    q = select(AuditEvent)
    if filters.campaigns is not None:
        scope = AuditEvent.campaign_id.in_(list(filters.campaigns))
        q = q.where(or_(scope, AuditEvent.campaign_id.is_(None)) if filters.include_global else scope)
    elif not filters.include_global:
        q = q.where(AuditEvent.campaign_id.is_not(None))
    if filters.actor:
        q = q.where(AuditEvent.actor == filters.actor)
    if filters.action:
        q = q.where(AuditEvent.action == filters.action)
    if before_id is not None:
        q = q.where(AuditEvent.id < before_id)
    return list(s.execute(q.order_by(AuditEvent.id.desc()).limit(limit)).scalars())
