"""InstagramConnector against the Instagram simulator: a table of faults first, then the flows
that need more than one call (carousel, processing, the container-based reconcile), the rules
``validate`` enforces and the secrecy check.

Instagram fetches photos from a public URL: ``PhotoServer`` plays Herald's public photo server
on loopback, and the simulator fetches from it."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import io
import logging
import secrets
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
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
from herald.platforms.instagram import InstagramConnector, count_hashtags, count_mentions
from herald.simulator import Fault, FaultKind, Simulator

IG_USER_ID = "17841400000000000"
TOKEN = "IGQ-instagram-token-0123456789abcdef"
WRONG_TOKEN = "IGQ-wrong-token-fedcba9876543210"
TEXT = "안녕하세요, Herald! 봄 캠페인이 시작됩니다. Spring campaign starts today. #herald #봄"

#: Read timeout for the tests, seconds: short so that a "slow" fault times out quickly.
READ_TIMEOUT = 0.5
#: What a 1-minute ``estimated_time_to_regain_access`` becomes, seconds.
ONE_MINUTE = 60.0


def jpeg(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


# Both inside Instagram's 4:5 .. 1.91:1.
PHOTOS = (
    Photo(jpeg(64, 48, (200, 30, 30)), "image/jpeg", 64, 48, "빨간 사각형 (a red square)", "red.jpg"),
    Photo(jpeg(60, 64, (30, 30, 200)), "image/jpeg", 60, 64, "A blue square, 파란 사각형", "blue.jpg"),
)


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connecting is refused, nothing is sent."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class PhotoServer:
    """Herald's public photo server in miniature: each shared photo is served, bytes exactly,
    at an unguessable path on 127.0.0.1. Records every path fetched."""

    def __init__(self) -> None:
        self._photos: dict[str, tuple[bytes, str]] = {}
        self.fetched: list[str] = []
        photos, fetched = self._photos, self.fetched

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = photos.get(self.path)
                fetched.append(self.path)
                if found is None:
                    self.send_error(404)
                    return
                data, mime_type = found
                self.send_response(200)
                self.send_header("Content-Type", mime_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def share(self, photo: Photo) -> Photo:
        path = f"/p/{secrets.token_urlsafe(16)}"
        self._photos[path] = (photo.data, photo.mime_type)
        return dataclasses.replace(photo, public_url=f"http://127.0.0.1:{self._server.server_port}{path}")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


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
    simulator = Simulator(platforms=("instagram",)).start()
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
    sim.instagram_processing_polls = 0
    sim.instagram_publish_limit = 100
    sim.add_account("instagram", username="herald.ig", ig_user_id=IG_USER_ID, access_token=TOKEN)


@pytest.fixture
def shared(photo_server: PhotoServer) -> tuple[Photo, ...]:
    return tuple(photo_server.share(photo) for photo in PHOTOS)


def draft(photos: tuple[Photo, ...], text: str = TEXT, key: str = "post-1:instagram") -> Draft:
    return Draft(text=text, idempotency_key=key, photos=photos)


def make(base_url: str, token: str = TOKEN) -> InstagramConnector:
    return InstagramConnector(
        ConnectorConfig(
            credentials={"ig_user_id": Secret(IG_USER_ID), "access_token": Secret(token)},
            base_url=base_url,
            connect_timeout=1.0,
            read_timeout=READ_TIMEOUT,
        )
    )


@pytest.fixture
def ig(sim: Simulator) -> Iterator[InstagramConnector]:
    connector = make(sim.url_for("instagram"))
    yield connector
    connector.close()


# -- the table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    faults: tuple[Fault, ...]
    expected: type[HeraldError]
    fragment: str
    photos: int = 1
    token: str = TOKEN
    account: tuple[tuple[str, str], ...] = ()  # extra account credentials (expires_at...)
    publish_limit: int = 100
    retry_after: float | None = None  # expected seconds, checked to ±1 s
    posted: int | None = 0  # ledger entries afterwards; None when the outcome is unknown


CONTAINERS = "/media"
PUBLISH = "/media_publish"


def fault(kind: FaultKind, path: str, method: str = "POST", **kw: float) -> Fault:
    return Fault(kind=kind, platform="instagram", path=path, method=method, **kw)


CASES = [
    Case("wrong token", (), AuthError, "code 190", token=WRONG_TOKEN),
    Case("token expired", (), AuthError, "463: the token expired", account=(("expires_at", "1"),)),
    Case("password changed", (), AuthError, "460", account=(("password_changed", "1"),)),
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
        photos=2,
        retry_after=ONE_MINUTE,
    ),
    Case(
        "publishing quota",
        (),
        RetryableError,
        "2207042",
        publish_limit=0,
        retry_after=3600.0,
    ),
    Case("500 on container", (fault("error", CONTAINERS, status=500),), RetryableError, "HTTP 500"),
    Case("drop on container", (fault("drop", CONTAINERS),), RetryableError, "no answer"),
    Case("503 on status", (fault("error", "/", method="GET", status=503),), RetryableError, "HTTP 503"),
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
            "instagram", username="herald.ig", ig_user_id=IG_USER_ID, access_token=TOKEN, **dict(case.account)
        )
    sim.instagram_publish_limit = case.publish_limit
    for f in case.faults:
        sim.inject(f)
    connector = make(sim.url_for("instagram"), case.token)
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
        assert len(sim.ledger("instagram")) == case.posted


def test_connection_refused_is_retryable(shared: tuple[Photo, ...]) -> None:
    connector = make(closed_port_url())
    with pytest.raises(RetryableError, match="could not connect"):
        connector.publish(draft(shared[:1]))
    connector.close()


def test_photo_the_platform_cannot_fetch_is_permanent(ig: InstagramConnector, sim: Simulator) -> None:
    unreachable = dataclasses.replace(PHOTOS[0], public_url=closed_port_url() + "/p/gone")
    with pytest.raises(PermanentError, match="2207052") as caught:
        ig.publish(draft((unreachable,)))
    assert not isinstance(caught.value, AuthError)
    assert sim.ledger("instagram") == []


# -- flows ---------------------------------------------------------------------------------


def test_publish_korean_english_carousel_with_alt_text(
    ig: InstagramConnector, sim: Simulator, shared: tuple[Photo, ...], photo_server: PhotoServer
) -> None:
    published = ig.publish(draft(shared))

    [entry] = sim.ledger("instagram")
    assert entry.remote_id == published.remote_id
    assert published.url == entry.url
    assert published.url.startswith(sim.url_for("instagram") + "/p/")
    assert entry.text == TEXT
    assert entry.extra["media_type"] == "CAROUSEL_ALBUM"
    assert len(entry.media) == 2
    assert [m.alt_text for m in entry.media] == [p.alt_text for p in PHOTOS]
    assert [m.sha256 for m in entry.media] == [hashlib.sha256(p.data).hexdigest() for p in PHOTOS]
    assert [m.mime_type for m in entry.media] == ["image/jpeg", "image/jpeg"]
    # Instagram fetched each photo from its public URL, once.
    paths = [urllib.parse.urlsplit(p.public_url or "").path for p in shared]
    assert [photo_server.fetched.count(path) for path in paths] == [1, 1]


def test_single_photo_waits_for_processing(
    ig: InstagramConnector, sim: Simulator, shared: tuple[Photo, ...]
) -> None:
    sim.instagram_processing_polls = 2
    published = ig.publish(draft(shared[:1]))

    [entry] = sim.ledger("instagram")
    assert entry.remote_id == published.remote_id
    assert entry.extra["media_type"] == "IMAGE"
    assert [m.alt_text for m in entry.media] == [PHOTOS[0].alt_text]
    status_reads = [s for s in sim.requests_seen("instagram") if s.method == "GET" and s.path.count("/") == 1]
    assert len(status_reads) >= 3  # two IN_PROGRESS, then FINISHED (then the permalink)


def test_commit_then_drop_then_reconcile_finds_the_post(
    ig: InstagramConnector, sim: Simulator, shared: tuple[Photo, ...]
) -> None:
    sim.inject(fault("commit_then_drop", PUBLISH))
    with pytest.raises(UncertainError):
        ig.publish(draft(shared))
    [first] = sim.ledger("instagram")

    found = ig.reconcile(draft(shared))

    assert found is not None
    assert found.remote_id == first.remote_id
    assert found.url == first.url
    assert len(sim.ledger("instagram")) == 1


def test_publishing_again_after_an_uncertain_try_returns_the_first_post(
    ig: InstagramConnector, sim: Simulator, shared: tuple[Photo, ...]
) -> None:
    sim.inject(fault("commit_then_drop", PUBLISH))
    with pytest.raises(UncertainError):
        ig.publish(draft(shared[:1]))

    again = ig.publish(draft(shared[:1]))  # a caller that skipped reconcile

    [entry] = sim.ledger("instagram")
    assert again.remote_id == entry.remote_id


def test_unpublished_container_is_reused(
    ig: InstagramConnector, sim: Simulator, shared: tuple[Photo, ...]
) -> None:
    sim.inject(fault("drop", PUBLISH))
    with pytest.raises(UncertainError):
        ig.publish(draft(shared[:1]))

    assert ig.reconcile(draft(shared[:1])) is None  # the container is FINISHED: not published
    published = ig.publish(draft(shared[:1]))

    [entry] = sim.ledger("instagram")
    assert entry.remote_id == published.remote_id
    creates = [s for s in sim.requests_seen("instagram") if s.method == "POST" and s.path.endswith("/media")]
    assert len(creates) == 1  # the first try's container was published, no second one made


def test_reconcile_from_another_process_finds_the_post_by_caption(
    ig: InstagramConnector, sim: Simulator, shared: tuple[Photo, ...]
) -> None:
    sim.inject(fault("commit_then_drop", PUBLISH))
    with pytest.raises(UncertainError):
        ig.publish(draft(shared[:1]))
    [first] = sim.ledger("instagram")
    other = make(sim.url_for("instagram"))  # no memory of the container

    found = other.reconcile(draft(shared[:1]))
    other.close()

    assert found is not None
    assert (found.remote_id, found.url) == (first.remote_id, first.url)


def test_reconcile_without_container_or_post_cannot_tell(
    ig: InstagramConnector, sim: Simulator, shared: tuple[Photo, ...]
) -> None:
    ig.publish(draft(shared[:1], text="an older post", key="post-0:instagram"))
    with pytest.raises(UncertainError, match="cannot tell"):
        ig.reconcile(draft(shared[:1]))


def test_reconcile_that_cannot_look_is_uncertain(
    ig: InstagramConnector, sim: Simulator, shared: tuple[Photo, ...]
) -> None:
    sim.inject(fault("error", "/media", method="GET", status=503))
    with pytest.raises(UncertainError, match="could not check"):
        ig.reconcile(draft(shared[:1]))


def test_photo_without_public_url_is_refused_before_any_call(ig: InstagramConnector, sim: Simulator) -> None:
    with pytest.raises(PermanentError, match="set HERALD_PUBLIC_URL"):
        ig.publish(draft(PHOTOS))
    assert sim.requests_seen("instagram") == []


def test_posts_cannot_be_deleted(ig: InstagramConnector, sim: Simulator) -> None:
    assert InstagramConnector.can_delete is False
    with pytest.raises(PermanentError, match="cannot be deleted"):
        ig.delete("17900000000000000")
    assert sim.requests_seen("instagram") == []


# -- rules ---------------------------------------------------------------------------------

JPEG_INFO = PhotoInfo("image/jpeg", 10_000, 1080, 1080)


def problems_of(text: str, photos: list[PhotoInfo]) -> list[tuple[str, str]]:
    return [(p.field, p.message) for p in InstagramConnector.validate(text, photos)]


@pytest.mark.parametrize(
    ("text", "photos", "field", "fragment"),
    [
        ("Text only, 글만", [], "photos", "needs at least one photo"),
        (" ".join(f"#tag{i}" for i in range(31)), [JPEG_INFO], "text", "30 hashtags; this caption has 31"),
        (" ".join(f"@user{i}" for i in range(21)), [JPEG_INFO], "text", "20 @mentions; this caption has 21"),
        ("가" * 2201, [JPEG_INFO], "text", "2200 characters; this text has 2201"),
        ("PNG", [PhotoInfo("image/png", 10_000, 1080, 1080)], "photos", "does not take image/png"),
        ("Tall", [PhotoInfo("image/jpeg", 10_000, 1080, 1920)], "photos", "1080x1920"),
        ("Wide", [PhotoInfo("image/jpeg", 10_000, 2000, 1000)], "photos", "4:5 to 1.91:1"),
        ("Big", [PhotoInfo("image/jpeg", 8 * 1024 * 1024 + 1, 1080, 1080)], "photos", "8388608 bytes"),
    ],
    ids=["text-only", "hashtags", "mentions", "caption", "png", "tall", "wide", "bytes"],
)
def test_validate_refuses(text: str, photos: list[PhotoInfo], field: str, fragment: str) -> None:
    found = problems_of(text, photos)
    assert any(f == field and fragment in message for f, message in found), found


def test_validate_accepts_the_limits() -> None:
    text = " ".join(f"#tag{i}" for i in range(30)) + " " + " ".join(f"@user{i}" for i in range(20))
    edges = [PhotoInfo("image/jpeg", 8 * 1024 * 1024, 1080, 1350), PhotoInfo("image/jpeg", 1000, 1910, 1000)]
    assert InstagramConnector.validate(text, edges) == []
    assert InstagramConnector.validate("가" * 2200, [JPEG_INFO]) == []


@pytest.mark.parametrize(
    ("text", "hashtags", "mentions"),
    [
        ("#one #two #셋", 3, 0),
        ("mail me@example.com and @alice.b", 0, 1),
        ("a#b &#35; ##x", 1, 0),
        ("@a @b_c @d.e", 0, 3),
    ],
)
def test_counting_hashtags_and_mentions(text: str, hashtags: int, mentions: int) -> None:
    assert (count_hashtags(text), count_mentions(text)) == (hashtags, mentions)


def test_refused_draft_makes_no_call(
    ig: InstagramConnector, sim: Simulator, shared: tuple[Photo, ...]
) -> None:
    with pytest.raises(PermanentError, match="31"):
        ig.publish(draft(shared[:1], text=" ".join(f"#t{i}" for i in range(31))))
    assert sim.requests_seen("instagram") == []


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
            "instagram", username="herald.ig", ig_user_id=IG_USER_ID, access_token=TOKEN, **dict(case.account)
        )
        for f in case.faults:
            sim.inject(f)
        connector = make(sim.url_for("instagram"), case.token)
        with pytest.raises(case.expected) as caught:
            connector.publish(draft(shared))
        connector.close()
        errors.append(caught.value)
    assert len(errors) == 5
    for secret in (TOKEN, WRONG_TOKEN):
        assert secret not in caplog.text
        for error in errors:
            assert secret not in str(error)
            assert secret not in repr(error)
