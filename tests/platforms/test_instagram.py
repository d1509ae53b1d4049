"""InstagramConnector against the Instagram simulator: a table of faults first, then the flows
that need more than one call (carousel, processing, the container-based reconcile), the rules
``validate`` enforces and the secrecy check. The harness (``harness.py``) runs the table and the
checks every platform shares.

Instagram fetches photos from a public URL: the harness's ``PhotoServer`` plays Herald's public
photo server on loopback, and the simulator fetches from it."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import urllib.parse

import pytest

from herald.core.errors import AuthError, PermanentError, RetryableError, UncertainError
from herald.platforms.base import Draft, Photo, PhotoInfo
from herald.platforms.instagram import InstagramConnector, count_hashtags, count_mentions
from herald.simulator import Simulator
from tests.platforms.harness import (
    ONE_MINUTE,
    READ_TIMEOUT,
    FaultCase,
    Harness,
    PhotoServer,
    case_id,
    closed_port_url,
)
from tests.platforms.specs import INSTAGRAM as SPEC

WRONG_TOKEN = "IGQ-wrong-token-fedcba9876543210"
TEXT = SPEC.text
PHOTOS = SPEC.photos


@pytest.fixture(scope="module")
def platform() -> str:
    return SPEC.name


@pytest.fixture
def shared(harness: Harness[InstagramConnector]) -> tuple[Photo, ...]:
    return harness.photos()


def draft(photos: tuple[Photo, ...], text: str | None = None, key: str | None = None) -> Draft:
    return SPEC.draft(text, photos, key)


# -- the table -----------------------------------------------------------------------------

CONTAINERS = "/media"
PUBLISH = "/media_publish"
#: Graph API calls are POSTs unless a fault says otherwise.
fault = functools.partial(SPEC.fault, method="POST")

#: Instagram has no text-only posts: a case sends one photo unless it says more.
Case = functools.partial(FaultCase, photos=1)

CASES = [
    Case("wrong token", (), AuthError, "code 190", credentials={"access_token": WRONG_TOKEN}),
    Case("token expired", (), AuthError, "463: the token expired", account={"expires_at": "1"}),
    Case("password changed", (), AuthError, "460", account={"password_changed": "1"}),
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
        settings={"instagram_publish_limit": 0},
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


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_publish_fault(case: FaultCase, harness: Harness[InstagramConnector]) -> None:
    harness.publish_fault(case)


def test_photo_the_platform_cannot_fetch_is_permanent(connector: InstagramConnector, sim: Simulator) -> None:
    unreachable = dataclasses.replace(PHOTOS[0], public_url=closed_port_url() + "/p/gone")
    with pytest.raises(PermanentError, match="2207052") as caught:
        connector.publish(draft((unreachable,)))
    assert not isinstance(caught.value, AuthError)
    assert sim.ledger("instagram") == []


# -- flows ---------------------------------------------------------------------------------


def test_publish_korean_english_carousel_with_alt_text(
    connector: InstagramConnector, sim: Simulator, shared: tuple[Photo, ...], photo_server: PhotoServer
) -> None:
    published = connector.publish(draft(shared))

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
    connector: InstagramConnector, sim: Simulator, shared: tuple[Photo, ...]
) -> None:
    sim.instagram_processing_polls = 2
    published = connector.publish(draft(shared[:1]))

    [entry] = sim.ledger("instagram")
    assert entry.remote_id == published.remote_id
    assert entry.extra["media_type"] == "IMAGE"
    assert [m.alt_text for m in entry.media] == [PHOTOS[0].alt_text]
    status_reads = [s for s in sim.requests_seen("instagram") if s.method == "GET" and s.path.count("/") == 1]
    assert len(status_reads) >= 3  # two IN_PROGRESS, then FINISHED (then the permalink)


def test_publishing_again_after_an_uncertain_try_returns_the_first_post(
    connector: InstagramConnector, sim: Simulator, shared: tuple[Photo, ...]
) -> None:
    sim.inject(fault("commit_then_drop", PUBLISH))
    with pytest.raises(UncertainError):
        connector.publish(draft(shared[:1]))

    again = connector.publish(draft(shared[:1]))  # a caller that skipped reconcile

    [entry] = sim.ledger("instagram")
    assert again.remote_id == entry.remote_id


def test_unpublished_container_is_reused(
    connector: InstagramConnector, sim: Simulator, shared: tuple[Photo, ...]
) -> None:
    sim.inject(fault("drop", PUBLISH))
    with pytest.raises(UncertainError):
        connector.publish(draft(shared[:1]))

    assert connector.reconcile(draft(shared[:1])) is None  # the container is FINISHED: not published
    published = connector.publish(draft(shared[:1]))

    [entry] = sim.ledger("instagram")
    assert entry.remote_id == published.remote_id
    creates = [s for s in sim.requests_seen("instagram") if s.method == "POST" and s.path.endswith("/media")]
    assert len(creates) == 1  # the first try's container was published, no second one made


def test_reconcile_from_another_process_finds_the_post_by_caption(
    connector: InstagramConnector,
    harness: Harness[InstagramConnector],
    sim: Simulator,
    shared: tuple[Photo, ...],
) -> None:
    sim.inject(fault("commit_then_drop", PUBLISH))
    with pytest.raises(UncertainError):
        connector.publish(draft(shared[:1]))
    [first] = sim.ledger("instagram")
    other = harness.make()  # no memory of the container

    found = other.reconcile(draft(shared[:1]))
    other.close()

    assert found is not None
    assert (found.remote_id, found.url) == (first.remote_id, first.url)


def test_reconcile_without_container_or_post_cannot_tell(
    connector: InstagramConnector, sim: Simulator, shared: tuple[Photo, ...]
) -> None:
    connector.publish(draft(shared[:1], text="an older post", key="post-0:instagram"))
    with pytest.raises(UncertainError, match="cannot tell"):
        connector.reconcile(draft(shared[:1]))


def test_reconcile_that_cannot_look_is_uncertain(
    connector: InstagramConnector, sim: Simulator, shared: tuple[Photo, ...]
) -> None:
    sim.inject(fault("error", "/media", method="GET", status=503))
    with pytest.raises(UncertainError, match="could not check"):
        connector.reconcile(draft(shared[:1]))


def test_photo_without_public_url_is_refused_before_any_call(
    connector: InstagramConnector, sim: Simulator
) -> None:
    with pytest.raises(PermanentError, match="set HERALD_PUBLIC_URL"):
        connector.publish(draft(PHOTOS))
    assert sim.requests_seen("instagram") == []


def test_posts_cannot_be_deleted(connector: InstagramConnector, sim: Simulator) -> None:
    assert InstagramConnector.can_delete is False
    with pytest.raises(PermanentError, match="cannot be deleted"):
        connector.delete("17900000000000000")
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
    connector: InstagramConnector, sim: Simulator, shared: tuple[Photo, ...]
) -> None:
    with pytest.raises(PermanentError, match="31"):
        connector.publish(draft(shared[:1], text=" ".join(f"#t{i}" for i in range(31))))
    assert sim.requests_seen("instagram") == []


# -- secrets -------------------------------------------------------------------------------


def test_no_credential_in_logs_or_errors(
    harness: Harness[InstagramConnector], leak_log: pytest.LogCaptureFixture
) -> None:
    cases = [c for c in CASES if c.expected is AuthError] + [CASES[-2]]
    assert len(cases) == 5
    errors = harness.refusals(cases, photos=2)
    harness.assert_secrets_kept(leak_log, errors, cases)
