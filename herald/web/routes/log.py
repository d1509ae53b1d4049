"""The delivery log and the success statistics (JSON)."""

import pydantic
from fastapi import APIRouter, Query
from pydantic import BaseModel, TypeAdapter

from herald.service import LogEntry
from herald.web.deps import ServiceDep
from herald.web.forms import LogFiltersDep

router = APIRouter(tags=["log"])


@pydantic.dataclasses.dataclass(frozen=True)
class DeliveryOut(LogEntry):
    """One delivery: what went out where and when, or why not (times ISO 8601 UTC)."""


_DELIVERIES = TypeAdapter(list[DeliveryOut])


class StatsOut(BaseModel):
    """Deliveries of one campaign (null: posts without one) on one platform: a count per state,
    each present only when some delivery is in it, and the success rate."""

    campaign: str | None
    platform: str
    scheduled: int | None = None
    queued: int | None = None
    publishing: int | None = None
    published: int | None = None
    failed: int | None = None
    cancelled: int | None = None
    uncertain: int | None = None
    held: int | None = None
    deleting: int | None = None
    deleted: int | None = None
    #: published / (published + failed + uncertain), to 4 places; null before any finished.
    success_rate: float | None


@router.get("/api/log", response_model=list[DeliveryOut])
def delivery_log(
    svc: ServiceDep, filters: LogFiltersDep, limit: int = Query(1000, ge=1, le=10_000)
) -> list[DeliveryOut]:
    entries = svc.delivery_log(
        campaign=filters.campaign, channel=filters.channel, status=filters.status, limit=limit
    )
    return _DELIVERIES.validate_python([entry.to_dict() for entry in entries])


@router.get("/api/stats", response_model=list[StatsOut], response_model_exclude_unset=True)
def stats(svc: ServiceDep) -> list[StatsOut]:
    """Per campaign and platform: a count per status and ``success_rate`` (published over
    published + failed + uncertain; null before any finished)."""
    return [StatsOut.model_validate(row.to_dict()) for row in svc.stats()]
