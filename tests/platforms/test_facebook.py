"""FacebookConnector against the Facebook simulator: a table of faults first, then the flows
(photos, duplicates, reconcile, delete), the Graph error mapping shared with Instagram and
Threads (``platforms.graph``) on canned answers, and the secrecy check. The harness
(``harness.py``) runs the table and the checks every platform shares."""

from __future__ import annotations

import functools
import hashlib
import json

import pytest
import requests

from herald.core.errors import (
    AuthError,
    HeraldError,
    InputError,
    PermanentError,
    RetryableError,
    UncertainError,
)
from herald.platforms.base import PhotoInfo
from herald.platforms.facebook import FacebookConnector
from herald.platforms.graph_errors import error_for_graph, regain_seconds
from herald.simulator import Simulator
from tests.platforms.harness import ONE_MINUTE, READ_TIMEOUT, FaultCase, Harness, case_id
from tests.platforms.specs import FACEBOOK as SPEC
from tests.platforms.specs import FACEBOOK_PAGE_ID as PAGE_ID

TOKEN = SPEC.credentials["page_access_token"]
WRONG_TOKEN = "EAAB-wrong-token-fedcba9876543210"
TEXT = SPEC.text
PHOTOS = SPEC.photos
draft = SPEC.draft


@pytest.fixture(scope="module")
def platform() -> str:
    return SPEC.name


# -- the table -----------------------------------------------------------------------------

FEED = "/feed"
PHOTOS_EDGE = "/photos"
#: Graph API calls are POSTs unless a fault says otherwise.
fault = functools.partial(SPEC.fault, method="POST")

CASES = [
    FaultCase("wrong token", (), AuthError, "code 190", credentials={"page_access_token": WRONG_TOKEN}),
    FaultCase("token expired", (), AuthError, "463: the token expired", account={"expires_at": "1"}),
    FaultCase("password changed", (), AuthError, "460", account={"password_changed": "1"}),
    FaultCase("403 permission", (fault("error", FEED, status=403),), AuthError, "permission"),
    FaultCase("400 on feed", (fault("error", FEED, status=400),), PermanentError, "code 100"),
    FaultCase(
        "throttled on feed",
        (fault("rate_limit", FEED, reset_in=2.0),),
        RetryableError,
        "code 32",
        retry_after=ONE_MINUTE,
    ),
    FaultCase(
        "throttled on photo",
        (fault("rate_limit", PHOTOS_EDGE, reset_in=90.0),),
        RetryableError,
        "rate limited",
        photos=2,
        retry_after=2 * ONE_MINUTE,
    ),
    FaultCase(
        "500 on photo", (fault("error", PHOTOS_EDGE, status=500),), RetryableError, "HTTP 500", photos=2
    ),
    FaultCase("drop on photo", (fault("drop", PHOTOS_EDGE),), RetryableError, "no answer", photos=2),
    FaultCase("503 on feed", (fault("error", FEED, status=503),), UncertainError, "may exist", posted=None),
    FaultCase("drop on feed", (fault("drop", FEED),), UncertainError, "reconcile", posted=None),
    FaultCase(
        "timeout on feed",
        (fault("slow", FEED, delay=READ_TIMEOUT + 0.5),),
        UncertainError,
        "ReadTimeout",
        posted=None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_publish_fault(case: FaultCase, harness: Harness[FacebookConnector]) -> None:
    harness.publish_fault(case)


# -- flows ---------------------------------------------------------------------------------


def test_publish_korean_english_with_two_photos(connector: FacebookConnector, sim: Simulator) -> None:
    published = connector.publish(draft(photos=PHOTOS))

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


def test_text_only_post(connector: FacebookConnector, sim: Simulator) -> None:
    published = connector.publish(draft())
    [entry] = sim.ledger("facebook")
    assert (entry.remote_id, entry.text, entry.media) == (published.remote_id, TEXT, ())


def test_duplicate_message_is_permanent(connector: FacebookConnector, sim: Simulator) -> None:
    connector.publish(draft())
    with pytest.raises(PermanentError, match="duplicate post") as caught:
        connector.publish(draft())
    assert not isinstance(caught.value, AuthError)
    assert "506" in str(caught.value)
    assert len(sim.ledger("facebook")) == 1


def test_reconcile_when_nothing_went_out(connector: FacebookConnector, sim: Simulator) -> None:
    connector.publish(draft(text="an older post"))
    assert connector.reconcile(draft()) is None


def test_reconcile_that_cannot_look_is_uncertain(connector: FacebookConnector, sim: Simulator) -> None:
    sim.inject(fault("error", "/published_posts", method="GET", status=503))
    with pytest.raises(UncertainError, match="could not list"):
        connector.reconcile(draft())


def test_reconcile_with_a_refused_token_is_auth(harness: Harness[FacebookConnector]) -> None:
    connector = harness.make(page_access_token=WRONG_TOKEN)
    with pytest.raises(AuthError):
        connector.reconcile(draft())
    connector.close()


def test_reconcile_of_a_photo_only_post_cannot_tell(connector: FacebookConnector) -> None:
    with pytest.raises(UncertainError, match="without text"):
        connector.reconcile(draft(text="", photos=PHOTOS))


def test_delete(connector: FacebookConnector, sim: Simulator) -> None:
    published = connector.publish(draft())
    connector.delete(published.remote_id)
    connector.delete(published.remote_id)  # already gone: nothing to do
    assert sim.deleted("facebook") == {published.remote_id}


def test_over_length_text_is_refused_before_any_call(connector: FacebookConnector, sim: Simulator) -> None:
    text = "가" * 63_207
    [problem] = FacebookConnector.validate(text, [PhotoInfo("image/jpeg", 1000, 10, 10)])
    assert (problem.field, problem.count, problem.limit) == ("text", 63_207, 63_206)
    assert FacebookConnector.validate("가" * 63_206, []) == []
    [problem] = FacebookConnector.validate("x", [PhotoInfo("image/jpeg", 10_000_000, 10, 10)])
    assert problem.field == "photos"

    with pytest.raises(PermanentError, match="63206 characters"):
        connector.publish(draft(text=text))
    assert sim.requests_seen("facebook") == []


def test_graph_version_option(harness: Harness[FacebookConnector], sim: Simulator) -> None:
    connector = harness.make({"graph_version": "v25.0"})
    sent: list[str] = []
    connector.session.hooks["response"].append(lambda response, *a, **kw: sent.append(response.url))
    connector.publish(draft())
    connector.close()
    assert sent and all(url.startswith(sim.url_for("facebook") + "/v25.0/") for url in sent)
    assert all("access_token" not in url for url in sent)  # the token travels in a header

    default = harness.make()
    assert default.api_root == sim.url_for("facebook") + "/v21.0"
    default.close()
    with pytest.raises(InputError, match="graph_version"):
        harness.make({"graph_version": "21"})


def test_public_url_rule() -> None:
    real = SPEC.build("https://graph.facebook.com")
    local = SPEC.build("http://127.0.0.1:8080/")
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


def test_no_credential_in_logs_or_errors(
    harness: Harness[FacebookConnector], leak_log: pytest.LogCaptureFixture
) -> None:
    cases = [c for c in CASES if c.expected is AuthError] + [CASES[-2]]
    assert len(cases) == 5
    errors = harness.refusals(cases, photos=2)
    harness.assert_secrets_kept(leak_log, errors, cases)
