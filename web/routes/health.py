"""``/healthz``: is Redis answering, and how many deliveries are due and in flight."""

from fastapi import APIRouter, Response
from pydantic import BaseModel

from web.deps import ServiceDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    ok: bool
    redis: bool
    #: Deliveries waiting in the due set, and held under a worker's lease (null if Redis is down).
    due: int | None = None
    inflight: int | None = None


@router.get("/healthz", response_model=Health)
def healthz(svc: ServiceDep, response: Response) -> Health:
    """200 when Redis answers, else 503 (the body says which)."""
    h = svc.queue_health()
    health = Health(ok=bool(h["redis"]), redis=bool(h["redis"]), due=h.get("due"), inflight=h.get("inflight"))
    if not health.ok:
        response.status_code = 503
    return health
