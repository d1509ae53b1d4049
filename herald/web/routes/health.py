"""``/healthz``: is Redis answering, how many deliveries are due and in flight, and are the
workers taking what the scheduler hands them."""

from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from herald.web.auth import public
from herald.web.deps import ServiceDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    ok: bool
    redis: bool
    #: Deliveries waiting in the due set, and held under a worker's lease (null if Redis is down).
    due: int | None = None
    inflight: int | None = None
    #: The scheduler's latest verdict on the workers (``health``: ok, busy or stalled; who is
    #: alive, gone or deaf; how many messages wait); null when no scheduler has judged lately.
    workers: dict[str, Any] | None = None


@router.get("/healthz", response_model=Health, dependencies=[Depends(public)])
def healthz(svc: ServiceDep, response: Response) -> Health:
    """200 when Redis answers and the workers are not stalled, else 503 (the body says which)."""
    h = svc.queue_health()
    workers = dict(h.workers) if h.workers is not None else None
    stalled = workers is not None and workers.get("health") == "stalled"
    health = Health(
        ok=h.redis and not stalled, redis=h.redis, due=h.due, inflight=h.inflight, workers=workers
    )
    if not health.ok:
        response.status_code = 503
    return health
