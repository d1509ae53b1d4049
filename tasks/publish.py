"""The publish tasks: thin glue from a Celery message to ``Deliverer.deliver``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from celery.signals import worker_init, worker_process_init, worker_process_shutdown

from herald.delivery.deliverer import Deliverer
from herald.delivery.factory import build_deliverer
from tasks.app import app

log = logging.getLogger(__name__)

_lock = threading.Lock()
_deliverer: Deliverer | None = None
#: Threads of this process that deliver at once: the concurrency under the threads pool, one in
#: a prefork child (set when the worker starts, before it forks; children inherit it).
_threads = 1

#: Most deliveries one ``publish_many`` message carries (amortises broker and task overhead).
MAX_BATCH = 25


def deliverer() -> Deliverer:
    """The process's Deliverer, built on first use from the settings (after any fork)."""
    global _deliverer
    with _lock:
        if _deliverer is None:
            _deliverer = build_deliverer(threads=_threads)
        return _deliverer


def set_deliverer(d: Deliverer | None) -> None:
    """Install a Deliverer (tests, ``herald up``)."""
    global _deliverer
    with _lock:
        _deliverer = d


@worker_init.connect
def _size_pool(sender: object = None, **_: object) -> None:
    """Size the SQL pool from the worker's pool kind and concurrency (Celery's WorkController;
    its ``pool_cls`` is still the name given or a class at this point)."""
    global _threads
    pool = getattr(sender, "pool_cls", "")
    name = (
        pool
        if isinstance(pool, str)
        else f"{getattr(pool, '__module__', '')}.{getattr(pool, '__name__', '')}"
    )
    concurrency = getattr(sender, "concurrency", None)
    threaded = "thread" in name.lower() or "eventlet" in name.lower() or "gevent" in name.lower()
    _threads = int(concurrency) if threaded and isinstance(concurrency, int) and concurrency > 0 else 1


@worker_process_init.connect
def _after_fork(**_: object) -> None:
    # Connections (SQL pool, Redis, HTTP) must not be shared across a fork.
    set_deliverer(None)


@worker_process_shutdown.connect
def _shutdown(**_: object) -> None:
    d = _deliverer
    if d is not None:
        d.close()


@app.task(name="herald.publish", ignore_result=True)
def publish(delivery_id: int) -> str:
    return deliverer().deliver(int(delivery_id))


@app.task(name="herald.publish_many", ignore_result=True)
def publish_many(delivery_ids: Sequence[int]) -> list[str]:
    return deliverer().deliver_many([int(i) for i in delivery_ids])


def dispatch(delivery_ids: Sequence[int]) -> None:
    """Hand due deliveries to the workers: one message each when few are due, batches of up to
    ``MAX_BATCH`` in a burst so broker round trips do not dominate."""
    ids = list(delivery_ids)
    size = max(1, min(MAX_BATCH, len(ids) // 16))
    if size == 1:
        for i in ids:
            publish.apply_async(args=[i])
        return
    for k in range(0, len(ids), size):
        publish_many.apply_async(args=[ids[k : k + size]])
