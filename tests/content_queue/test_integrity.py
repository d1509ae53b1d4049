"""Staged payloads are sealed with an HMAC and photos are named by hash: a tampered field, the
wrong key, a missing MAC or rewritten photo bytes are refused (real Redis for the queue)."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
import redis

from content_queue import ContentQueue, Payload, PhotoRef
from content_queue.integrity import Seal, Tampered, photo_matches, queue_key
from herald.core.keyring import Keyring
from herald.core.secret import Secret

SECRET = Secret("integrity-test-secret-" + "1" * 32)
PHOTO = b"\xff\xd8 not really a jpeg, but bytes with a hash"
SHA = hashlib.sha256(PHOTO).hexdigest()
DUE = time.time() + 3600


def _payload(delivery_id: int = 7) -> Payload:
    return Payload(
        delivery_id=delivery_id,
        post_id="p7",
        post_version=1,
        channel_id=3,
        platform="mastodon",
        text="Approved text 평화 ✊🏽",
        due=DUE,
        idempotency_key="k7",
        photos=(PhotoRef(sha256=SHA, mime_type="image/jpeg", width=1, height=1, alt_text="alt"),),
    )


def test_a_sealed_payload_opens_to_itself() -> None:
    seal = Seal.from_secret(SECRET)
    assert seal.open(seal.seal(_payload()), 7) == _payload()


def test_the_key_is_derived_for_the_queue_alone() -> None:
    key = queue_key(SECRET)
    assert len(key) == 32 and SECRET.reveal().encode() not in key
    assert key != queue_key(Secret("another-secret-" + "2" * 32))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("text", "Rewritten text"),
        ("channel_id", 4),
        ("platform", "x"),
        ("due", 0.0),
        ("idempotency_key", "other"),
        ("photos", [{"sha256": "0" * 64, "mime_type": "image/jpeg", "width": 1, "height": 1}]),
    ],
)
def test_a_tampered_field_is_refused(field: str, value: object) -> None:
    seal = Seal.from_secret(SECRET)
    d = json.loads(seal.seal(_payload()))
    d[field] = value
    with pytest.raises(Tampered, match="delivery 7"):
        seal.open(json.dumps(d), 7)


def test_wrong_key_missing_mac_other_delivery_and_garbage_are_refused() -> None:
    seal = Seal.from_secret(SECRET)
    other = Seal.from_secret(Secret("another-secret-" + "2" * 32))
    with pytest.raises(Tampered, match="does not match"):
        seal.open(other.seal(_payload()), 7)
    with pytest.raises(Tampered, match="no MAC"):
        seal.open(_payload().to_json(), 7)
    with pytest.raises(Tampered, match="another|delivery 8's|is delivery 8"):
        seal.open(seal.seal(_payload(8)), 7)
    with pytest.raises(Tampered, match="not JSON"):
        seal.open(b"\x00garbage", 7)
    with pytest.raises(Tampered, match="no MAC"):
        seal.open("[1, 2]", 7)


def test_refused_text_never_appears_in_the_error() -> None:
    seal = Seal.from_secret(SECRET)
    d = json.loads(seal.seal(_payload()))
    d["text"] = "EVIL REWRITE"
    with pytest.raises(Tampered) as e:
        seal.open(json.dumps(d), 7)
    assert "EVIL" not in str(e.value) and "Approved" not in str(e.value)


def test_photo_bytes_must_hash_to_their_name() -> None:
    assert photo_matches(SHA, PHOTO)
    assert not photo_matches(SHA, PHOTO + b"!")


def test_the_queue_stages_sealed_and_refuses_what_redis_rewrote(redis_url: str) -> None:
    q = ContentQueue.from_url(redis_url, keyring=Keyring.from_masters(SECRET))
    r = redis.Redis.from_url(redis_url)
    q.stage(_payload(), {SHA: PHOTO}, wake=False)
    assert q.payloads([7]) == {7: _payload()}
    assert q.photos([SHA]) == {SHA: PHOTO}

    d = json.loads(r.get(q.keys.payload(7)) or b"{}")
    d["text"] = "Rewritten"
    r.set(q.keys.payload(7), json.dumps(d))
    r.set(q.keys.photo(SHA), b"other bytes")
    read = q.checked_payloads([7, 99])
    assert read.found == {} and list(read.refused) == [7]
    photos = q.checked_photos([SHA])
    assert photos.found == {} and list(photos.refused) == [SHA]
    assert q.payloads([7]) == {} and q.checked_photos([SHA]).found == {}

    # The right bytes go back over the refused ones; wrong bytes are never written.
    q.restore_photos({SHA: b"still wrong"})
    assert r.get(q.keys.photo(SHA)) == b"other bytes"
    q.restore_photos({SHA: PHOTO})
    assert q.checked_photos([SHA]).found == {SHA: PHOTO}

    # A queue with another key cannot read what this one staged.
    q.stage(_payload(), {SHA: PHOTO}, wake=False)
    assert (
        ContentQueue.from_url(
            redis_url, keyring=Keyring.from_masters(Secret("another-secret-" + "2" * 32))
        ).payloads([7])
        == {}
    )


def test_a_rediss_url_builds_a_tls_client() -> None:
    q = ContentQueue.from_url("rediss://:pw@redis.example.org:6380/0", keyring=Keyring.from_masters(SECRET))
    pool = q.redis.connection_pool
    assert issubclass(pool.connection_class, redis.SSLConnection)
    assert pool.connection_kwargs["password"] == "pw"
    assert pool.connection_kwargs["host"] == "redis.example.org"
