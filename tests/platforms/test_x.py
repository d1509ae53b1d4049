"""XConnector against the X simulator: a table of faults first, then the flows that need more
than one call (photos, chunked upload, reconcile, duplicates) and the secrecy check. The harness
(``harness.py``) runs the table and the checks every platform shares."""

from __future__ import annotations

import hashlib
import io
import random
import urllib.parse

import pytest
import requests
from PIL import Image

from herald.core.errors import AuthError, PermanentError, RetryableError, UncertainError
from herald.platforms.base import Photo, PhotoInfo
from herald.platforms.http import retry_after_seconds
from herald.platforms.x import SIMPLE_UPLOAD_MAX_BYTES, XConnector, _comparable, _readings
from herald.simulator import Simulator
from herald.simulator.x import hmac_sha1_signature, parse_oauth_header, signature_base_string
from tests.platforms.harness import READ_TIMEOUT, FaultCase, Harness, case_id
from tests.platforms.specs import X as SPEC

CREDENTIALS = SPEC.credentials
WRONG_SECRET = "x-wrong-secret-0000000000"
PHOTOS = SPEC.photos
draft = SPEC.draft
fault = SPEC.fault


@pytest.fixture(scope="module")
def platform() -> str:
    return SPEC.name


def noisy_jpeg(side: int) -> bytes:
    """A JPEG that does not compress: random pixels, so a modest size passes 1 MiB."""
    pixels = random.Random(7).randbytes(side * side * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


# -- the table -----------------------------------------------------------------------------

TWEETS = "/2/tweets"
UPLOAD = "/2/media/upload"

CASES = [
    FaultCase("wrong api secret", (), AuthError, "HTTP 401", credentials={"api_secret": WRONG_SECRET}),
    FaultCase(
        "wrong token secret", (), AuthError, "HTTP 401", credentials={"access_token_secret": WRONG_SECRET}
    ),
    FaultCase("401 on create", (fault("error", TWEETS, method="POST", status=401),), AuthError, "HTTP 401"),
    FaultCase(
        "400 on create",
        (fault("error", TWEETS, method="POST", status=400),),
        PermanentError,
        "HTTP 400",
    ),
    FaultCase(
        "429 on create",
        (fault("rate_limit", TWEETS, method="POST", reset_in=2.0),),
        RetryableError,
        "HTTP 429",
        retry_after=2.0,
    ),
    FaultCase(
        "429 on upload",
        (fault("rate_limit", UPLOAD, reset_in=3.0),),
        RetryableError,
        "HTTP 429",
        photos=2,
        retry_after=3.0,
    ),
    FaultCase("503 on upload", (fault("error", UPLOAD, status=503),), RetryableError, "HTTP 503", photos=2),
    FaultCase("drop on upload", (fault("drop", UPLOAD),), RetryableError, "no answer", photos=2),
    FaultCase("503 on users/me", (fault("error", "/2/users/me", status=503),), RetryableError, "HTTP 503"),
    FaultCase(
        "503 on create",
        (fault("error", TWEETS, method="POST", status=503),),
        UncertainError,
        "may exist",
        posted=None,
    ),
    FaultCase(
        "drop on create",
        (fault("drop", TWEETS, method="POST"),),
        UncertainError,
        "reconcile",
        posted=None,
    ),
    FaultCase(
        "timeout on create",
        (fault("slow", TWEETS, method="POST", delay=READ_TIMEOUT + 0.5),),
        UncertainError,
        "ReadTimeout",
        posted=None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_publish_fault(case: FaultCase, harness: Harness[XConnector]) -> None:
    harness.publish_fault(case)


# -- flows ---------------------------------------------------------------------------------


def test_publish_korean_english_with_two_photos(connector: XConnector, sim: Simulator) -> None:
    published = connector.publish(draft(photos=PHOTOS))

    [entry] = sim.ledger("x")
    assert entry.remote_id == published.remote_id
    assert published.url == f"{sim.url_for('x')}/alice/status/{published.remote_id}"
    assert entry.text == SPEC.text
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


def test_oauth1_signature_covers_the_simulator_url(connector: XConnector, sim: Simulator) -> None:
    # The simulator also accepts signatures made for api.x.com / api.twitter.com (for clients
    # that rewrite after signing), so a successful post alone proves little: check each
    # signature against the URL the request was really sent to.
    sent: list[requests.PreparedRequest] = []
    connector.session.hooks["response"].append(
        lambda response, *args, **kwargs: sent.append(response.request)
    )

    connector.publish(draft(photos=PHOTOS[:1]))

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


def test_chunked_upload_above_one_mib(connector: XConnector, sim: Simulator) -> None:
    big = noisy_jpeg(1200)
    assert SIMPLE_UPLOAD_MAX_BYTES < len(big) <= XConnector.photo_rules.max_bytes
    photo = Photo(big, "image/jpeg", 1200, 1200, "노이즈 (noise)", "noise.jpg")

    connector.publish(draft(photos=(photo,)))

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


def test_async_media_processing_is_awaited(connector: XConnector, sim: Simulator) -> None:
    sim.x_async_media = 1  # one STATUS poll answers in_progress (check_after_secs 1)
    published = connector.publish(draft(photos=PHOTOS[:1]))
    [entry] = sim.ledger("x")
    assert entry.remote_id == published.remote_id
    assert [m.alt_text for m in entry.media] == [PHOTOS[0].alt_text]
    assert any(seen.method == "GET" and seen.path == "/2/media/upload" for seen in sim.requests_seen("x"))


def test_reconcile_when_nothing_went_out(connector: XConnector, sim: Simulator) -> None:
    connector.publish(draft(text="an older post"))
    assert connector.reconcile(draft()) is None


def test_reconcile_that_cannot_look_is_uncertain(connector: XConnector, sim: Simulator) -> None:
    sim.inject(fault("error", "/2/users/me", status=503))
    with pytest.raises(UncertainError, match="could not list"):
        connector.reconcile(draft())


def test_duplicate_text_is_permanent(connector: XConnector, sim: Simulator) -> None:
    connector.publish(draft())
    with pytest.raises(PermanentError, match="duplicate") as caught:
        connector.publish(draft())
    assert caught.value.status == 403
    assert not isinstance(caught.value, AuthError)
    assert len(sim.ledger("x")) == 1


def test_delete(connector: XConnector, sim: Simulator) -> None:
    published = connector.publish(draft())
    connector.delete(published.remote_id)
    connector.delete(published.remote_id)  # already gone: nothing to do


def test_over_length_text_is_refused_before_any_call(connector: XConnector, sim: Simulator) -> None:
    text = "가" * 141  # Hangul weighs 2: 282 > 280
    [problem] = XConnector.validate(text, [PhotoInfo("image/jpeg", 1000, 10, 10)])
    assert (problem.field, problem.count, problem.limit) == ("text", 282, 280)
    assert XConnector.validate("가" * 140, []) == []

    with pytest.raises(PermanentError, match="280 weighted characters"):
        connector.publish(draft(text=text))
    assert sim.requests_seen("x") == []


@pytest.mark.parametrize("bad", ["\ufeff", "\ufffe", "\uffff"])
def test_twitter_text_invalid_characters_are_refused_before_any_call(
    bad: str, connector: XConnector, sim: Simulator
) -> None:
    text = f"평화 통일{bad} peace"
    [problem] = XConnector.validate(text, [])
    assert problem.field == "text" and f"U+{ord(bad):04X}" in problem.message
    with pytest.raises(PermanentError, match="refuses these characters"):
        connector.publish(draft(text=text))
    assert sim.requests_seen("x") == []
    # A bare domain is a 23-character link, as X counts it.
    assert XConnector.count_text("see example.com").count == 4 + 23


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
    real = SPEC.build("https://api.x.com")
    legacy = SPEC.build("https://api.twitter.com")
    local = SPEC.build("http://127.0.0.1:8080/")
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


def test_no_credential_in_logs_or_errors(
    harness: Harness[XConnector], leak_log: pytest.LogCaptureFixture
) -> None:
    cases = [c for c in CASES if c.expected is AuthError]
    assert len(cases) == 3
    errors = harness.refusals(cases, photos=2)
    harness.assert_secrets_kept(leak_log, errors, cases)
