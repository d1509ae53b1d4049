"""Prometheus metrics: counted where deliveries are recorded, scraped through the real web app
(loopback, remote with and without the token, through a trusted proxy, spoofed headers) and
from a process's own port. A real in-process Celery worker publishes to the simulator.

The counters are the process's own, shared with whatever else this process ran before, so
every assertion is on the difference between two scrapes.
"""

from __future__ import annotations

import logging
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from bench.harness import wait_for
from herald.core import metrics
from herald.core.errors import ConfigError
from herald.core.settings import check_internet_facing, get_settings, reset_settings
from herald.embedded import free_port
from herald.service import PostRequest
from herald.simulator import Fault
from herald.web.app import create_app
from scheduler import Dispatcher
from tasks.metrics import serve_process_metrics

MASTODON_TOKEN = "metrics-mastodon-token-2f9c41"
X_CREDS = {
    "api_key": "metrics-x-consumer-key-81d2",
    "api_secret": "metrics-x-consumer-secret-6e1f55",
    "access_token": "metrics-x-access-token-0b3a12",
    "access_token_secret": "metrics-x-access-secret-4c8e31",
}
METRICS_TOKEN = "scrape-token-5b1e0c7d9a2f4e68"
WRONG_TOKEN = "scrape-token-5b1e0c7d9a2f4e69"
LOOPBACK = ("127.0.0.1", 41000)
REMOTE = ("203.0.113.7", 41000)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def client(app: Any, peer: tuple[str, int] = LOOPBACK) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1:8600", client=peer)


@pytest.fixture
def two_channels(herald: Any, sim: Any) -> None:
    sim.add_account("mastodon", username="metrics", access_token=MASTODON_TOKEN)
    sim.add_account("x", username="metrics", **X_CREDS)
    herald.add_channel("m", "mastodon", {"access_token": MASTODON_TOKEN}, base_url=sim.url_for("mastodon"))
    herald.add_channel("x", "x", dict(X_CREDS), base_url=sim.url_for("x"))


@pytest.fixture
def with_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set HERALD_* variables for this test (the settings are read again)."""

    def set_env(**values: str) -> None:
        for k, v in values.items():
            monkeypatch.setenv(k, v)
        reset_settings()

    yield set_env
    reset_settings()


# -- what is counted ---------------------------------------------------------------------------


def test_counters_move_by_exactly_the_deliveries_made(
    running: Any, herald: Any, sim: Any, two_channels: None
) -> None:
    web = client(create_app(herald))
    before = parse(web.get("/metrics").text)

    def published(posts: list[str], n: int) -> bool:
        rows = [r for p in posts for r in herald.delivery_log(post_id=p)]
        return len(rows) == n and all(r.status == "published" for r in rows)

    # First one post whose first answer is a 429 (nothing went out): retried once, then published.
    sim.inject(Fault(kind="rate_limit", platform="mastodon", path="/api/v1/statuses", count=1, reset_in=0.2))
    first = [herald.add_post(PostRequest(channels=["m"], text="told to wait"))]
    assert wait_for(lambda: published(first, 1), timeout=30)
    # Then a burst on two platforms.
    posts = [herald.add_post(PostRequest(channels=["m", "x"], text=f"counted {i}")) for i in range(5)]
    assert wait_for(lambda: published(posts, 10), timeout=30)
    r = web.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    after = parse(r.text)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    for platform, n in (("mastodon", 6), ("x", 5)):
        assert delta("herald_deliveries_total", platform=platform, outcome="published") == n
        assert delta("herald_delivery_lateness_seconds_count", platform=platform) == n
        assert delta("herald_delivery_lateness_seconds_bucket", platform=platform, le="+Inf") == n
        for outcome in ("failed", "uncertain", "held", "deferred", "reconciled"):
            assert delta("herald_deliveries_total", platform=platform, outcome=outcome) == 0
    assert delta("herald_deliveries_total", platform="mastodon", outcome="retry") == 1
    assert delta("herald_delivery_retries_total", platform="mastodon") == 1
    assert delta("herald_delivery_retries_total", platform="x") == 0
    assert delta("herald_platform_call_seconds_count", platform="mastodon") == 7  # 6 + the 429
    assert delta("herald_platform_call_seconds_count", platform="x") == 5
    # The queue's levels, read at scrape time: everything went out; the worker beats.
    assert sample(after, "herald_queue_up") == 1
    assert sample(after, "herald_queued_deliveries") == 0
    assert sample(after, "herald_inflight_deliveries") == 0

    def ages() -> list[float]:
        scraped = parse(web.get("/metrics").text)
        return [v for (name, _), v in scraped.items() if name == "herald_worker_heartbeat_age_seconds"]

    assert wait_for(lambda: bool(ages()), timeout=10)  # the worker beats once a second
    assert all(0 <= a < 30 for a in ages())
    assert not any(s in r.text for s in (MASTODON_TOKEN, *X_CREDS.values()))


def test_queue_levels_are_read_from_redis_when_scraped(herald: Any, sim: Any, two_channels: None) -> None:
    web = client(create_app(herald))
    later = datetime.now(UTC) + timedelta(hours=1)
    for i in range(3):
        herald.add_post(PostRequest(channels=["m", "x"], text=f"later {i}", at=later))
    herald.add_post(PostRequest(channels=["m"], text="due now, and no scheduler runs"))

    s = parse(web.get("/metrics").text)

    assert sample(s, "herald_queue_up") == 1
    assert sample(s, "herald_queued_deliveries") == 7
    assert sample(s, "herald_due_deliveries") == 1
    assert sample(s, "herald_inflight_deliveries") == 0
    assert sample(s, "herald_oldest_due_age_seconds") >= 0
    herald.queue.claim_due(lease_seconds=30)
    s = parse(web.get("/metrics").text)
    assert (sample(s, "herald_due_deliveries"), sample(s, "herald_inflight_deliveries")) == (0, 1)
    assert sample(s, "herald_oldest_due_age_seconds") == 0


def test_a_scrape_while_redis_is_down_says_so_instead_of_failing(
    herald: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def down() -> metrics.Levels:
        raise ConnectionError("Connection refused")

    text = metrics.render(metrics.registry(down)).decode()

    s = parse(text)
    assert sample(s, "herald_queue_up") == 0
    assert "herald_queued_deliveries" not in text
    assert "the content queue did not answer" in caplog.text


def test_scheduler_lag_is_how_late_the_handover_runs(herald: Any) -> None:
    sent: list[int] = []
    d = Dispatcher(herald.db, herald.queue, sent.extend, lease_seconds=5)
    due = datetime.now(UTC) + timedelta(hours=1)
    herald.queue.redis.zadd(herald.queue.keys.due, {"424242": due.timestamp()})
    d._wake.set()  # the sleep below reads the earliest due time and returns at once
    d._sleep()

    d.note_lag(due.timestamp() + 2.5)
    assert REGISTRY.get_sample_value("herald_scheduler_lag_seconds") == pytest.approx(2.5)
    d.note_lag(due.timestamp() - 10)
    assert REGISTRY.get_sample_value("herald_scheduler_lag_seconds") == 0


# -- who may read /metrics -----------------------------------------------------------------------

#: (peer, headers, trusted proxies, token configured, status)
ACCESS = [
    pytest.param(LOOPBACK, {}, "", False, 200, id="loopback"),
    pytest.param(("::1", 41000), {}, "", False, 200, id="loopback-ipv6"),
    pytest.param(("::ffff:127.0.0.1", 41000), {}, "", False, 200, id="loopback-v4-mapped"),
    pytest.param(LOOPBACK, {}, "", True, 200, id="loopback-needs-no-token"),
    pytest.param(REMOTE, {}, "", False, 404, id="remote-no-token-configured"),
    pytest.param(("testclient", 41000), {}, "", False, 404, id="not-an-address"),
    pytest.param(REMOTE, {}, "", True, 401, id="remote-without-token"),
    pytest.param(REMOTE, {"Authorization": f"Bearer {METRICS_TOKEN}"}, "", True, 200, id="remote-token"),
    pytest.param(REMOTE, {"Authorization": f"bearer  {METRICS_TOKEN} "}, "", True, 200, id="token-spacing"),
    pytest.param(REMOTE, {"Authorization": f"Bearer {WRONG_TOKEN}"}, "", True, 401, id="wrong-token"),
    pytest.param(REMOTE, {"Authorization": f"Basic {METRICS_TOKEN}"}, "", True, 401, id="not-bearer"),
    pytest.param(REMOTE, {"Authorization": "Bearer"}, "", True, 401, id="empty-bearer"),
    pytest.param(REMOTE, {"Authorization": f"Bearer {METRICS_TOKEN[:-1]}"}, "", True, 401, id="prefix"),
    pytest.param(REMOTE, {"Authorization": f"Bearer {METRICS_TOKEN}"}, "", False, 404, id="token-not-set"),
    # The attacker: a remote client claiming loopback, with no trusted proxy to believe.
    pytest.param(REMOTE, {"X-Forwarded-For": "127.0.0.1"}, "", False, 404, id="spoofed-xff"),
    pytest.param(REMOTE, {"X-Forwarded-For": "127.0.0.1"}, "", True, 401, id="spoofed-xff-token-set"),
    pytest.param(REMOTE, {"X-Real-IP": "127.0.0.1"}, "", False, 404, id="spoofed-real-ip"),
    pytest.param(
        REMOTE, {"X-Forwarded-For": "127.0.0.1"}, "127.0.0.1", False, 404, id="spoofed-untrusted-peer"
    ),
    # A trusted proxy on this machine relaying a remote client: not loopback.
    pytest.param(
        LOOPBACK, {"X-Forwarded-For": "203.0.113.9"}, "127.0.0.1", False, 404, id="proxy-relays-remote"
    ),
    pytest.param(
        LOOPBACK, {"X-Forwarded-For": "203.0.113.9"}, "127.0.0.1", True, 401, id="proxy-relays-no-token"
    ),
    pytest.param(
        LOOPBACK,
        {"X-Forwarded-For": "203.0.113.9", "Authorization": f"Bearer {METRICS_TOKEN}"},
        "127.0.0.1",
        True,
        200,
        id="proxy-relays-with-token",
    ),
    # Through the proxy, the client claims to be loopback itself: still relayed, still remote.
    pytest.param(
        LOOPBACK, {"X-Forwarded-For": "127.0.0.1"}, "127.0.0.1", False, 404, id="proxy-relays-claim"
    ),
    pytest.param(
        LOOPBACK, {"X-Forwarded-For": "127.0.0.1, 127.0.0.1"}, "127.0.0.1", False, 404, id="proxy-chain-claim"
    ),
    pytest.param(LOOPBACK, {"Forwarded": "for=127.0.0.1"}, "", False, 404, id="untrusted-local-proxy"),
    pytest.param(LOOPBACK, {"X-Forwarded-Proto": "https"}, "127.0.0.1", False, 404, id="proxy-no-xff"),
]


@pytest.mark.parametrize("peer, headers, proxies, token_set, status", ACCESS)
def test_who_may_read_the_metrics(
    herald: Any,
    with_env: Any,
    caplog: pytest.LogCaptureFixture,
    peer: tuple[str, int],
    headers: dict[str, str],
    proxies: str,
    token_set: bool,
    status: int,
) -> None:
    caplog.set_level(logging.DEBUG)
    with_env(HERALD_TRUSTED_PROXIES=proxies, HERALD_METRICS_TOKEN=METRICS_TOKEN if token_set else "")
    queued_before = herald.queue.counts()

    r = client(create_app(herald), peer).get("/metrics", headers=headers)

    assert r.status_code == status, r.text
    if status == 200:
        assert "herald_queue_up 1.0" in r.text and "# TYPE herald_deliveries_total counter" in r.text
    else:
        assert "herald_" not in r.text
    if status == 401:
        assert r.headers["www-authenticate"] == 'Bearer realm="metrics"'
        assert "HERALD_METRICS_TOKEN" in r.text  # what it takes, not what it is
    everything = r.text + repr(dict(r.headers)) + caplog.text
    assert METRICS_TOKEN not in everything and WRONG_TOKEN not in everything
    assert herald.queue.counts() == queued_before


def test_a_token_too_short_to_guard_the_metrics_is_refused(
    herald: Any, with_env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with_env(HERALD_METRICS_TOKEN="short-tok")
    with pytest.raises(ConfigError, match="HERALD_METRICS_TOKEN must be at least 16") as e:
        check_internet_facing(get_settings())
    assert "short-tok" not in str(e.value)
    r = client(create_app(herald), REMOTE).get("/metrics", headers={"Authorization": "Bearer short-tok"})
    assert r.status_code == 404 and "herald_" not in r.text
    assert "HERALD_METRICS_TOKEN must be at least" in caplog.text and "short-tok" not in caplog.text
    assert client(create_app(herald)).get("/metrics").status_code == 200  # loopback still reads


def test_the_token_is_kept_out_of_the_settings_repr(with_env: Any) -> None:
    with_env(HERALD_METRICS_TOKEN=METRICS_TOKEN)
    assert METRICS_TOKEN not in repr(get_settings())
    assert METRICS_TOKEN not in repr(get_settings().metrics_secret())


# -- a process's own port ------------------------------------------------------------------------


def test_a_scheduler_serves_its_metrics_on_its_port(herald: Any, with_env: Any) -> None:
    port = free_port()
    with_env(HERALD_METRICS_PORT=str(port))
    herald.queue.redis.zadd(herald.queue.keys.due, {"7": time.time() + 3600})
    server = serve_process_metrics("scheduler")
    assert server is not None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            s = parse(r.read().decode())
    finally:
        server.close()
    assert sample(s, "herald_queue_up") == 1 and sample(s, "herald_queued_deliveries") == 1


def test_a_taken_port_or_port_zero_serves_nothing_and_the_process_goes_on(
    with_env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    with_env(HERALD_METRICS_PORT=str(port))
    first = serve_process_metrics("worker")
    assert first is not None
    try:
        assert serve_process_metrics("worker") is None
        assert f"cannot listen on 127.0.0.1:{port}" in caplog.text and "HERALD_METRICS_PORT" in caplog.text
    finally:
        first.close()
    with_env(HERALD_METRICS_PORT="0")
    assert serve_process_metrics("worker") is None
    assert serve_process_metrics("worker", child=2) is None


def test_default_ports_do_not_collide(with_env: Any) -> None:
    with_env()
    s = get_settings()
    assert (s.metrics_port_for("scheduler"), s.metrics_port_for("worker")) == (9464, 9465)
    assert s.metrics_host == "127.0.0.1"
