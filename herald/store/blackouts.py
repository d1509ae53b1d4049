"""A campaign's blackout windows: adding, listing and removing them, and reading them as the
spans payloads carry (``herald.core.intervals``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from herald.core.intervals import Span
from herald.store.models import CampaignBlackout


def add_blackout(
    s: Session,
    campaign_id: int,
    *,
    starts_at: datetime,
    ends_at: datetime,
    mode: str,
    label: str,
    created_by: str | None,
) -> CampaignBlackout:
    row = CampaignBlackout(
        campaign_id=campaign_id,
        starts_at=starts_at,
        ends_at=ends_at,
        mode=mode,
        label=label,
        created_by=created_by,
    )
    s.add(row)
    s.flush()
    return row


def blackouts_of(s: Session, campaign_id: int) -> list[CampaignBlackout]:
    """The campaign's windows, by start."""
    return list(
        s.execute(
            select(CampaignBlackout)
            .where(CampaignBlackout.campaign_id == campaign_id)
            .order_by(CampaignBlackout.starts_at, CampaignBlackout.id)
        ).scalars()
    )


def count_blackouts(s: Session, campaign_id: int) -> int:
    return int(
        s.execute(
            select(func.count())
            .select_from(CampaignBlackout)
            .where(CampaignBlackout.campaign_id == campaign_id)
        ).scalar_one()
    )


def remove_blackout(s: Session, campaign_id: int, blackout_id: int) -> CampaignBlackout | None:
    """Remove the campaign's window ``blackout_id``; returns it as it was, or None if the
    campaign has no such window."""
    row = s.execute(
        select(CampaignBlackout).where(
            CampaignBlackout.id == blackout_id, CampaignBlackout.campaign_id == campaign_id
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    s.execute(delete(CampaignBlackout).where(CampaignBlackout.id == blackout_id))
    return row


def span_of(row: CampaignBlackout) -> Span:
    """A stored window as the span the rule reads (epoch seconds)."""
    return Span(
        row.starts_at.replace(tzinfo=UTC).timestamp(),
        row.ends_at.replace(tzinfo=UTC).timestamp(),
        row.mode == "hold",
        row.label,
    )


def spans_of(s: Session, campaign_ids: Collection[int]) -> dict[int, list[Span]]:
    """Every window of these campaigns, as spans, by campaign (one query)."""
    if not campaign_ids:
        return {}
    out: dict[int, list[Span]] = {}
    rows = s.execute(
        select(CampaignBlackout)
        .where(CampaignBlackout.campaign_id.in_(list(campaign_ids)))
        .order_by(CampaignBlackout.starts_at)
    ).scalars()
    for row in rows:
        out.setdefault(row.campaign_id, []).append(span_of(row))
    return out
