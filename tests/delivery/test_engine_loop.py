"""The delivery engine driven by a plain Python loop: no Celery worker, no dispatcher thread.

The loop is what a worker does, spelled out: take the due ids from the content queue
(``claim_due``), hand them to ``Deliverer.deliver_many``, and do it again until the work is
done. The simulator's ledger says what the platforms received.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from herald.delivery.deliverer import Deliverer
from herald.service import PostRequest
from herald.simulator import Fault
from herald.store.db import Database
from herald.store.deliveries import claim_many
from herald.store.models import Attempt, Delivery


def run(deliverer: Deliverer, *, until: Any, timeout: float = 15.0) -> list[str]:
    """Claim what is due and deliver it, again and again, until ``until()`` holds and nothing
    is due. Returns every answer, in order."""
    answers: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ids = deliverer.queue.claim_due(lease_seconds=deliverer.lease_seconds)
        if ids:
            answers += deliverer.deliver_many(ids)
        elif until():
            return answers
        else:
            time.sleep(0.02)
    raise AssertionError(f"still not done after {timeout} s; answers so far: {answers}")


def statuses(herald: Any, post_id: str) -> dict[str, str]:
    return {r.channel: r.status for r in herald.delivery_log(post_id=post_id)}


def attempt_outcomes(db: Database, post_id: str) -> list[str | None]:
    with db.read() as s:
        return list(
            s.execute(
                select(Attempt.outcome)
                .join(Delivery, Attempt.delivery_id == Delivery.id)
                .where(Delivery.post_id == post_id)
                .order_by(Attempt.number)
            ).scalars()
        )


def queue_is_empty(herald: Any) -> bool:
    return bool(herald.queue.counts() == {"due": 0, "inflight": 0})


def test_the_engine_needs_no_celery() -> None:
    code = (
        "import sys, herald.delivery.deliverer, herald.delivery.factory; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'celery', 'kombu'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_post_goes_out_once_on_every_channel(
    herald: Any, channels: dict[str, str], sim: Any, deliverer: Deliverer
) -> None:
    pid = herald.add_post(PostRequest(channels=list(channels), text="평화 통일: a loop, no Celery"))

    answers = run(deliverer, until=lambda: queue_is_empty(herald))

    assert answers == ["published", "published"]
    assert sorted((e.platform, e.text) for e in sim.ledger()) == [
        ("mastodon", "평화 통일: a loop, no Celery"),
        ("x", "평화 통일: a loop, no Celery"),
    ]
    assert statuses(herald, pid) == {"kr-mastodon": "published", "kr-x": "published"}
    remote = {r.platform: r.remote_id for r in herald.delivery_log(post_id=pid)}
    assert remote == {e.platform: e.remote_id for e in sim.ledger()}


def test_a_503_is_retried_and_published_once(
    herald: Any, channels: dict[str, str], sim: Any, deliverer: Deliverer
) -> None:
    # X answers the create call with a 503: the post may exist, so the engine looks it up,
    # finds nothing, and retries; the retry looks again before sending.
    sim.inject(Fault(kind="error", platform="x", path="/2/tweets", method="POST", status=503, count=1))
    pid = herald.add_post(PostRequest(channels=["kr-x"], text="through a 503"))

    answers = run(deliverer, until=lambda: queue_is_empty(herald))

    assert answers == ["retry", "published"]
    assert [e.text for e in sim.ledger("x")] == ["through a 503"]
    (row,) = herald.delivery_log(post_id=pid)
    assert row.status == "published" and row.attempts == 2 and row.error is None
    assert attempt_outcomes(herald.db, pid) == ["retry", "published"]


def test_an_idempotent_platform_is_reconciled_at_once(
    herald: Any, channels: dict[str, str], sim: Any, deliverer: Deliverer
) -> None:
    # Mastodon keeps the idempotency key: after a 503 the engine resends with the same key
    # in the same attempt.
    sim.inject(Fault(kind="error", platform="mastodon", method="POST", status=503, count=1))
    pid = herald.add_post(PostRequest(channels=["kr-mastodon"], text="sent again with its key"))

    assert run(deliverer, until=lambda: queue_is_empty(herald)) == ["reconciled"]
    assert [e.text for e in sim.ledger("mastodon")] == ["sent again with its key"]
    assert attempt_outcomes(herald.db, pid) == ["reconciled"]


def test_a_takedown_deletes_everywhere_even_after_a_503(
    herald: Any, channels: dict[str, str], sim: Any, deliverer: Deliverer
) -> None:
    pid = herald.add_post(PostRequest(channels=list(channels), text="pull this one"))
    assert run(deliverer, until=lambda: queue_is_empty(herald)) == ["published", "published"]
    remote = {r.platform: r.remote_id for r in herald.delivery_log(post_id=pid)}

    sim.inject(Fault(kind="error", platform="mastodon", method="DELETE", status=503, count=1))
    assert sorted(herald.takedown(pid).deleting) == ["kr-mastodon", "kr-x"]
    answers = run(deliverer, until=lambda: queue_is_empty(herald))

    assert sorted(answers) == ["deleted", "deleted", "retry"]
    assert statuses(herald, pid) == {"kr-mastodon": "deleted", "kr-x": "deleted"}
    assert sim.deleted("mastodon") == {remote["mastodon"]} and sim.deleted("x") == {remote["x"]}
    assert len(sim.ledger()) == 2, "a takedown never publishes"


def test_ids_that_are_not_ours_are_answered_and_put_right(
    herald: Any, channels: dict[str, str], sim: Any, deliverer: Deliverer
) -> None:
    done = herald.add_post(PostRequest(channels=["kr-mastodon"], text="already out"))
    run(deliverer, until=lambda: queue_is_empty(herald))
    later = herald.add_post(
        PostRequest(channels=["kr-x"], text="not yet", at=datetime.now(UTC) + timedelta(hours=1))
    )
    busy = herald.add_post(PostRequest(channels=["kr-x"], text="another worker has it"))
    ids = {pid: row.delivery_id for pid in (done, later, busy) for row in herald.delivery_log(post_id=pid)}
    with herald.db.session() as s:
        assert claim_many(s, [ids[busy]], lease_seconds=60)

    answers = deliverer.deliver_many([ids[done], ids[later], ids[busy], 999_999])

    assert answers == ["done", "not-due", "busy", "missing"]
    assert [e.text for e in sim.ledger()] == ["already out"]
    assert herald.queue.is_known([ids[done], ids[later], ids[busy], 999_999]) == [False, True, True, False]
