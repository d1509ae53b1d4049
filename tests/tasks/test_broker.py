"""The broker transport's one guard (tasks/broker.py), against a real Redis that dies.

The failure it guards against, step by step as Celery 5.7 takes it after a lost connection: the
consumer's channel holds a message taken and not acknowledged and waits in BRPOP; Redis goes;
the first close fails on the dead socket before the channel is marked closed; the transport is
detached; the second close tries to hand the message back through the detached transport."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from kombu import Connection, Exchange, Queue

from herald.embedded import EmbeddedRedis


def _second_close(transport: str, tmp_path: Path) -> BaseException | None:
    server = EmbeddedRedis(tmp_path / transport.replace(":", "-")).start()
    conn = Connection(server.url, transport=transport)
    try:
        channel = conn.default_channel
        queue = Queue("t", Exchange("t", type="direct"), routing_key="t")
        producer = conn.Producer(serializer="json")
        for i in range(3):
            producer.publish({"n": i}, exchange=queue.exchange, routing_key="t", declare=[queue])
        taken: list[object] = []
        consumer = conn.Consumer([queue], callbacks=[lambda body, msg: taken.append(msg)], accept=["json"])
        consumer.qos(prefetch_count=10)
        consumer.consume()
        conn.drain_events(timeout=5)
        assert taken and channel.qos._delivered, "a message is taken and not acknowledged"
        channel._brpop_start()  # the consumer waits for the next one
        server.kill()
        with pytest.raises(redis.ConnectionError):
            channel.close()  # the first close: fails on the dead socket
        assert not channel.closed
        conn._do_close_transport()  # what Connection.collect() does next
        try:
            channel.close()  # the second close (Connection.close())
        except BaseException as e:  # noqa: BLE001 - the kind of error is what is tested
            return e
        return None
    finally:
        server.stop()


def test_stock_kombu_raises_what_celery_cannot_recover_from(tmp_path: Path) -> None:
    """Documents the upstream failure (if kombu fixes it, this test says so and can go)."""
    error = _second_close("redis", tmp_path)
    assert isinstance(error, AttributeError), error


def test_herald_transport_turns_it_into_a_connection_error(tmp_path: Path) -> None:
    error = _second_close("tasks.broker:Transport", tmp_path)
    # A connection error is what Celery's consumer retries on: it reconnects and consumes.
    assert isinstance(error, redis.ConnectionError), error
    assert "reconnecting" in str(error)
