"""The scheduler's judgement of the workers: gone, deaf, busy or fine, from heartbeats and the
hand-over queue's length."""

from __future__ import annotations

import pytest

from content_queue.heartbeats import WorkerBeat
from scheduler.liveness import BEAT_TIMEOUT_SECONDS, Health, Liveness

NOW = 1_000_000.0


def beat(
    name: str = "w1@host",
    *,
    beat_age: float = 0.5,
    last_taken: float | None = None,
    inflight: int = 0,
    capacity: int = 8,
    connected: bool = True,
) -> WorkerBeat:
    return WorkerBeat(
        name=name,
        pid=1,
        started_at=NOW - 600,
        beat_at=NOW - beat_age,
        connected=connected,
        last_taken_at=last_taken,
        taken=0 if last_taken is None else 5,
        inflight=inflight,
        capacity=capacity,
    )


def test_nothing_waiting_is_fine_whatever_the_workers() -> None:
    live = Liveness(bound_seconds=6)
    assert live.judge(now=NOW, waiting=0, beats=[]).health is Health.OK
    assert live.judge(now=NOW, waiting=0, beats=[beat(beat_age=100)]).health is Health.OK


def test_messages_within_the_bound_are_fine() -> None:
    live = Liveness(bound_seconds=6)
    assert live.judge(now=NOW, waiting=3, beats=[]).health is Health.OK
    v = live.judge(now=NOW + 5, waiting=3, beats=[])
    assert v.health is Health.OK and v.stuck_seconds == pytest.approx(5)


def test_no_worker_alive_is_a_stall_naming_the_silent_ones() -> None:
    live = Liveness(bound_seconds=6)
    live.judge(now=NOW - 7, waiting=2, beats=[])
    v = live.judge(now=NOW, waiting=2, beats=[beat("old@host", beat_age=BEAT_TIMEOUT_SECONDS + 1)])
    assert v.health is Health.STALLED
    assert v.gone == ("old@host",) and not v.alive
    assert "no worker is alive" in v.reason and "old@host" in v.reason


def test_a_live_worker_with_free_slots_taking_nothing_is_deaf() -> None:
    live = Liveness(bound_seconds=6)
    live.judge(now=NOW - 10, waiting=4, beats=[])
    v = live.judge(now=NOW, waiting=4, beats=[beat("deaf@host", last_taken=NOW - 30, inflight=1)])
    assert v.health is Health.STALLED
    assert v.deaf == ("deaf@host",)
    assert "deaf@host" in v.reason and "last took 30 s ago" in v.reason and "1/8 busy" in v.reason


def test_every_worker_full_is_a_burst_not_a_stall() -> None:
    live = Liveness(bound_seconds=6)
    live.judge(now=NOW - 60, waiting=400, beats=[])
    v = live.judge(now=NOW, waiting=400, beats=[beat(last_taken=NOW - 20, inflight=8, capacity=8)])
    assert v.health is Health.BUSY and not v.deaf


def test_a_take_restarts_the_clock() -> None:
    live = Liveness(bound_seconds=6)
    live.judge(now=NOW - 60, waiting=10, beats=[])
    # Messages have waited a minute, but a worker took one 2 s ago: it is consuming.
    v = live.judge(now=NOW, waiting=10, beats=[beat(last_taken=NOW - 2)])
    assert v.health is Health.OK and v.stuck_seconds == pytest.approx(2)


def test_the_queue_emptying_resets_the_wait() -> None:
    live = Liveness(bound_seconds=6)
    live.judge(now=NOW - 60, waiting=1, beats=[])
    live.judge(now=NOW - 1, waiting=0, beats=[])
    assert live.judge(now=NOW, waiting=1, beats=[]).health is Health.OK


def test_verdict_is_plain_data_for_health_checks() -> None:
    live = Liveness(bound_seconds=1)
    live.judge(now=NOW - 5, waiting=1, beats=[])
    d = live.judge(now=NOW, waiting=1, beats=[beat(last_taken=None)]).to_dict()
    assert d["health"] == "stalled" and d["workers_deaf"] == ["w1@host"] and d["waiting"] == 1
