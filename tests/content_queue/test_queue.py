"""The Redis content queue on a real Redis: atomic claims, leases, photo de-duplication,
rebuilding from SQL."""

from __future__ import annotations

import threading
import time
import uuid

import redis

from content_queue import ContentQueue, Payload, PhotoRef
from content_queue.keys import Keys


def _payload(i: int, due: float, shas: tuple[str, ...] = ()) -> Payload:
    return Payload(
        delivery_id=i,
        post_id=f"p{i}",
        post_version=1,
        channel_id=1,
        platform="mastodon",
        text=f"t{i}",
        due=due,
        idempotency_key=f"k{i}",
        photos=tuple(PhotoRef(sha256=s, mime_type="image/jpeg", width=1, height=1) for s in shas),
    )


def test_claim_only_due_and_exactly_once_across_claimers(redis_url: str) -> None:
    q = ContentQueue.from_url(redis_url)
    now = time.time()
    for i in range(1, 1001):
        q.stage(_payload(i, now - 1), wake=False)
    q.stage(_payload(5000, now + 3600), wake=False)
    got: list[int] = []
    lock = threading.Lock()

    def claimer() -> None:
        mine = ContentQueue.from_url(redis_url)
        while True:
            ids = mine.claim_due(limit=37)
            if not ids:
                return
            with lock:
                got.extend(ids)

    ts = [threading.Thread(target=claimer) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(got) == list(range(1, 1001))
    assert q.counts() == {"due": 1, "inflight": 1000}
    assert q.next_due() == now + 3600


def test_reaper_returns_expired_leases(redis_url: str) -> None:
    q = ContentQueue.from_url(redis_url)
    q.stage(_payload(1, time.time() - 1), wake=False)
    assert q.claim_due(lease_seconds=0.2) == [1]
    assert q.claim_due() == []
    assert q.reap_expired() == []
    time.sleep(0.25)
    assert q.reap_expired() == [1]
    assert q.claim_due() == [1]


def test_photos_deduplicated_and_released(redis_url: str) -> None:
    q = ContentQueue.from_url(redis_url)
    r = redis.Redis.from_url(redis_url)
    photo = b"\xff\xd8" + b"x" * 1000
    q.stage(_payload(1, time.time(), ("aa",)), {"aa": photo}, wake=False)
    q.stage(_payload(2, time.time(), ("aa",)), {"aa": photo}, wake=False)
    q.stage(_payload(2, time.time(), ("aa",)), {"aa": photo}, wake=False)  # re-stage: no extra ref
    assert r.hget(q.keys.photo_refs, "aa") == b"2"
    assert len(list(r.keys(q.keys.photo("*")))) == 1
    q.release(1)
    assert q.photos(["aa"]) == {"aa": photo}
    q.release(2)
    assert q.photos(["aa"]) == {}
    assert r.hget(q.keys.photo_refs, "aa") is None
    assert q.counts() == {"due": 0, "inflight": 0}


def test_stage_leaves_inflight_alone(redis_url: str) -> None:
    q = ContentQueue.from_url(redis_url)
    q.stage(_payload(1, time.time() - 1), wake=False)
    assert q.claim_due() == [1]
    assert q.stage(_payload(1, time.time() - 1), wake=False) is False
    assert q.counts() == {"due": 0, "inflight": 1}


def test_requeue_and_extend(redis_url: str) -> None:
    q = ContentQueue.from_url(redis_url)
    q.stage(_payload(1, time.time() - 1), wake=False)
    q.claim_due(lease_seconds=0.1)
    assert q.extend_lease(1, 10)
    time.sleep(0.15)
    assert q.reap_expired() == []
    q.requeue(1, time.time() + 60)
    assert q.counts() == {"due": 1, "inflight": 0}
    assert not q.extend_lease(1, 10), "extending must never resurrect a delivery that left in-flight"


def test_staging_wakes_the_schedulers_once_and_only_after_its_photos_are_in(redis_url: str) -> None:
    """One payload without photos: the STAGE script publishes the wake itself (one round trip).
    With a photo Redis lacks, the caller wakes once, after uploading it. Many payloads: one
    wake. In flight (left alone): none."""
    # A prefix of its own: pub/sub channels are shared by every Redis database (other tests).
    q = ContentQueue.from_url(redis_url, Keys(prefix=f"wake-test-{uuid.uuid4().hex}"))
    client = redis.Redis.from_url(redis_url)
    sub = client.pubsub(ignore_subscribe_messages=True)
    sub.subscribe(q.keys.wake)
    sub.get_message(timeout=1)  # the subscription's own confirmation

    def wakes() -> list[bytes]:
        out = []
        while (m := sub.get_message(timeout=0.2)) is not None:
            out.append(m["data"])
        return out

    assert q.stage(_payload(1, time.time()))
    assert wakes() == [b"1"]
    assert q.stage(_payload(2, time.time(), ("bb",)), {"bb": b"photo"})
    assert wakes() == [b"1"]
    assert client.exists(q.keys.photo("bb")) == 1
    assert q.stage_many([(_payload(3, time.time()), {}), (_payload(4, time.time()), {})]) == 2
    assert wakes() == [b"1"]
    assert q.stage(_payload(5, time.time()), wake=False)
    assert wakes() == []
    client.zadd(q.keys.inflight, {"6": time.time() + 60})
    assert q.stage(_payload(6, time.time())) is False
    assert wakes() == []
    sub.close()
    client.close()
