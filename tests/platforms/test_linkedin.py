"""LinkedInConnector against the LinkedIn simulator: a table of faults first, then the flows
that need more than one call (photos, little-text escaping, reconcile, duplicates) and the
secrecy check. The harness (``harness.py``) runs the table and the checks every platform shares."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
import requests

from herald.core.errors import AuthError, InputError, PermanentError, RetryableError, UncertainError
from herald.platforms.base import Photo, PhotoInfo
from herald.platforms.linkedin import (
    DEFAULT_VERSION,
    RECONCILE_LOOKBACK_POSTS,
    LinkedInConnector,
    seconds_until_utc_midnight,
    shown_text,
)
from herald.simulator import Simulator
from tests.platforms.harness import READ_TIMEOUT, FaultCase, Harness, case_id
from tests.platforms.specs import LINKEDIN as SPEC
from tests.platforms.specs import LINKEDIN_EXPIRED_ORG as EXPIRED_ORG
from tests.platforms.specs import LINKEDIN_EXPIRED_TOKEN as EXPIRED_TOKEN
from tests.platforms.specs import LINKEDIN_ORG as ORG

OTHER_ORG = "urn:li:organization:999"
TOKEN = SPEC.credentials["access_token"]
WRONG_TOKEN = "linkedin-wrong-token-fedcba98765"
TEXT = SPEC.text
PHOTOS = SPEC.photos
draft = SPEC.draft
fault = SPEC.fault


@pytest.fixture(scope="module")
def platform() -> str:
    return SPEC.name


# -- the table -----------------------------------------------------------------------------

POSTS = "/rest/posts"
IMAGES = "/rest/images"
UPLOADS = "/dms-uploads"

CASES = [
    FaultCase("wrong token", (), AuthError, "HTTP 401", credentials={"access_token": WRONG_TOKEN}),
    FaultCase(
        "expired token",
        (),
        AuthError,
        "expired",
        credentials={"access_token": EXPIRED_TOKEN, "organization_urn": EXPIRED_ORG},
    ),
    FaultCase(
        "not an admin of the page",
        (),
        AuthError,
        "ACCESS_DENIED",
        credentials={"organization_urn": OTHER_ORG},
    ),
    FaultCase(
        "not an admin, with photos",
        (),
        AuthError,
        "HTTP 403",
        credentials={"organization_urn": OTHER_ORG},
        photos=2,
    ),
    FaultCase("retired version", (), PermanentError, "version option", options={"version": "202301"}),
    FaultCase("future version", (), PermanentError, "NONEXISTENT_VERSION", options={"version": "209912"}),
    FaultCase("401 on create", (fault("error", POSTS, method="POST", status=401),), AuthError, "HTTP 401"),
    FaultCase(
        "422 on create",
        (fault("error", POSTS, method="POST", status=422),),
        PermanentError,
        "HTTP 422",
    ),
    FaultCase(
        "429 on create",
        (fault("rate_limit", POSTS, method="POST"),),
        RetryableError,
        "TOO_MANY_REQUESTS",
        retry_after=seconds_until_utc_midnight,
    ),
    FaultCase(
        "429 on upload",
        (fault("rate_limit", IMAGES),),
        RetryableError,
        "HTTP 429",
        photos=2,
        retry_after=seconds_until_utc_midnight,
    ),
    FaultCase(
        "503 on initializeUpload",
        (fault("error", IMAGES, method="POST", status=503),),
        RetryableError,
        "HTTP 503",
        photos=2,
    ),
    FaultCase("drop on the bytes", (fault("drop", UPLOADS),), RetryableError, "no answer", photos=2),
    FaultCase(
        "503 on create",
        (fault("error", POSTS, method="POST", status=503),),
        UncertainError,
        "may exist",
        posted=None,
    ),
    FaultCase(
        "drop on create",
        (fault("drop", POSTS, method="POST"),),
        UncertainError,
        "reconcile",
        posted=None,
    ),
    FaultCase(
        "timeout on create",
        (fault("slow", POSTS, method="POST", delay=READ_TIMEOUT + 0.5),),
        UncertainError,
        "ReadTimeout",
        posted=None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_publish_fault(case: FaultCase, harness: Harness[LinkedInConnector]) -> None:
    harness.publish_fault(case)


# -- flows ---------------------------------------------------------------------------------


def test_publish_korean_english_with_two_photos(connector: LinkedInConnector, sim: Simulator) -> None:
    published = connector.publish(draft(photos=PHOTOS))

    [entry] = sim.ledger("linkedin")
    assert entry.remote_id == published.remote_id
    assert published.url == f"{sim.url_for('linkedin')}/feed/update/{published.remote_id}"
    # The parentheses, "#" and "@" arrived escaped: nothing was cut.
    assert entry.text == TEXT
    assert entry.extra["truncated"] is False
    assert len(entry.media) == 2
    assert [m.alt_text for m in entry.media] == [p.alt_text for p in PHOTOS]
    assert [m.sha256 for m in entry.media] == [hashlib.sha256(p.data).hexdigest() for p in PHOTOS]


def test_one_photo_is_single_media(connector: LinkedInConnector, sim: Simulator) -> None:
    connector.publish(draft(photos=PHOTOS[:1]))
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


def test_every_call_carries_the_three_headers(connector: LinkedInConnector, sim: Simulator) -> None:
    sent: list[requests.PreparedRequest] = []
    connector.session.hooks["response"].append(
        lambda response, *args, **kwargs: sent.append(response.request)
    )

    connector.publish(draft(photos=PHOTOS[:1]))

    assert [r.method for r in sent] == ["POST", "PUT", "GET", "POST"]  # init, bytes, status, post
    for request in sent:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["LinkedIn-Version"] == DEFAULT_VERSION
        assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert sent[1].headers["Content-Type"] == "image/jpeg"


def test_failed_image_processing_is_permanent(connector: LinkedInConnector, sim: Simulator) -> None:
    broken = Photo(b"not an image at all", "image/jpeg", 10, 10, "", "broken.jpg")
    with pytest.raises(PermanentError, match="could not be processed"):
        connector.publish(draft(photos=(broken,)))
    assert sim.ledger("linkedin") == []


def test_reconcile_when_nothing_went_out(connector: LinkedInConnector, sim: Simulator) -> None:
    connector.publish(draft(text="an older post (with parentheses)", key="post-0:linkedin"))
    assert connector.reconcile(draft()) is None


@pytest.mark.parametrize("status", [503, 403], ids=["503", "403-no-read-scope"])
def test_reconcile_that_cannot_look_is_uncertain(
    connector: LinkedInConnector, sim: Simulator, status: int
) -> None:
    sim.inject(fault("error", POSTS, method="GET", status=status))
    with pytest.raises(UncertainError, match="could not list"):
        connector.reconcile(draft())


def test_reconcile_with_a_refused_token_is_auth(harness: Harness[LinkedInConnector]) -> None:
    connector = harness.make(access_token=WRONG_TOKEN)
    with pytest.raises(AuthError):
        connector.reconcile(draft())
    connector.close()


def test_duplicate_on_a_first_publish_is_permanent(connector: LinkedInConnector, sim: Simulator) -> None:
    first = connector.publish(draft(key="post-1:linkedin"))
    with pytest.raises(PermanentError, match="already a live post") as caught:
        connector.publish(draft(key="post-2:linkedin"))
    assert caught.value.status == 422
    assert first.remote_id in str(caught.value)
    assert not isinstance(caught.value, AuthError)
    assert len(sim.ledger("linkedin")) == 1


def test_duplicate_after_reconcile_is_the_earlier_post(
    harness: Harness[LinkedInConnector], sim: Simulator
) -> None:
    # The earlier try went out, then enough newer posts that the look-up does not reach it:
    # reconcile finds nothing, and the resend's 422 DUPLICATE_POST names the earlier post.
    earlier = harness.make()
    first = earlier.publish(draft())
    for n in range(RECONCILE_LOOKBACK_POSTS):
        earlier.publish(draft(text=f"newer post {n}", key=f"newer-{n}:linkedin"))
    earlier.close()

    connector = harness.make()
    assert connector.reconcile(draft()) is None
    again = connector.publish(draft())
    connector.close()

    assert again.remote_id == first.remote_id
    assert len(sim.ledger("linkedin")) == RECONCILE_LOOKBACK_POSTS + 1


def test_delete(connector: LinkedInConnector, sim: Simulator) -> None:
    published = connector.publish(draft())
    connector.delete(published.remote_id)
    assert sim.deleted("linkedin") == {published.remote_id}
    connector.delete(published.remote_id)  # already gone: nothing to do


def test_over_length_text_is_refused_before_any_call(connector: LinkedInConnector, sim: Simulator) -> None:
    text = "가" * 3001
    [problem] = LinkedInConnector.validate(text, [PhotoInfo("image/jpeg", 1000, 10, 10)])
    assert (problem.field, problem.count, problem.limit) == ("text", 3001, 3000)
    assert LinkedInConnector.validate("가" * 3000, []) == []

    with pytest.raises(PermanentError, match="3000 characters"):
        connector.publish(draft(text=text))
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
    connector = SPEC.build("http://127.0.0.1:9", {"version": "202511"})
    assert connector.session.headers["LinkedIn-Version"] == "202511"
    connector.close()
    with pytest.raises(InputError, match="YYYYMM"):
        SPEC.build("http://127.0.0.1:9", {"version": "2025-11"})


def test_public_url_rule() -> None:
    real = SPEC.build("https://api.linkedin.com")
    local = SPEC.build("http://127.0.0.1:8080/linkedin/")
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


def test_no_credential_in_logs_or_errors(
    harness: Harness[LinkedInConnector], leak_log: pytest.LogCaptureFixture
) -> None:
    cases = [c for c in CASES if c.expected is AuthError]
    assert len(cases) == 5
    errors = harness.refusals(cases, photos=2)
    harness.assert_secrets_kept(leak_log, errors, cases)
