"""BlueskyConnector against the Bluesky simulator: a table of faults first, then the flows
(photos and facets, the session and its refresh, reconcile and resend by record key, delete),
the rules ``validate`` adds and the secrecy check."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import logging
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

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
from herald.platforms.bluesky import BlueskyConnector, created_at, jwt_expiry, record_key
from herald.simulator import Fault, Simulator
from herald.simulator.bluesky import did_for

HANDLE = "alice.bsky.social"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
WRONG_PASSWORD = "zzzz-zzzz-zzzz-zzzz"
FRIEND = "bob.bsky.social"
URL = "https://example.com/spring?utm=herald"
# Korean before the link, so that character and byte offsets differ; "@nobody.example" does not
# resolve and stays plain text.
TEXT = f"안녕하세요, Herald! 봄 캠페인 {URL} 시작 #herald @{FRIEND} 그리고 @nobody.example"
KEY = "post-1:bluesky"

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


def draft(text: str = TEXT, photos: tuple[Photo, ...] = (), key: str = KEY) -> Draft:
    return Draft(text=text, idempotency_key=key, photos=photos, language="ko")


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connecting is refused, nothing is sent."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def settle(sim: Simulator) -> None:
    """Wait until a "slow" request the client gave up on has been handled."""
    deadline = time.monotonic() + 5.0
    while not any(seen.fault == "slow" for seen in sim.requests_seen()):
        assert time.monotonic() < deadline, "the slow request never finished"
        time.sleep(0.02)


def calls(sim: Simulator) -> list[str]:
    """The XRPC methods the simulator saw, in order."""
    return [seen.path.removeprefix("/xrpc/") for seen in sim.requests_seen("bluesky")]


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    simulator = Simulator(platforms=("bluesky",)).start()
    yield simulator
    simulator.stop()


@pytest.fixture(autouse=True)
def fresh(sim: Simulator) -> None:
    sim.reset()  # keeps accounts and settings: set both
    sim.bluesky_access_jwt_seconds = 7200
    sim.bluesky_blob_max_bytes = 1_000_000
    sim.add_account("bluesky", username=HANDLE, handle=HANDLE, app_password=APP_PASSWORD)
    sim.add_account("bluesky", username=FRIEND, handle=FRIEND, app_password="bob0-bob0-bob0-bob0")


def make(base_url: str, password: str = APP_PASSWORD) -> BlueskyConnector:
    return BlueskyConnector(
        ConnectorConfig(
            credentials={"handle": Secret(HANDLE), "app_password": Secret(password)},
            base_url=base_url,
            connect_timeout=1.0,
            read_timeout=READ_TIMEOUT,
        )
    )


@pytest.fixture
def bluesky(sim: Simulator) -> Iterator[BlueskyConnector]:
    connector = make(sim.url_for("bluesky"))
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
    password: str = APP_PASSWORD
    retry_after: float | None = None  # expected seconds, checked to ±1.5 s (epoch resolution)
    posted: int | None = 0  # ledger entries afterwards; None when the outcome is unknown


SESSION = "/xrpc/com.atproto.server.createSession"
CREATE = "/xrpc/com.atproto.repo.createRecord"
UPLOAD = "/xrpc/com.atproto.repo.uploadBlob"
RESOLVE = "/xrpc/com.atproto.identity.resolveHandle"
GET_RECORD = "/xrpc/com.atproto.repo.getRecord"

CASES = [
    Case("wrong app password", (), AuthError, "Invalid identifier or password", password=WRONG_PASSWORD),
    Case(
        "429 on createSession",
        (Fault(kind="rate_limit", platform="bluesky", path=SESSION, reset_in=3.0),),
        RetryableError,
        "RateLimitExceeded",
        retry_after=3.0,
    ),
    Case(
        "429 on createRecord",
        (Fault(kind="rate_limit", platform="bluesky", path=CREATE, reset_in=2.0),),
        RetryableError,
        "HTTP 429",
        retry_after=2.0,
    ),
    Case(
        "429 on uploadBlob",
        (Fault(kind="rate_limit", platform="bluesky", path=UPLOAD, reset_in=3.0),),
        RetryableError,
        "HTTP 429",
        photos=True,
        retry_after=3.0,
    ),
    Case(
        "400 InvalidRequest on createRecord",
        (Fault(kind="error", platform="bluesky", path=CREATE, status=400),),
        PermanentError,
        "InvalidRequest",
    ),
    Case(
        "503 on createSession",
        (Fault(kind="error", platform="bluesky", path=SESSION, status=503),),
        RetryableError,
        "HTTP 503",
    ),
    Case(
        "503 on uploadBlob",
        (Fault(kind="error", platform="bluesky", path=UPLOAD, status=503),),
        RetryableError,
        "HTTP 503",
        photos=True,
    ),
    Case(
        "503 on resolveHandle",
        (Fault(kind="error", platform="bluesky", path=RESOLVE, status=503),),
        RetryableError,
        "HTTP 503",
    ),
    Case(
        "drop on uploadBlob",
        (Fault(kind="drop", platform="bluesky", path=UPLOAD),),
        RetryableError,
        "no answer",
        photos=True,
    ),
    Case(
        "503 on createRecord",
        (Fault(kind="error", platform="bluesky", path=CREATE, status=503),),
        UncertainError,
        "may exist",
        posted=None,
    ),
    Case(
        "drop on createRecord",
        (Fault(kind="drop", platform="bluesky", path=CREATE),),
        UncertainError,
        "reconcile",
        posted=None,
    ),
    Case(
        "timeout on createRecord",
        (Fault(kind="slow", platform="bluesky", path=CREATE, delay=READ_TIMEOUT + 0.5),),
        UncertainError,
        "ReadTimeout",
        posted=None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_publish_fault(case: Case, sim: Simulator) -> None:
    for fault in case.faults:
        sim.inject(fault)
    connector = make(sim.url_for("bluesky"), case.password)
    try:
        with pytest.raises(case.expected) as caught:
            connector.publish(draft(photos=PHOTOS if case.photos else ()))
    finally:
        connector.close()
    error = caught.value
    assert case.fragment in str(error)
    assert isinstance(error, case.expected)
    if case.expected is PermanentError:
        assert not isinstance(error, AuthError)
    if case.retry_after is not None:
        assert isinstance(error, RetryableError)
        assert error.retry_after is not None
        assert error.retry_after == pytest.approx(case.retry_after, abs=1.5)
    if any(fault.kind == "slow" for fault in case.faults):
        settle(sim)
    if case.posted is not None:
        assert len(sim.ledger("bluesky")) == case.posted


def test_connection_refused_is_retryable() -> None:
    connector = make(closed_port_url())
    with pytest.raises(RetryableError, match="could not connect"):
        connector.publish(draft())
    connector.close()


# -- flows ---------------------------------------------------------------------------------


def test_publish_korean_english_with_two_photos_and_facets(bluesky: BlueskyConnector, sim: Simulator) -> None:
    published = bluesky.publish(draft(photos=PHOTOS))

    [entry] = sim.ledger("bluesky")
    rkey = record_key(KEY)
    assert entry.remote_id == published.remote_id == f"at://{did_for(HANDLE)}/app.bsky.feed.post/{rkey}"
    assert entry.idempotency_key == rkey
    assert published.url == f"{sim.url_for('bluesky')}/profile/{HANDLE}/post/{rkey}" == entry.url
    assert entry.text == TEXT
    assert entry.extra["langs"] == ["ko"]
    assert len(entry.media) == 2
    assert [m.alt_text for m in entry.media] == [p.alt_text for p in PHOTOS]
    assert [m.sha256 for m in entry.media] == [hashlib.sha256(p.data).hexdigest() for p in PHOTOS]

    encoded = TEXT.encode("utf-8")
    covered = {
        facet["features"][0]["$type"].rsplit("#", 1)[1]: (
            encoded[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode("utf-8"),
            facet["features"][0],
        )
        for facet in entry.extra["facets"]
    }
    assert len(entry.extra["facets"]) == 3  # @nobody.example did not resolve: plain text
    assert covered["link"] == (URL, {"$type": "app.bsky.richtext.facet#link", "uri": URL})
    assert covered["tag"] == ("#herald", {"$type": "app.bsky.richtext.facet#tag", "tag": "herald"})
    assert covered["mention"] == (
        f"@{FRIEND}",
        {"$type": "app.bsky.richtext.facet#mention", "did": did_for(FRIEND)},
    )
    link = next(f for f in entry.extra["facets"] if "link" in f["features"][0]["$type"])
    assert link["index"]["byteStart"] == len(TEXT[: TEXT.index(URL)].encode("utf-8"))
    assert link["index"]["byteStart"] != TEXT.index(URL)  # bytes, not characters

    record = requests.get(
        sim.url_for("bluesky") + GET_RECORD,
        params={"repo": did_for(HANDLE), "collection": "app.bsky.feed.post", "rkey": rkey},
        timeout=5,
    ).json()["value"]
    images = record["embed"]["images"]
    assert [i["aspectRatio"] for i in images] == [{"width": 64, "height": 48}, {"width": 48, "height": 64}]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["createdAt"])


def test_one_session_for_many_posts(bluesky: BlueskyConnector, sim: Simulator) -> None:
    bluesky.publish(draft(text="one", key="k1"))
    bluesky.publish(draft(text="two", key="k2"))
    assert calls(sim).count("com.atproto.server.createSession") == 1
    assert len(sim.ledger("bluesky")) == 2


def test_expired_token_is_refreshed_and_the_call_retried(bluesky: BlueskyConnector, sim: Simulator) -> None:
    bluesky.publish(draft(text="before", key="k1"))
    time.sleep(0.01)
    # Every access JWT issued before now is expired from now on: the next call gets 400 ExpiredToken.
    sim.add_account(
        "bluesky", username=HANDLE, handle=HANDLE, app_password=APP_PASSWORD, expires_at=str(time.time())
    )

    bluesky.publish(draft(text="after", key="k2"))

    assert [e.text for e in sim.ledger("bluesky")] == ["before", "after"]
    seen = calls(sim)
    assert seen.count("com.atproto.server.createSession") == 1
    assert seen.count("com.atproto.server.refreshSession") == 1
    statuses = [(s.path, s.status) for s in sim.requests_seen("bluesky")]
    # The create was refused (400 ExpiredToken, applied nothing), refreshed, and sent again.
    assert statuses[-3:] == [(CREATE, 400), ("/xrpc/com.atproto.server.refreshSession", 200), (CREATE, 200)]


def test_token_near_expiry_is_refreshed_first(bluesky: BlueskyConnector, sim: Simulator) -> None:
    sim.bluesky_access_jwt_seconds = 120  # inside the five-minute margin from the start
    bluesky.publish(draft(text="one", key="k1"))
    bluesky.publish(draft(text="two", key="k2"))
    seen = calls(sim)
    assert seen.count("com.atproto.server.createSession") == 1
    assert seen.count("com.atproto.server.refreshSession") >= 1
    assert all(s.status == 200 for s in sim.requests_seen("bluesky"))  # no call was refused


def test_refused_refresh_logs_in_again(bluesky: BlueskyConnector, sim: Simulator) -> None:
    bluesky.publish(draft(text="one", key="k1"))
    session = bluesky._session
    assert session is not None
    # A refresh JWT the PDS no longer honours, on an access JWT about to expire.
    bluesky._session = dataclasses.replace(session, refresh_jwt="not.a.token", expires_at=time.time())

    bluesky.publish(draft(text="two", key="k2"))

    seen = calls(sim)
    assert seen.count("com.atproto.server.refreshSession") == 1
    assert seen.count("com.atproto.server.createSession") == 2
    assert len(sim.ledger("bluesky")) == 2


def test_401_on_create_refreshes_once(bluesky: BlueskyConnector, sim: Simulator) -> None:
    sim.inject(Fault(kind="error", platform="bluesky", path=CREATE, status=401))
    bluesky.publish(draft())
    assert calls(sim).count("com.atproto.repo.createRecord") == 2
    assert len(sim.ledger("bluesky")) == 1

    sim.inject(Fault(kind="error", platform="bluesky", path=CREATE, status=401, count=2))
    with pytest.raises(AuthError, match="HTTP 401"):
        bluesky.publish(draft(key="k2"))


def test_blob_too_large_is_permanent(bluesky: BlueskyConnector, sim: Simulator) -> None:
    sim.bluesky_blob_max_bytes = 100
    with pytest.raises(PermanentError, match="BlobTooLarge"):
        bluesky.publish(draft(photos=PHOTOS[:1]))
    assert sim.ledger("bluesky") == []


def test_commit_then_drop_then_reconcile_finds_the_record(bluesky: BlueskyConnector, sim: Simulator) -> None:
    sim.inject(Fault(kind="commit_then_drop", platform="bluesky", path=CREATE))
    with pytest.raises(UncertainError):
        bluesky.publish(draft(photos=PHOTOS))
    [first] = sim.ledger("bluesky")

    found = bluesky.reconcile(draft(photos=PHOTOS))

    assert found is not None
    assert found.remote_id == first.remote_id
    assert found.url == first.url
    assert len(sim.ledger("bluesky")) == 1


def test_publishing_again_returns_the_same_record(bluesky: BlueskyConnector, sim: Simulator) -> None:
    one = bluesky.publish(draft(photos=PHOTOS))
    two = make(sim.url_for("bluesky")).publish(draft(photos=PHOTOS))  # a fresh worker, same key
    assert one == two
    assert len(sim.ledger("bluesky")) == 1
    # The second create hit the existing key (HTTP 500 like the reference PDS) and looked it up.
    statuses = [(s.path, s.status) for s in sim.requests_seen("bluesky")]
    assert statuses[-2:] == [(CREATE, 500), (GET_RECORD, 200)]


def test_reconcile_when_nothing_went_out(bluesky: BlueskyConnector, sim: Simulator) -> None:
    bluesky.publish(draft(text="an older post", key="older"))
    assert bluesky.reconcile(draft()) is None


def test_reconcile_that_cannot_look_is_uncertain(bluesky: BlueskyConnector, sim: Simulator) -> None:
    sim.inject(Fault(kind="error", platform="bluesky", path=GET_RECORD, status=503))
    with pytest.raises(UncertainError, match="could not look"):
        bluesky.reconcile(draft())


def test_delete(bluesky: BlueskyConnector, sim: Simulator) -> None:
    published = bluesky.publish(draft())
    bluesky.delete(published.remote_id)
    assert sim.deleted("bluesky") == {published.remote_id}
    bluesky.delete(published.remote_id)  # already gone: nothing to do
    assert bluesky.reconcile(draft()) is None


# -- rules and helpers ---------------------------------------------------------------------


def test_grapheme_and_byte_limits() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 1 grapheme, 25 bytes
    [problem] = BlueskyConnector.validate(family * 121, [])  # 121 graphemes, 3,025 bytes
    assert (problem.field, problem.count, problem.limit) == ("text", 3025, 3000)
    assert "bytes" in problem.message
    assert BlueskyConnector.validate(family * 120, []) == []
    [problem] = BlueskyConnector.validate("가" * 301, [])
    assert (problem.count, problem.limit) == (301, 300)
    assert BlueskyConnector.validate("가" * 300, [PhotoInfo("image/png", 1_000_000, 10, 10)]) == []
    [problem] = BlueskyConnector.validate("hi", [PhotoInfo("image/png", 1_000_001, 10, 10)])
    assert problem.field == "photos"


def test_over_length_text_is_refused_before_any_call(bluesky: BlueskyConnector, sim: Simulator) -> None:
    with pytest.raises(PermanentError, match="300 graphemes"):
        bluesky.publish(draft(text="가" * 301))
    assert sim.requests_seen("bluesky") == []


TID = re.compile(r"\A[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}\Z")


def test_record_key_is_a_stable_tid() -> None:
    keys = [record_key(f"post-{n}:bluesky") for n in range(200)]
    assert all(TID.match(k) and k.startswith("3") for k in keys)
    assert len(set(keys)) == len(keys)
    assert record_key("post-1:bluesky") == record_key("post-1:bluesky")


def jwt(payload: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part(payload)}.c2ln"


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (jwt({"exp": 1795615200, "sub": "did:plc:x"}), 1795615200.0),
        (jwt({"sub": "did:plc:x"}), None),
        (jwt({"exp": "soon"}), None),
        ("not-a-jwt", None),
        ("a.%%%.c", None),
    ],
    ids=["exp", "no-exp", "text-exp", "not-a-jwt", "bad-base64"],
)
def test_jwt_expiry(token: str, expected: float | None) -> None:
    assert jwt_expiry(token) == expected


def test_created_at_format() -> None:
    moment = datetime(2026, 11, 25, 12, 0, 5, 123456, tzinfo=UTC)
    assert created_at(moment) == "2026-11-25T12:00:05.123Z"


def test_public_url_rule() -> None:
    real = make("https://bsky.social")
    local = make("http://127.0.0.1:8080/bluesky/")
    assert real.post_url("3abc") == f"https://bsky.app/profile/{HANDLE}/post/3abc"
    assert local.post_url("3abc") == f"http://127.0.0.1:8080/bluesky/profile/{HANDLE}/post/3abc"
    real.close()
    local.close()


# -- secrets -------------------------------------------------------------------------------


@pytest.fixture
def unredacted_logs() -> Iterator[None]:
    """Switch off the process-wide redaction (``herald.logs``, installed by conftest) so that
    the test checks the connector itself, not the safety net behind it."""
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
    connector = make(sim.url_for("bluesky"), WRONG_PASSWORD)
    with pytest.raises(AuthError) as caught:
        connector.publish(draft(photos=PHOTOS))
    errors.append(caught.value)
    connector.close()

    connector = make(sim.url_for("bluesky"))
    connector.publish(draft(photos=PHOTOS))
    session = connector._session
    assert session is not None
    sim.inject(Fault(kind="error", platform="bluesky", path=CREATE, status=401, count=2))
    with pytest.raises(AuthError) as caught:
        connector.publish(draft(key="k2"))
    errors.append(caught.value)
    assert connector._session is not None
    tokens = {session.access_jwt, session.refresh_jwt, connector._session.access_jwt}
    connector.close()

    for secret in (APP_PASSWORD, WRONG_PASSWORD, *tokens):
        assert secret not in caplog.text
        for error in errors:
            assert secret not in str(error)
            assert secret not in repr(error)
