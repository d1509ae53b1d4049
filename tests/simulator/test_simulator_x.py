"""The X simulator against platforms.md §1, signed with ``requests_oauthlib.OAuth1``."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image
from requests_oauthlib import OAuth1

from herald.simulator import Fault, Simulator
from herald.simulator.x import weighted_length

ALICE = {
    "api_key": "alice-key",
    "api_secret": "alice-secret",
    "access_token": "alice-token",
    "access_token_secret": "alice-token-secret",
}
BOB = {
    "api_key": "bob-key",
    "api_secret": "bob-secret",
    "access_token": "bob-token",
    "access_token_secret": "bob-token-secret",
}
UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
DUPLICATE = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}


def oauth(creds: dict[str, str] = ALICE, **kwargs: Any) -> OAuth1:
    return OAuth1(
        creds["api_key"], creds["api_secret"], creds["access_token"], creds["access_token_secret"], **kwargs
    )


def jpeg(size: tuple[int, int] = (64, 48), color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (8, 8)).save(out, "GIF")
    return out.getvalue()


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        simulator.add_account("x", username="alice", bearer_token="alice-oauth2", **ALICE)
        simulator.add_account("x", username="bob", **BOB)
        yield simulator


@pytest.fixture(autouse=True)
def clean(sim: Simulator) -> None:
    sim.reset()
    sim.x_async_media = 0


@pytest.fixture
def api(sim: Simulator) -> str:
    return sim.url_for("x")


def tweet(api: str, body: dict[str, Any], creds: dict[str, str] = ALICE) -> requests.Response:
    return requests.post(f"{api}/2/tweets", json=body, auth=oauth(creds), timeout=5)


def upload(
    api: str, data: bytes, category: str | None = "tweet_image", creds: dict[str, str] = ALICE
) -> requests.Response:
    fields = {} if category is None else {"media_category": category}
    return requests.post(
        f"{api}/2/media/upload",
        files={"media": ("photo", data, "application/octet-stream")},
        data=fields,
        auth=oauth(creds),
        timeout=5,
    )


def assert_invalid_request(response: requests.Response) -> None:
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "Invalid Request"
    assert body["detail"] == "One or more parameters to your request was invalid."
    assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"
    assert body["errors"] and body["errors"][0]["message"]


# -- OAuth 1.0a --------------------------------------------------------------------------------


def test_signed_request_is_accepted(api: str) -> None:
    response = requests.get(f"{api}/2/users/me", auth=oauth(), timeout=5)
    assert response.status_code == 200
    assert response.json()["data"]["username"] == "alice"


def test_wrong_secret_is_401(api: str) -> None:
    response = requests.get(f"{api}/2/users/me", auth=oauth({**ALICE, "api_secret": "wrong"}), timeout=5)
    assert response.status_code == 401 and response.json() == UNAUTHORIZED
    response = requests.get(f"{api}/2/users/me", auth=oauth({**ALICE, "access_token_secret": "x"}), timeout=5)
    assert response.status_code == 401


def test_tampered_url_is_401(api: str) -> None:
    session = requests.Session()
    prepared = session.prepare_request(
        requests.Request("GET", f"{api}/2/users/me/tweets", params={"max_results": "5"}, auth=oauth())
    )
    prepared.url = f"{api}/2/users/me/tweets?max_results=6"
    assert session.send(prepared, timeout=5).status_code == 401
    prepared = session.prepare_request(requests.Request("GET", f"{api}/2/users/me", auth=oauth()))
    prepared.url = prepared.url.replace("/2/users/me", "/2/tweets/1")
    assert session.send(prepared, timeout=5).status_code == 401


def test_query_parameters_are_signed(sim: Simulator, api: str) -> None:
    me = requests.get(f"{api}/2/users/me", auth=oauth(), timeout=5).json()["data"]["id"]
    response = requests.get(
        f"{api}/2/users/{me}/tweets",
        params={"max_results": "5", "tweet.fields": "created_at,author_id"},
        auth=oauth(),
        timeout=5,
    )
    assert response.status_code == 200


def test_form_body_is_signed(api: str) -> None:
    session = requests.Session()
    signed = session.prepare_request(
        requests.Request("POST", f"{api}/2/tweets", data={"text": "form body"}, auth=oauth())
    )
    tampered = signed.copy()
    tampered.body = "text=tampered+body"
    tampered.headers["Content-Length"] = str(len(tampered.body))
    assert session.send(tampered, timeout=5).status_code == 401
    # Untouched, the signature holds and the request fails later, on its non-JSON body.
    assert session.send(signed, timeout=5).status_code == 400


def test_replayed_nonce_is_401(api: str) -> None:
    session = requests.Session()
    prepared = session.prepare_request(requests.Request("GET", f"{api}/2/users/me", auth=oauth()))
    assert session.send(prepared, timeout=5).status_code == 200
    replay = session.send(prepared, timeout=5)
    assert replay.status_code == 401 and replay.json() == UNAUTHORIZED


def test_stale_timestamp_is_401(api: str) -> None:
    stale = oauth(timestamp=str(int(time.time()) - 301))
    assert requests.get(f"{api}/2/users/me", auth=stale, timeout=5).status_code == 401
    skewed = oauth(timestamp=str(int(time.time()) + 200))
    assert requests.get(f"{api}/2/users/me", auth=skewed, timeout=5).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer unknown",
        'OAuth oauth_consumer_key="alice-key", oauth_token="alice-token"',
        'OAuth oauth_consumer_key="nobody", oauth_token="x", oauth_signature_method="HMAC-SHA1", '
        'oauth_timestamp="1", oauth_nonce="n", oauth_signature="s"',
    ],
)
def test_missing_or_malformed_auth_is_401(api: str, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = requests.post(f"{api}/2/tweets", json={"text": "x"}, headers=headers, timeout=5)
    assert response.status_code == 401 and response.json() == UNAUTHORIZED


def test_signature_for_the_real_host_is_accepted(api: str) -> None:
    """A client whose traffic is rewritten after signing (tweepy's fixed host) still verifies."""
    signed = requests.Request("GET", "https://api.twitter.com/2/users/me", auth=oauth()).prepare()
    response = requests.get(
        f"{api}/2/users/me", headers={"Authorization": signed.headers["Authorization"]}, timeout=5
    )
    assert response.status_code == 200


def test_oauth2_bearer_user_token(api: str) -> None:
    response = requests.get(f"{api}/2/users/me", headers={"Authorization": "Bearer alice-oauth2"}, timeout=5)
    assert response.status_code == 200 and response.json()["data"]["username"] == "alice"


def test_rate_limit_headers_on_every_response(api: str) -> None:
    for response in (
        requests.get(f"{api}/2/users/me", auth=oauth(), timeout=5),
        requests.get(f"{api}/2/users/me", timeout=5),
        tweet(api, {"text": "headers"}),
    ):
        assert response.headers["x-rate-limit-limit"] == "300"
        assert int(response.headers["x-rate-limit-remaining"]) > 0
        assert abs(int(response.headers["x-rate-limit-reset"]) - time.time()) <= 901


# -- tweets ------------------------------------------------------------------------------------


def test_text_tweet(sim: Simulator, api: str) -> None:
    response = tweet(api, {"text": "Hello"})
    assert response.status_code == 201
    data = response.json()["data"]
    assert len(data["id"]) == 19 and data["id"].isdigit()
    assert data == {"id": data["id"], "text": "Hello", "edit_history_tweet_ids": [data["id"]]}
    (entry,) = sim.ledger("x")
    assert (entry.account, entry.remote_id, entry.text, entry.idempotency_key) == (
        "alice",
        data["id"],
        "Hello",
        None,
    )
    assert entry.url == f"{sim.base_url}/x/alice/status/{data['id']}"
    assert requests.get(entry.url, timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 280, 280),
        ("日本語", 6),
        ("한국어", 6),
        ("café", 4),
        ("cafe\u0301", 4),  # NFC folds the combining accent
        ("“quotes” — dash…", 17),  # U+2026 lies outside the weight-1 ranges
        ("👨‍👩‍👧‍👦", 2),
        ("👍🏽👍", 4),
        ("🇯🇵", 2),
        ("1️⃣", 2),
        ("read https://example.com/" + "x" * 100 + ".", 5 + 23 + 1),
        ("http://a.co and https://b.co", 23 + 5 + 23),
        ("see example.com now", 4 + 23 + 4),  # a bare domain is a link on X
        ("not a link: example.notatld", 27),
    ],
)
def test_weighted_length(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


def test_text_over_280_is_invalid_request(sim: Simulator, api: str) -> None:
    assert tweet(api, {"text": "a" * 280}).status_code == 201
    assert tweet(api, {"text": "字" * 140}).status_code == 201
    assert tweet(api, {"text": "👨‍👩‍👧" * 140}).status_code == 201
    for text in ("b" * 281, "字" * 141, "c" * 258 + " https://example.com/long"):
        response = tweet(api, {"text": text})
        assert_invalid_request(response)
        assert response.json()["errors"][0]["parameters"] == {"text": [text]}
    assert len(sim.ledger()) == 3


def test_duplicate_text_is_403(sim: Simulator, api: str) -> None:
    first = tweet(api, {"text": "same words"})
    assert first.status_code == 201
    duplicate = tweet(api, {"text": "same words"})
    assert duplicate.status_code == 403 and duplicate.json() == DUPLICATE
    assert tweet(api, {"text": "same words"}, creds=BOB).status_code == 201
    deleted = requests.delete(f"{api}/2/tweets/{first.json()['data']['id']}", auth=oauth(), timeout=5)
    assert deleted.status_code == 200 and deleted.json() == {"data": {"deleted": True}}
    assert tweet(api, {"text": "same words"}).status_code == 201
    assert sim.deleted("x") == {first.json()["data"]["id"]}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": 42},
        {"text": "x", "unknown_field": 1},
        {"text": "x", "media": {"media_ids": []}},
        {"text": "x", "media": {"media_ids": [123]}},
        {"text": "x", "media": {"media_ids": ["1", "2", "3", "4", "5"]}},
        {"text": "x", "media": {"media_ids": ["1234"]}},
        {"text": "x", "media": "1234"},
    ],
)
def test_tweet_rejections(sim: Simulator, api: str, body: dict[str, Any]) -> None:
    assert_invalid_request(tweet(api, body))
    assert sim.ledger() == []


def test_non_json_body_is_invalid(api: str) -> None:
    response = requests.post(f"{api}/2/tweets", data=b"not json", auth=oauth(), timeout=5)
    assert_invalid_request(response)


def test_tweet_with_photos_and_alt_text(sim: Simulator, api: str) -> None:
    photos = [jpeg(color=c) for c in ("red", "green")]
    ids = []
    for index, photo in enumerate(photos):
        response = upload(api, photo)
        assert response.status_code == 200
        data = response.json()["data"]
        assert data["media_key"] == f"3_{data['id']}" and data["size"] == len(photo)
        assert data["expires_after_secs"] > 86_000 and "processing_info" not in data
        path = "/2/media/metadata" if index == 0 else "/2/media/metadata/create"
        alt = requests.post(
            api + path,
            json={"id": data["id"], "metadata": {"alt_text": {"text": f"alt {index}"}}},
            auth=oauth(),
            timeout=5,
        )
        assert alt.status_code == 200
        ids.append(data["id"])
    response = tweet(api, {"text": "photos", "media": {"media_ids": ids}})
    assert response.status_code == 201
    (entry,) = sim.ledger("x")
    assert [(m.media_id, m.alt_text, m.mime_type) for m in entry.media] == [
        (ids[0], "alt 0", "image/jpeg"),
        (ids[1], "alt 1", "image/jpeg"),
    ]
    assert sim.media_bytes("x", ids[1]) == photos[1]
    # Media-only posts escape the duplicate check (empty text).
    assert tweet(api, {"media": {"media_ids": ids[:1]}}).status_code == 201
    assert tweet(api, {"text": "", "media": {"media_ids": ids[:1]}}).status_code == 201


def test_media_of_another_account_is_invalid(api: str) -> None:
    media_id = upload(api, jpeg(), creds=BOB).json()["data"]["id"]
    assert_invalid_request(tweet(api, {"text": "x", "media": {"media_ids": [media_id]}}))
    alt = requests.post(
        f"{api}/2/media/metadata",
        json={"id": media_id, "metadata": {"alt_text": {"text": "a"}}},
        auth=oauth(),
        timeout=5,
    )
    assert alt.status_code == 400


def test_upload_rejections(api: str) -> None:
    assert_invalid_request(upload(api, jpeg(), category=None))
    assert_invalid_request(upload(api, jpeg(), category="tweet_video"))
    assert_invalid_request(upload(api, b"plain text, no image"))
    assert_invalid_request(upload(api, jpeg((200, 200))[:300]))
    assert_invalid_request(upload(api, gif()))  # GIFs need tweet_gif
    assert upload(api, gif(), category="tweet_gif").status_code == 200
    assert_invalid_request(upload(api, jpeg() + b"\0" * (5 * 1024 * 1024)))
    no_file = requests.post(
        f"{api}/2/media/upload", files={"media_category": (None, "tweet_image")}, auth=oauth(), timeout=5
    )
    assert_invalid_request(no_file)


def test_alt_text_limit(api: str) -> None:
    media_id = upload(api, jpeg()).json()["data"]["id"]
    for text, status in (("a" * 1000, 200), ("a" * 1001, 400)):
        response = requests.post(
            f"{api}/2/media/metadata",
            json={"id": media_id, "metadata": {"alt_text": {"text": text}}},
            auth=oauth(),
            timeout=5,
        )
        assert response.status_code == status


def chunked_upload(
    api: str, data: bytes, chunk: int, *, total: int | None = None, skip: int | None = None
) -> requests.Response:
    init = requests.post(
        f"{api}/2/media/upload/initialize",
        json={"media_type": "image/jpeg", "total_bytes": total or len(data), "media_category": "tweet_image"},
        auth=oauth(),
        timeout=5,
    )
    assert init.status_code == 200, init.text
    media_id = init.json()["data"]["id"]
    segments = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    for index in reversed(range(len(segments))):  # order of arrival does not matter
        if index == skip:
            continue
        appended = requests.post(
            f"{api}/2/media/upload/{media_id}/append",
            data={"segment_index": str(index)},
            files={"media": ("blob", segments[index], "application/octet-stream")},
            auth=oauth(),
            timeout=5,
        )
        assert appended.status_code == 200, appended.text
    return requests.post(f"{api}/2/media/upload/{media_id}/finalize", auth=oauth(), timeout=5)


def test_chunked_upload(sim: Simulator, api: str) -> None:
    photo = jpeg((300, 200))
    finalized = chunked_upload(api, photo, chunk=256)
    assert finalized.status_code == 200
    media_id = finalized.json()["data"]["id"]
    assert finalized.json()["data"]["size"] == len(photo)
    status = requests.get(
        f"{api}/2/media/upload", params={"command": "STATUS", "media_id": media_id}, auth=oauth(), timeout=5
    )
    assert status.json()["data"]["processing_info"]["state"] == "succeeded"
    assert tweet(api, {"text": "chunked", "media": {"media_ids": [media_id]}}).status_code == 201
    assert sim.media_bytes("x", media_id) == photo
    assert sim.ledger()[0].media[0].width == 300


def test_chunked_upload_rejections(api: str) -> None:
    photo = jpeg((300, 200))
    assert_invalid_request(chunked_upload(api, photo, chunk=256, skip=1))
    assert_invalid_request(chunked_upload(api, photo, chunk=256, total=len(photo) + 1))
    too_big = requests.post(
        f"{api}/2/media/upload/initialize",
        json={
            "media_type": "image/jpeg",
            "total_bytes": 5 * 1024 * 1024 + 1,
            "media_category": "tweet_image",
        },
        auth=oauth(),
        timeout=5,
    )
    assert_invalid_request(too_big)
    unknown = requests.post(f"{api}/2/media/upload/123/finalize", auth=oauth(), timeout=5)
    assert_invalid_request(unknown)


def test_async_processing_and_status_polls(sim: Simulator, api: str) -> None:
    sim.x_async_media = 2
    finalized = chunked_upload(api, jpeg(), chunk=1024)
    data = finalized.json()["data"]
    assert data["processing_info"]["state"] == "pending"
    assert_invalid_request(tweet(api, {"text": "too soon", "media": {"media_ids": [data["id"]]}}))
    states = [
        requests.get(
            f"{api}/2/media/upload",
            params={"command": "STATUS", "media_id": data["id"]},
            auth=oauth(),
            timeout=5,
        ).json()["data"]["processing_info"]["state"]
        for _ in range(3)
    ]
    assert states == ["in_progress", "in_progress", "succeeded"]
    assert tweet(api, {"text": "ready", "media": {"media_ids": [data["id"]]}}).status_code == 201


def test_timeline_for_reconciliation(sim: Simulator, api: str) -> None:
    ids = [tweet(api, {"text": f"post {i}"}).json()["data"]["id"] for i in range(7)]
    tweet(api, {"text": "bob"}, creds=BOB)
    me = requests.get(f"{api}/2/users/me", auth=oauth(), timeout=5).json()["data"]
    assert me["username"] == "alice" and me["name"]
    url = f"{api}/2/users/{me['id']}/tweets"
    page = requests.get(url, params={"max_results": "5"}, auth=oauth(), timeout=5).json()
    assert [t["id"] for t in page["data"]] == ids[::-1][:5]
    assert "created_at" not in page["data"][0]
    assert page["meta"]["result_count"] == 5 and page["meta"]["newest_id"] == ids[6]
    rest = requests.get(
        url,
        params={
            "max_results": "5",
            "pagination_token": page["meta"]["next_token"],
            "tweet.fields": "created_at",
        },
        auth=oauth(),
        timeout=5,
    ).json()
    assert [t["id"] for t in rest["data"]] == [ids[1], ids[0]]
    assert rest["data"][0]["created_at"].endswith("Z") and "next_token" not in rest["meta"]
    for bad in ("4", "101", "many"):
        assert_invalid_request(requests.get(url, params={"max_results": bad}, auth=oauth(), timeout=5))


def test_delete_rules(sim: Simulator, api: str) -> None:
    tweet_id = tweet(api, {"text": "mine"}).json()["data"]["id"]
    assert requests.delete(f"{api}/2/tweets/{tweet_id}", auth=oauth(BOB), timeout=5).status_code == 403
    assert requests.delete(f"{api}/2/tweets/{tweet_id}", auth=oauth(), timeout=5).status_code == 200
    assert requests.delete(f"{api}/2/tweets/{tweet_id}", auth=oauth(), timeout=5).status_code == 404
    looked_up = requests.get(f"{api}/2/tweets/{tweet_id}", auth=oauth(), timeout=5).json()
    assert "data" not in looked_up and looked_up["errors"][0]["resource_type"] == "tweet"


# -- faults ------------------------------------------------------------------------------------


def test_rate_limit_fault(sim: Simulator, api: str) -> None:
    sim.inject(Fault("rate_limit", platform="x", path="/2/tweets", method="POST", reset_in=60))
    limited = tweet(api, {"text": "limited"})
    assert limited.status_code == 429
    assert limited.json()["status"] == 429
    assert limited.headers["x-rate-limit-remaining"] == "0"
    assert 55 <= int(limited.headers["x-rate-limit-reset"]) - time.time() <= 62
    assert sim.ledger() == []
    assert tweet(api, {"text": "limited"}).status_code == 201


def test_error_fault_uses_problem_shape(sim: Simulator, api: str) -> None:
    sim.inject(Fault("error", platform="x", status=500))
    response = tweet(api, {"text": "x"})
    assert response.status_code == 500
    assert response.json() == {
        "title": "Internal Server Error",
        "detail": "Internal Server Error",
        "type": "about:blank",
        "status": 500,
    }
    assert sim.ledger() == []


def test_commit_then_drop_is_found_by_reconciliation(sim: Simulator, api: str) -> None:
    sim.inject(Fault("commit_then_drop", platform="x", path="/2/tweets", method="POST"))
    with pytest.raises(requests.ConnectionError):
        tweet(api, {"text": "did it land?"})
    (entry,) = sim.ledger("x")
    assert tweet(api, {"text": "did it land?"}).status_code == 403  # the duplicate hints it landed
    me = requests.get(f"{api}/2/users/me", auth=oauth(), timeout=5).json()["data"]["id"]
    found = requests.get(
        f"{api}/2/users/{me}/tweets", params={"max_results": 5}, auth=oauth(), timeout=5
    ).json()
    assert found["data"][0]["id"] == entry.remote_id


def test_drop_and_slow(sim: Simulator, api: str) -> None:
    sim.inject(Fault("drop", platform="x", path="/2/tweets"))
    with pytest.raises(requests.ConnectionError):
        tweet(api, {"text": "dropped"})
    assert sim.ledger() == []
    sim.inject(Fault("slow", platform="x", delay=0.3))
    started = time.monotonic()
    assert tweet(api, {"text": "slow"}).status_code == 201
    assert time.monotonic() - started >= 0.3
    with pytest.raises(requests.ReadTimeout):
        sim.inject(Fault("slow", platform="x", delay=0.5))
        tweet_with_timeout = requests.post(
            f"{api}/2/tweets", json={"text": "t"}, auth=oauth(), timeout=(5, 0.1)
        )
        del tweet_with_timeout
