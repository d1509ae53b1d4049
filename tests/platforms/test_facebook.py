"""FacebookConnector against the Facebook simulator: a table of faults first, then the flows
(photos, duplicates, reconcile, delete), the Graph error mapping shared with Instagram and
Threads (``platforms.graph``) on canned answers, and the secrecy check."""

from __future__ import annotations

import hashlib
import io
import json
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
    InputError,
    PermanentError,
    RetryableError,
    UncertainError,
)
from herald.core.secret import Secret
from herald.platforms.base import ConnectorConfig, Draft, Photo, PhotoInfo
from herald.platforms.facebook import FacebookConnector
from herald.platforms.graph import error_for_graph, regain_seconds
from herald.simulator import Fault, FaultKind, Simulator

PAGE_ID = "1234567890"
TOKEN = "EAAB-page-token-0123456789abcdef"
WRONG_TOKEN = "EAAB-wrong-token-fedcba9876543210"
TEXT = "안녕하세요, Herald! 봄 캠페인이 시작됩니다. Spring campaign starts today."

#: Read timeout for the tests, seconds: short so that a "slow" fault times out quickly.
READ_TIMEOUT = 0.5
#: What a 1-minute ``estimated_time_to_regain_access`` becomes, seconds.
ONE_MINUTE = 60.0


def jpeg(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


PHOTOS = (
    Photo(jpeg(64, 48, (200, 30, 30)), "image/jpeg", 64, 48, "빨간 사각형 (a red square)", "red.jpg"),
    Photo(jpeg(48, 64, (30, 30, 200)), "image/jpeg", 48, 64, "A blue square, 파란 사각형", "blue.jpg"),
)


def draft(text: str = TEXT, photos: tuple[Photo, ...] = ()) -> Draft:
    return Draft(text=text, idempotency_key="post-1:facebook", photos=photos)


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
    simulator = Simulator(platforms=("facebook",)).start()
    yield simulator
    simulator.stop()


@pytest.fixture(autouse=True)
def fresh(sim: Simulator) -> None:
    sim.reset()  # keeps accounts: set them again
    sim.add_account("facebook", username="HeraldPage", page_id=PAGE_ID, page_access_token=TOKEN)


def make(base_url: str, token: str = TOKEN, **options: str) -> FacebookConnector:
    return FacebookConnector(
        ConnectorConfig(
            credentials={"page_id": Secret(PAGE_ID), "page_access_token": Secret(token)},
            base_url=base_url,
            connect_timeout=1.0,
            read_timeout=READ_TIMEOUT,
            options=options,
        )
    )


@pytest.fixture
def facebook(sim: Simulator) -> Iterator[FacebookConnector]:
    connector = make(sim.url_for("facebook"))
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
    account: tuple[tuple[str, str], ...] = ()  # extra account credentials (expires_at...)
    retry_after: float | None = None  # expected seconds, checked to ±1 s
    posted: int | None = 0  # ledger entries afterwards; None when the outcome is unknown


FEED = "/feed"
PHOTOS_EDGE = "/photos"


def fault(kind: FaultKind, path: str, method: str = "POST", **kw: float) -> Fault:
    return Fault(kind=kind, platform="facebook", path=path, method=method, **kw)


CASES = [
    Case("wrong token", (), AuthError, "code 190", token=WRONG_TOKEN),
    Case("token expired", (), AuthError, "463: the token expired", account=(("expires_at", "1"),)),
    Case("password changed", (), AuthError, "460", account=(("password_changed", "1"),)),
    Case("403 permission", (fault("error", FEED, status=403),), AuthError, "permission"),
    Case("400 on feed", (fault("error", FEED, status=400),), PermanentError, "code 100"),
    Case(
        "throttled on feed",
        (fault("rate_limit", FEED, reset_in=2.0),),
        RetryableError,
        "code 32",
        retry_after=ONE_MINUTE,
    ),
    Case(
        "throttled on photo",
        (fault("rate_limit", PHOTOS_EDGE, reset_in=90.0),),
        RetryableError,
        "rate limited",
        photos=True,
        retry_after=2 * ONE_MINUTE,
    ),
    Case("500 on photo", (fault("error", PHOTOS_EDGE, status=500),), RetryableError, "HTTP 500", photos=True),
    Case("drop on photo", (fault("drop", PHOTOS_EDGE),), RetryableError, "no answer", photos=True),
    Case("503 on feed", (fault("error", FEED, status=503),), UncertainError, "may exist", posted=None),
    Case("drop on feed", (fault("drop", FEED),), UncertainError, "reconcile", posted=None),
    Case(
        "timeout on feed",
        (fault("slow", FEED, delay=READ_TIMEOUT + 0.5),),
        UncertainError,
        "ReadTimeout",
        posted=None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_publish_fault(case: Case, sim: Simulator) -> None:
    if case.account:
        sim.add_account(
            "facebook", username="HeraldPage", page_id=PAGE_ID, page_access_token=TOKEN, **dict(case.account)
        )
    for f in case.faults:
        sim.inject(f)
    connector = make(sim.url_for("facebook"), case.token)
    try:
        with pytest.raises(case.expected) as caught:
            connector.publish(draft(photos=PHOTOS if case.photos else ()))
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
        assert len(sim.ledger("facebook")) == case.posted


def test_connection_refused_is_retryable() -> None:
    connector = make(closed_port_url())
    with pytest.raises(RetryableError, match="could not connect"):
        connector.publish(draft())
    connector.close()


# -- flows ---------------------------------------------------------------------------------


def test_publish_korean_english_with_two_photos(facebook: FacebookConnector, sim: Simulator) -> None:
    published = facebook.publish(draft(photos=PHOTOS))

    [entry] = sim.ledger("facebook")
    assert entry.remote_id == published.remote_id
    assert published.remote_id.startswith(f"{PAGE_ID}_")
    assert published.url == entry.url  # permalink_url
    assert entry.text == TEXT
    assert len(entry.media) == 2
    assert [m.alt_text for m in entry.media] == [p.alt_text for p in PHOTOS]
    assert [m.sha256 for m in entry.media] == [hashlib.sha256(p.data).hexdigest() for p in PHOTOS]
    assert entry.extra["published"] is True
    calls = [(s.method, s.path) for s in sim.requests_seen("facebook")]
    assert calls == [
        ("POST", f"/{PAGE_ID}/photos"),
        ("POST", f"/{PAGE_ID}/photos"),
        ("POST", f"/{PAGE_ID}/feed"),
        ("GET", f"/{published.remote_id}"),
    ]


def test_text_only_post(facebook: FacebookConnector, sim: Simulator) -> None:
    published = facebook.publish(draft())
    [entry] = sim.ledger("facebook")
    assert (entry.remote_id, entry.text, entry.media) == (published.remote_id, TEXT, ())


def test_duplicate_message_is_permanent(facebook: FacebookConnector, sim: Simulator) -> None:
    facebook.publish(draft())
    with pytest.raises(PermanentError, match="duplicate post") as caught:
        facebook.publish(draft())
    assert not isinstance(caught.value, AuthError)
    assert "506" in str(caught.value)
    assert len(sim.ledger("facebook")) == 1


def test_commit_then_drop_then_reconcile_finds_the_post(facebook: FacebookConnector, sim: Simulator) -> None:
    sim.inject(fault("commit_then_drop", FEED))
    with pytest.raises(UncertainError):
        facebook.publish(draft(photos=PHOTOS))
    [first] = sim.ledger("facebook")

    found = facebook.reconcile(draft(photos=PHOTOS))

    assert found is not None
    assert (found.remote_id, found.url) == (first.remote_id, first.url)
    assert len(sim.ledger("facebook")) == 1


def test_reconcile_when_nothing_went_out(facebook: FacebookConnector, sim: Simulator) -> None:
    facebook.publish(draft(text="an older post"))
    assert facebook.reconcile(draft()) is None


def test_reconcile_that_cannot_look_is_uncertain(facebook: FacebookConnector, sim: Simulator) -> None:
    sim.inject(fault("error", "/published_posts", method="GET", status=503))
    with pytest.raises(UncertainError, match="could not list"):
        facebook.reconcile(draft())


def test_reconcile_with_a_refused_token_is_auth(sim: Simulator) -> None:
    connector = make(sim.url_for("facebook"), WRONG_TOKEN)
    with pytest.raises(AuthError):
        connector.reconcile(draft())
    connector.close()


def test_reconcile_of_a_photo_only_post_cannot_tell(facebook: FacebookConnector) -> None:
    with pytest.raises(UncertainError, match="without text"):
        facebook.reconcile(draft(text="", photos=PHOTOS))


def test_delete(facebook: FacebookConnector, sim: Simulator) -> None:
    published = facebook.publish(draft())
    facebook.delete(published.remote_id)
    facebook.delete(published.remote_id)  # already gone: nothing to do
    assert sim.deleted("facebook") == {published.remote_id}


def test_over_length_text_is_refused_before_any_call(facebook: FacebookConnector, sim: Simulator) -> None:
    text = "가" * 63_207
    [problem] = FacebookConnector.validate(text, [PhotoInfo("image/jpeg", 1000, 10, 10)])
    assert (problem.field, problem.count, problem.limit) == ("text", 63_207, 63_206)
    assert FacebookConnector.validate("가" * 63_206, []) == []
    [problem] = FacebookConnector.validate("x", [PhotoInfo("image/jpeg", 10_000_000, 10, 10)])
    assert problem.field == "photos"

    with pytest.raises(PermanentError, match="63206 characters"):
        facebook.publish(draft(text=text))
    assert sim.requests_seen("facebook") == []


def test_graph_version_option(sim: Simulator) -> None:
    connector = make(sim.url_for("facebook"), graph_version="v25.0")
    sent: list[str] = []
    connector.session.hooks["response"].append(lambda response, *a, **kw: sent.append(response.url))
    connector.publish(draft())
    connector.close()
    assert sent and all(url.startswith(sim.url_for("facebook") + "/v25.0/") for url in sent)
    assert all("access_token" not in url for url in sent)  # the token travels in a header

    default = make(sim.url_for("facebook"))
    assert default.api_root == sim.url_for("facebook") + "/v21.0"
    default.close()
    with pytest.raises(InputError, match="graph_version"):
        make(sim.url_for("facebook"), graph_version="21")


def test_public_url_rule() -> None:
    real = make("https://graph.facebook.com")
    local = make("http://127.0.0.1:8080/")
    assert real.post_url(f"{PAGE_ID}_42") == f"https://www.facebook.com/{PAGE_ID}_42"
    assert local.post_url(f"{PAGE_ID}_42") == f"http://127.0.0.1:8080/{PAGE_ID}_42"
    real.close()
    local.close()


# -- the Graph error mapping (platforms.graph), on canned answers ---------------------------


def answer(
    status: int, error: dict[str, object] | None, headers: dict[str, str] | None = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    body = (
        {"error": {"message": "msg", "type": "OAuthException", "fbtrace_id": "Atrace", **error}}
        if error
        else None
    )
    # A canned answer: requests has no public constructor for one.
    response._content = json.dumps(body).encode() if body else b"<html>Bad Gateway</html>"
    response.headers.update(headers or {})
    return response


def buc(minutes: int) -> dict[str, str]:
    entry = {"type": "pages", "call_count": 100, "estimated_time_to_regain_access": minutes}
    return {"X-Business-Use-Case-Usage": json.dumps({PAGE_ID: [entry]})}


@pytest.mark.parametrize(
    ("status", "error", "headers", "create", "expected", "retry_after"),
    [
        (400, {"code": 190, "error_subcode": 463}, None, True, AuthError, None),
        (400, {"code": 190, "error_subcode": 460}, None, False, AuthError, None),
        (403, {"code": 200}, None, True, AuthError, None),
        (400, {"code": 10}, None, True, AuthError, None),
        (400, {"code": 4}, None, True, RetryableError, 900.0),
        (400, {"code": 17}, buc(7), True, RetryableError, 420.0),
        (
            400,
            {"code": 32},
            {"X-App-Usage": '{"call_count": 100, "estimated_time_to_regain_access": 3}'},
            True,
            RetryableError,
            180.0,
        ),
        (400, {"code": 613}, buc(0), False, RetryableError, 900.0),
        (400, {"code": 80001}, buc(12), True, RetryableError, 720.0),
        (400, {"code": 80002}, None, True, RetryableError, 900.0),
        (400, {"code": 9, "error_subcode": 2207042}, None, True, RetryableError, 3600.0),
        (400, {"code": 9007, "error_subcode": 2207027}, None, True, RetryableError, 30.0),
        (400, {"code": 4, "error_subcode": 2207051}, None, True, PermanentError, None),
        (400, {"code": 368}, None, True, PermanentError, None),
        (400, {"code": 506}, None, True, PermanentError, None),
        (400, {"code": 1}, None, True, RetryableError, None),
        (400, {"code": 2, "is_transient": True}, None, False, RetryableError, None),
        (500, {"code": 1}, None, True, UncertainError, None),
        (500, {"code": 2}, None, False, RetryableError, None),
        (400, {"code": 100, "error_subcode": 33}, None, True, PermanentError, None),
        (502, None, None, True, UncertainError, None),
        (502, None, None, False, RetryableError, None),
    ],
    ids=[
        "190-463",
        "190-460",
        "200-permission",
        "10-permission",
        "4-no-header",
        "17-buc",
        "32-app-usage",
        "613-buc-zero",
        "80001-buc",
        "80002",
        "quota",
        "not-ready",
        "spam-restricted",
        "368-policy",
        "506-duplicate",
        "1-transient",
        "2-is-transient",
        "500-create",
        "500-read",
        "100-invalid",
        "html-502-create",
        "html-502-read",
    ],
)
def test_graph_error_mapping(
    status: int,
    error: dict[str, object] | None,
    headers: dict[str, str] | None,
    create: bool,
    expected: type[HeraldError],
    retry_after: float | None,
) -> None:
    mapped = error_for_graph("facebook", answer(status, error, headers), create=create, secrets=[TOKEN])
    assert type(mapped) is expected
    assert mapped.status == status
    if error is not None:
        assert f"code {error['code']}" in str(mapped)
        assert "fbtrace_id Atrace" in str(mapped)
    if isinstance(mapped, RetryableError):
        assert mapped.retry_after == retry_after


def test_graph_error_masks_the_token() -> None:
    error = {"code": 190, "message": f"Malformed access token {TOKEN}"}
    mapped = error_for_graph("facebook", answer(400, error), create=True, secrets=[TOKEN])
    assert TOKEN not in str(mapped)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (buc(5), 300.0),
        (
            {
                "x-business-use-case-usage": json.dumps(
                    {"1": [{"estimated_time_to_regain_access": 2}, {"estimated_time_to_regain_access": 9}]}
                )
            },
            540.0,
        ),
        ({"X-Page-Usage": '{"call_count": 95, "estimated_time_to_regain_access": 1}'}, 60.0),
        ({"X-App-Usage": '{"call_count": 28, "total_cputime": 25, "total_time": 25}'}, None),
        ({"X-Business-Use-Case-Usage": "not json"}, None),
        ({}, None),
    ],
    ids=["buc", "buc-longest", "page-usage", "no-estimate", "garbage", "absent"],
)
def test_regain_seconds(headers: dict[str, str], expected: float | None) -> None:
    assert regain_seconds(headers) == expected


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
    for case in [c for c in CASES if c.expected is AuthError] + [CASES[-2]]:
        sim.clear_faults()
        sim.add_account(
            "facebook", username="HeraldPage", page_id=PAGE_ID, page_access_token=TOKEN, **dict(case.account)
        )
        for f in case.faults:
            sim.inject(f)
        connector = make(sim.url_for("facebook"), case.token)
        with pytest.raises(case.expected) as caught:
            connector.publish(draft(photos=PHOTOS))
        connector.close()
        errors.append(caught.value)
    assert len(errors) == 5
    for secret in (TOKEN, WRONG_TOKEN):
        assert secret not in caplog.text
        for error in errors:
            assert secret not in str(error)
            assert secret not in repr(error)
