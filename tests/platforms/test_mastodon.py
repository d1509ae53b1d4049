"""MastodonConnector against the Mastodon simulator: a table of faults first, then the flows
that need more than one call (photos, async processing, reconcile), the status mapping and the
secrecy check. The harness (``harness.py``) runs the table and the checks every platform shares."""

from __future__ import annotations

import hashlib

import pytest
import requests

from herald.core.errors import AuthError, HeraldError, PermanentError, RetryableError, UncertainError
from herald.platforms.base import PhotoInfo
from herald.platforms.http import error_for_status, retry_after_seconds
from herald.platforms.mastodon import MastodonConnector
from herald.simulator import Simulator
from tests.platforms.harness import READ_TIMEOUT, FaultCase, Harness, case_id
from tests.platforms.specs import MASTODON as SPEC

TOKEN = SPEC.credentials["access_token"]
WRONG_TOKEN = "mastodon-wrong-token-fedcba9876543210"
PHOTOS = SPEC.photos
draft = SPEC.draft
fault = SPEC.fault


@pytest.fixture(scope="module")
def platform() -> str:
    return SPEC.name


# -- the table -----------------------------------------------------------------------------

STATUSES = "/api/v1/statuses"
MEDIA = "/api/v2/media"

CASES = [
    FaultCase("wrong token", (), AuthError, "HTTP 401", credentials={"access_token": WRONG_TOKEN}),
    FaultCase("401 on status", (fault("error", STATUSES, status=401),), AuthError, "401"),
    FaultCase("403 scope", (fault("error", STATUSES, status=403),), PermanentError, "HTTP 403"),
    FaultCase("422 on status", (fault("error", STATUSES, status=422),), PermanentError, "HTTP 422"),
    FaultCase(
        "429 on status",
        (fault("rate_limit", STATUSES, reset_in=2.0),),
        RetryableError,
        "HTTP 429",
        retry_after=2.0,
    ),
    FaultCase(
        "429 on upload",
        (fault("rate_limit", MEDIA, reset_in=3.0),),
        RetryableError,
        "HTTP 429",
        photos=2,
        retry_after=3.0,
    ),
    FaultCase("503 on upload", (fault("error", MEDIA, status=503),), RetryableError, "HTTP 503", photos=2),
    FaultCase("drop on upload", (fault("drop", MEDIA),), RetryableError, "no answer", photos=2),
    FaultCase(
        "503 on status",
        (fault("error", STATUSES, status=503),),
        UncertainError,
        "may exist",
        posted=None,
    ),
    FaultCase("drop on status", (fault("drop", STATUSES),), UncertainError, "reconcile", posted=None),
    FaultCase(
        "timeout on status",
        (fault("slow", STATUSES, delay=READ_TIMEOUT + 0.5),),
        UncertainError,
        "ReadTimeout",
        posted=None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_publish_fault(case: FaultCase, harness: Harness[MastodonConnector]) -> None:
    harness.publish_fault(case)


# -- flows ---------------------------------------------------------------------------------


def test_publish_korean_english_with_two_photos(connector: MastodonConnector, sim: Simulator) -> None:
    published = connector.publish(draft(photos=PHOTOS))

    [entry] = sim.ledger("mastodon")
    assert entry.remote_id == published.remote_id
    assert entry.url == published.url
    assert entry.text == SPEC.text
    assert entry.idempotency_key == "post-1:mastodon"
    assert [m.alt_text for m in entry.media] == [p.alt_text for p in PHOTOS]
    assert [m.sha256 for m in entry.media] == [hashlib.sha256(p.data).hexdigest() for p in PHOTOS]
    assert [m.mime_type for m in entry.media] == ["image/jpeg", "image/jpeg"]


def test_async_media_processing_is_awaited(connector: MastodonConnector, sim: Simulator) -> None:
    sim.mastodon_async_media = 2
    published = connector.publish(draft(photos=PHOTOS[:1]))
    [entry] = sim.ledger("mastodon")
    assert entry.remote_id == published.remote_id
    assert len(entry.media) == 1


def test_same_key_twice_is_one_status(connector: MastodonConnector, sim: Simulator) -> None:
    one = connector.publish(draft())
    two = connector.publish(draft())
    three = connector.publish(draft(key="post-2:mastodon"))
    assert one == two
    assert three.remote_id != one.remote_id
    assert len(sim.ledger("mastodon")) == 2


def test_delete(connector: MastodonConnector, sim: Simulator) -> None:
    published = connector.publish(draft())
    connector.delete(published.remote_id)
    connector.delete(published.remote_id)  # already gone: nothing to do


def test_over_length_text_is_refused_before_any_call(connector: MastodonConnector, sim: Simulator) -> None:
    text = "가" * 501
    [problem] = MastodonConnector.validate(text, [PhotoInfo("image/jpeg", 1000, 10, 10)])
    assert (problem.field, problem.count, problem.limit) == ("text", 501, 500)
    assert MastodonConnector.validate("가" * 500, []) == []

    with pytest.raises(PermanentError, match="500 characters"):
        connector.publish(draft(text=text))
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


def test_no_credential_in_logs_or_errors(
    harness: Harness[MastodonConnector], leak_log: pytest.LogCaptureFixture
) -> None:
    cases = [c for c in CASES if c.expected is AuthError]
    assert cases
    errors = harness.refusals(cases, photos=2)
    harness.assert_secrets_kept(leak_log, errors, cases)
