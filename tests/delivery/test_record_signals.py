"""What ``record`` tells the outside for each kind of outcome: which metrics move (by exactly
one), and which outcomes are a WARNING line naming the delivery, its platform, the outcome and
the reason. Real store, real queue, a delivery really claimed."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from content_queue import Payload
from herald.delivery import outcomes as o
from herald.delivery.claim import claim_batch
from herald.delivery.record import record
from herald.service import PostRequest
from herald.store.deliveries import Claim, mark_final
from herald.store.models import utcnow
from tests.e2e.conftest import ALL_SECRETS

SOON = timedelta(seconds=60)


@dataclasses.dataclass(frozen=True)
class Claimed:
    claim: Claim
    payload: Payload


@pytest.fixture
def claimed(herald: Any, channels: dict[str, str]) -> Claimed:
    """A delivery to kr-mastodon, due now, taken from the queue and claimed in SQL."""
    herald.add_post(PostRequest(channels=["kr-mastodon"], text="an outcome to measure"))
    (delivery_id,) = herald.queue.claim_due(lease_seconds=30)
    (claim,) = claim_batch(herald.db, [delivery_id], lease_seconds=30).claims
    return Claimed(claim, herald.queue.payload(delivery_id))


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def snapshot(platform: str) -> dict[str, float]:
    """Every per-delivery metric ``record`` moves, for ``platform``."""
    out = {
        f"outcome:{a}": value("herald_deliveries_total", platform=platform, outcome=a)
        for a in ("published", "reconciled", "retry", "deferred", "failed", "uncertain", "held")
    }
    out["outcome:error"] = value("herald_deliveries_total", platform="unknown", outcome="error")
    out["retries"] = value("herald_delivery_retries_total", platform=platform)
    out["deferrals"] = value("herald_delivery_deferrals_total", platform=platform)
    out["calls"] = value("herald_platform_call_seconds_count", platform=platform)
    out["call_seconds"] = value("herald_platform_call_seconds_sum", platform=platform)
    out["lateness"] = value("herald_delivery_lateness_seconds_count", platform=platform)
    return out


def moved(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after[k] - before[k], 6) for k in after if after[k] != before[k]}


#: (outcome made from the claim, metrics moved, the WARNING line's "<outcome> on mastodon: <reason>")
CASES: list[tuple[Callable[[Claimed], o.Outcome], dict[str, float], str | None]] = [
    (
        lambda c: o.Published(c.claim, c.payload, "109", "https://sim/109", False, 12.0),
        {"outcome:published": 1, "calls": 1, "call_seconds": 0.012, "lateness": 1},
        None,
    ),
    (
        # Out on an earlier try, at a time nobody knows: no lateness.
        lambda c: o.Published(c.claim, c.payload, "109", "https://sim/109", True, 12.0),
        {"outcome:reconciled": 1, "calls": 1, "call_seconds": 0.012},
        None,
    ),
    (
        lambda c: o.Retry(c.claim, c.payload, "mastodon: HTTP 503: busy", 503, utcnow() + SOON, True, 8.0),
        {"outcome:retry": 1, "retries": 1, "calls": 1, "call_seconds": 0.008},
        None,  # decide() already says "retry N in S s" at WARNING
    ),
    (
        lambda c: o.Deferred(
            c.claim, c.payload, "channel kr-mastodon rate-limited for 4.0 s", utcnow(), False
        ),
        {"outcome:deferred": 1, "deferrals": 1},
        "deferred on mastodon: channel kr-mastodon rate-limited for 4.0 s",
    ),
    (
        lambda c: o.Failed(c.claim, c.payload, "mastodon: HTTP 422: too long", 422, 9.0),
        {"outcome:failed": 1, "calls": 1, "call_seconds": 0.009},
        "failed on mastodon: mastodon: HTTP 422: too long",
    ),
    (
        # No platform call was made (a thread's parts did not match): no call time.
        lambda c: o.Failed(c.claim, c.payload, "the thread's parts do not match", None, 0.0),
        {"outcome:failed": 1},
        "failed on mastodon: the thread's parts do not match",
    ),
    (
        lambda c: o.Uncertain(c.claim, c.payload, "sent, no answer, look-up failed", 504, 9.0),
        {"outcome:uncertain": 1, "calls": 1, "call_seconds": 0.009},
        "uncertain on mastodon: sent, no answer, look-up failed",
    ),
    (
        lambda c: o.Held(c.claim, c.payload, "channel kr-mastodon is paused: stop button"),
        {"outcome:held": 1},
        "held on mastodon: channel kr-mastodon is paused: stop button",
    ),
    (lambda c: o.Kept(c.claim), {"outcome:error": 1}, None),
]


@pytest.mark.parametrize("make, metrics, line", CASES)
def test_each_outcome_moves_its_metrics_once_and_warns_when_a_person_may_act(
    herald: Any,
    claimed: Claimed,
    caplog: pytest.LogCaptureFixture,
    make: Callable[[Claimed], o.Outcome],
    metrics: dict[str, float],
    line: str | None,
) -> None:
    caplog.set_level(logging.INFO, logger="herald.delivery.record")
    before = snapshot("mastodon")

    record(herald.db, herald.queue, [make(claimed)])

    assert moved(before, snapshot("mastodon")) == metrics
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    if line is None:
        assert warnings == []
        return
    (w,) = warnings
    assert w.getMessage() == f"delivery {claimed.claim.delivery_id} {line}"
    assert (w.delivery_id, w.platform, w.outcome) == (claimed.claim.delivery_id, "mastodon", line.split()[0])
    assert not any(s in caplog.text for s in ALL_SECRETS)


def test_a_lost_claim_is_counted_as_lost_and_warns_nothing_new(
    herald: Any, claimed: Claimed, caplog: pytest.LogCaptureFixture
) -> None:
    # Another worker took the delivery over and finished it before ours was written.
    with herald.db.session() as s:
        assert mark_final(s, claimed.claim.delivery_id, claimed.claim.token, "failed", error="theirs")
    before = value("herald_deliveries_total", platform="mastodon", outcome="lost-claim")
    before_failed = value("herald_deliveries_total", platform="mastodon", outcome="failed")

    caplog.set_level(logging.INFO, logger="herald.delivery.record")
    (r,) = record(herald.db, herald.queue, [o.Failed(claimed.claim, claimed.payload, "ours", 422, 5.0)])

    assert not r.ours
    assert value("herald_deliveries_total", platform="mastodon", outcome="lost-claim") == before + 1
    assert value("herald_deliveries_total", platform="mastodon", outcome="failed") == before_failed
    assert [rec.levelname for rec in caplog.records] == ["ERROR"]  # "the claim was lost" only
