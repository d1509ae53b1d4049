"""Fixtures for the delivery engine's tests: the end-to-end channels on the simulator, and a
``Deliverer`` on this test's store and queue, driven by the test itself (no Celery)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from herald.delivery.deliverer import Deliverer, RetryPolicy
from tests.e2e.conftest import channels

__all__ = ["channels"]


@pytest.fixture
def deliverer(herald: Any) -> Iterator[Deliverer]:
    """A Deliverer with short leases and quick retries, closed after the test."""
    d = Deliverer(
        herald.db,
        herald.queue,
        herald.box,
        lease_seconds=5.0,
        retry=RetryPolicy(max_attempts=4, base_seconds=0.05, max_seconds=0.2),
        worker_name="engine-loop-test",
    )
    yield d
    d.close()
