"""XConnector against the X simulator: a table of faults first, then the flows that need more
than one call (photos, chunked upload, reconcile, duplicates) and the secrecy check."""

from __future__ import annotations

import hashlib
import io
import logging
import random
import socket
import time
import urllib.parse
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
from herald.platforms.http import retry_after_seconds
from herald.platforms.x import SIMPLE_UPLOAD_MAX_BYTES, XConnector, _comparable, _readings
from herald.simulator import Fault, Simulator
from herald.simulator.x import hmac_sha1_signature, parse_oauth_header, signature_base_string

CREDENTIALS = {
    "api_key": "x-api-key-0123456789",
    "api_secret": "x-api-secret-abcdefghijklmnop",
    "access_token": "x-access-token-9876543210",
    "access_token_secret": "x-access-secret-zyxwvutsrq",
}
WRONG_SECRET = "x-wrong-secret-0000000000"
TEXT = "안녕하세요, Herald! 봄 캠페인이 시작됩니다. Spring campaign starts today."

#: Read timeout for the tests, seconds: short so that a "slow" fault times out quickly.
READ_TIMEOUT = 0.5


def jpeg(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def noisy_jpeg(side: int) -> bytes:
    """A JPEG that does not compress: random pixels, so a modest size passes 1 MiB."""
    pixels = random.Random(7).randbytes(side * side * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


PHOTOS = (
    Photo(jpeg(64, 48, (200, 30, 30)), "image/jpeg", 64, 48, "빨간 사각형 (a red square)", "red.jpg"),
    Photo(jpeg(48, 64, (30, 30, 200)), "image/jpeg", 48, 64, "A blue square, 파란 사각형", "blue.jpg"),
)


def draft(text: str = TEXT, photos: tuple[Photo, ...] = ()) -> Draft:
    return Draft(text=text, idempotency_key="post-1:x", photos=photos)


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
    sim.x_async_media = 0
    sim.add_account("x", username="alice", **CREDENTIALS)


def make(base_url: str, **override: str) -> XConnector:
    credentials = {key: Secret(value) for key, value in {**CREDENTIALS, **override}.items()}
    return XConnector(
        ConnectorConfig(
            credentials=credentials,
            base_url=base_url,
            connect_timeout=1.0,
            read_timeout=READ_TIMEOUT,
        )
    )


@pytest.fixture
def x(sim: Simulator) -> Iterator[XConnector]:
    connector = make(sim.url_for("x"))
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
    override: tuple[tuple[str, str], ...] = ()  # credentials to replace
    retry_after: float | None = None  # expected seconds, checked to ±1.5 s (epoch resolution)
    posted: int | None = 0  # ledger entries afterwards; None when the outcome is unknown


TWEETS = "/2/tweets"
UPLOAD = "/2/media/upload"

CASES = [
    Case("wrong api secret", (), AuthError, "HTTP 401", override=(("api_secret", WRONG_SECRET),)),
    Case("wrong token secret", (), AuthError, "HTTP 401", override=(("access_token_secret", WRONG_SECRET),)),
    Case(
        "401 on create",
        (Fault(kind="error", platform="x", path=TWEETS, method="POST", status=401),),
        AuthError,
        "HTTP 401",
    ),
    Case(
        "400 on create",
        (Fault(kind="error", platform="x", path=TWEETS, method="POST", status=400),),
        PermanentError,
        "HTTP 400",
    ),
    Case(
        "429 on create",
        (Fault(kind="rate_limit", platform="x", path=TWEETS, method="POST", reset_in=2.0),),
        RetryableError,
        "HTTP 429",
        retry_after=2.0,
    ),
    Case(
        "429 on upload",
        (Fault(kind="rate_limit", platform="x", path=UPLOAD, reset_in=3.0),),
        RetryableError,
        "HTTP 429",
        photos=True,
        retry_after=3.0,
    ),
    Case(
        "503 on upload",
        (Fault(kind="error", platform="x", path=UPLOAD, status=503),),
        RetryableError,
        "HTTP 503",
        photos=True,
    ),
    Case(
        "drop on upload",
        (Fault(kind="drop", platform="x", path=UPLOAD),),
        RetryableError,
        "no answer",
        photos=True,
    ),
    Case(
        "503 on users/me",
        (Fault(kind="error", platform="x", path="/2/users/me", status=503),),
        RetryableError,
        "HTTP 503",
    ),
    Case(
        "503 on create",
        (Fault(kind="error", platform="x", path=TWEETS, method="POST", status=503),),
        UncertainError,
        "may exist",
        posted=None,
    ),
    Case(
        "drop on create",
        (Fault(kind="drop", platform="x", path=TWEETS, method="POST"),),
        UncertainError,
        "reconcile",
        posted=None,
    ),
    Case(
        "timeout on create",
        (Fault(kind="slow", platform="x", path=TWEETS, method="POST", delay=READ_TIMEOUT + 0.5),),
        UncertainError,
        "ReadTimeout",
        posted=None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_publish_fault(case: Case, sim: Simulator) -> None:
    for fault in case.faults:
        sim.inject(fault)
    connector = make(sim.url_for("x"), **dict(case.override))
    try:
        with pytest.raises(case.expected) as caught:
            connector.publish(draft(photos=PHOTOS if case.photos else ()))
    finally:
        connector.close()
    error = caught.value
    assert case.fragment in str(error)
    if case.retry_after is not None:
        assert isinstance(error, RetryableError)
        assert error.retry_after is not None
        assert error.retry_after == pytest.approx(case.retry_after, abs=1.5)
    if any(fault.kind == "slow" for fault in case.faults):
        settle(sim)
    if case.posted is not None:
        assert len(sim.ledger("x")) == case.posted


def test_connection_refused_is_retryable() -> None:
    connector = make(closed_port_url())
    with pytest.raises(RetryableError, match="could not connect"):
        connector.publish(draft())
    connector.close()


# -- flows ---------------------------------------------------------------------------------


def test_publish_korean_english_with_two_photos(x: XConnector, sim: Simulator) -> None:
    published = x.publish(draft(photos=PHOTOS))

    [entry] = sim.ledger("x")
    assert entry.remote_id == published.remote_id
    assert published.url == f"{sim.url_for('x')}/alice/status/{published.remote_id}"
    assert entry.text == TEXT
    assert [m.alt_text for m in entry.media] == [p.alt_text for p in PHOTOS]
    assert [m.sha256 for m in entry.media] == [hashlib.sha256(p.data).hexdigest() for p in PHOTOS]


def signed_uri(request: requests.PreparedRequest, candidates: list[str]) -> str | None:
    """Which of ``candidates`` (base URIs) the request's OAuth1 signature was made over."""
    header = request.headers["Authorization"]
    oauth = parse_oauth_header(header.decode() if isinstance(header, bytes) else header)
    assert oauth is not None
    url = urllib.parse.urlsplit(str(request.url))
    params = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
    params += [(k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm")]
    keys = (CREDENTIALS["api_secret"], CREDENTIALS["access_token_secret"])
    for uri in candidates:
        base = signature_base_string(str(request.method), uri, params)
        if hmac_sha1_signature(base, *keys) == oauth["oauth_signature"]:
            return uri
    return None


def test_oauth1_signature_covers_the_simulator_url(x: XConnector, sim: Simulator) -> None:
    # The simulator also accepts signatures made for api.x.com / api.twitter.com (for clients
    # that rewrite after signing), so a successful post alone proves little: check each
    # signature against the URL the request was really sent to.
    sent: list[requests.PreparedRequest] = []
    x.session.hooks["response"].append(lambda response, *args, **kwargs: sent.append(response.request))

    x.publish(draft(photos=PHOTOS[:1]))

    assert len(sent) == 4  # users/me, upload, metadata, tweets
    for request in sent:
        url = urllib.parse.urlsplit(str(request.url))
        actual = f"{url.scheme}://{url.netloc}{url.path}"
        assert actual.startswith(sim.url_for("x") + "/2/")
        legacy = "https://api.twitter.com" + url.path.removeprefix("/x")
        assert signed_uri(request, [actual, legacy]) == actual
    paths = [seen.path for seen in sim.requests_seen("x")]
    assert paths == ["/2/users/me", "/2/media/upload", "/2/media/metadata", "/2/tweets"]
    assert all(seen.status in (200, 201) for seen in sim.requests_seen("x"))


def test_chunked_upload_above_one_mib(x: XConnector, sim: Simulator) -> None:
    big = noisy_jpeg(1200)
    assert SIMPLE_UPLOAD_MAX_BYTES < len(big) <= XConnector.max_photo_bytes
    photo = Photo(big, "image/jpeg", 1200, 1200, "노이즈 (noise)", "noise.jpg")

    x.publish(draft(photos=(photo,)))

    [entry] = sim.ledger("x")
    [media] = entry.media
    assert media.size == len(big)
    assert media.sha256 == hashlib.sha256(big).hexdigest()
    assert media.alt_text == "노이즈 (noise)"
    paths = [seen.path for seen in sim.requests_seen("x")]
    assert "/2/media/upload/initialize" in paths
    chunks = -(-len(big) // (1024 * 1024))
    assert sum(p.endswith("/append") for p in paths) == chunks
    assert sum(p.endswith("/finalize") for p in paths) == 1


def test_async_media_processing_is_awaited(x: XConnector, sim: Simulator) -> None:
    sim.x_async_media = 1  # one STATUS poll answers in_progress (check_after_secs 1)
    published = x.publish(draft(photos=PHOTOS[:1]))
    [entry] = sim.ledger("x")
    assert entry.remote_id == published.remote_id
    assert [m.alt_text for m in entry.media] == [PHOTOS[0].alt_text]
    assert any(seen.method == "GET" and seen.path == "/2/media/upload" for seen in sim.requests_seen("x"))


def test_commit_then_drop_then_reconcile_finds_the_post(x: XConnector, sim: Simulator) -> None:
    sim.inject(Fault(kind="commit_then_drop", platform="x", path=TWEETS, method="POST"))
    with pytest.raises(UncertainError):
        x.publish(draft(photos=PHOTOS))
    [first] = sim.ledger("x")

    found = x.reconcile(draft(photos=PHOTOS))

    assert found is not None
    assert found.remote_id == first.remote_id
    assert found.url.endswith(f"/alice/status/{first.remote_id}")
    assert len(sim.ledger("x")) == 1


def test_reconcile_when_nothing_went_out(x: XConnector, sim: Simulator) -> None:
    x.publish(draft(text="an older post"))
    assert x.reconcile(draft()) is None


def test_reconcile_that_cannot_look_is_uncertain(x: XConnector, sim: Simulator) -> None:
    sim.inject(Fault(kind="error", platform="x", path="/2/users/me", status=503))
    with pytest.raises(UncertainError, match="could not list"):
        x.reconcile(draft())


def test_duplicate_text_is_permanent(x: XConnector, sim: Simulator) -> None:
    x.publish(draft())
    with pytest.raises(PermanentError, match="duplicate") as caught:
        x.publish(draft())
    assert caught.value.status == 403
    assert not isinstance(caught.value, AuthError)
    assert len(sim.ledger("x")) == 1


def test_delete(x: XConnector, sim: Simulator) -> None:
    published = x.publish(draft())
    x.delete(published.remote_id)
    x.delete(published.remote_id)  # already gone: nothing to do


def test_over_length_text_is_refused_before_any_call(x: XConnector, sim: Simulator) -> None:
    text = "가" * 141  # Hangul weighs 2: 282 > 280
    [problem] = XConnector.validate(text, [PhotoInfo("image/jpeg", 1000, 10, 10)])
    assert (problem.field, problem.count, problem.limit) == ("text", 282, 280)
    assert XConnector.validate("가" * 140, []) == []

    with pytest.raises(PermanentError, match="280 weighted characters"):
        x.publish(draft(text=text))
    assert sim.requests_seen("x") == []


MEDIA_LINK = {
    "url": "https://t.co/m3d1a",
    "expanded_url": "https://x.com/alice/status/1/photo/1",
    "media_key": "3_1",
}
SITE_LINK = {"url": "https://t.co/s1te", "expanded_url": "https://example.com/spring"}


@pytest.mark.parametrize(
    ("post", "draft_text", "found"),
    [
        ({"text": "봄 & 여름 <3"}, "봄 &amp; 여름 &lt;3", False),
        ({"text": "봄 &amp; 여름 &lt;3"}, "봄 & 여름 <3", True),
        ({"text": "Cafe\u0301"}, "Caf\u00e9", True),  # NFC on both sides
        ({"text": "Photos! https://t.co/m3d1a"}, "Photos!", True),  # no entities: trailing link
        ({"text": "Photos! https://t.co/m3d1a", "entities": {"urls": [MEDIA_LINK]}}, "Photos!", True),
        (
            {
                "text": "Read https://t.co/s1te https://t.co/m3d1a",
                "entities": {"urls": [SITE_LINK, MEDIA_LINK]},
            },
            "Read https://example.com/spring",
            True,
        ),
        ({"text": "Read https://t.co/s1te", "entities": {"urls": [SITE_LINK]}}, "Read", False),
        ({"text": "Photos!!"}, "Photos!", False),
    ],
    ids=[
        "entities-in-draft",
        "entities-in-answer",
        "nfc",
        "media-link",
        "media-entity",
        "expanded",
        "link-is-text",
        "differs",
    ],
)
def test_reconcile_text_matching(post: dict[str, object], draft_text: str, found: bool) -> None:
    assert (_comparable(draft_text) in _readings(post)) is found


def test_public_url_rule() -> None:
    real = make("https://api.x.com")
    legacy = make("https://api.twitter.com")
    local = make("http://127.0.0.1:8080/")
    assert real.status_url("alice", "1") == "https://x.com/alice/status/1"
    assert legacy.status_url("alice", "1") == "https://x.com/alice/status/1"
    assert local.status_url("alice", "1") == "http://127.0.0.1:8080/alice/status/1"
    for connector in (real, legacy, local):
        connector.close()


# -- rate-limit headers --------------------------------------------------------------------

NOW = 1_795_608_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-rate-limit-reset": str(int(NOW) + 60)}, 60.0),
        (
            {
                "x-rate-limit-reset": str(int(NOW) + 60),
                "x-user-limit-24hour-remaining": "0",
                "x-user-limit-24hour-reset": str(int(NOW) + 3600),
            },
            3600.0,
        ),
        (
            {
                "x-rate-limit-reset": str(int(NOW) + 60),
                "x-user-limit-24hour-remaining": "12",
                "x-user-limit-24hour-reset": str(int(NOW) + 3600),
            },
            60.0,
        ),
        ({"x-rate-limit-reset": str(int(NOW) - 5)}, 0.0),
        ({"Retry-After": "7"}, 7.0),
        ({}, None),
    ],
    ids=["window", "24h-exhausted", "24h-left", "past", "retry-after", "absent"],
)
def test_x_reset_headers(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(headers, now=NOW) == expected


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
        connector = make(sim.url_for("x"), **dict(case.override))
        with pytest.raises(AuthError) as caught:
            connector.publish(draft(photos=PHOTOS))
        connector.close()
        errors.append(caught.value)
    assert len(errors) == 3
    for secret in [*CREDENTIALS.values(), WRONG_SECRET]:
        assert secret not in caplog.text
        for error in errors:
            assert secret not in str(error)
            assert secret not in repr(error)
