"""``herald worker`` as a separate process: it ends only when asked, says why otherwise and
exits non-zero; it rides out Redis being down at start-up and while running; a worker whose
consumer goes deaf (a half-open broker connection) is reported by the scheduler, ended by its
watchdog and replaced by its supervisor, and the post it was handed still goes out once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from bench.faultproxy import FreezeProxy
from bench.harness import wait_for
from herald.embedded import EmbeddedRedis
from herald.service import PostRequest
from herald.supervisor import Supervisor
from tasks.watchdog import EXIT_DEAF

ROOT = Path(__file__).resolve().parents[2]
HERALD = str(Path(sys.executable).parent / "herald")


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _worker(env: dict[str, str], log: Path, name: str = "lifecycle@test") -> subprocess.Popen[bytes]:
    return _spawn([HERALD, "worker", "-P", "threads", "-c", "2", "--processes", "1", "-n", name], env, log)


def _stop(p: subprocess.Popen[bytes]) -> None:
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def _env(herald_env: dict[str, str], **extra: str) -> dict[str, str]:
    return {**os.environ, **herald_env, "HERALD_LOG_LEVEL": "INFO", **extra}


def test_sigterm_is_a_clean_stop(herald_env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    w = _worker(_env(herald_env), log)
    try:
        assert wait_for(lambda: "ready." in log.read_text(), timeout=30), log.read_text()
    finally:
        _stop(w)
    assert w.returncode == 0, log.read_text()[-2000:]
    assert "worker stopped (SIGTERM)" in log.read_text()


def test_an_unasked_stop_is_an_error_with_a_nonzero_status(
    herald_env: dict[str, str], tmp_path: Path
) -> None:
    """Someone overwrites the hand-over queue's key: Celery gives up ("Unrecoverable error").
    It used to exit 0 with nothing said; now it says so and exits non-zero."""
    log = tmp_path / "worker.log"
    w = _worker(_env(herald_env), log)
    r = redis.Redis.from_url(herald_env["HERALD_REDIS_URL"])
    try:
        assert wait_for(lambda: "ready." in log.read_text(), timeout=30), log.read_text()
        r.set("herald", "not a list")
        w.wait(30)
    finally:
        _stop(w)
        r.delete("herald")
    text = log.read_text()
    assert w.returncode not in (0, None), text[-3000:]
    assert "Unrecoverable error" in text
    assert "worker stopped without being asked to" in text


def test_worker_rides_out_redis_down_at_startup_and_while_running(
    herald: Any, channels: dict[str, str], sim: Any, herald_env: dict[str, str], tmp_path: Path
) -> None:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=True)
    env = _env(herald_env, HERALD_REDIS_URL=server.url)
    log, slog = tmp_path / "worker.log", tmp_path / "scheduler.log"
    # Redis is not there yet: the worker waits for it and says so.
    w = _worker(env, log)
    sched = None
    try:
        assert wait_for(lambda: "Cannot connect" in log.read_text(), timeout=30), log.read_text()
        time.sleep(3)
        assert w.poll() is None
        server.start()
        assert wait_for(lambda: "consumer connected" in log.read_text(), timeout=30), log.read_text()[-3000:]
        sched = _spawn([HERALD, "scheduler"], env, slog)
        herald.queue = type(herald.queue).from_url(server.url)
        herald.add_post(
            PostRequest(channels=list(channels), text="after the start-up outage", at=datetime.now(UTC))
        )
        assert wait_for(lambda: len(sim.ledger()) == 2, timeout=30), log.read_text()[-3000:]

        # Redis goes away while the worker runs, for longer than a few reconnection attempts.
        port = server.port
        server.stop()
        assert wait_for(lambda: "Connection to broker lost" in log.read_text(), timeout=30)
        time.sleep(8)
        assert w.poll() is None, log.read_text()[-3000:]
        server = EmbeddedRedis(tmp_path / "redis", port=port, appendonly=True).start()
        herald.add_post(PostRequest(channels=list(channels), text="after the outage", at=datetime.now(UTC)))
        assert wait_for(lambda: len(sim.ledger()) == 4, timeout=60), log.read_text()[-3000:]
        assert w.poll() is None
    finally:
        if sched is not None:
            _stop(sched)
        _stop(w)
        server.stop()
    text = log.read_text()
    assert "Redis unreachable" in text and "Redis answers again" in text
    assert sorted(e.text for e in sim.ledger()) == sorted(
        ["after the start-up outage"] * 2 + ["after the outage"] * 2
    )


def test_a_deaf_consumer_is_reported_ended_and_replaced(
    herald: Any, channels: dict[str, str], sim: Any, herald_env: dict[str, str], tmp_path: Path
) -> None:
    """Freeze the worker's consumer connection (not the process): its BRPOP is never answered,
    while its heartbeat and everything else flow."""
    port = int(herald_env["HERALD_REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
    db = int(herald_env["HERALD_REDIS_URL"].rsplit("/", 1)[1])
    proxy = FreezeProxy(port).start()
    wenv = _env(herald_env, HERALD_REDIS_URL=proxy.url(db), HERALD_WORKER_WATCHDOG_SECONDS="5")
    senv = _env(herald_env, HERALD_LIVENESS_BOUND_SECONDS="1")
    wlog, slog = tmp_path / "worker.log", tmp_path / "scheduler.log"
    sup = Supervisor(min_backoff=0.5)
    child = sup.add("worker", lambda: _worker(wenv, wlog, name="deafy@test"))
    sup.run_in_background()
    sched = _spawn([HERALD, "scheduler"], senv, slog)
    try:
        herald.add_post(PostRequest(channels=list(channels), text="before the freeze", at=datetime.now(UTC)))
        assert wait_for(lambda: len(sim.ledger()) == 2, timeout=30), wlog.read_text()[-3000:]
        assert proxy.freeze(b"BRPOP") >= 1
        frozen_at = time.monotonic()
        herald.add_post(PostRequest(channels=list(channels), text="during the freeze", at=datetime.now(UTC)))
        # The scheduler names the deaf worker; the watchdog ends it; the supervisor replaces it.
        assert wait_for(
            lambda: "deafy@test" in slog.read_text() and "stalled" in slog.read_text(), timeout=30
        ), slog.read_text()[-3000:]
        assert wait_for(lambda: EXIT_DEAF in child.exits, timeout=30), wlog.read_text()[-3000:]
        assert wait_for(lambda: len(sim.ledger()) == 4, timeout=30), wlog.read_text()[-3000:]
        recovered = time.monotonic() - frozen_at
        assert wait_for(lambda: "handing over resumes" in slog.read_text(), timeout=15), slog.read_text()[
            -3000:
        ]
    finally:
        _stop(sched)
        sup.stop()
        proxy.stop()
    wtext, stext = wlog.read_text(), slog.read_text()
    assert "its consumer is deaf" in wtext and f"exiting with status {EXIT_DEAF}" in wtext
    assert "deaf (free slots, nothing taken): deafy@test" in stext
    assert "handing over resumes" in stext
    assert sorted(e.text for e in sim.ledger()) == sorted(
        ["before the freeze"] * 2 + ["during the freeze"] * 2
    )
    # Bound: watchdog (5 s) + its one-second look + restart and start-up; generous for CI.
    assert recovered < 25, recovered
