"""Drafts kept server-side (``web.drafts``): bound to the person who made them, unforgeable,
expiring, bounded in number and bytes (per person and in all, one person's never pushing out
another's), and taken once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from herald.web.drafts import DraftStore

SESSION = "user:1"
OTHER = "user:2"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


WEB_KEY = b"test-web-key-" + b"0" * 19


def store(clock: Clock | None = None, **limits: int) -> DraftStore[str]:
    return DraftStore[str](lambda: WEB_KEY, clock=clock or Clock(), ttl_seconds=60, **limits)


def test_a_draft_is_found_by_its_session_only() -> None:
    drafts = store()
    token = drafts.put(SESSION, "draft", 10)
    assert token is not None
    assert drafts.get(SESSION, token) == "draft"
    assert drafts.get(OTHER, token) is None
    assert drafts.get(None, token) is None


@pytest.mark.parametrize(
    "mangle", [lambda t: t + "0", lambda t: t.split(".")[0], lambda t: "x" + t, lambda t: "가" + t]
)
def test_an_altered_token_finds_nothing(mangle: Callable[[str], str]) -> None:
    drafts = store()
    token = drafts.put(SESSION, "draft", 10)
    assert token is not None
    assert drafts.get(SESSION, mangle(token)) is None


def test_a_draft_with_a_valid_signature_from_another_key_finds_nothing() -> None:
    token = store().put(SESSION, "draft", 10)
    other = DraftStore[str](lambda: b"another-web-key-" + b"1" * 16)
    assert other.get(SESSION, token) is None


def test_drafts_expire() -> None:
    clock = Clock()
    drafts = store(clock)
    token = drafts.put(SESSION, "draft", 10)
    clock.now += 59
    assert drafts.get(SESSION, token) == "draft"
    clock.now += 2
    assert drafts.get(SESSION, token) is None
    assert len(drafts) == 0


def test_oldest_drafts_go_first_over_the_limits() -> None:
    drafts = store(max_drafts=2, max_bytes=100)
    a = drafts.put(SESSION, "a", 10)
    b = drafts.put(SESSION, "b", 10)
    c = drafts.put(SESSION, "c", 10)
    assert [drafts.get(SESSION, t) for t in (a, b, c)] == [None, "b", "c"]
    d = drafts.put(SESSION, "d", 95)
    assert [drafts.get(SESSION, t) for t in (b, c, d)] == [None, None, "d"]
    assert drafts.put(SESSION, "too big", 101) is None


def test_take_is_once_and_remembers_what_it_became() -> None:
    drafts = store()
    token = drafts.put(SESSION, "draft", 10)
    assert drafts.take(OTHER, token) is None
    assert drafts.take(SESSION, token) == "draft"
    assert drafts.take(SESSION, token) is None
    drafts.finish(SESSION, token, "post-1")
    assert drafts.finished(SESSION, token) == "post-1"
    assert drafts.finished(OTHER, token) is None


def test_one_person_cannot_push_out_another_persons_drafts() -> None:
    drafts = store(max_drafts=4, max_bytes=100, max_per_owner=3, max_owner_bytes=60)
    mine = drafts.put(OTHER, "mine", 30)
    # An attacker (any signed-in person) floods the store: only their own oldest drafts go.
    theirs = [drafts.put(SESSION, f"x{i}", 20) for i in range(10)]
    assert drafts.get(OTHER, mine) == "mine"
    assert [drafts.get(SESSION, t) for t in theirs[-3:]] == ["x7", "x8", "x9"]
    assert all(drafts.get(SESSION, t) is None for t in theirs[:-3])
    # Over their own bytes: their oldest go, never "mine".
    big = drafts.put(SESSION, "big", 60)
    assert drafts.get(SESSION, big) == "big" and drafts.get(OTHER, mine) == "mine"
    # A store full of other people's drafts keeps a newcomer's out rather than evict anyone.
    third = "user:3"
    full = store(max_drafts=2, max_bytes=100, max_per_owner=2, max_owner_bytes=100)
    a, b = full.put(OTHER, "a", 10), full.put(SESSION, "b", 10)
    assert full.put(third, "c", 10) is None
    assert (full.get(OTHER, a), full.get(SESSION, b)) == ("a", "b")
