"""ThreadsConnector against the Threads simulator: a table of faults first, then the flows
(text-only, carousel, processing, container errors, reconcile, delete), Threads' own way of
counting text and the secrecy check. The harness (``harness.py``) runs the table and the checks
every platform shares; its ``PhotoServer`` serves the photos, which Threads fetches from their
public URL."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import time
import unicodedata
import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.core.errors import AuthError, PermanentError, RetryableError, UncertainError
from herald.platforms.base import Draft, Photo, PhotoInfo
from herald.platforms.threads import ThreadsConnector, threads_length
from herald.simulator import Simulator
from herald.simulator.threads import text_length as simulator_text_length
from tests.platforms.harness import (
    ONE_MINUTE,
    READ_TIMEOUT,
    FaultCase,
    Harness,
    PhotoServer,
    case_id,
    closed_port_url,
)
from tests.platforms.specs import THREADS as SPEC

WRONG_TOKEN = "THQ-wrong-token-fedcba9876543210"
TEXT = SPEC.text
PHOTOS = SPEC.photos


@pytest.fixture(scope="module")
def platform() -> str:
    return SPEC.name


@pytest.fixture
def shared(harness: Harness[ThreadsConnector]) -> tuple[Photo, ...]:
    return harness.photos()


def draft(photos: tuple[Photo, ...] = (), text: str | None = None, key: str | None = None) -> Draft:
    return SPEC.draft(text, photos, key)


# -- the table -----------------------------------------------------------------------------

CONTAINERS = "/threads"
PUBLISH = "/threads_publish"
#: Graph API calls are POSTs unless a fault says otherwise.
fault = functools.partial(SPEC.fault, method="POST")

CASES = [
    FaultCase("wrong token", (), AuthError, "code 190", credentials={"access_token": WRONG_TOKEN}),
    FaultCase("token expired", (), AuthError, "463: the token expired", account={"expires_at": "1"}),
    FaultCase("403 permission", (fault("error", CONTAINERS, status=403),), AuthError, "permission"),
    FaultCase("400 on container", (fault("error", CONTAINERS, status=400),), PermanentError, "code 100"),
    FaultCase(
        "throttled on container",
        (fault("rate_limit", CONTAINERS, reset_in=2.0),),
        RetryableError,
        "rate limited",
        retry_after=ONE_MINUTE,
    ),
    FaultCase(
        "throttled on publish",
        (fault("rate_limit", PUBLISH, reset_in=2.0),),
        RetryableError,
        "code 4",
        photos=1,
        retry_after=ONE_MINUTE,
    ),
    FaultCase(
        "publishing quota",
        (),
        RetryableError,
        "2207042",
        settings={"threads_publish_limit": 0},
        retry_after=3600.0,
    ),
    FaultCase("500 on container", (fault("error", CONTAINERS, status=500),), RetryableError, "HTTP 500"),
    FaultCase("drop on container", (fault("drop", CONTAINERS),), RetryableError, "no answer", photos=2),
    FaultCase(
        "503 on publish", (fault("error", PUBLISH, status=503),), UncertainError, "may exist", posted=None
    ),
    FaultCase("drop on publish", (fault("drop", PUBLISH),), UncertainError, "reconcile", posted=None),
    FaultCase(
        "timeout on publish",
        (fault("slow", PUBLISH, delay=READ_TIMEOUT + 0.5),),
        UncertainError,
        "ReadTimeout",
        posted=None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_publish_fault(case: FaultCase, harness: Harness[ThreadsConnector]) -> None:
    harness.publish_fault(case)


# -- flows ---------------------------------------------------------------------------------


def test_publish_korean_english_carousel_with_alt_text(
    connector: ThreadsConnector, sim: Simulator, shared: tuple[Photo, ...], photo_server: PhotoServer
) -> None:
    published = connector.publish(draft(shared))

    [entry] = sim.ledger("threads")
    assert entry.remote_id == published.remote_id
    assert published.url == entry.url
    assert "/@herald.threads/post/" in published.url
    assert entry.text == TEXT
    assert len(entry.media) == 2
    assert [m.alt_text for m in entry.media] == [p.alt_text for p in PHOTOS]
    assert [m.sha256 for m in entry.media] == [hashlib.sha256(p.data).hexdigest() for p in PHOTOS]
    assert [m.mime_type for m in entry.media] == ["image/jpeg", "image/png"]
    paths = [urllib.parse.urlsplit(p.public_url or "").path for p in shared]
    assert [photo_server.fetched.count(path) for path in paths] == [1, 1]


def test_text_only_post(connector: ThreadsConnector, sim: Simulator) -> None:
    text = "텍스트만 👍🏽 text only"
    published = connector.publish(draft(text=text))
    [entry] = sim.ledger("threads")
    assert (entry.remote_id, entry.text, entry.media) == (published.remote_id, text, ())


def test_single_photo_waits_for_processing(
    connector: ThreadsConnector, sim: Simulator, shared: tuple[Photo, ...]
) -> None:
    sim.threads_processing_polls = 3
    published = connector.publish(draft(shared[:1]))
    [entry] = sim.ledger("threads")
    assert entry.remote_id == published.remote_id
    assert [m.alt_text for m in entry.media] == [PHOTOS[0].alt_text]


def test_container_in_error_is_permanent(connector: ThreadsConnector, sim: Simulator) -> None:
    unreachable = dataclasses.replace(PHOTOS[0], public_url=closed_port_url() + "/p/gone")
    with pytest.raises(PermanentError, match="FAILED_DOWNLOADING_IMAGE"):
        connector.publish(draft((unreachable,)))
    assert sim.ledger("threads") == []


def test_publishing_again_after_an_uncertain_try_returns_the_first_post(
    connector: ThreadsConnector, sim: Simulator
) -> None:
    sim.inject(fault("commit_then_drop", PUBLISH))
    with pytest.raises(UncertainError):
        connector.publish(draft())
    again = connector.publish(draft())
    [entry] = sim.ledger("threads")
    assert again.remote_id == entry.remote_id


def test_unpublished_container_is_reused(connector: ThreadsConnector, sim: Simulator) -> None:
    sim.inject(fault("drop", PUBLISH))
    with pytest.raises(UncertainError):
        connector.publish(draft())

    assert connector.reconcile(draft()) is None
    published = connector.publish(draft())

    [entry] = sim.ledger("threads")
    assert entry.remote_id == published.remote_id
    creates = [s for s in sim.requests_seen("threads") if s.method == "POST" and s.path.endswith("/threads")]
    assert len(creates) == 1


def test_post_edited_between_tries_gets_a_new_container(connector: ThreadsConnector, sim: Simulator) -> None:
    sim.inject(fault("drop", PUBLISH))
    with pytest.raises(UncertainError):
        connector.publish(draft())
    assert connector.reconcile(draft()) is None

    connector.publish(draft(text="고친 글 (edited)"))

    [entry] = sim.ledger("threads")
    assert entry.text == "고친 글 (edited)"
    creates = [s for s in sim.requests_seen("threads") if s.method == "POST" and s.path.endswith("/threads")]
    assert len(creates) == 2


def test_reconcile_from_another_process(
    connector: ThreadsConnector, harness: Harness[ThreadsConnector], sim: Simulator
) -> None:
    sim.inject(fault("commit_then_drop", PUBLISH))
    with pytest.raises(UncertainError):
        connector.publish(draft())
    [first] = sim.ledger("threads")
    other = harness.make()
    found = other.reconcile(draft())
    assert found is not None and found.remote_id == first.remote_id
    with pytest.raises(UncertainError, match="cannot tell"):
        other.reconcile(draft(text="never sent"))
    other.close()


def test_reconcile_that_cannot_look_is_uncertain(connector: ThreadsConnector, sim: Simulator) -> None:
    sim.inject(fault("error", CONTAINERS, method="GET", status=503))
    with pytest.raises(UncertainError, match="could not check"):
        connector.reconcile(draft())


def test_photo_without_public_url_is_refused_before_any_call(
    connector: ThreadsConnector, sim: Simulator
) -> None:
    with pytest.raises(PermanentError, match="set HERALD_PUBLIC_URL"):
        connector.publish(draft(PHOTOS))
    assert sim.requests_seen("threads") == []


def test_delete(connector: ThreadsConnector, sim: Simulator) -> None:
    published = connector.publish(draft())
    connector.delete(published.remote_id)
    connector.delete(published.remote_id)  # already gone: nothing to do
    assert sim.deleted("threads") == {published.remote_id}


# -- counting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("hello", 5),
        ("안녕하세요", 5),  # Hangul counts 1 per character, not its 3 UTF-8 bytes
        ("\u1100\u1161", 1),  # decomposed 가 is one character after NFC
        ("春が来た", 4),
        ("😀", 4),
        ("👍🏽", 8),  # skin tone: 4 + 4 bytes
        ("🇰🇷", 8),  # flag: two regional indicators
        ("❤️", 6),  # U+2764 U+FE0F: 3 + 3 bytes
        ("👨‍👩‍👧‍👦", 25),  # four people and three joiners
        ("봄 🌸 spring", 13),
        ("#1 ©", 4),  # text-style characters are not emoji
    ],
)
def test_threads_length(text: str, length: int) -> None:
    assert threads_length(text) == length


#: Pieces whose count both this connector and the simulator know: letters, Hangul, kanji, and
#: emoji with skin tones, flags, variation selectors and joiners.
TOKENS = ["a", " ", "가", "春", "😀", "👍🏽", "🇰🇷", "❤️", "👨‍👩‍👧", "🌸"]


@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_threads_length_agrees_with_the_simulator(tokens: list[str]) -> None:
    text = "".join(tokens)
    assert threads_length(text) == simulator_text_length(text)


@given(st.text(max_size=60))
def test_threads_length_bounds(text: str) -> None:
    # Every character counts at least 1, and nothing counts more than its UTF-8 bytes.
    normalized = unicodedata.normalize("NFC", text)
    assert len(normalized) <= threads_length(text) <= len(normalized.encode("utf-8", "surrogatepass"))


def test_validate_counts_emoji_by_bytes(connector: ThreadsConnector, sim: Simulator) -> None:
    assert ThreadsConnector.validate("😀" * 125, []) == []
    assert ThreadsConnector.validate("가" * 500, []) == []
    [problem] = ThreadsConnector.validate("😀" * 126, [])
    assert (problem.field, problem.count, problem.limit) == ("text", 504, 500)
    [problem] = ThreadsConnector.validate("x", [PhotoInfo("image/webp", 100, 10, 10)])
    assert "image/webp" in problem.message

    with pytest.raises(PermanentError, match="500 characters"):
        connector.publish(draft(text="🌸" * 126))
    assert sim.requests_seen("threads") == []


# -- secrets -------------------------------------------------------------------------------


def test_no_credential_in_logs_or_errors(
    harness: Harness[ThreadsConnector], leak_log: pytest.LogCaptureFixture
) -> None:
    cases = [c for c in CASES if c.expected is AuthError] + [CASES[-2]]
    assert len(cases) == 4
    errors = harness.refusals(cases, photos=2)
    harness.assert_secrets_kept(leak_log, errors, cases)


def test_deadline_while_processing_is_retryable(
    connector: ThreadsConnector, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A container that never finishes within the wait: nothing was published, try later.
    sim.threads_processing_polls = 1000
    monkeypatch.setattr(connector, "CONTAINER_WAIT_SECONDS", 0.3)
    started = time.monotonic()
    with pytest.raises(RetryableError, match="still IN_PROGRESS") as caught:
        connector.publish(draft())
    assert time.monotonic() - started < 2.0
    assert caught.value.retry_after == 60.0
    assert sim.ledger("threads") == []
