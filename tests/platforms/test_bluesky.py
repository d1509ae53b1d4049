"""BlueskyConnector against the Bluesky simulator: a table of faults first, then the flows
(photos and facets, the session and its refresh, reconcile and resend by record key, delete),
the rules ``validate`` adds and the secrecy check. The harness (``harness.py``) runs the table
and the checks every platform shares."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import time
from datetime import UTC, datetime

import pytest
import requests

from herald.core.errors import AuthError, HeraldError, PermanentError, RetryableError, UncertainError
from herald.platforms.atproto import jwt_expiry
from herald.platforms.base import PhotoInfo
from herald.platforms.bluesky import BlueskyConnector, created_at, record_key
from herald.simulator import Simulator
from herald.simulator.bluesky import did_for
from tests.platforms.harness import READ_TIMEOUT, FaultCase, Harness, case_id
from tests.platforms.specs import BLUESKY as SPEC
from tests.platforms.specs import BLUESKY_FRIEND as FRIEND
from tests.platforms.specs import BLUESKY_HANDLE as HANDLE
from tests.platforms.specs import BLUESKY_URL as URL

APP_PASSWORD = SPEC.credentials["app_password"]
WRONG_PASSWORD = "zzzz-zzzz-zzzz-zzzz"
TEXT = SPEC.text
KEY = "post-1:bluesky"
PHOTOS = SPEC.photos
draft = SPEC.draft
fault = SPEC.fault


@pytest.fixture(scope="module")
def platform() -> str:
    return SPEC.name


def calls(sim: Simulator) -> list[str]:
    """The XRPC methods the simulator saw, in order."""
    return [seen.path.removeprefix("/xrpc/") for seen in sim.requests_seen("bluesky")]


# -- the table -----------------------------------------------------------------------------

SESSION = "/xrpc/com.atproto.server.createSession"
CREATE = "/xrpc/com.atproto.repo.createRecord"
UPLOAD = "/xrpc/com.atproto.repo.uploadBlob"
RESOLVE = "/xrpc/com.atproto.identity.resolveHandle"
GET_RECORD = "/xrpc/com.atproto.repo.getRecord"

CASES = [
    FaultCase(
        "wrong app password",
        (),
        AuthError,
        "Invalid identifier or password",
        credentials={"app_password": WRONG_PASSWORD},
    ),
    FaultCase(
        "429 on createSession",
        (fault("rate_limit", SESSION, reset_in=3.0),),
        RetryableError,
        "RateLimitExceeded",
        retry_after=3.0,
    ),
    FaultCase(
        "429 on createRecord",
        (fault("rate_limit", CREATE, reset_in=2.0),),
        RetryableError,
        "HTTP 429",
        retry_after=2.0,
    ),
    FaultCase(
        "429 on uploadBlob",
        (fault("rate_limit", UPLOAD, reset_in=3.0),),
        RetryableError,
        "HTTP 429",
        photos=2,
        retry_after=3.0,
    ),
    FaultCase(
        "400 InvalidRequest on createRecord",
        (fault("error", CREATE, status=400),),
        PermanentError,
        "InvalidRequest",
    ),
    FaultCase("503 on createSession", (fault("error", SESSION, status=503),), RetryableError, "HTTP 503"),
    FaultCase(
        "503 on uploadBlob",
        (fault("error", UPLOAD, status=503),),
        RetryableError,
        "HTTP 503",
        photos=2,
    ),
    FaultCase("503 on resolveHandle", (fault("error", RESOLVE, status=503),), RetryableError, "HTTP 503"),
    FaultCase("drop on uploadBlob", (fault("drop", UPLOAD),), RetryableError, "no answer", photos=2),
    FaultCase(
        "503 on createRecord",
        (fault("error", CREATE, status=503),),
        UncertainError,
        "may exist",
        posted=None,
    ),
    FaultCase("drop on createRecord", (fault("drop", CREATE),), UncertainError, "reconcile", posted=None),
    FaultCase(
        "timeout on createRecord",
        (fault("slow", CREATE, delay=READ_TIMEOUT + 0.5),),
        UncertainError,
        "ReadTimeout",
        posted=None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_publish_fault(case: FaultCase, harness: Harness[BlueskyConnector]) -> None:
    harness.publish_fault(case)


# -- flows ---------------------------------------------------------------------------------


def test_publish_korean_english_with_two_photos_and_facets(
    connector: BlueskyConnector, sim: Simulator
) -> None:
    published = connector.publish(draft(photos=PHOTOS))

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


def test_one_session_for_many_posts(connector: BlueskyConnector, sim: Simulator) -> None:
    connector.publish(draft(text="one", key="k1"))
    connector.publish(draft(text="two", key="k2"))
    assert calls(sim).count("com.atproto.server.createSession") == 1
    assert len(sim.ledger("bluesky")) == 2


def test_expired_token_is_refreshed_and_the_call_retried(connector: BlueskyConnector, sim: Simulator) -> None:
    connector.publish(draft(text="before", key="k1"))
    time.sleep(0.01)
    # Every access JWT issued before now is expired from now on: the next call gets 400 ExpiredToken.
    sim.add_account(
        "bluesky", username=HANDLE, handle=HANDLE, app_password=APP_PASSWORD, expires_at=str(time.time())
    )

    connector.publish(draft(text="after", key="k2"))

    assert [e.text for e in sim.ledger("bluesky")] == ["before", "after"]
    seen = calls(sim)
    assert seen.count("com.atproto.server.createSession") == 1
    assert seen.count("com.atproto.server.refreshSession") == 1
    statuses = [(s.path, s.status) for s in sim.requests_seen("bluesky")]
    # The create was refused (400 ExpiredToken, applied nothing), refreshed, and sent again.
    assert statuses[-3:] == [(CREATE, 400), ("/xrpc/com.atproto.server.refreshSession", 200), (CREATE, 200)]


def test_token_near_expiry_is_refreshed_first(connector: BlueskyConnector, sim: Simulator) -> None:
    sim.bluesky_access_jwt_seconds = 120  # inside the five-minute margin from the start
    connector.publish(draft(text="one", key="k1"))
    connector.publish(draft(text="two", key="k2"))
    seen = calls(sim)
    assert seen.count("com.atproto.server.createSession") == 1
    assert seen.count("com.atproto.server.refreshSession") >= 1
    assert all(s.status == 200 for s in sim.requests_seen("bluesky"))  # no call was refused


def test_refused_refresh_logs_in_again(connector: BlueskyConnector, sim: Simulator) -> None:
    connector.publish(draft(text="one", key="k1"))
    session = connector.xrpc.auth
    assert session is not None
    # A refresh JWT the PDS no longer honours, on an access JWT about to expire.
    connector.xrpc.auth = dataclasses.replace(session, refresh_jwt="not.a.token", expires_at=time.time())

    connector.publish(draft(text="two", key="k2"))

    seen = calls(sim)
    assert seen.count("com.atproto.server.refreshSession") == 1
    assert seen.count("com.atproto.server.createSession") == 2
    assert len(sim.ledger("bluesky")) == 2


def test_401_on_create_refreshes_once(connector: BlueskyConnector, sim: Simulator) -> None:
    sim.inject(fault("error", CREATE, status=401))
    connector.publish(draft())
    assert calls(sim).count("com.atproto.repo.createRecord") == 2
    assert len(sim.ledger("bluesky")) == 1

    sim.inject(fault("error", CREATE, status=401, count=2))
    with pytest.raises(AuthError, match="HTTP 401"):
        connector.publish(draft(key="k2"))


def test_blob_too_large_is_permanent(connector: BlueskyConnector, sim: Simulator) -> None:
    sim.bluesky_blob_max_bytes = 100
    with pytest.raises(PermanentError, match="BlobTooLarge"):
        connector.publish(draft(photos=PHOTOS[:1]))
    assert sim.ledger("bluesky") == []


def test_publishing_again_returns_the_same_record(
    connector: BlueskyConnector, harness: Harness[BlueskyConnector], sim: Simulator
) -> None:
    one = connector.publish(draft(photos=PHOTOS))
    fresh = harness.make()  # a fresh worker, same key
    two = fresh.publish(draft(photos=PHOTOS))
    fresh.close()
    assert one == two
    assert len(sim.ledger("bluesky")) == 1
    # The second create hit the existing key (HTTP 500 like the reference PDS) and looked it up.
    statuses = [(s.path, s.status) for s in sim.requests_seen("bluesky")]
    assert statuses[-2:] == [(CREATE, 500), (GET_RECORD, 200)]


def test_reconcile_when_nothing_went_out(connector: BlueskyConnector, sim: Simulator) -> None:
    connector.publish(draft(text="an older post", key="older"))
    assert connector.reconcile(draft()) is None


def test_reconcile_that_cannot_look_is_uncertain(connector: BlueskyConnector, sim: Simulator) -> None:
    sim.inject(fault("error", GET_RECORD, status=503))
    with pytest.raises(UncertainError, match="could not look"):
        connector.reconcile(draft())


def test_delete(connector: BlueskyConnector, sim: Simulator) -> None:
    published = connector.publish(draft())
    connector.delete(published.remote_id)
    assert sim.deleted("bluesky") == {published.remote_id}
    connector.delete(published.remote_id)  # already gone: nothing to do
    assert connector.reconcile(draft()) is None


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


def test_over_length_text_is_refused_before_any_call(connector: BlueskyConnector, sim: Simulator) -> None:
    with pytest.raises(PermanentError, match="300 graphemes"):
        connector.publish(draft(text="가" * 301))
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
    real = SPEC.build("https://bsky.social")
    local = SPEC.build("http://127.0.0.1:8080/bluesky/")
    assert real.post_url("3abc") == f"https://bsky.app/profile/{HANDLE}/post/3abc"
    assert local.post_url("3abc") == f"http://127.0.0.1:8080/bluesky/profile/{HANDLE}/post/3abc"
    real.close()
    local.close()


# -- secrets -------------------------------------------------------------------------------


def test_no_credential_in_logs_or_errors(
    harness: Harness[BlueskyConnector], sim: Simulator, leak_log: pytest.LogCaptureFixture
) -> None:
    [wrong] = [c for c in CASES if c.credentials]
    errors: list[HeraldError] = harness.refusals([wrong], photos=2)

    connector = harness.make()
    connector.publish(draft(photos=PHOTOS))
    session = connector.xrpc.auth
    assert session is not None
    sim.inject(fault("error", CREATE, status=401, count=2))
    with pytest.raises(AuthError) as caught:
        connector.publish(draft(key="k2"))
    errors.append(caught.value)
    assert connector.xrpc.auth is not None
    tokens = {session.access_jwt, session.refresh_jwt, connector.xrpc.auth.access_jwt}
    connector.close()

    harness.assert_secrets_kept(leak_log, errors, [wrong], also=tokens)
