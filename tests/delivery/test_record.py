"""``record`` for each kind of outcome: what it writes to SQL, what it acknowledges in Redis,
and what it answers, on a delivery really claimed from a real store and queue."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from content_queue import Payload
from herald.delivery import outcomes as o
from herald.delivery.claim import claim_batch
from herald.delivery.record import record
from herald.service import PostRequest
from herald.store.deliveries import Claim
from herald.store.models import Attempt, Delivery, utcnow


@dataclasses.dataclass(frozen=True)
class Claimed:
    claim: Claim
    payload: Payload
    channel_id: int


@pytest.fixture
def claimed(herald: Any, channels: dict[str, str]) -> Claimed:
    """A delivery to kr-mastodon, due now, taken from the queue and claimed in SQL."""
    herald.add_post(PostRequest(channels=["kr-mastodon"], text="an outcome to record"))
    (delivery_id,) = herald.queue.claim_due(lease_seconds=30)
    (claim,) = claim_batch(herald.db, [delivery_id], lease_seconds=30).claims
    return Claimed(claim, herald.queue.payload(delivery_id), claim.channel_id)


def in_redis(herald: Any, delivery_id: int) -> str:
    q = herald.queue
    if q.redis.zscore(q.keys.due, delivery_id) is not None:
        return "due"
    if q.redis.zscore(q.keys.inflight, delivery_id) is not None:
        return "in flight"
    return "gone"


def row(herald: Any, delivery_id: int) -> tuple[Delivery, list[str | None]]:
    with herald.db.read() as s:
        d = s.get(Delivery, delivery_id)
        outcomes = list(
            s.execute(select(Attempt.outcome).where(Attempt.delivery_id == delivery_id)).scalars()
        )
        return d, outcomes


SOON = timedelta(seconds=60)

#: (outcome made from the claim, answer, SQL state, attempt outcome, where Redis keeps it)
CASES: list[tuple[Callable[[Claimed], o.Outcome], str, str, str | None, str]] = [
    (
        lambda c: o.Published(c.claim, c.payload, "109", "https://sim/109", False, 12.0),
        "published",
        "published",
        "published",
        "gone",
    ),
    (
        lambda c: o.Published(c.claim, c.payload, "109", "https://sim/109", True, 12.0),
        "reconciled",
        "published",
        "reconciled",
        "gone",
    ),
    (
        lambda c: o.Retry(c.claim, c.payload, "mastodon: HTTP 503: busy", 503, utcnow() + SOON, True, 8.0),
        "retry",
        "queued",
        "retry",
        "due",
    ),
    (
        lambda c: o.Deferred(c.claim, c.payload, "channel kr-mastodon rate-limited", utcnow() + SOON, False),
        "deferred",
        "queued",
        "deferred",
        "due",
    ),
    (
        lambda c: o.Failed(c.claim, c.payload, "mastodon: HTTP 422: too long", 422, 9.0),
        "failed",
        "failed",
        "failed",
        "gone",
    ),
    (
        lambda c: o.Uncertain(c.claim, c.payload, "sent, no answer, look-up failed", 504, 9.0),
        "uncertain",
        "uncertain",
        "uncertain",
        "gone",
    ),
    (
        lambda c: o.Held(c.claim, c.payload, "channel kr-mastodon is paused"),
        "held",
        "held",
        "held",
        "gone",
    ),
    (lambda c: o.Kept(c.claim), "error", "publishing", None, "in flight"),
]


@pytest.mark.parametrize("make, answer, state, attempt, redis", CASES, ids=[c[1] for c in CASES])
def test_each_outcome_is_written_then_acknowledged(
    herald: Any,
    claimed: Claimed,
    make: Callable[[Claimed], o.Outcome],
    answer: str,
    state: str,
    attempt: str | None,
    redis: str,
) -> None:
    outcome = make(claimed)

    (recorded,) = record(herald.db, herald.queue, [outcome])

    assert recorded.ours and recorded.answer == answer and recorded.outcome is outcome
    d, outcomes = row(herald, claimed.claim.delivery_id)
    assert d.state == state and outcomes == [attempt]
    assert in_redis(herald, claimed.claim.delivery_id) == redis


def test_a_retry_keeps_the_reconciliation_and_a_deferral_gives_back_the_attempt(
    herald: Any, claimed: Claimed
) -> None:
    c = claimed
    record(herald.db, herald.queue, [o.Retry(c.claim, c.payload, "lost answer", None, utcnow(), True, 1.0)])
    d, _ = row(herald, c.claim.delivery_id)
    assert d.needs_reconcile and d.attempts == 1 and d.last_error == "lost answer"

    (again,) = claim_batch(herald.db, [c.claim.delivery_id], lease_seconds=30).claims
    assert again.takeover and again.attempt_no == 2
    record(herald.db, herald.queue, [o.Deferred(again, c.payload, "rate", utcnow(), again.takeover)])
    d, _ = row(herald, c.claim.delivery_id)
    assert d.needs_reconcile and d.attempts == 1


def test_refused_credentials_pause_the_channel(herald: Any, claimed: Claimed) -> None:
    c = claimed
    pause = o.ChannelPause(c.channel_id, "credentials refused by mastodon: token revoked")

    record(herald.db, herald.queue, [o.Failed(c.claim, c.payload, "HTTP 401", 401, 3.0, pause)])

    (channel,) = [ch for ch in herald.list_channels() if ch.id == c.channel_id]
    assert channel.paused and channel.pause_reason == pause.reason


def test_a_post_pulled_while_publishing_goes_on_to_its_takedown(herald: Any, claimed: Claimed) -> None:
    c = claimed
    assert herald.takedown(c.payload.post_id).after_publish == ("kr-mastodon",)

    (recorded,) = record(
        herald.db, herald.queue, [o.Published(c.claim, c.payload, "110", "https://sim/110", False, 5.0)]
    )

    assert recorded.answer == "published"
    d, _ = row(herald, c.claim.delivery_id)
    assert d.state == "deleting" and d.remote_id == "110"
    assert in_redis(herald, c.claim.delivery_id) == "due"


@pytest.mark.parametrize("make", [c[0] for c in CASES[:-1]], ids=[c[1] for c in CASES[:-1]])
def test_a_lost_claim_writes_nothing(
    herald: Any, claimed: Claimed, make: Callable[[Claimed], o.Outcome]
) -> None:
    stale = Claimed(dataclasses.replace(claimed.claim, token="an-expired-claim"), claimed.payload, 0)

    (recorded,) = record(herald.db, herald.queue, [make(stale)])

    assert not recorded.ours and recorded.answer == "lost-claim"
    d, outcomes = row(herald, claimed.claim.delivery_id)
    assert d.state == "publishing" and outcomes == [None]
    assert in_redis(herald, claimed.claim.delivery_id) == "in flight"
