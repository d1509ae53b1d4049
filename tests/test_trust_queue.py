"""Issue 15, point 2: workers do not trust Redis. A queued post's payload rewritten in Redis
(its text, its channel) or its photo bytes swapped is refused before any platform call and
flagged (an error naming the delivery, a ``queue-tampered`` alert); the same delivery is built
again from SQL and goes out as approved, exactly once. Real Redis, SQL, Celery worker and
platform simulator."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from sqlalchemy import select

from bench.harness import wait_for
from herald.service import PostRequest
from herald.service.requests import PhotoInput
from herald.store.models import Channel, Delivery
from tests.photos import jpeg

MASTODON_TOKEN = "trust-mastodon-token-5c1e77"
X_CREDS = {
    "api_key": "trust-x-consumer-key-0b9d",
    "api_secret": "trust-x-consumer-secret-a41f2e",
    "access_token": "trust-x-access-token-6e3c88",
    "access_token_secret": "trust-x-access-secret-d2f019",
}
APPROVED = "Approved by the campaign: polls open at 8. #Vote"
REWRITTEN = "REWRITTEN IN REDIS: polls are closed, stay home"


@pytest.fixture
def two_channels(herald: Any, sim: Any) -> dict[str, int]:
    """A Mastodon and an X channel on the simulator; name → channel id."""
    sim.add_account("mastodon", username="trust", access_token=MASTODON_TOKEN)
    sim.add_account("x", username="trust", **X_CREDS)
    herald.add_channel(
        "t-mastodon", "mastodon", {"access_token": MASTODON_TOKEN}, base_url=sim.url_for("mastodon")
    )
    herald.add_channel("t-x", "x", dict(X_CREDS), base_url=sim.url_for("x"))
    with herald.db.session() as s:
        return {c.name: c.id for c in s.execute(select(Channel)).scalars()}


def _rewrite_text(r: redis.Redis, herald: Any, delivery_id: int, channels: dict[str, int]) -> None:
    key = herald.queue.keys.payload(delivery_id)
    d = json.loads(r.get(key) or b"{}")
    d["text"] = REWRITTEN
    r.set(key, json.dumps(d, ensure_ascii=False))


def _rewrite_channel(r: redis.Redis, herald: Any, delivery_id: int, channels: dict[str, int]) -> None:
    key = herald.queue.keys.payload(delivery_id)
    d = json.loads(r.get(key) or b"{}")
    d["channel_id"], d["platform"] = channels["t-x"], "x"
    r.set(key, json.dumps(d, ensure_ascii=False))


def _swap_photo(r: redis.Redis, herald: Any, delivery_id: int, channels: dict[str, int]) -> None:
    d = json.loads(r.get(herald.queue.keys.payload(delivery_id)) or b"{}")
    [photo] = d["photos"]
    assert r.exists(herald.queue.keys.photo(photo["sha256"]))
    r.set(herald.queue.keys.photo(photo["sha256"]), EVIL_PHOTO)


EVIL_PHOTO = jpeg(90, 60, color=(250, 0, 0))


@pytest.mark.parametrize(
    "tamper", [_rewrite_text, _rewrite_channel, _swap_photo], ids=["text", "channel", "photo"]
)
def test_a_rewritten_payload_in_redis_is_refused_flagged_and_the_approved_one_goes_out_once(
    running: Any,
    two_channels: dict[str, int],
    sim: Any,
    herald: Any,
    herald_env: dict[str, str],
    tamper: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    at = datetime.now(UTC) + timedelta(seconds=6)  # room to tamper first, on a loaded machine
    post_id = herald.add_post(
        PostRequest(
            channels=["t-mastodon"],
            text=APPROVED,
            photos=[PhotoInput(jpeg(120, 80, color=(10, 120, 200)), "rally.jpg", "Volunteers at a rally")],
            at=at,
        )
    )
    with herald.db.session() as s:
        [delivery_id] = s.execute(select(Delivery.id).where(Delivery.post_id == post_id)).scalars()
    r = redis.Redis.from_url(herald_env["HERALD_REDIS_URL"])
    approved_photo = json.loads(r.get(herald.queue.keys.payload(delivery_id)) or b"{}")["photos"][0]["sha256"]
    tamper(r, herald, delivery_id, two_channels)
    assert datetime.now(UTC) < at, "tampered too late: the test did not run before the post was due"

    assert wait_for(lambda: len(sim.ledger()) >= 1, timeout=20)
    assert wait_for(lambda: {x.status for x in herald.delivery_log()} == {"published"}, timeout=10)
    time.sleep(1.0)  # nothing more goes out, to either platform
    ledger = sim.ledger()
    assert len(ledger) == 1, "the delivery went out more than once, or to another channel"
    [entry] = ledger
    assert entry.platform == "mastodon"
    assert entry.text == APPROVED
    assert [m.sha256 for m in entry.media] == [approved_photo]
    assert hashlib.sha256(EVIL_PHOTO).hexdigest() != approved_photo
    [row] = herald.delivery_log()
    assert row.status == "published" and row.attempts == 1

    refused = [
        rec
        for rec in caplog.records
        if rec.levelno == logging.ERROR
        and getattr(rec, "alert", None) is None
        and "refused" in rec.getMessage()
    ]
    assert refused, "the refusal was not logged as an error"
    assert any(f"deliveries [{delivery_id}]" in rec.getMessage() for rec in refused)
    if tamper is _swap_photo:
        assert any(approved_photo in rec.getMessage() for rec in refused)
    alerts = [
        rec
        for rec in caplog.records
        if rec.name == "herald.alerts" and getattr(rec, "alert", "") == "queue-tampered"
    ]
    assert alerts and all(rec.levelno == logging.ERROR for rec in alerts)
    assert REWRITTEN not in caplog.text and APPROVED not in "".join(
        rec.getMessage() for rec in refused + alerts
    )


def test_the_rebuilt_payload_is_staged_back_so_a_retry_is_not_refused_again(
    running: Any,
    two_channels: dict[str, int],
    sim: Any,
    herald: Any,
    herald_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from herald.simulator import Fault

    caplog.set_level(logging.INFO)
    # The first call after the refusal is refused (429): the retry reads what was staged back.
    sim.inject(Fault(kind="rate_limit", platform="mastodon", path="/api/v1/statuses", count=1, reset_in=0.5))
    at = datetime.now(UTC) + timedelta(seconds=6)  # room to tamper first, on a loaded machine
    post_id = herald.add_post(PostRequest(channels=["t-mastodon"], text=APPROVED, at=at))
    with herald.db.session() as s:
        [delivery_id] = s.execute(select(Delivery.id).where(Delivery.post_id == post_id)).scalars()
    r = redis.Redis.from_url(herald_env["HERALD_REDIS_URL"])
    _rewrite_text(r, herald, delivery_id, two_channels)

    assert wait_for(lambda: {x.status for x in herald.delivery_log()} == {"published"}, timeout=20)
    time.sleep(1.0)
    [entry] = sim.ledger()
    assert entry.text == APPROVED
    [row] = herald.delivery_log()
    assert row.attempts == 2
    alerts = [rec for rec in caplog.records if getattr(rec, "alert", "") == "queue-tampered"]
    assert len(alerts) == 1, "the retry found the rewritten payload again: it was not staged back"
