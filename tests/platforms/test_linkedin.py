"""LinkedInConnector against the LinkedIn simulator: a table of faults first, then the flows
that need more than one call (photos, little-text escaping, reconcile, duplicates) and the
secrecy check."""

from __future__ import annotations

import hashlib
import io
import logging
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
    InputError,
    PermanentError,
    RetryableError,
    UncertainError,
)
from herald.core.secret import Secret
from herald.platforms.base import ConnectorConfig, Draft, Photo, PhotoInfo
from herald.platforms.linkedin import (
    DEFAULT_VERSION,
    RECONCILE_LOOKBACK_POSTS,
    LinkedInConnector,
    seconds_until_utc_midnight,
    shown_text,
)
from herald.simulator import Fault, Simulator

ORG = "urn:li:organization:5515715"
OTHER_ORG = "urn:li:organization:999"
TOKEN = "linkedin-token-0123456789abcdef"
WRONG_TOKEN = "linkedin-wrong-token-fedcba98765"
EXPIRED_TOKEN = "linkedin-expired-token-0000000000"
EXPIRED_ORG = "urn:li:organization:7777777"
# Parentheses, "#" and "@" are little-text markup: unescaped, LinkedIn cuts the text at "(".
TEXT = "안녕하세요, Herald! 봄 캠페인 (Spring campaign) starts today #herald @everyone"

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


def draft(text: str = TEXT, photos: tuple[Photo, ...] = (), key: str = "post-1:linkedin") -> Draft:
    return Draft(text=text, idempotency_key=key, photos=photos, language="ko")


def settle(sim: Simulator) -> None:
    """Wait until a "slow" request the client gave up on has been handled."""
    deadline = time.monotonic() + 5.0
    while not any(seen.fault == "slow" for seen in sim.requests_seen()):
        assert time.monotonic() < deadline, "the slow request never finished"
        time.sleep(0.02)


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    simulator = Simulator(platforms=("linkedin",)).start()
    yield simulator
    simulator.stop()


@pytest.fixture(autouse=True)
def fresh(sim: Simulator) -> None:
    sim.reset()  # keeps accounts: set them
    sim.add_account("linkedin", username="herald-org", organization_urn=ORG, access_token=TOKEN)
    sim.add_account(
        "linkedin",
        username="expired-org",
        organization_urn=EXPIRED_ORG,
        access_token=EXPIRED_TOKEN,
        expires_at=str(time.time() - 60),
    )


def make(
    base_url: str, *, token: str = TOKEN, organization: str = ORG, version: str | None = None
) -> LinkedInConnector:
    return LinkedInConnector(
        ConnectorConfig(
            credentials={"organization_urn": Secret(organization), "access_token": Secret(token)},
            base_url=base_url,
            connect_timeout=1.0,
            read_timeout=READ_TIMEOUT,
            options={} if version is None else {"version": version},
        )
    )


@pytest.fixture
def linkedin(sim: Simulator) -> Iterator[LinkedInConnector]:
    connector = make(sim.url_for("linkedin"))
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
    organization: str = ORG
    version: str | None = None
    until_midnight: bool = False  # retry_after: seconds until 00:00 UTC
    posted: int | None = 0  # ledger entries afterwards; None when the outcome is unknown


POSTS = "/rest/posts"
IMAGES = "/rest/images"
UPLOADS = "/dms-uploads"

CASES = [
    Case("wrong token", (), AuthError, "HTTP 401", token=WRONG_TOKEN),
    Case("expired token", (), AuthError, "expired", token=EXPIRED_TOKEN, organization=EXPIRED_ORG),
    Case("not an admin of the page", (), AuthError, "ACCESS_DENIED", organization=OTHER_ORG),
    Case("not an admin, with photos", (), AuthError, "HTTP 403", organization=OTHER_ORG, photos=True),
    Case("retired version", (), PermanentError, "version option", version="202301"),
    Case("future version", (), PermanentError, "NONEXISTENT_VERSION", version="209912"),
    Case(
        "401 on create",
        (Fault(kind="error", platform="linkedin", path=POSTS, method="POST", status=401),),
        AuthError,
        "HTTP 401",
    ),
    Case(
        "422 on create",
        (Fault(kind="error", platform="linkedin", path=POSTS, method="POST", status=422),),
        PermanentError,
        "HTTP 422",
    ),
    Case(
        "429 on create",
        (Fault(kind="rate_limit", platform="linkedin", path=POSTS, method="POST"),),
        RetryableError,
        "TOO_MANY_REQUESTS",
        until_midnight=True,
    ),
    Case(
        "429 on upload",
        (Fault(kind="rate_limit", platform="linkedin", path=IMAGES),),
        RetryableError,
        "HTTP 429",
        photos=True,
        until_midnight=True,
    ),
    Case(
        "503 on initializeUpload",
        (Fault(kind="error", platform="linkedin", path=IMAGES, method="POST", status=503),),
        RetryableError,
        "HTTP 503",
        photos=True,
    ),
    Case(
        "drop on the bytes",
        (Fault(kind="drop", platform="linkedin", path=UPLOADS),),
        RetryableError,
        "no answer",
        photos=True,
    ),
    Case(
        "503 on create",
        (Fault(kind="error", platform="linkedin", path=POSTS, method="POST", status=503),),
        UncertainError,
        "may exist",
        posted=None,
    ),
    Case(
        "drop on create",
        (Fault(kind="drop", platform="linkedin", path=POSTS, method="POST"),),
        UncertainError,
        "reconcile",
        posted=None,
    ),
    Case(
        "timeout on create",
        (Fault(kind="slow", platform="linkedin", path=POSTS, method="POST", delay=READ_TIMEOUT + 0.5),),
        UncertainError,
        "ReadTimeout",
        posted=None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_publish_fault(case: Case, sim: Simulator) -> None:
    for fault in case.faults:
        sim.inject(fault)
    connector = make(
        sim.url_for("linkedin"), token=case.token, organization=case.organization, version=case.version
    )
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
    if case.until_midnight:
        assert isinstance(error, RetryableError)
        assert error.retry_after == pytest.approx(seconds_until_utc_midnight(), abs=5.0)
    if any(fault.kind == "slow" for fault in case.faults):
        settle(sim)
    if case.posted is not None:
        assert len(sim.ledger("linkedin")) == case.posted


# -- flows ---------------------------------------------------------------------------------


def test_publish_korean_english_with_two_photos(linkedin: LinkedInConnector, sim: Simulator) -> None:
    published = linkedin.publish(draft(photos=PHOTOS))

    [entry] = sim.ledger("linkedin")
    assert entry.remote_id == published.remote_id
    assert published.url == f"{sim.url_for('linkedin')}/feed/update/{published.remote_id}"
    # The parentheses, "#" and "@" arrived escaped: nothing was cut.
    assert entry.text == TEXT
    assert entry.extra["truncated"] is False
    assert len(entry.media) == 2
    assert [m.alt_text for m in entry.media] == [p.alt_text for p in PHOTOS]
    assert [m.sha256 for m in entry.media] == [hashlib.sha256(p.data).hexdigest() for p in PHOTOS]


def test_one_photo_is_single_media(linkedin: LinkedInConnector, sim: Simulator) -> None:
    linkedin.publish(draft(photos=PHOTOS[:1]))
    [entry] = sim.ledger("linkedin")
    [media] = entry.media
    assert media.alt_text == PHOTOS[0].alt_text


def test_unescaped_text_would_be_cut(sim: Simulator) -> None:
    # The simulator's truncation is real: the same text sent raw loses everything from "(".
    session = requests.Session()
    session.headers.update(
        {
            "Authorization": f"Bearer {TOKEN}",
            "LinkedIn-Version": DEFAULT_VERSION,
            "X-Restli-Protocol-Version": "2.0.0",
        }
    )
    response = session.post(
        sim.url_for("linkedin") + "/rest/posts",
        json={
            "author": ORG,
            "commentary": TEXT,
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED"},
            "lifecycleState": "PUBLISHED",
        },
        timeout=5,
    )
    session.close()
    assert response.status_code == 201
    [entry] = sim.ledger("linkedin")
    assert entry.text == TEXT[: TEXT.index("(")]


def test_every_call_carries_the_three_headers(linkedin: LinkedInConnector, sim: Simulator) -> None:
    sent: list[requests.PreparedRequest] = []
    linkedin.session.hooks["response"].append(lambda response, *args, **kwargs: sent.append(response.request))

    linkedin.publish(draft(photos=PHOTOS[:1]))

    assert [r.method for r in sent] == ["POST", "PUT", "GET", "POST"]  # init, bytes, status, post
    for request in sent:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["LinkedIn-Version"] == DEFAULT_VERSION
        assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert sent[1].headers["Content-Type"] == "image/jpeg"


def test_failed_image_processing_is_permanent(linkedin: LinkedInConnector, sim: Simulator) -> None:
    broken = Photo(b"not an image at all", "image/jpeg", 10, 10, "", "broken.jpg")
    with pytest.raises(PermanentError, match="could not be processed"):
        linkedin.publish(draft(photos=(broken,)))
    assert sim.ledger("linkedin") == []


def test_commit_then_drop_then_reconcile_finds_the_post(linkedin: LinkedInConnector, sim: Simulator) -> None:
    sim.inject(Fault(kind="commit_then_drop", platform="linkedin", path=POSTS, method="POST"))
    with pytest.raises(UncertainError):
        linkedin.publish(draft(photos=PHOTOS))
    [first] = sim.ledger("linkedin")

    found = linkedin.reconcile(draft(photos=PHOTOS))

    assert found is not None
    assert found.remote_id == first.remote_id
    assert found.url.endswith(f"/feed/update/{first.remote_id}")
    assert len(sim.ledger("linkedin")) == 1


def test_reconcile_when_nothing_went_out(linkedin: LinkedInConnector, sim: Simulator) -> None:
    linkedin.publish(draft(text="an older post (with parentheses)", key="post-0:linkedin"))
    assert linkedin.reconcile(draft()) is None


@pytest.mark.parametrize("status", [503, 403], ids=["503", "403-no-read-scope"])
def test_reconcile_that_cannot_look_is_uncertain(
    linkedin: LinkedInConnector, sim: Simulator, status: int
) -> None:
    sim.inject(Fault(kind="error", platform="linkedin", path=POSTS, method="GET", status=status))
    with pytest.raises(UncertainError, match="could not list"):
        linkedin.reconcile(draft())


def test_reconcile_with_a_refused_token_is_auth(sim: Simulator) -> None:
    connector = make(sim.url_for("linkedin"), token=WRONG_TOKEN)
    with pytest.raises(AuthError):
        connector.reconcile(draft())
    connector.close()


def test_duplicate_on_a_first_publish_is_permanent(linkedin: LinkedInConnector, sim: Simulator) -> None:
    first = linkedin.publish(draft(key="post-1:linkedin"))
    with pytest.raises(PermanentError, match="already a live post") as caught:
        linkedin.publish(draft(key="post-2:linkedin"))
    assert caught.value.status == 422
    assert first.remote_id in str(caught.value)
    assert not isinstance(caught.value, AuthError)
    assert len(sim.ledger("linkedin")) == 1


def test_duplicate_after_reconcile_is_the_earlier_post(sim: Simulator) -> None:
    # The earlier try went out, then enough newer posts that the look-up does not reach it:
    # reconcile finds nothing, and the resend's 422 DUPLICATE_POST names the earlier post.
    earlier = make(sim.url_for("linkedin"))
    first = earlier.publish(draft())
    for n in range(RECONCILE_LOOKBACK_POSTS):
        earlier.publish(draft(text=f"newer post {n}", key=f"newer-{n}:linkedin"))
    earlier.close()

    connector = make(sim.url_for("linkedin"))
    assert connector.reconcile(draft()) is None
    again = connector.publish(draft())
    connector.close()

    assert again.remote_id == first.remote_id
    assert len(sim.ledger("linkedin")) == RECONCILE_LOOKBACK_POSTS + 1


def test_delete(linkedin: LinkedInConnector, sim: Simulator) -> None:
    published = linkedin.publish(draft())
    linkedin.delete(published.remote_id)
    assert sim.deleted("linkedin") == {published.remote_id}
    linkedin.delete(published.remote_id)  # already gone: nothing to do


def test_over_length_text_is_refused_before_any_call(linkedin: LinkedInConnector, sim: Simulator) -> None:
    text = "가" * 3001
    [problem] = LinkedInConnector.validate(text, [PhotoInfo("image/jpeg", 1000, 10, 10)])
    assert (problem.field, problem.count, problem.limit) == ("text", 3001, 3000)
    assert LinkedInConnector.validate("가" * 3000, []) == []

    with pytest.raises(PermanentError, match="3000 characters"):
        linkedin.publish(draft(text=text))
    assert sim.requests_seen("linkedin") == []


def test_escaped_length_counts_too() -> None:
    text = "(" * 1600  # shows 1,600 characters, sends 3,200
    assert LinkedInConnector.count_text(text).fits
    [problem] = LinkedInConnector.validate(text, [])
    assert (problem.count, problem.limit) == (3200, 3000)
    assert "escaped" in problem.message


def test_pixel_cap() -> None:
    [problem] = LinkedInConnector.validate("hi", [PhotoInfo("image/png", 1000, 8000, 5000)])
    assert (problem.field, problem.count) == ("photos", 40_000_000)


def test_version_option() -> None:
    connector = make("http://127.0.0.1:9", version="202511")
    assert connector.session.headers["LinkedIn-Version"] == "202511"
    connector.close()
    with pytest.raises(InputError, match="YYYYMM"):
        make("http://127.0.0.1:9", version="2025-11")


def test_public_url_rule() -> None:
    real = make("https://api.linkedin.com")
    local = make("http://127.0.0.1:8080/linkedin/")
    urn = "urn:li:share:7012345678901234567"
    assert real.post_url(urn) == f"https://www.linkedin.com/feed/update/{urn}"
    assert local.post_url(urn) == f"http://127.0.0.1:8080/linkedin/feed/update/{urn}"
    real.close()
    local.close()


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 25, 12, 0, tzinfo=UTC), 12 * 3600.0),
        (datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC), 30.0),
        (datetime(2026, 11, 25, 0, 0, tzinfo=UTC), 86400.0),
    ],
    ids=["noon", "new-year", "midnight"],
)
def test_seconds_until_utc_midnight(now: datetime, expected: float) -> None:
    assert seconds_until_utc_midnight(now) == expected


@pytest.mark.parametrize(
    ("commentary", "shown"),
    [
        ("plain", "plain"),
        ("\\(a\\) \\#b", "(a) #b"),
        ("Hi @[Acme \\(x\\)](urn:li:organization:1)!", "Hi Acme (x)!"),
        ("{hashtag|\\#|spring} time", "#spring time"),
    ],
    ids=["plain", "escapes", "mention", "hashtag"],
)
def test_shown_text(commentary: str, shown: str) -> None:
    assert shown_text(commentary) == shown


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
    for case in [c for c in CASES if c.expected is AuthError]:
        sim.clear_faults()
        for fault in case.faults:
            sim.inject(fault)
        connector = make(sim.url_for("linkedin"), token=case.token, organization=case.organization)
        with pytest.raises(AuthError) as caught:
            connector.publish(draft(photos=PHOTOS))
        connector.close()
        errors.append(caught.value)
    assert len(errors) == 5
    for secret in (TOKEN, WRONG_TOKEN, EXPIRED_TOKEN):
        assert secret not in caplog.text
        for error in errors:
            assert secret not in str(error)
            assert secret not in repr(error)
