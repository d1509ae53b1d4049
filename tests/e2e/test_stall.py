"""The scheduler notices when what it handed over is not being taken, says so once per
interval, raises an alert, stops handing over more, and resumes when a worker consumes again.
Real Redis, real database, real Celery messages; the worker is an in-process Celery worker."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from bench.harness import wait_for
from herald.core.settings import reset_settings
from herald.service import PostRequest
from scheduler.liveness import Health


def test_no_worker_stalls_handover_then_a_worker_drains_everything(
    herald: Any,
    channels: dict[str, str],
    sim: Any,
    herald_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from celery.contrib.testing.worker import start_worker

    from herald.delivery.factory import build_deliverer
    from tasks import app
    from tasks.handover import build_dispatcher
    from tasks.publish import set_deliverer

    monkeypatch.setenv("HERALD_LIVENESS_BOUND_SECONDS", "1")
    monkeypatch.setenv("HERALD_WORKER_WATCHDOG_SECONDS", "0")
    reset_settings()
    url = herald_env["HERALD_REDIS_URL"]
    app.conf.update(broker_url=url, result_backend=url)
    caplog.set_level(logging.INFO)
    alerts: list[tuple[str, str]] = []
    d = build_dispatcher()
    d.alert = lambda kind, message: alerts.append((kind, message))
    t = threading.Thread(target=d.run, daemon=True)
    t.start()
    try:
        first = herald.add_post(
            PostRequest(channels=list(channels), text="first / 첫째", at=datetime.now(UTC))
        )
        assert wait_for(lambda: d.verdict.health is Health.STALLED, timeout=15)
        assert [k for k, _ in alerts] == ["workers-stalled"]
        assert "no worker is alive" in alerts[0][1]
        handed_over = d.heartbeats.handover_waiting()
        assert handed_over >= 1

        # Stalled: a post due now is not handed over on top of what waits.
        second = herald.add_post(
            PostRequest(channels=list(channels), text="second / 둘째", at=datetime.now(UTC))
        )
        assert not wait_for(lambda: d.heartbeats.handover_waiting() > handed_over, timeout=3)
        assert herald.queue.counts()["due"] >= 2

        deliverer = build_deliverer()
        set_deliverer(deliverer)
        with start_worker(
            app,
            pool="threads",
            concurrency=4,
            perform_ping_check=False,
            loglevel="WARNING",
            queues=["herald"],
        ):
            assert wait_for(lambda: len(sim.ledger()) >= 4, timeout=30), sim.ledger()
            assert wait_for(lambda: d.verdict.health is Health.OK, timeout=10)
        set_deliverer(None)
        deliverer.close()
    finally:
        d.stop()
        t.join(10)
    texts = sorted(e.text for e in sim.ledger())
    assert texts == sorted(["first / 첫째"] * 2 + ["second / 둘째"] * 2)  # all out, once each
    assert {r.post_id for r in herald.delivery_log()} == {first, second}
    stalled = [r for r in caplog.records if "workers stalled" in r.getMessage()]
    assert len(stalled) == 1 and stalled[0].levelno == logging.WARNING
    assert any("handing over resumes" in r.getMessage() for r in caplog.records)
    # One line per interval, not one per tick.
    assert sum("still stalled" in r.getMessage() for r in caplog.records) <= 2
