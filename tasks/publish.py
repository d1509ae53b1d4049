"""The publish tasks: thin glue from a Celery message to ``Deliverer.deliver``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import celery
from celery.signals import worker_init, worker_process_init, worker_process_shutdown

from herald.delivery.deliverer import Deliverer
from herald.delivery.factory import build_deliverer
from scheduler.lanes import Chain
from tasks.app import app

log = logging.getLogger(__name__)

_lock = threading.Lock()
_deliverer: Deliverer | None = None
#: Threads of this process that deliver at once: the concurrency under the threads pool, one in
#: a prefork child (set when the worker starts, before it forks; children inherit it).
_threads = 1


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


@app.task(name="herald.publish_many", ignore_result=True, bind=True)
def publish_many(
    self: Any,  # Any: the bound Celery task
    delivery_ids: Sequence[int],
    handed_at: float | None = None,
) -> list[str]:
    d = deliverer()
    # Later messages of this chain (a channel's lane) wait on this one. Once the chain has run
    # for a third of a lease since the hand-over, each message renews their hand-over leases,
    # so that the reaper does not hand them out again while the chain moves on (a short chain,
    # the usual one, never pays for it).
    if handed_at is None or time.time() - handed_at > d.lease_seconds / 3:
        waiting = chained_ids(self.request.chain)
        if waiting:
            d.keep_waiting(waiting)
    return d.deliver_many([int(i) for i in delivery_ids])


def chained_ids(chain: Sequence[Any] | None) -> list[int]:
    """The delivery ids of the messages still to come in a Celery chain (its signatures, as
    the request carries them): ``publish_many``'s id lists and ``publish``'s single ids."""
    ids: list[int] = []
    for sig in chain or ():
        args = sig.get("args") if isinstance(sig, dict) else None
        if not args:
            continue
        first = args[0]
        if isinstance(first, list):
            ids.extend(int(i) for i in first)
        elif isinstance(first, int):
            ids.append(first)
    return ids


def dispatch(chains: Sequence[Chain]) -> None:
    """Hand due deliveries to the workers as ``scheduler.lanes`` packed them: a message of one
    delivery is a ``publish``, of several a ``publish_many``; a chain of messages is a Celery
    chain, its next message sent when the one before has finished, so that one channel's
    posts never race each other."""
    for messages in chains:
        if len(messages) == 1:
            (message,) = messages
            if len(message) == 1:
                publish.apply_async(args=[message[0]])
            else:
                publish_many.apply_async(args=[list(message)])
            continue
        handed_at = time.time()
        celery.chain(*(publish_many.si(list(m), handed_at) for m in messages)).apply_async()
