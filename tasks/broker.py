"""Herald's broker transport: kombu's Redis transport with one failure made recoverable.

When the broker connection drops while the consumer waits in BRPOP with messages taken and not
yet acknowledged, Celery 5.7 closes the broken connection twice (``Consumer.
on_connection_error_after_connected``: ``connection.collect()``, then ``connection.close()``).
The first close fails on the dead socket before the channel is marked closed and then detaches
the transport; the second tries to hand the unacknowledged messages back, asks the detached
transport for its connection parameters and raises ``AttributeError: 'NoneType' object has no
attribute 'hostname'``. That is not one of the connection errors Celery retries on, so the
worker logs "Unrecoverable error" and stops. Seen in chaos runs: a broker restart while a
worker is starting or busy.

Here a channel whose transport is detached raises a connection error instead, which every
caller already handles: the consumer reconnects and consumes again. Nothing is lost by not
handing those messages back at that moment: the broker is down, and each delivery they named
is still leased in Herald's queue, so the reaper hands it over again when the lease ends.
"""

from __future__ import annotations

from typing import Any

import redis
from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> Any:
        if self.connection.client is None:
            raise redis.ConnectionError("the broker connection was closed; reconnecting")
        return super()._connparams(asynchronous=asynchronous)  # type: ignore[no-untyped-call]  # kombu


class Transport(kombu_redis.Transport):
    Channel = Channel
