"""The Bluesky simulator against platforms.md §3, driven with plain ``requests``."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image

from herald.simulator import Fault, Simulator, SimulatorClient
from herald.simulator.bluesky import did_for, is_tid, make_tid

ALICE = "alice.bsky.social"
BOB = "bob.bsky.social"
PASSWORD = "xxxx-xxxx-xxxx-xxxx"
POST = "app.bsky.feed.post"
NOW = "2026-11-25T12:00:00.000Z"


def jpeg(size: tuple[int, int] = (60, 40), color: str = "teal", *, gps: bool = False) -> bytes:
    exif = Image.Exif()
    if gps:
        exif.get_ifd(0x8825)[1] = "N"
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", exif=exif)
    return out.getvalue()


def noisy_jpeg(side: int) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "JPEG", quality=95)
    return out.getvalue()


def jwt_payload(token: str) -> dict[str, Any]:
    segment = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        simulator.add_account("bluesky", username=ALICE, handle=ALICE, app_password=PASSWORD)
        simulator.add_account("bluesky", username=BOB, handle=BOB, app_password="bbbb-bbbb-bbbb-bbbb")
        yield simulator


@pytest.fixture(autouse=True)
def clean(sim: Simulator) -> Iterator[None]:
    sim.reset()
    yield
    sim.bluesky_access_jwt_seconds = 7200
    sim.bluesky_blob_max_bytes = 1_000_000
    sim.add_account("bluesky", username=ALICE, handle=ALICE, app_password=PASSWORD)


@pytest.fixture
def api(sim: Simulator) -> str:
    return sim.url_for("bluesky") + "/xrpc/"


def login(api: str, identifier: str = ALICE, password: str = PASSWORD) -> dict[str, Any]:
    response = requests.post(
        api + "com.atproto.server.createSession",
        json={"identifier": identifier, "password": password},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()
    return session


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(
    api: str, session: dict[str, Any], data: bytes, content_type: str = "image/jpeg"
) -> dict[str, Any]:
    response = requests.post(
        api + "com.atproto.repo.uploadBlob",
        data=data,
        headers={**bearer(session["accessJwt"]), "Content-Type": content_type},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    blob: dict[str, Any] = response.json()["blob"]
    return blob


def create(api: str, session: dict[str, Any], record: dict[str, Any], **extra: Any) -> requests.Response:
    body = {"repo": session["did"], "collection": POST, "record": record, **extra}
    return requests.post(
        api + "com.atproto.repo.createRecord", json=body, headers=bearer(session["accessJwt"]), timeout=5
    )


def post_record(text: str = "hello", **fields: Any) -> dict[str, Any]:
    return {"$type": POST, "text": text, "createdAt": NOW, **fields}


def tid() -> str:
    return make_tid(time.time_ns() // 1000, 7)


def error_of(response: requests.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body["message"]


# -- sessions ----------------------------------------------------------------------------------


def test_create_session_issues_jwts_and_a_did_doc_pointing_back(sim: Simulator, api: str) -> None:
    session = login(api)
    did = did_for(ALICE)
    assert re.fullmatch(r"did:plc:[a-z2-7]{24}", did)
    assert session["did"] == did and session["handle"] == ALICE and session["active"] is True
    access, refresh = jwt_payload(session["accessJwt"]), jwt_payload(session["refreshJwt"])
    assert access["sub"] == refresh["sub"] == did
    assert access["exp"] - access["iat"] == 7200
    assert refresh["exp"] - refresh["iat"] == 90 * 86_400
    assert all(len(t.split(".")) == 3 for t in (session["accessJwt"], session["refreshJwt"]))
    (service,) = session["didDoc"]["service"]
    assert service["id"] == "#atproto_pds" and service["serviceEndpoint"] == sim.url_for("bluesky")
    assert session["didDoc"]["alsoKnownAs"] == [f"at://{ALICE}"]
    assert login(api, identifier=did)["did"] == did  # the DID is an identifier too
    me = requests.get(api + "com.atproto.server.getSession", headers=bearer(session["accessJwt"]), timeout=5)
    assert me.status_code == 200 and me.json()["handle"] == ALICE and "accessJwt" not in me.json()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"identifier": ALICE, "password": "wrong"},
            (401, "AuthenticationRequired", "Invalid identifier or password"),
        ),
        ({"identifier": "nobody.bsky.social", "password": PASSWORD}, (401, "AuthenticationRequired", None)),
        ({"password": PASSWORD}, (400, "InvalidRequest", 'Input must have the property "identifier"')),
    ],
)
def test_create_session_rejections(api: str, body: dict[str, str], expected: tuple[Any, ...]) -> None:
    status, error, message = error_of(
        requests.post(api + "com.atproto.server.createSession", json=body, timeout=5)
    )
    assert (status, error) == expected[:2]
    assert expected[2] is None or message == expected[2]


def test_create_session_is_rate_limited_per_account(api: str) -> None:
    for _ in range(30):
        login(api)
    limited = requests.post(
        api + "com.atproto.server.createSession", json={"identifier": ALICE, "password": PASSWORD}, timeout=5
    )
    assert error_of(limited) == (429, "RateLimitExceeded", "Rate Limit Exceeded")
    assert limited.headers["ratelimit-policy"] == "30;w=300"
    assert limited.headers["ratelimit-remaining"] == "0"
    assert 290 < int(limited.headers["ratelimit-reset"]) - time.time() <= 301
    assert login(api, BOB, "bbbb-bbbb-bbbb-bbbb")["handle"] == BOB  # per account


def test_refresh_rotates_and_revokes_the_old_refresh_token(api: str) -> None:
    first = login(api)
    refresh = requests.post(
        api + "com.atproto.server.refreshSession", headers=bearer(first["refreshJwt"]), timeout=5
    )
    assert refresh.status_code == 200
    second = refresh.json()
    assert second["refreshJwt"] != first["refreshJwt"] and second["accessJwt"] != first["accessJwt"]
    again = requests.post(
        api + "com.atproto.server.refreshSession", headers=bearer(first["refreshJwt"]), timeout=5
    )
    assert error_of(again) == (400, "ExpiredToken", "Token has been revoked")
    wrong_kind = requests.post(
        api + "com.atproto.server.refreshSession", headers=bearer(second["accessJwt"]), timeout=5
    )
    assert error_of(wrong_kind) == (400, "InvalidToken", "Invalid token type")
    refresh_as_access = requests.get(
        api + "com.atproto.server.getSession", headers=bearer(second["refreshJwt"]), timeout=5
    )
    assert error_of(refresh_as_access)[:2] == (400, "InvalidToken")
    # The old access token stays valid until it expires, as on a real PDS.
    old = requests.get(api + "com.atproto.server.getSession", headers=bearer(first["accessJwt"]), timeout=5)
    assert old.status_code == 200


def test_expired_access_token_is_400_expired_token(sim: Simulator, api: str) -> None:
    session = login(api)
    sim.add_account(
        "bluesky", username=ALICE, handle=ALICE, app_password=PASSWORD, expires_at=str(time.time())
    )
    expired = create(api, session, post_record())
    assert error_of(expired) == (400, "ExpiredToken", "Token has expired")
    fresh = requests.post(
        api + "com.atproto.server.refreshSession", headers=bearer(session["refreshJwt"]), timeout=5
    ).json()
    assert create(api, fresh, post_record()).status_code == 200
    sim.bluesky_access_jwt_seconds = 0
    instant = login(api)
    assert jwt_payload(instant["accessJwt"])["exp"] <= time.time()
    assert error_of(create(api, instant, post_record("x")))[1] == "ExpiredToken"


def test_changing_the_app_password_revokes_sessions(sim: Simulator, api: str) -> None:
    session = login(api)
    sim.add_account("bluesky", username=ALICE, handle=ALICE, app_password="new0-new0-new0-new0")
    response = requests.get(
        api + "com.atproto.server.getSession", headers=bearer(session["accessJwt"]), timeout=5
    )
    assert error_of(response) == (400, "ExpiredToken", "Token has been revoked")


def test_missing_and_forged_tokens(api: str) -> None:
    session = login(api)
    missing = requests.get(api + "com.atproto.server.getSession", timeout=5)
    assert error_of(missing) == (401, "AuthenticationRequired", "Authentication Required")
    header, payload, signature = session["accessJwt"].split(".")
    forged_payload = jwt_payload(session["accessJwt"]) | {"exp": 4_102_444_800}
    forged = ".".join(
        [
            header,
            base64.urlsafe_b64encode(json.dumps(forged_payload).encode()).decode().rstrip("="),
            signature,
        ]
    )
    for token in ("garbage", forged):
        response = requests.get(api + "com.atproto.server.getSession", headers=bearer(token), timeout=5)
        assert error_of(response)[:2] == (400, "InvalidToken")


# -- posting -----------------------------------------------------------------------------------


def test_post_with_two_images_alt_text_and_facets(sim: Simulator, api: str) -> None:
    session = login(api)
    photo_a, photo_b = jpeg(gps=True), jpeg((40, 40), "orange")
    blob_a, blob_b = upload(api, session, photo_a), upload(api, session, photo_b)
    assert blob_a["$type"] == "blob" and blob_a["mimeType"] == "image/jpeg" and blob_a["size"] == len(photo_a)
    assert blob_a["ref"]["$link"].startswith("bafkrei")
    text = "Café news https://example.com #herald"
    data = text.encode()
    link_start = data.index(b"https")
    tag_start = data.index(b"#herald")
    facets = [
        {
            "index": {"byteStart": link_start, "byteEnd": link_start + len("https://example.com")},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/full"}],
        },
        {
            "index": {"byteStart": tag_start, "byteEnd": len(data)},
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "herald"}],
        },
    ]
    rkey = tid()
    record = post_record(
        text,
        langs=["en"],
        facets=facets,
        embed={
            "$type": "app.bsky.embed.images",
            "images": [
                {"alt": "A teal card", "image": blob_a, "aspectRatio": {"width": 60, "height": 40}},
                {"alt": "", "image": blob_b},
            ],
        },
    )
    response = create(api, session, record, rkey=rkey)
    assert response.status_code == 200, response.text
    created = response.json()
    uri = f"at://{session['did']}/{POST}/{rkey}"
    assert created["uri"] == uri and created["cid"].startswith("bafyrei")
    assert created["validationStatus"] == "valid" and is_tid(created["commit"]["rev"])
    (entry,) = sim.ledger("bluesky")
    assert entry.remote_id == uri and entry.text == text and entry.idempotency_key == rkey
    assert entry.url == f"{sim.base_url}/bluesky/profile/{ALICE}/post/{rkey}"
    assert [(m.alt_text, m.width, m.has_gps) for m in entry.media] == [
        ("A teal card", 60, True),
        ("", 40, False),
    ]
    assert entry.extra["facets"] == facets and entry.extra["langs"] == ["en"]
    assert sim.media_bytes("bluesky", entry.media[0].media_id) == photo_a
    fetched = requests.get(
        api + "com.atproto.repo.getRecord",
        params={"repo": session["did"], "collection": POST, "rkey": rkey},
        timeout=5,
    )
    assert fetched.status_code == 200
    assert fetched.json() == {"uri": uri, "cid": created["cid"], "value": record}
    page = requests.get(entry.url, timeout=5)
    assert page.status_code == 200 and "A teal card" in page.text


def test_server_chosen_rkey_is_a_tid(api: str) -> None:
    session = login(api)
    response = create(api, session, {"text": "no $type, no rkey", "createdAt": NOW})
    assert response.status_code == 200
    assert is_tid(response.json()["uri"].rsplit("/", 1)[1])


def test_duplicate_rkey_answers_500_like_the_reference_pds(sim: Simulator, api: str) -> None:
    session = login(api)
    rkey = tid()
    assert create(api, session, post_record("once"), rkey=rkey).status_code == 200
    again = create(api, session, post_record("twice"), rkey=rkey)
    assert error_of(again) == (500, "InternalServerError", "Internal Server Error")
    assert [e.text for e in sim.ledger("bluesky")] == ["once"]


def test_get_record_miss_is_400_record_not_found(api: str) -> None:
    session = login(api)
    rkey = tid()
    response = requests.get(
        api + "com.atproto.repo.getRecord",
        params={"repo": ALICE, "collection": POST, "rkey": rkey},
        timeout=5,
    )
    assert error_of(response) == (
        400,
        "RecordNotFound",
        f"Could not locate record: at://{session['did']}/{POST}/{rkey}",
    )


def _with_image(alt: Any = "x", count: int = 1) -> dict[str, Any]:
    image = {
        "image": {
            "$type": "blob",
            "ref": {"$link": "bafkreiplaceholder"},
            "mimeType": "image/jpeg",
            "size": 1,
        }
    }
    if alt is not None:
        image["alt"] = alt
    return {"$type": "app.bsky.embed.images", "images": [image] * count}


def _facet(start: int, end: int, feature: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"index": {"byteStart": start, "byteEnd": end}, "features": [feature]}]


LINK = {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com"}
TAG = {"$type": "app.bsky.richtext.facet#tag", "tag": "herald"}


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (post_record("a" * 301), "Record/text must not be longer than 300 graphemes"),
        (post_record("👨‍👩‍👧‍👦" * 121), "Record/text must not be longer than 3000 characters"),
        ({"$type": POST, "text": "x"}, 'Record must have the property "createdAt"'),
        (post_record(createdAt="2026-11-25T12:00:00"), "Record/createdAt must be an valid atproto datetime"),
        (post_record(createdAt="yesterday"), "Record/createdAt must be an valid atproto datetime"),
        ({"$type": POST, "createdAt": NOW}, 'Record must have the property "text"'),
        (post_record(langs=["en", "fr", "de", "ja"]), "Record/langs must not have more than 3 elements"),
        (post_record(embed=_with_image(count=5)), "Record/embed/images must not have more than 4 elements"),
        (post_record(embed=_with_image(alt=None)), 'Record/embed/images/0 must have the property "alt"'),
        (
            post_record("hello", facets=_facet(0, 9, LINK)),
            "Record/facets/0/index must be a non-empty byte range",
        ),
        (
            post_record("hello", facets=_facet(2, 2, LINK)),
            "Record/facets/0/index must be a non-empty byte range",
        ),
        (
            post_record("hello", facets=_facet(-1, 2, LINK)),
            "Record/facets/0/index/byteStart can not be less than 0",
        ),
        (
            post_record("café", facets=_facet(0, 4, LINK)),
            "Record/facets/0/index must not split a UTF-8 character",
        ),
        (post_record("hi #herald", facets=_facet(4, 10, TAG)), "which is not the hashtag #herald"),
        (
            post_record(
                "hi @bob",
                facets=_facet(0, 2, {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:x"}),
            ),
            "which is not an @mention",
        ),
        (
            post_record("hi", facets=_facet(0, 2, {"$type": "app.bsky.richtext.facet#link", "uri": "no"})),
            "uri",
        ),
    ],
)
def test_post_record_validation(sim: Simulator, api: str, record: dict[str, Any], message: str) -> None:
    response = create(api, login(api), record)
    status, error, text = error_of(response)
    assert (status, error) == (400, "InvalidRequest")
    assert text.startswith(f"Invalid {POST} record: ") and message in text
    assert sim.ledger("bluesky") == []


def test_limits_are_inclusive(api: str) -> None:
    session = login(api)
    assert create(api, session, post_record("a" * 300)).status_code == 200
    assert create(api, session, post_record("é" * 300)).status_code == 200  # 600 bytes
    assert create(api, session, post_record("👨‍👩‍👧‍👦" * 120)).status_code == 200  # 3000 bytes
    tag = b"#herald"
    assert create(api, session, post_record("#herald", facets=_facet(0, len(tag), TAG))).status_code == 200


@pytest.mark.parametrize(
    ("rkey", "collection", "record_type"),
    [("not-a-tid", POST, POST), ("3lbq7ixnrw22k", POST, "app.bsky.feed.like"), ("x" * 13, POST, POST)],
)
def test_rkey_and_type_rejections(api: str, rkey: str, collection: str, record_type: str) -> None:
    session = login(api)
    response = create(api, session, post_record(**{"$type": record_type}), rkey=rkey, collection=collection)
    assert error_of(response)[:2] == (400, "InvalidRequest")


def test_blob_limits_are_enforced_at_create_record(sim: Simulator, api: str) -> None:
    session = login(api)
    big = noisy_jpeg(1100)
    assert 1_000_000 < len(big) < 2_000_000
    big_blob = upload(api, session, big)  # accepted at upload
    too_large = create(api, session, post_record(embed=_image_embed(big_blob)))
    assert error_of(too_large)[:2] == (400, "BlobTooLarge")
    assert "maximum size is 1.00MB" in error_of(too_large)[2]
    sim.bluesky_blob_max_bytes = 2_000_000  # the lexicon since April 2026
    assert create(api, session, post_record(embed=_image_embed(big_blob))).status_code == 200

    text_blob = upload(api, session, b"just some text", "text/plain")
    assert text_blob["mimeType"] == "text/plain"
    wrong_type = create(api, session, post_record(embed=_image_embed(text_blob)))
    assert error_of(wrong_type)[:2] == (400, "InvalidMimeType")
    photo_blob = upload(api, session, jpeg())
    lying = create(api, session, post_record(embed=_image_embed({**photo_blob, "mimeType": "image/png"})))
    assert error_of(lying)[:2] == (400, "InvalidMimeType")
    unknown = {**photo_blob, "ref": {"$link": "bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}
    assert error_of(create(api, session, post_record(embed=_image_embed(unknown))))[:2] == (
        400,
        "BlobNotFound",
    )
    bob = login(api, BOB, "bbbb-bbbb-bbbb-bbbb")
    assert error_of(create(api, bob, post_record(embed=_image_embed(photo_blob))))[1] == "BlobNotFound"
    no_type = requests.post(
        api + "com.atproto.repo.uploadBlob", data=jpeg(), headers=bearer(session["accessJwt"]), timeout=5
    )
    assert error_of(no_type)[:2] == (400, "InvalidRequest")


def _image_embed(blob: dict[str, Any]) -> dict[str, Any]:
    return {"$type": "app.bsky.embed.images", "images": [{"alt": "", "image": blob}]}


def test_list_delete_and_reuse_of_an_rkey(sim: Simulator, api: str) -> None:
    session = login(api)
    rkeys = [tid() for _ in range(3)]
    for number, rkey in enumerate(rkeys):
        assert create(api, session, post_record(f"post {number}"), rkey=rkey).status_code == 200
    listing = requests.get(
        api + "com.atproto.repo.listRecords",
        params={"repo": ALICE, "collection": POST, "limit": 2},
        timeout=5,
    ).json()
    assert [r["value"]["text"] for r in listing["records"]] == ["post 2", "post 1"]
    rest = requests.get(
        api + "com.atproto.repo.listRecords",
        params={"repo": ALICE, "collection": POST, "cursor": listing["cursor"]},
        timeout=5,
    ).json()
    assert [r["value"]["text"] for r in rest["records"]] == ["post 0"] and "cursor" not in rest
    deleted = requests.post(
        api + "com.atproto.repo.deleteRecord",
        json={"repo": session["did"], "collection": POST, "rkey": rkeys[1]},
        headers=bearer(session["accessJwt"]),
        timeout=5,
    )
    assert deleted.status_code == 200 and "commit" in deleted.json()
    assert sim.deleted("bluesky") == {f"at://{session['did']}/{POST}/{rkeys[1]}"}
    gone = requests.get(
        api + "com.atproto.repo.getRecord",
        params={"repo": ALICE, "collection": POST, "rkey": rkeys[1]},
        timeout=5,
    )
    assert error_of(gone)[1] == "RecordNotFound"
    assert (
        requests.get(f"{sim.base_url}/bluesky/profile/{ALICE}/post/{rkeys[1]}", timeout=5).status_code == 404
    )
    assert create(api, session, post_record("again"), rkey=rkeys[1]).status_code == 200


def test_writing_to_another_repo_is_refused(sim: Simulator, api: str) -> None:
    session = login(api)
    body = {"repo": did_for(BOB), "collection": POST, "record": post_record()}
    response = requests.post(
        api + "com.atproto.repo.createRecord", json=body, headers=bearer(session["accessJwt"]), timeout=5
    )
    assert error_of(response)[:2] == (401, "AuthenticationRequired")
    assert sim.ledger() == []


def test_profile_resolve_and_unknown_methods(api: str) -> None:
    profile = requests.get(api + "app.bsky.actor.getProfile", params={"actor": ALICE}, timeout=5).json()
    assert profile["did"] == did_for(ALICE) and profile["handle"] == ALICE
    resolved = requests.get(api + "com.atproto.identity.resolveHandle", params={"handle": BOB}, timeout=5)
    assert resolved.json() == {"did": did_for(BOB)}
    wrong_method = requests.get(api + "com.atproto.repo.createRecord", timeout=5)
    assert error_of(wrong_method) == (400, "InvalidRequest", "Incorrect HTTP method (GET) expected POST")
    assert error_of(requests.get(api + "com.example.nothing", timeout=5))[:2] == (501, "MethodNotImplemented")
    not_json = requests.post(
        api + "com.atproto.server.createSession",
        data="identifier=x",
        headers={"Content-Type": "text/plain"},
        timeout=5,
    )
    assert error_of(not_json)[:2] == (400, "InvalidRequest")


# -- rate limits and faults --------------------------------------------------------------------


def test_rate_limit_headers_on_every_answer(api: str) -> None:
    session = login(api)
    for response in (
        requests.get(api + "com.atproto.server.getSession", headers=bearer(session["accessJwt"]), timeout=5),
        requests.get(api + "com.atproto.server.getSession", timeout=5),
    ):
        assert response.headers["ratelimit-limit"] == "3000"
        assert response.headers["ratelimit-policy"] == "3000;w=300"
        assert int(response.headers["ratelimit-remaining"]) > 0
        assert int(response.headers["ratelimit-reset"]) > time.time()


def test_rate_limit_fault(sim: Simulator, api: str) -> None:
    session = login(api)
    sim.inject(Fault("rate_limit", platform="bluesky", path="createRecord", reset_in=40))
    limited = create(api, session, post_record())
    assert error_of(limited) == (429, "RateLimitExceeded", "Rate Limit Exceeded")
    assert limited.headers["ratelimit-remaining"] == "0"
    assert 35 < int(limited.headers["ratelimit-reset"]) - time.time() <= 41
    assert sim.ledger() == []


def test_error_fault_uses_xrpc_shape(sim: Simulator, api: str) -> None:
    session = login(api)
    sim.inject(Fault("error", platform="bluesky", path="createRecord", status=502))
    assert error_of(create(api, session, post_record())) == (502, "UpstreamFailure", "Bad Gateway")
    assert sim.ledger() == []


def test_commit_then_drop_then_reconcile_with_get_record(sim: Simulator, api: str) -> None:
    session = login(api)
    rkey = tid()
    sim.inject(Fault("commit_then_drop", platform="bluesky", path="createRecord"))
    with pytest.raises(requests.ConnectionError):
        create(api, session, post_record("sent, no answer"), rkey=rkey)
    found = requests.get(
        api + "com.atproto.repo.getRecord",
        params={"repo": session["did"], "collection": POST, "rkey": rkey},
        timeout=5,
    )
    assert found.status_code == 200 and found.json()["value"]["text"] == "sent, no answer"
    assert create(api, session, post_record("sent, no answer"), rkey=rkey).status_code == 500
    assert len(sim.ledger("bluesky")) == 1


def test_control_api_and_feed_page_show_bluesky_posts(sim: Simulator, api: str) -> None:
    session = login(api)
    blob = upload(api, session, jpeg())
    facets = _facet(0, 7, TAG)
    record = post_record("#herald <feed>", facets=facets, embed=_image_embed({**blob}) | {})
    record["embed"]["images"][0]["alt"] = "feed alt"
    assert create(api, session, record, rkey=tid()).status_code == 200
    client = SimulatorClient(sim.base_url)
    assert client.ledger("bluesky") == sim.ledger("bluesky")
    assert client.ledger("bluesky")[0].extra["facets"] == facets
    page = requests.get(sim.base_url + "/_sim/", timeout=5).text
    assert "#herald &lt;feed&gt;" in page and "feed alt" in page and "<b>bluesky</b>" in page
    client.add_account(
        "bluesky", username=ALICE, handle=ALICE, app_password=PASSWORD, expires_at=str(time.time())
    )
    expired = requests.get(
        api + "com.atproto.server.getSession", headers=bearer(session["accessJwt"]), timeout=5
    )
    assert error_of(expired)[1] == "ExpiredToken"
