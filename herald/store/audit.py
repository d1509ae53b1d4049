"""The audit log: append an event; read them newest first, a keyset page at a time."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, insert, or_, select
from sqlalchemy.orm import Session

from herald.store.models import AuditEvent, table_of, utcnow

#: Built once; a plain INSERT, not an object for the session to flush at commit.
_INSERT = insert(table_of(AuditEvent))


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
    """Append one event in the caller's transaction (it commits with what it describes).
    A name longer than its column is kept whole in ``detail`` and cut in the column."""
    detail = dict(detail or {})
    target = str(target_id)
    if len(target) > TARGET_CHARS:
        detail.setdefault("target", target)
    s.execute(
        _INSERT,
        {
            "at": at or utcnow(),
            "actor": fit(actor, ACTOR_CHARS),
            "action": action,
            "target_type": target_type,
            "target_id": fit(target, TARGET_CHARS),
            "campaign_id": campaign_id,
            "detail": detail,
        },
    )


#: Column widths of ``audit_events``.
ACTOR_CHARS = 340
TARGET_CHARS = 100


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters (ending in "…" when cut)."""
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class AuditFilters:
    #: Only these campaigns (None: every campaign and events of none).
    campaigns: Collection[int] | None = None
    #: Also events that belong to no campaign (channels, users, settings).
    include_global: bool = True
    #: Also events of posts that belong to no campaign (with ``include_global`` False).
    include_posts_of_none: bool = False
    actor: str | None = None
    action: str | None = None


def events_listed(
    s: Session, filters: AuditFilters, *, before_id: int | None, limit: int
) -> list[AuditEvent]:
    """Events newest first; ``before_id`` continues a page (keyset, no OFFSET)."""
    q = select(AuditEvent)
    of_none: ColumnElement[bool] = AuditEvent.campaign_id.is_(None)
    if not filters.include_global:
        posts_only = and_(of_none, AuditEvent.target_type == "post")
        of_none = posts_only if filters.include_posts_of_none else false()
    if filters.campaigns is not None:
        q = q.where(or_(AuditEvent.campaign_id.in_(list(filters.campaigns)), of_none))
    elif not filters.include_global:
        q = q.where(or_(AuditEvent.campaign_id.is_not(None), of_none))
    if filters.actor:
        q = q.where(AuditEvent.actor == filters.actor)
    if filters.action:
        q = q.where(AuditEvent.action == filters.action)
    if before_id is not None:
        q = q.where(AuditEvent.id < before_id)
    return list(s.execute(q.order_by(AuditEvent.id.desc()).limit(limit)).scalars())
