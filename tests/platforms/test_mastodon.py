"""MastodonConnector against the Mastodon simulator: a table of faults first, then the flows
that need more than one call (photos, async processing, reconcile) and the secrecy check."""

from __future__ import annotations

import hashlib
import io
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from PIL import Image

from herald.core.errors import (
    AuthError,
    HeraldError,
    PermanentError,
    RetryableError,
    UncertainError,
)
from herald.core.secret import Secret
from herald.platforms.base import ConnectorConfig, Draft, Photo, PhotoInfo
from herald.platforms.http import error_for_status, retry_after_seconds
from herald.platforms.mastodon import MastodonConnector
from herald.simulator import Fault, Simulator

TOKEN = "mastodon-token-0123456789abcdef"
WRONG_TOKEN = "mastodon-wrong-token-fedcba9876543210"
TEXT = "안녕하세요, Herald! 봄 캠페인이 시작됩니다. Spring campaign starts today."

#: Read timeout for the tests, seconds: short so that a "slow" fault times out quickly.
READ_TIMEOUT = 0.5


def jpeg(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


PHOTOS = (
    Photo(jpeg(64, 48, (200, 30, 30)), "image/jpeg", 64, 48, "빨간 사각형 (a red square)", "red.jpg"),
    Photo(jpeg(48, 64, (30, 30, 200)), "image/jpeg", 48, 64, "A blue square, 파란 사각형", "blue.jpg"),
)


def draft(text: str = TEXT, photos: tuple[Photo, ...] = (), key: str = "post-1:mastodon") -> Draft:
    return Draft(text=text, idempotency_key=key, photos=photos, language="ko")


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connecting is refused, nothing is sent."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def settle(sim: Simulator) -> None:
    """Wait until a "slow" request the client gave up on has been handled, so that what it
    does cannot land in the next test's fresh state."""
    deadline = time.monotonic() + 5.0
    while not any(seen.fault == "slow" for seen in sim.requests_seen()):
        assert time.monotonic() < deadline, "the slow request never finished"
        time.sleep(0.02)


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    simulator = Simulator().start()
    yield simulator
    simulator.stop()


@pytest.fixture(autouse=True)
def fresh(sim: Simulator) -> None:
    sim.reset()  # keeps accounts and settings: set both
    sim.mastodon_async_media = 0
    sim.add_account("mastodon", username="alice", access_token=TOKEN)


def make(base_url: str, token: str = TOKEN) -> MastodonConnector:
    return MastodonConnector(
        ConnectorConfig(
            credentials={"access_token": Secret(token)},
            base_url=base_url,
            connect_timeout=1.0,
            read_timeout=READ_TIMEOUT,
        )
    )


@pytest.fixture
def mastodon(sim: Simulator) -> Iterator[MastodonConnector]:
    connector = make(sim.url_for("mastodon"))
    yield connector
    connector.close()


# -- the table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    faults: tuple[Fault, ...]
    expected: type[HeraldError]
    fragment: str
    photos: bool = False
    token: str = TOKEN
    retry_after: float | None = None  # expected seconds, checked to ±1 s
    posted: int | None = 0  # ledger entries afterwards; None when the outcome is unknown


STATUSES = "/api/v1/statuses"
MEDIA = "/api/v2/media"

CASES = [
    Case("wrong token", (), AuthError, "HTTP 401", token=WRONG_TOKEN),
    Case(
        "401 on status",
        (Fault(kind="error", platform="mastodon", path=STATUSES, status=401),),
        AuthError,
        "401",
    ),
    Case(
        "403 scope",
        (Fault(kind="error", platform="mastodon", path=STATUSES, status=403),),
        PermanentError,
        "HTTP 403",
    ),
    Case(
        "422 on status",
        (Fault(kind="error", platform="mastodon", path=STATUSES, status=422),),
        PermanentError,
        "HTTP 422",
    ),
    Case(
        "429 on status",
        (Fault(kind="rate_limit", platform="mastodon", path=STATUSES, reset_in=2.0),),
        RetryableError,
        "HTTP 429",
        retry_after=2.0,
    ),
    Case(
        "429 on upload",
        (Fault(kind="rate_limit", platform="mastodon", path=MEDIA, reset_in=3.0),),
        RetryableError,
        "HTTP 429",
        photos=True,
        retry_after=3.0,
    ),
    Case(
        "503 on upload",
        (Fault(kind="error", platform="mastodon", path=MEDIA, status=503),),
        RetryableError,
        "HTTP 503",
        photos=True,
    ),
    Case(
        "drop on upload",
        (Fault(kind="drop", platform="mastodon", path=MEDIA),),
        RetryableError,
        "no answer",
        photos=True,
    ),
    Case(
        "503 on status",
        (Fault(kind="error", platform="mastodon", path=STATUSES, status=503),),
        UncertainError,
        "may exist",
        posted=None,
    ),
    Case(
        "drop on status",
        (Fault(kind="drop", platform="mastodon", path=STATUSES),),
        UncertainError,
        "reconcile",
        posted=None,
    ),
    Case(
        "timeout on status",
        (Fault(kind="slow", platform="mastodon", path=STATUSES, delay=READ_TIMEOUT + 0.5),),
        UncertainError,
        "ReadTimeout",
        posted=None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_publish_fault(case: Case, sim: Simulator) -> None:
    for fault in case.faults:
        sim.inject(fault)
    connector = make(sim.url_for("mastodon"), case.token)
    try:
        with pytest.raises(case.expected) as caught:
            connector.publish(draft(photos=PHOTOS if case.photos else ()))
    finally:
        connector.close()
    error = caught.value
    assert case.fragment in str(error)
    assert isinstance(error, case.expected)
    if case.retry_after is not None:
        assert isinstance(error, RetryableError)
        assert error.retry_after is not None
        assert error.retry_after == pytest.approx(case.retry_after, abs=1.0)
    if any(fault.kind == "slow" for fault in case.faults):
        settle(sim)
    if case.posted is not None:
        assert len(sim.ledger("mastodon")) == case.posted


def test_connection_refused_is_retryable() -> None:
    connector = make(closed_port_url())
    with pytest.raises(RetryableError, match="could not connect"):
        connector.publish(draft())
    connector.close()


# -- flows ---------------------------------------------------------------------------------


def test_publish_korean_english_with_two_photos(mastodon: MastodonConnector, sim: Simulator) -> None:
    published = mastodon.publish(draft(photos=PHOTOS))

    [entry] = sim.ledger("mastodon")
    assert entry.remote_id == published.remote_id
    assert entry.url == published.url
    assert entry.text == TEXT
    assert entry.idempotency_key == "post-1:mastodon"
    assert [m.alt_text for m in entry.media] == [p.alt_text for p in PHOTOS]
    assert [m.sha256 for m in entry.media] == [hashlib.sha256(p.data).hexdigest() for p in PHOTOS]
    assert [m.mime_type for m in entry.media] == ["image/jpeg", "image/jpeg"]


def test_async_media_processing_is_awaited(mastodon: MastodonConnector, sim: Simulator) -> None:
    sim.mastodon_async_media = 2
    published = mastodon.publish(draft(photos=PHOTOS[:1]))
    [entry] = sim.ledger("mastodon")
    assert entry.remote_id == published.remote_id
    assert len(entry.media) == 1


def test_commit_then_drop_then_reconcile_finds_the_same_status(
    mastodon: MastodonConnector, sim: Simulator
) -> None:
    sim.inject(Fault(kind="commit_then_drop", platform="mastodon", path=STATUSES))
    with pytest.raises(UncertainError):
        mastodon.publish(draft(photos=PHOTOS))
    [first] = sim.ledger("mastodon")

    found = mastodon.reconcile(draft(photos=PHOTOS))

    assert found is not None
    assert found.remote_id == first.remote_id
    assert len(sim.ledger("mastodon")) == 1


def test_same_key_twice_is_one_status(mastodon: MastodonConnector, sim: Simulator) -> None:
    one = mastodon.publish(draft())
    two = mastodon.publish(draft())
    three = mastodon.publish(draft(key="post-2:mastodon"))
    assert one == two
    assert three.remote_id != one.remote_id
    assert len(sim.ledger("mastodon")) == 2


def test_delete(mastodon: MastodonConnector, sim: Simulator) -> None:
    published = mastodon.publish(draft())
    mastodon.delete(published.remote_id)
    mastodon.delete(published.remote_id)  # already gone: nothing to do


def test_over_length_text_is_refused_before_any_call(mastodon: MastodonConnector, sim: Simulator) -> None:
    text = "가" * 501
    [problem] = MastodonConnector.validate(text, [PhotoInfo("image/jpeg", 1000, 10, 10)])
    assert (problem.field, problem.count, problem.limit) == ("text", 501, 500)
    assert MastodonConnector.validate("가" * 500, []) == []

    with pytest.raises(PermanentError, match="500 characters"):
        mastodon.publish(draft(text=text))
    assert sim.ledger("mastodon") == []


# -- status mapping the simulator cannot produce ----------------------------------------


def answer(status: int, body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body  # a canned answer: requests has no public constructor for one
    return response


@pytest.mark.parametrize(
    ("status", "body", "create", "expected"),
    [
        (403, b'{"error": "This action is outside the authorized scopes"}', False, AuthError),
        (403, b'{"error": "Your login is currently disabled"}', False, PermanentError),
        (408, b"", True, RetryableError),
        (502, b"<html>Bad Gateway</html>", True, UncertainError),
        (502, b"<html>Bad Gateway</html>", False, RetryableError),
        (404, b'{"error": "Record not found"}', False, PermanentError),
    ],
    ids=["403-scope", "403-disabled", "408", "502-create", "502-upload", "404"],
)
def test_status_mapping(status: int, body: bytes, create: bool, expected: type[HeraldError]) -> None:
    error = error_for_status("mastodon", answer(status, body), create=create, secrets=[TOKEN])
    assert type(error) is expected
    assert error.status == status


# -- rate-limit header ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-RateLimit-Reset": "2026-11-25T12:05:00.000000Z"}, 300.0),
        ({"X-RateLimit-Reset": "2026-11-25T12:00:30.500000+00:00"}, 30.5),
        ({"X-RateLimit-Reset": "2026-11-25T11:59:00.000000Z"}, 0.0),  # already passed
        ({"X-RateLimit-Reset": "soon"}, None),
        ({}, None),
    ],
    ids=["minutes", "offset", "past", "garbage", "absent"],
)
def test_mastodon_reset_header(headers: dict[str, str], expected: float | None) -> None:
    now = 1795608000.0  # 2026-11-25T12:00:00Z
    assert retry_after_seconds(headers, now=now) == expected


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
def test_no_credential_in_logs_or_errors(sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[HeraldError] = []
    for case in [c for c in CASES if c.expected is AuthError]:
        sim.clear_faults()
        for fault in case.faults:
            sim.inject(fault)
        connector = make(sim.url_for("mastodon"), case.token)
        with pytest.raises(AuthError) as caught:
            connector.publish(draft(photos=PHOTOS))
        connector.close()
        errors.append(caught.value)
    assert errors
    for secret in (TOKEN, WRONG_TOKEN):
        assert secret not in caplog.text
        for error in errors:
            assert secret not in str(error)
            assert secret not in repr(error)
