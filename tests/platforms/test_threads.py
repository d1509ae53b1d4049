"""ThreadsConnector against the Threads simulator: a table of faults first, then the flows
(text-only, carousel, processing, container errors, reconcile, delete), Threads' own way of
counting text and the secrecy check. Photos are served by ``PhotoServer`` (see
test_instagram.py): Threads fetches them from their public URL."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
import unicodedata
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.core.errors import (
    AuthError,
    HeraldError,
    PermanentError,
    RetryableError,
    UncertainError,
)
from herald.core.secret import Secret
from herald.platforms.base import ConnectorConfig, Draft, Photo, PhotoInfo
from herald.platforms.threads import ThreadsConnector, threads_length
from herald.simulator import Fault, FaultKind, Simulator
from herald.simulator.threads import text_length as simulator_text_length
from tests.platforms.test_instagram import PhotoServer, closed_port_url, jpeg, png, settle

THREADS_USER_ID = "1234567890"
TOKEN = "THQ-threads-token-0123456789abcdef"
WRONG_TOKEN = "THQ-wrong-token-fedcba9876543210"
TEXT = "안녕하세요, Herald! 봄 캠페인이 시작됩니다 🌸 Spring campaign starts today."

#: Read timeout for the tests, seconds: short so that a "slow" fault times out quickly.
READ_TIMEOUT = 0.5
#: What a 1-minute ``estimated_time_to_regain_access`` becomes, seconds.
ONE_MINUTE = 60.0

PHOTOS = (
    Photo(jpeg(64, 48, (200, 30, 30)), "image/jpeg", 64, 48, "빨간 사각형 (a red square)", "red.jpg"),
    Photo(png(48, 64), "image/png", 48, 64, "A green square, 초록 사각형", "green.png"),
)


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    simulator = Simulator(platforms=("threads",)).start()
    yield simulator
    simulator.stop()


@pytest.fixture(scope="module")
def photo_server() -> Iterator[PhotoServer]:
    server = PhotoServer()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh(sim: Simulator) -> None:
    sim.reset()  # keeps accounts and settings: set both
    sim.threads_processing_polls = 0
    sim.threads_publish_limit = 250
    sim.add_account("threads", username="herald.threads", threads_user_id=THREADS_USER_ID, access_token=TOKEN)


@pytest.fixture
def shared(photo_server: PhotoServer) -> tuple[Photo, ...]:
    return tuple(photo_server.share(photo) for photo in PHOTOS)


def draft(photos: tuple[Photo, ...] = (), text: str = TEXT, key: str = "post-1:threads") -> Draft:
    return Draft(text=text, idempotency_key=key, photos=photos)


def make(base_url: str, token: str = TOKEN) -> ThreadsConnector:
    return ThreadsConnector(
        ConnectorConfig(
            credentials={"threads_user_id": Secret(THREADS_USER_ID), "access_token": Secret(token)},
            base_url=base_url,
            connect_timeout=1.0,
            read_timeout=READ_TIMEOUT,
        )
    )


@pytest.fixture
def threads(sim: Simulator) -> Iterator[ThreadsConnector]:
    connector = make(sim.url_for("threads"))
    yield connector
    connector.close()


# -- the table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    faults: tuple[Fault, ...]
    expected: type[HeraldError]
    fragment: str
    photos: int = 0
    token: str = TOKEN
    account: tuple[tuple[str, str], ...] = ()  # extra account credentials (expires_at...)
    publish_limit: int = 250
    retry_after: float | None = None  # expected seconds, checked to ±1 s
    posted: int | None = 0  # ledger entries afterwards; None when the outcome is unknown


CONTAINERS = "/threads"
PUBLISH = "/threads_publish"


def fault(kind: FaultKind, path: str, method: str = "POST", **kw: float) -> Fault:
    return Fault(kind=kind, platform="threads", path=path, method=method, **kw)


CASES = [
    Case("wrong token", (), AuthError, "code 190", token=WRONG_TOKEN),
    Case("token expired", (), AuthError, "463: the token expired", account=(("expires_at", "1"),)),
    Case("403 permission", (fault("error", CONTAINERS, status=403),), AuthError, "permission"),
    Case("400 on container", (fault("error", CONTAINERS, status=400),), PermanentError, "code 100"),
    Case(
        "throttled on container",
        (fault("rate_limit", CONTAINERS, reset_in=2.0),),
        RetryableError,
        "rate limited",
        retry_after=ONE_MINUTE,
    ),
    Case(
        "throttled on publish",
        (fault("rate_limit", PUBLISH, reset_in=2.0),),
        RetryableError,
        "code 4",
        photos=1,
        retry_after=ONE_MINUTE,
    ),
    Case("publishing quota", (), RetryableError, "2207042", publish_limit=0, retry_after=3600.0),
    Case("500 on container", (fault("error", CONTAINERS, status=500),), RetryableError, "HTTP 500"),
    Case("drop on container", (fault("drop", CONTAINERS),), RetryableError, "no answer", photos=2),
    Case("503 on publish", (fault("error", PUBLISH, status=503),), UncertainError, "may exist", posted=None),
    Case("drop on publish", (fault("drop", PUBLISH),), UncertainError, "reconcile", posted=None),
    Case(
        "timeout on publish",
        (fault("slow", PUBLISH, delay=READ_TIMEOUT + 0.5),),
        UncertainError,
        "ReadTimeout",
        posted=None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_publish_fault(case: Case, sim: Simulator, shared: tuple[Photo, ...]) -> None:
    if case.account:
        sim.add_account(
            "threads",
            username="herald.threads",
            threads_user_id=THREADS_USER_ID,
            access_token=TOKEN,
            **dict(case.account),
        )
    sim.threads_publish_limit = case.publish_limit
    for f in case.faults:
        sim.inject(f)
    connector = make(sim.url_for("threads"), case.token)
    try:
        with pytest.raises(case.expected) as caught:
            connector.publish(draft(shared[: case.photos]))
    finally:
        connector.close()
    error = caught.value
    assert type(error) is case.expected
    assert case.fragment in str(error)
    if case.retry_after is not None:
        assert isinstance(error, RetryableError)
        assert error.retry_after == pytest.approx(case.retry_after, abs=1.0)
    if any(f.kind == "slow" for f in case.faults):
        settle(sim)
    if case.posted is not None:
        assert len(sim.ledger("threads")) == case.posted


def test_connection_refused_is_retryable() -> None:
    connector = make(closed_port_url())
    with pytest.raises(RetryableError, match="could not connect"):
        connector.publish(draft())
    connector.close()


# -- flows ---------------------------------------------------------------------------------


def test_publish_korean_english_carousel_with_alt_text(
    threads: ThreadsConnector, sim: Simulator, shared: tuple[Photo, ...], photo_server: PhotoServer
) -> None:
    published = threads.publish(draft(shared))

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


def test_text_only_post(threads: ThreadsConnector, sim: Simulator) -> None:
    text = "텍스트만 👍🏽 text only"
    published = threads.publish(draft(text=text))
    [entry] = sim.ledger("threads")
    assert (entry.remote_id, entry.text, entry.media) == (published.remote_id, text, ())


def test_single_photo_waits_for_processing(
    threads: ThreadsConnector, sim: Simulator, shared: tuple[Photo, ...]
) -> None:
    sim.threads_processing_polls = 3
    published = threads.publish(draft(shared[:1]))
    [entry] = sim.ledger("threads")
    assert entry.remote_id == published.remote_id
    assert [m.alt_text for m in entry.media] == [PHOTOS[0].alt_text]


def test_container_in_error_is_permanent(threads: ThreadsConnector, sim: Simulator) -> None:
    unreachable = dataclasses.replace(PHOTOS[0], public_url=closed_port_url() + "/p/gone")
    with pytest.raises(PermanentError, match="FAILED_DOWNLOADING_IMAGE"):
        threads.publish(draft((unreachable,)))
    assert sim.ledger("threads") == []


def test_commit_then_drop_then_reconcile_finds_the_post(
    threads: ThreadsConnector, sim: Simulator, shared: tuple[Photo, ...]
) -> None:
    sim.inject(fault("commit_then_drop", PUBLISH))
    with pytest.raises(UncertainError):
        threads.publish(draft(shared))
    [first] = sim.ledger("threads")

    found = threads.reconcile(draft(shared))

    assert found is not None
    assert (found.remote_id, found.url) == (first.remote_id, first.url)
    assert len(sim.ledger("threads")) == 1


def test_publishing_again_after_an_uncertain_try_returns_the_first_post(
    threads: ThreadsConnector, sim: Simulator
) -> None:
    sim.inject(fault("commit_then_drop", PUBLISH))
    with pytest.raises(UncertainError):
        threads.publish(draft())
    again = threads.publish(draft())
    [entry] = sim.ledger("threads")
    assert again.remote_id == entry.remote_id


def test_unpublished_container_is_reused(threads: ThreadsConnector, sim: Simulator) -> None:
    sim.inject(fault("drop", PUBLISH))
    with pytest.raises(UncertainError):
        threads.publish(draft())

    assert threads.reconcile(draft()) is None
    published = threads.publish(draft())

    [entry] = sim.ledger("threads")
    assert entry.remote_id == published.remote_id
    creates = [s for s in sim.requests_seen("threads") if s.method == "POST" and s.path.endswith("/threads")]
    assert len(creates) == 1


def test_post_edited_between_tries_gets_a_new_container(threads: ThreadsConnector, sim: Simulator) -> None:
    sim.inject(fault("drop", PUBLISH))
    with pytest.raises(UncertainError):
        threads.publish(draft())
    assert threads.reconcile(draft()) is None

    threads.publish(draft(text="고친 글 (edited)"))

    [entry] = sim.ledger("threads")
    assert entry.text == "고친 글 (edited)"
    creates = [s for s in sim.requests_seen("threads") if s.method == "POST" and s.path.endswith("/threads")]
    assert len(creates) == 2


def test_reconcile_from_another_process(threads: ThreadsConnector, sim: Simulator) -> None:
    sim.inject(fault("commit_then_drop", PUBLISH))
    with pytest.raises(UncertainError):
        threads.publish(draft())
    [first] = sim.ledger("threads")
    other = make(sim.url_for("threads"))
    found = other.reconcile(draft())
    assert found is not None and found.remote_id == first.remote_id
    with pytest.raises(UncertainError, match="cannot tell"):
        other.reconcile(draft(text="never sent"))
    other.close()


def test_reconcile_that_cannot_look_is_uncertain(threads: ThreadsConnector, sim: Simulator) -> None:
    sim.inject(fault("error", CONTAINERS, method="GET", status=503))
    with pytest.raises(UncertainError, match="could not check"):
        threads.reconcile(draft())


def test_photo_without_public_url_is_refused_before_any_call(
    threads: ThreadsConnector, sim: Simulator
) -> None:
    with pytest.raises(PermanentError, match="set HERALD_PUBLIC_URL"):
        threads.publish(draft(PHOTOS))
    assert sim.requests_seen("threads") == []


def test_delete(threads: ThreadsConnector, sim: Simulator) -> None:
    published = threads.publish(draft())
    threads.delete(published.remote_id)
    threads.delete(published.remote_id)  # already gone: nothing to do
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


def test_validate_counts_emoji_by_bytes(threads: ThreadsConnector, sim: Simulator) -> None:
    assert ThreadsConnector.validate("😀" * 125, []) == []
    assert ThreadsConnector.validate("가" * 500, []) == []
    [problem] = ThreadsConnector.validate("😀" * 126, [])
    assert (problem.field, problem.count, problem.limit) == ("text", 504, 500)
    [problem] = ThreadsConnector.validate("x", [PhotoInfo("image/webp", 100, 10, 10)])
    assert "image/webp" in problem.message

    with pytest.raises(PermanentError, match="500 characters"):
        threads.publish(draft(text="🌸" * 126))
    assert sim.requests_seen("threads") == []


# -- secrets -------------------------------------------------------------------------------


@pytest.fixture
def unredacted_logs() -> Iterator[None]:
    """Switch off the process-wide redaction (``herald.logs``, installed by conftest) so that
    the test checks the connectors themselves, not the safety net behind them."""
    previous = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    try:
        yield
    finally:
        logging.setLogRecordFactory(previous)


@pytest.mark.usefixtures("unredacted_logs")
def test_no_credential_in_logs_or_errors(
    sim: Simulator, shared: tuple[Photo, ...], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[HeraldError] = []
    for case in [c for c in CASES if c.expected is AuthError] + [CASES[-2]]:
        sim.clear_faults()
        sim.add_account(
            "threads",
            username="herald.threads",
            threads_user_id=THREADS_USER_ID,
            access_token=TOKEN,
            **dict(case.account),
        )
        for f in case.faults:
            sim.inject(f)
        connector = make(sim.url_for("threads"), case.token)
        with pytest.raises(case.expected) as caught:
            connector.publish(draft(shared))
        connector.close()
        errors.append(caught.value)
    assert len(errors) == 4
    for secret in (TOKEN, WRONG_TOKEN):
        assert secret not in caplog.text
        for error in errors:
            assert secret not in str(error)
            assert secret not in repr(error)


def test_deadline_while_processing_is_retryable(
    threads: ThreadsConnector, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A container that never finishes within the wait: nothing was published, try later.
    sim.threads_processing_polls = 1000
    monkeypatch.setattr(threads, "CONTAINER_WAIT_SECONDS", 0.3)
    started = time.monotonic()
    with pytest.raises(RetryableError, match="still IN_PROGRESS") as caught:
        threads.publish(draft())
    assert time.monotonic() - started < 2.0
    assert caught.value.retry_after == 60.0
    assert sim.ledger("threads") == []
