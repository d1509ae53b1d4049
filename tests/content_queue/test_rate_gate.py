"""The rate gate script on a real Redis (``content_queue.scripts.RATE_GATE``): a channel's
posting window and the window its credential shares with other channels, kept across workers;
a post turned away gets the first slot it fits in, reserved for it, so that posts told to wait
come back in the order they asked and none that asks later goes ahead of them."""

from __future__ import annotations

import hashlib

import pytest

from content_queue import ContentQueue
from herald.core.secret import Secret
from herald.platforms import connector_class
from herald.platforms.base import ConnectorConfig

T0 = 1_900_000_000.0  # a fixed instant: the gate judges the time it is given


@pytest.fixture
def q(redis_url: str) -> ContentQueue:
    return ContentQueue.from_url(redis_url)


def test_a_full_window_reserves_slots_in_the_order_asked(q: ContentQueue) -> None:
    window = (3, 10.0)
    assert [q.rate_gate(1, window, f"d{i}", at=T0 + i) for i in range(3)] == [0.0, 0.0, 0.0]
    # The fourth fits when the first leaves the window, the fifth when the second does: slots
    # reserved one after the other, never two posts in one.
    fourth = q.rate_gate(1, window, "d3", at=T0 + 3)
    fifth = q.rate_gate(1, window, "d4", at=T0 + 3.5)
    assert fourth == pytest.approx(T0 + 10)
    assert fifth == pytest.approx(T0 + 11)
    # Asking again before its slot: the same slot; at its slot: it goes (and takes no other).
    assert q.rate_gate(1, window, "d3", at=T0 + 5) == pytest.approx(T0 + 10)
    assert q.rate_gate(1, window, "d3", at=T0 + 10) == 0.0
    # A post that asks later than those waiting goes after them, even where the window would
    # have room for it sooner.
    assert q.rate_gate(1, window, "d5", at=T0 + 10.5) == pytest.approx(T0 + 12)
    # Other channels keep their own windows.
    assert q.rate_gate(2, window, "e0", at=T0 + 3) == 0.0


def test_reserved_slots_are_rounded_up_to_the_grid(q: ContentQueue) -> None:
    window = (1, 1.0)
    assert q.rate_gate(1, window, "a", at=T0 + 0.03) == 0.0
    # Room again at T0 + 1.03: rounded up to T0 + 1.1, to the microsecond as SQL keeps it.
    assert q.rate_gate(1, window, "b", at=T0 + 0.04, grid=0.1) == pytest.approx(T0 + 1.1, abs=1e-6)
    assert q.rate_gate(1, window, "c", at=T0 + 0.05, grid=0.1) == pytest.approx(T0 + 2.1, abs=1e-6)


def test_a_shared_window_spans_the_channels_of_one_credential(q: ContentQueue) -> None:
    own, shared = (100, 60.0), ("bot-digest", (2, 1.0))
    assert q.rate_gate(1, own, "a1", at=T0, shared=shared) == 0.0
    assert q.rate_gate(2, own, "b1", at=T0 + 0.1, shared=shared) == 0.0
    # Each chat has room of its own; the bot has none until its first message leaves.
    assert q.rate_gate(1, own, "a2", at=T0 + 0.2, shared=shared) == pytest.approx(T0 + 1.0)
    assert q.rate_gate(2, own, "b2", at=T0 + 0.3, shared=shared) == pytest.approx(T0 + 1.1)
    # A channel of another credential is not held by it.
    assert q.rate_gate(3, own, "c1", at=T0 + 0.3, shared=("other-bot", (2, 1.0))) == 0.0


def test_a_429_hold_answers_its_instant_and_reserves_nothing(q: ContentQueue) -> None:
    q.hold_channel(1, T0 + 30)
    assert q.rate_gate(1, (3, 10.0), "d0", at=T0) == pytest.approx(T0 + 30)
    assert q.redis.zcard(q.keys.channel_sent(1)) == 0


@pytest.mark.parametrize(
    ("platform", "creds", "shared_key"),
    [
        ("telegram", {"bot_token": "700000001:AAE-secret-bot-token", "chat_id": "@chan"}, "bot_token"),
        (
            "x",
            {"api_key": "app-key-secret", "api_secret": "s", "access_token": "t", "access_token_secret": "u"},
            "api_key",
        ),
    ],
)
def test_the_shared_scope_is_a_digest_never_the_credential(
    platform: str, creds: dict[str, str], shared_key: str
) -> None:
    cls = connector_class(platform)
    connector = cls(ConnectorConfig(credentials={k: Secret(v) for k, v in creds.items()}))
    scope = connector.shared_scope()
    assert scope is not None and creds[shared_key] not in scope
    assert scope == hashlib.sha256(f"{platform}\0{creds[shared_key]}".encode()).hexdigest()[:32]
    # Another chat of the same bot (another user of the same app) shares it.
    other = dict(creds, **({"chat_id": "@other"} if platform == "telegram" else {"access_token": "t2"}))
    assert cls(ConnectorConfig(credentials={k: Secret(v) for k, v in other.items()})).shared_scope() == scope
    assert cls.shared_posts_per_window is not None


def test_platforms_without_a_shared_limit_have_no_scope() -> None:
    cls = connector_class("mastodon")
    connector = cls(ConnectorConfig(credentials={"access_token": Secret("tok-1234567890")}))
    assert connector.shared_scope() is None
