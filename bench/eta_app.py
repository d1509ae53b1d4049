"""Plain Celery, the way a user would schedule posts without Herald: ``apply_async(eta=...)``.

``celery -A bench.eta_app worker`` runs it, with the same pool, concurrency and delivery
settings as Herald's worker (``celeryconfig``: late acks, prefetch 1, JSON) on the same
redis-server, in its own database so the two brokers' keys never mix. Two settings come from
the environment because the benchmark starts this worker twice with different values:

- ``BENCH_ETA_BROKER_URL``: the broker (default: the local Redis, database 1);
- ``BENCH_ETA_TRANSPORT_OPTIONS``: JSON merged over ``{"visibility_timeout": 3600}`` (Herald's).
  ``visibility_timeout`` is how long Redis lets a message stay unacknowledged before it hands
  it to a worker again. An ETA task is unacknowledged from the moment a worker reserves it
  until it has run, so a due time further away than this makes Redis deliver it again, and the
  task runs twice: the long-delay demonstration sets it to 5 s.

The task POSTs one Mastodon status to the simulator, nothing else: no state, no retry.
``bench.eta.send`` posts on any of four platforms (the top-of-the-hour scenario), with the bare
loop's request (``bench.bare.send_job``), as plainly.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import requests
from celery import Celery

#: The queue both the benchmark and the worker name (``-Q``); not Herald's.
QUEUE = "bench-eta"
#: Connect and read timeouts of the POST (seconds).
TIMEOUT_SECONDS = (5.0, 30.0)

#: The task's registered name, for ``send_task``/``signature`` from a process that does not
#: import this module's configuration.
TASK = "bench.eta.post"
#: The task that sends a ``bench.bare`` job (any platform).
SEND_TASK = "bench.eta.send"
#: Herald's broker setting (``celeryconfig``); the long-delay demonstration lowers it.
DEFAULT_TRANSPORT_OPTIONS: dict[str, float] = {"visibility_timeout": 3600.0}


def make_app(broker_url: str, transport_options: dict[str, float] | None = None) -> Celery:
    """A Celery app on ``broker_url`` with Herald's worker settings (``celeryconfig``)."""
    a = Celery("bench-eta")
    a.conf.update(
        broker_url=broker_url,
        broker_transport_options={**DEFAULT_TRANSPORT_OPTIONS, **(transport_options or {})},
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        # As in celeryconfig: a killed worker's message comes back; one message at a time.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_default_queue=QUEUE,
    )
    return a


app = make_app(
    os.environ.get("BENCH_ETA_BROKER_URL", "redis://127.0.0.1:6379/1"),
    json.loads(os.environ.get("BENCH_ETA_TRANSPORT_OPTIONS", "{}")),
)

_local = threading.local()


def _session() -> requests.Session:
    # requests.Session is not thread-safe: one per pool thread, kept for keep-alive.
    s: requests.Session | None = getattr(_local, "session", None)
    if s is None:
        s = requests.Session()
        _local.session = s
    return s


@app.task(name=TASK, ignore_result=True)  # type: ignore[untyped-decorator]  # Celery is untyped
def post(url: str, token: str, text: str, idempotency_key: str | None = None) -> int:
    """POST one status; ``idempotency_key`` None sends none (a user who did not think of it,
    or a platform like X that has none). Raises on a refusal so the worker log shows it."""
    headers = {"Authorization": f"Bearer {token}"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    r = _session().post(
        url, json={"status": text, "visibility": "public"}, headers=headers, timeout=TIMEOUT_SECONDS
    )
    r.raise_for_status()
    return r.status_code


@app.task(name=SEND_TASK, ignore_result=True)  # type: ignore[untyped-decorator]  # Celery is untyped
def send(job: dict[str, Any]) -> int:  # Any: JSON values
    """Send one ``bench.bare`` job; raises on a refusal so the worker log shows it."""
    from bench.bare import send_job

    status = send_job(job)
    if not 200 <= status < 300:
        raise RuntimeError(f"{job['platform']} refused a post: HTTP {status}")
    return status
