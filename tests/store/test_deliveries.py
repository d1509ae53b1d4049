"""The delivery state machine's compare-and-set transitions, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from herald.core.keyring import Keyring
from herald.core.secret import Secret
from herald.store import states
from herald.store.crypto import CredentialBox
from herald.store.db import Database
from herald.store.decisions import cancel_post
from herald.store.deliveries import claim, extend_lease, mark_final, mark_published, mark_retry
from herald.store.models import Attempt, Channel, Delivery, Post, utcnow


@pytest.fixture
def db(any_db_url: str) -> Database:
    d = Database(any_db_url)
    d.migrate()
    yield d
    d.dispose()


def _delivery(db: Database, *, due_in: float = 0.0, n: int = 1) -> list[int]:
    box = CredentialBox(Keyring.from_masters(Secret("k" * 40)))
    with db.session() as s:
        ch = Channel(
            name=f"c{utcnow().timestamp()}",
            platform="mastodon",
            credentials_encrypted=box.seal({"access_token": Secret("tok-123456")}),
            options={},
            slots={},
        )
        s.add(ch)
        s.flush()
        ids = []
        for i in range(n):
            p = Post(text=f"hello {i}", scheduled_at=utcnow() + timedelta(seconds=due_in))
            s.add(p)
            s.flush()
            d = Delivery(
                post_id=p.id,
                channel_id=ch.id,
                state=states.QUEUED,
                due_at=p.scheduled_at,
                idempotency_key=f"k-{p.id}",
            )
            s.add(d)
            s.flush()
            ids.append(d.id)
        return ids


def test_claim_is_exclusive(db: Database) -> None:
    (i,) = _delivery(db)
    with db.session() as s:
        first = claim(s, i, lease_seconds=30)
    with db.session() as s:
        second = claim(s, i, lease_seconds=30)
    assert first is not None and not first.takeover and first.attempt_no == 1
    assert second is None


def test_concurrent_claims_one_winner(db: Database) -> None:
    ids = _delivery(db, n=20)
    wins: list[tuple[int, str]] = []
    lock = threading.Lock()

    def worker() -> None:
        for i in ids:
            with db.session() as s:
                c = claim(s, i, lease_seconds=30)
            if c:
                with lock:
                    wins.append((i, c.token))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(i for i, _ in wins) == ids


def test_not_due_is_not_claimed(db: Database) -> None:
    (i,) = _delivery(db, due_in=60)
    with db.session() as s:
        assert claim(s, i, lease_seconds=30) is None


def test_expired_lease_is_taken_over_and_old_token_loses(db: Database) -> None:
    (i,) = _delivery(db)
    with db.session() as s:
        old = claim(s, i, lease_seconds=30)
    assert old
    with db.session() as s:
        assert claim(s, i, lease_seconds=30) is None  # live lease
        new = claim(s, i, lease_seconds=30, now=utcnow() + timedelta(seconds=31))
    assert new is not None and new.takeover and new.attempt_no == 2
    with db.session() as s:
        assert not mark_published(s, i, old.token, remote_id="1", remote_url="u")
        assert not extend_lease(s, i, old.token, lease_seconds=30)
        assert mark_published(s, i, new.token, remote_id="2", remote_url="u2")
    with db.session() as s:
        d = s.get(Delivery, i)
        assert d.state == states.PUBLISHED and d.remote_id == "2"
        outcomes = s.execute(
            select(Attempt.outcome).where(Attempt.delivery_id == i).order_by(Attempt.number)
        ).all()
        assert [o for (o,) in outcomes] == [None, "published"]


def test_retry_then_reconcile_flag(db: Database) -> None:
    (i,) = _delivery(db)
    with db.session() as s:
        c = claim(s, i, lease_seconds=30)
        assert c
    with db.session() as s:
        assert mark_retry(
            s, i, c.token, due_at=utcnow(), error="HTTP 503", http_status=503, needs_reconcile=True
        )
    with db.session() as s:
        c2 = claim(s, i, lease_seconds=30)
    assert c2 is not None and c2.takeover, "a retry after an uncertain answer must reconcile first"


def test_cancel_races_with_claim(db: Database) -> None:
    a, b = _delivery(db, n=2)
    with db.session() as s:
        assert claim(s, a, lease_seconds=30)
    with db.session() as s:
        post_a = s.get(Delivery, a).post_id
        post_b = s.get(Delivery, b).post_id
        cancelled, late = cancel_post(s, post_a)
        assert cancelled == [] and late == [a]
        cancelled, late = cancel_post(s, post_b)
        assert cancelled == [b] and late == []
    with db.session() as s:
        assert claim(s, b, lease_seconds=30) is None


def test_final_states(db: Database) -> None:
    (i,) = _delivery(db)
    with db.session() as s:
        c = claim(s, i, lease_seconds=30)
        assert c
    with db.session() as s:
        assert mark_final(s, i, c.token, states.UNCERTAIN, error="timeout; could not confirm")
        assert not mark_final(s, i, c.token, states.FAILED, error="again")
    with db.session() as s:
        assert s.get(Delivery, i).state == states.UNCERTAIN


def test_credentials_encrypted_at_rest(db: Database) -> None:
    token = "super-secret-token-value-987"
    box = CredentialBox(Keyring.from_masters(Secret("k" * 40)))
    with db.session() as s:
        s.add(
            Channel(
                name="enc",
                platform="mastodon",
                credentials_encrypted=box.seal({"access_token": Secret(token)}),
                options={},
                slots={},
            )
        )
    with db.engine.connect() as c:
        raw = c.execute(text("SELECT * FROM channels")).all()
    assert token not in repr(raw) and token.encode() not in b"".join(
        bytes(v) for row in raw for v in row if isinstance(v, (bytes, memoryview))
    )
    with db.session() as s:
        ch = s.execute(select(Channel).where(Channel.name == "enc")).scalar_one()
        assert box.open(ch.credentials_encrypted)["access_token"].reveal() == token
        assert "super-secret" not in repr(box.open(ch.credentials_encrypted))


def test_record_published_many_lost_claims_and_takedowns(db: Database) -> None:
    from datetime import timedelta

    from herald.store.deliveries import PublishedRecord, claim_many, record_published_many
    from herald.store.takedowns import request_takedown

    a, b, c = _delivery(db, n=3)
    with db.session() as s:
        claims = {x.delivery_id: x for x in claim_many(s, [a, b, c], lease_seconds=30)}
    # b's lease runs out and another worker takes it over; c gets a takedown request mid-publish.
    with db.session() as s:
        other = claim_many(s, [b], lease_seconds=30, now=utcnow() + timedelta(seconds=31))
        assert other and other[0].takeover
        post_c = s.get(Delivery, c).post_id
        channel_c = s.get(Delivery, c).channel_id
        assert request_takedown(s, post_c, [channel_c]).after_publish == (c,)
    with db.session() as s:
        got = record_published_many(
            s, [PublishedRecord(i, claims[i].token, f"r{i}", f"u{i}") for i in (a, b, c)]
        )
    assert got == {a: (True, False), b: (False, False), c: (True, True)}
    with db.session() as s:
        assert s.get(Delivery, a).state == states.PUBLISHED
        assert s.get(Delivery, b).state == states.PUBLISHING  # still the other worker's
        assert s.get(Delivery, c).state == states.DELETING
        outcomes = dict(
            s.execute(
                select(Attempt.delivery_id, Attempt.outcome).where(Attempt.token == claims[a].token)
            ).all()
        )
    assert outcomes[a] == "published" and outcomes[c] == "published" and outcomes[b] is None
