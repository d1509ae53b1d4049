"""Herald's Prometheus metrics: every metric's name, help, labels and buckets, spelled once.

Two kinds, kept apart on purpose:

- **What happens in this process** (deliveries by outcome, retries, deferrals, lateness,
  platform call time, the scheduler's lag) lives in the process's default registry and is moved
  where it happens (``herald.delivery.record``, ``scheduler.dispatcher``) by an in-memory
  increment: never a Redis or SQL round trip per delivery.
- **Shared state** (the content queue's levels, the workers' heartbeats) is read from Redis
  when someone scrapes, by ``LevelsCollector`` over a reader an edge hands it: nothing polls,
  and a scrape costs one pipelined round trip whatever the queue's size.

Where they are served (``docs/deploy.md``): the web app's ``/metrics``
(``herald.web.routes.health``); each worker and scheduler process on a port of its own
(``serve``), because a process's counters are in its own memory. This module imports nothing of
Herald's, so the delivery engine, the scheduler and the edges can all reach it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# ``*_created`` timestamps next to every counter double the output and say nothing a restart
# (the counter's reset) does not.
disable_created_metrics()  # type: ignore[no-untyped-call]  # unannotated upstream

#: The exposition format ``render`` writes (Prometheus text format 0.0.4, which every
#: Prometheus and agent reads).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Lateness (publish time − due time, seconds): 1 ms to 1 h. Herald's idle p99 is ~10 ms and a
#: burst's drains in seconds; an outage's backlog shows up in the last buckets.
LATENESS_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    1800.0,
    3600.0,
)
#: One platform call (a post with its photo uploads, or a thread's parts), seconds: 5 ms (the
#: simulator) to 2 min (a video-sized upload on a slow API).
CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

#: What ``DELIVERIES``' ``outcome`` label takes: ``Deliverer.deliver_many``'s answers for a
#: claimed delivery (``error``: an unexpected error left to its lease; ``lost-claim``: another
#: worker had taken the delivery over before ours was written).
OUTCOMES = (
    "published",
    "reconciled",
    "retry",
    "deferred",
    "failed",
    "uncertain",
    "held",
    "error",
    "lost-claim",
)

DELIVERIES = Counter(
    "herald_deliveries",
    "Claimed deliveries by platform and outcome, counted when the outcome is written to SQL.",
    ["platform", "outcome"],
)
RETRIES = Counter(
    "herald_delivery_retries",
    "Deliveries queued again after a retryable failure (5xx, 429, timeout), by platform.",
    ["platform"],
)
DEFERRALS = Counter(
    "herald_delivery_deferrals",
    "Rate-limit waits: deliveries deferred without a try because their channel was over its "
    "posting rate (or in a blackout window), by platform.",
    ["platform"],
)
LATENESS = Histogram(
    "herald_delivery_lateness_seconds",
    "Publish time minus due time of published deliveries, by platform.",
    ["platform"],
    buckets=LATENESS_BUCKETS,
)
PLATFORM_CALL = Histogram(
    "herald_platform_call_seconds",
    "Time spent in a platform's API for one delivery (uploads, post, look-ups), by platform.",
    ["platform"],
    buckets=CALL_BUCKETS,
)


class _SchedulerLag(Collector):
    """A gauge that exists only in a process that runs a dispatcher: a worker's endpoint
    showing ``herald_scheduler_lag_seconds 0`` would read as a healthy scheduler."""

    def __init__(self) -> None:
        self._value: float | None = None

    def set(self, seconds: float) -> None:
        self._value = seconds

    def collect(self) -> Iterable[Metric]:
        if self._value is not None:
            yield GaugeMetricFamily(
                "herald_scheduler_lag_seconds",
                "How late this process's dispatcher runs its hand-over: the time since the "
                "earliest due delivery it knew of, when it looks again (0 when nothing was overdue).",
                value=self._value,
            )


SCHEDULER_LAG = _SchedulerLag()
REGISTRY.register(SCHEDULER_LAG)


# -- shared state, read at scrape time ----------------------------------------------------------


@dataclass(frozen=True)
class Levels:
    """The content queue as one scrape sees it."""

    #: Staged deliveries waiting for their due time or for the scheduler (the due set).
    queued: int
    #: Of those, the ones already due and not yet claimed.
    due: int
    #: Claimed and held under a worker's lease.
    inflight: int
    #: Messages handed to the workers that no worker has taken yet.
    waiting: int
    #: How long the earliest due delivery has waited unclaimed (seconds; 0 if none is due).
    oldest_due_age: float
    #: Worker name → seconds since its last heartbeat.
    heartbeat_ages: Mapping[str, float] = field(default_factory=dict)


#: Reads the levels (a few Redis reads); may raise if Redis does not answer.
ReadLevels = Callable[[], Levels]


class LevelsCollector(Collector):
    """Gauges of the content queue and the workers' heartbeats, read when scraped. If Redis
    does not answer, the scrape still succeeds with ``herald_queue_up 0`` and no levels."""

    def __init__(self, read: ReadLevels) -> None:
        self.read = read

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("herald_queue_up", "1 if the content queue answered this scrape.")
        try:
            levels = self.read()
        except Exception as e:  # a scrape must not fail because Redis is down: it says so instead
            log.warning("metrics: the content queue did not answer (%s)", e)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        for name, help_text, value in (
            ("herald_queued_deliveries", "Deliveries staged in the due set (due or not).", levels.queued),
            ("herald_due_deliveries", "Deliveries due now and not yet claimed.", levels.due),
            ("herald_inflight_deliveries", "Deliveries claimed and under a worker's lease.", levels.inflight),
            (
                "herald_handover_waiting_messages",
                "Messages handed to the workers that none has taken yet.",
                levels.waiting,
            ),
            (
                "herald_oldest_due_age_seconds",
                "How long the earliest due delivery has waited unclaimed (0 if none).",
                levels.oldest_due_age,
            ),
        ):
            yield GaugeMetricFamily(name, help_text, value=value)
        ages = GaugeMetricFamily(
            "herald_worker_heartbeat_age_seconds",
            "Seconds since each worker's last heartbeat (a live worker beats every second).",
            labels=["worker"],
        )
        for worker, age in sorted(levels.heartbeat_ages.items()):
            ages.add_metric([worker], age)
        yield ages


class _ProcessMetrics(Collector):
    """This process's own metrics (the default registry), inside another registry."""

    def collect(self) -> Iterable[Metric]:
        yield from REGISTRY.collect()


def registry(levels: ReadLevels | None = None) -> CollectorRegistry:
    """A registry with this process's metrics and, given a reader, the shared levels."""
    out = CollectorRegistry(auto_describe=False)
    out.register(_ProcessMetrics())
    if levels is not None:
        out.register(LevelsCollector(levels))
    return out


def render(source: CollectorRegistry) -> bytes:
    """The Prometheus text format of everything in ``source``."""
    return generate_latest(source)


# -- a process's own port ---------------------------------------------------------------------


@dataclass
class MetricsServer:
    """A running metrics endpoint (``serve``)."""

    host: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def serve(port: int, host: str, source: CollectorRegistry, *, what: str) -> MetricsServer | None:
    """Serve ``source`` at ``http://host:port/metrics`` from a daemon thread. ``port`` 0 means
    off. A port already taken (another process on this machine kept the default) is a warning,
    not a reason to stop publishing: the process runs on without metrics (``what`` names it in
    the log)."""
    if port <= 0:
        return None
    try:
        server, thread = start_http_server(port, addr=host, registry=source)
    except OSError as e:
        log.warning(
            "%s: metrics not served: cannot listen on %s:%d (%s); set HERALD_METRICS_PORT to a "
            "free port (0: off)",
            what,
            host,
            port,
            e.strerror or e,
        )
        return None
    log.info("%s: metrics on http://%s:%d/metrics", what, host, port)
    return MetricsServer(host, port, server, thread)
