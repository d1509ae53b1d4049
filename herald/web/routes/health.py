"""``/healthz``: is Redis answering, how many deliveries are due and in flight, and are the
workers taking what the scheduler hands them. ``/metrics``: the same and more for Prometheus.

``/metrics`` answers a client on loopback without a login (a local Prometheus or a sidecar),
and anyone else only with ``Authorization: Bearer <HERALD_METRICS_TOKEN>``. Who the client is
comes from ``herald.web.proxies`` (forwarding headers believed only from a trusted proxy), and a
request carrying any forwarding header is never taken for a local one: a proxy on this machine
relays remote clients from a loopback address, trusted or not.
"""

import hmac
import ipaddress
import logging
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from content_queue.levels import read_levels
from herald.core import metrics
from herald.core.errors import ConfigError
from herald.core.settings import get_settings
from herald.web.auth import public
from herald.web.deps import ServiceDep

log = logging.getLogger(__name__)

#: Headers a proxy adds when it relays a request: their presence means "not from this machine".
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip")

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


@router.get("/metrics", dependencies=[Depends(public)], include_in_schema=False)
def prometheus_metrics(request: Request, svc: ServiceDep) -> Response:
    """The Prometheus text format: this process's metrics and the content queue's levels (read
    now). 401 without the right bearer token from a client that is not on loopback; 404 to such
    a client when no token is configured (nothing to try)."""
    if not _is_local(request):
        refused = _refusal(request)
        if refused is not None:
            return refused
    queue = svc.queue
    body = metrics.render(metrics.registry(lambda: read_levels(queue.redis, queue.keys)))
    return Response(body, media_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def _is_local(request: Request) -> bool:
    """The client is this machine, and nothing relayed the request."""
    if any(h in request.headers for h in FORWARDING_HEADERS):
        return False
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:  # a Unix socket or a test client's name: not an address we can vouch for
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _refusal(request: Request) -> Response | None:
    """None if the request carries the metrics token; else the answer that refuses it. The
    token is compared in constant time and never echoed."""
    try:
        token = get_settings().metrics_secret()
    except ConfigError as e:  # `herald web` refuses to start with it; `herald up` does not check
        log.error("/metrics refused to a remote client: %s", e)
        token = None
    if token is None:
        return Response("Not Found\n", status_code=404, media_type="text/plain")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = token.reveal().encode()
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected):
        return None
    return Response(
        "metrics need Authorization: Bearer <HERALD_METRICS_TOKEN>\n",
        status_code=401,
        media_type="text/plain",
        headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
    )
