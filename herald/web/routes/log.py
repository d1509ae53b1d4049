"""The delivery log and the success statistics (JSON)."""

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from herald.web.deps import ServiceDep
from herald.web.forms import LogFiltersDep

router = APIRouter(tags=["log"])


class DeliveryOut(BaseModel):
    post_id: str
    delivery_id: int
    campaign: str | None
    channel: str
    platform: str
    status: str
    text: str
    scheduled_at: str | None
    due_at: str | None
    published_at: str | None
    lateness_seconds: float | None
    remote_id: str | None
    remote_url: str | None
    attempts: int
    error: str | None


@router.get("/api/log", response_model=list[DeliveryOut])
def delivery_log(
    svc: ServiceDep, filters: LogFiltersDep, limit: int = Query(1000, ge=1, le=10_000)
) -> list[dict[str, Any]]:  # Any: the service's row dicts; response_model picks the public fields
    return svc.delivery_log(
        campaign=filters.campaign, channel=filters.channel, status=filters.status, limit=limit
    )


@router.get("/api/stats")
def stats(svc: ServiceDep) -> list[dict[str, str | int | float | None]]:
    """Per campaign and platform: a count per status and ``success_rate`` (published over
    published + failed + uncertain; null before any finished)."""
    return svc.stats()
