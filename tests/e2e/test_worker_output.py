"""What an operator sees: a real ``herald worker`` and ``herald scheduler`` as separate
processes against the simulator. Every failed, held (paused) or deferred delivery is one
WARNING line in the worker's own stderr, even at HERALD_LOG_LEVEL=WARNING; the worker's and
the scheduler's own metrics ports count exactly what happened; no secret shows anywhere."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from herald.embedded import free_port
from herald.service import PostRequest
from tests.conftest import SECRET_KEY
from tests.e2e.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]
HERALD = str(Path(sys.executable).parent / "herald")
GOOD_TOKEN = "worker-output-good-token-6a2d90"
REVOKED_TOKEN = "worker-output-revoked-token-c41e77"


def _spawn(args: list[str], env: dict[str, str], out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=out.open("wb"), start_new_session=True
    )


def _stop(p: subprocess.Popen[bytes]) -> None:
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def _free_ports(n: int) -> int:
    """A port such that it and the ``n - 1`` after it are free (a prefork worker's children
    take the ports after their parent's)."""
    for _ in range(50):
        base = free_port()
        try:
            for p in range(base, base + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return base
    raise AssertionError("no run of free ports")


def _scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


def _count(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], outcome: str) -> float:
    key = ("herald_deliveries_total", frozenset({("platform", "mastodon"), ("outcome", outcome)}))
    return samples.get(key, 0.0)


def _answers(port: int) -> bool:
    try:
        _scrape(port)
    except OSError:
        return False
    return True


def _merged(ports: list[int]) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """What Prometheus sums over a worker's endpoints (its parent and, in prefork, each child)."""
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for port in ports:
        for k, v in _scrape(port).items():
            out[k] = out.get(k, 0.0) + v
    return out


@pytest.mark.parametrize("pool", ["threads", "prefork"])
def test_the_worker_says_what_went_wrong_and_counts_it(
    herald_env: dict[str, str], herald: Any, sim: Any, tmp_path: Path, pool: str
) -> None:
    sim.add_account("mastodon", username="ops", access_token=GOOD_TOKEN)
    mastodon = sim.url_for("mastodon")
    # Refused credentials: the post fails and the channel is paused; the next one is held.
    herald.add_channel("revoked", "mastodon", {"access_token": REVOKED_TOKEN}, base_url=mastodon)
    # One post an hour: the second post is deferred (a rate-limit wait).
    herald.add_channel(
        "slow", "mastodon", {"access_token": GOOD_TOKEN}, base_url=mastodon, options={"rate_limit": "1/3600"}
    )
    # Threads: two processes (as on a two-core machine with no options), each on a port of its
    # own. A prefork worker of two: the parent on the port, its children on the two after it.
    worker_port, scheduler_port = _free_ports(3), free_port()
    worker_ports = [worker_port + k for k in range(2 if pool == "threads" else 3)]
    env = {**os.environ, **herald_env, "HERALD_LOG_LEVEL": "WARNING"}
    shape = ["--processes", "2"] if pool == "threads" else []
    worker = _spawn(
        [HERALD, "worker", "--pool", pool, "-c", "2", *shape],
        {**env, "HERALD_METRICS_PORT": str(worker_port)},
        tmp_path / "worker.err",
    )
    sched = _spawn(
        [HERALD, "scheduler"], {**env, "HERALD_METRICS_PORT": str(scheduler_port)}, tmp_path / "sched.err"
    )
    try:
        # Every process of the worker serves its port once it has started (each at its own pace).
        assert wait_for(lambda: all(_answers(p) for p in worker_ports), timeout=60), (
            tmp_path / "worker.err"
        ).read_text()[-3000:]
        failed = herald.add_post(PostRequest(channels=["revoked"], text="credentials refused"))
        sent = herald.add_post(PostRequest(channels=["slow"], text="first of the hour"))
        assert wait_for(
            lambda: (
                {r.status for p in (failed, sent) for r in herald.delivery_log(post_id=p)}
                == {"failed", "published"}
            ),
            timeout=60,
        ), (tmp_path / "worker.err").read_text()[-3000:]
        held = herald.add_post(PostRequest(channels=["revoked"], text="held: the channel is paused"))
        deferred = herald.add_post(PostRequest(channels=["slow"], text="second of the hour"))
        (d_failed,), (d_held,), (d_deferred,) = (
            [r.delivery_id for r in herald.delivery_log(post_id=p)] for p in (failed, held, deferred)
        )
        assert wait_for(lambda: _count(_merged(worker_ports), "deferred") == 1, timeout=60)
        assert wait_for(lambda: _count(_merged(worker_ports), "held") == 1, timeout=60)
        samples = _merged(worker_ports)
        parent = _scrape(worker_port)
        scheduler = _scrape(scheduler_port)
    finally:
        _stop(sched)
        _stop(worker)

    out = (tmp_path / "worker.err").read_text()
    lines = out.splitlines()

    def line(delivery_id: int, outcome: str) -> str:
        found = [
            ln
            for ln in lines
            if re.search(
                rf"WARNING herald\.delivery\.record: delivery {delivery_id} {outcome} on mastodon: ", ln
            )
        ]
        assert len(found) == 1, out[-3000:]
        return found[0]

    assert "401" in line(d_failed, "failed")
    assert "channel revoked is paused" in line(d_held, "held")
    assert "channel slow rate-limited" in line(d_deferred, "deferred")
    # Exactly what happened, counted by the process that did it.
    assert {o: _count(samples, o) for o in ("published", "failed", "held", "deferred", "retry")} == {
        "published": 1,
        "failed": 1,
        "held": 1,
        "deferred": 1,
        "retry": 0,
    }
    assert parent[("herald_queue_up", frozenset())] == 1  # the worker's port has the queue's levels
    assert ("herald_scheduler_lag_seconds", frozenset()) not in parent  # no dispatcher here
    assert ("herald_scheduler_lag_seconds", frozenset()) in scheduler
    assert scheduler[("herald_queue_up", frozenset())] == 1
    everything = out + (tmp_path / "sched.err").read_text()
    for secret in (GOOD_TOKEN, REVOKED_TOKEN, SECRET_KEY):
        assert secret not in everything
