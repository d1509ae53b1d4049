"""Each worker and scheduler process serves its own metrics on a port (``herald.core.metrics``).

A process's counters are in its own memory, so each process has an endpoint rather than one
shared through files (prometheus-client's multiprocess mode, which needs its directory set
before the library is first imported and wiped at every start): a ``--pool threads`` worker
(``herald up``'s, the systemd unit's) is one process and one port; a prefork worker's parent
serves the queue's levels on the port and child ``i`` (Celery's stable pool index, reused by a
replacement child) its own deliveries on port + 1 + i. ``docs/deploy.md`` lists the ports.

Only the real worker command starts one (``celery -A tasks worker``, ``herald worker``: Celery's
``celeryd_init``), never an in-process test worker; the scheduler's is started by
``herald scheduler``.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import redis
from billiard.process import current_process
from celery.signals import celeryd_init, worker_process_init

from content_queue.levels import read_levels
from herald.core import metrics
from herald.core.settings import Settings, get_settings, redis_url

log = logging.getLogger(__name__)


def serve_process_metrics(
    role: Literal["scheduler", "worker"], settings: Settings | None = None, *, child: int | None = None
) -> metrics.MetricsServer | None:
    """Serve this process's metrics on ``role``'s port (``HERALD_METRICS_PORT``, 0: off) at
    ``HERALD_METRICS_HOST``. ``child``: a prefork pool process's index, which serves only its
    own metrics, on the port after its parent's plus the index."""
    settings = settings or get_settings()
    port = settings.metrics_port_for(role)
    if port == 0:
        return None
    if child is not None:
        return metrics.serve(
            port + 1 + child, settings.metrics_host, metrics.registry(), what=f"{role} process {child}"
        )
    client = redis.Redis.from_url(redis_url(settings))
    return metrics.serve(
        port, settings.metrics_host, metrics.registry(lambda: read_levels(client)), what=role
    )


def _worker_metrics(**_: Any) -> None:
    serve_process_metrics("worker")


def _child_metrics(**_: Any) -> None:
    index = getattr(current_process(), "index", None)
    if isinstance(index, int):
        serve_process_metrics("worker", child=index)
    else:
        log.warning("worker process without a pool index: its metrics are not served")


celeryd_init.connect(_worker_metrics, weak=False)
worker_process_init.connect(_child_metrics, weak=False)
