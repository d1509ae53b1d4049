"""The Mastodon simulator against platforms.md §2, driven with plain ``requests``."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image

from herald.simulator import Fault, Simulator
from herald.simulator.mastodon import status_length

ALICE_TOKEN = "alice-token"
BOB_TOKEN = "bob-token"
ISO_MICROS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def jpeg(size: tuple[int, int] = (64, 48), color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def png(size: tuple[int, int] = (32, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 128, 255, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        simulator.add_account("mastodon", username="alice", access_token=ALICE_TOKEN)
        simulator.add_account("mastodon", username="bob", access_token=BOB_TOKEN)
        yield simulator


@pytest.fixture(autouse=True)
def clean(sim: Simulator) -> None:
    sim.reset()
    sim.mastodon_async_media = 0


@pytest.fixture
def api(sim: Simulator) -> str:
    return sim.url_for("mastodon")


def auth(token: str = ALICE_TOKEN, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def upload(
    api: str, data: bytes | None = None, *, token: str = ALICE_TOKEN, **fields: str
) -> requests.Response:
    return requests.post(
        f"{api}/api/v2/media",
        headers=auth(token),
        files={"file": ("photo.jpg", data if data is not None else jpeg(), "image/jpeg")},
        data=fields,
        timeout=5,
    )


def post(
    api: str, token: str = ALICE_TOKEN, headers: dict[str, str] | None = None, **kwargs: Any
) -> requests.Response:
    return requests.post(
        f"{api}/api/v1/statuses", headers=auth(token, **(headers or {})), timeout=5, **kwargs
    )


# -- instance and auth -------------------------------------------------------------------------


def test_instance_v1_and_v2_advertise_version_and_limits(api: str) -> None:
    for path in ("/api/v1/instance", "/api/v2/instance"):
        body = requests.get(api + path, timeout=5).json()
        assert body["version"] == "4.3.0"
        config = body["configuration"]
        assert config["statuses"]["max_characters"] == 500
        assert config["statuses"]["characters_reserved_per_url"] == 23
        assert config["statuses"]["max_media_attachments"] == 4
        media = config["media_attachments"]
        assert media["image_size_limit"] == 16_777_216
        assert media["description_limit"] == 1500
        assert "image/jpeg" in media["supported_mime_types"]
    assert requests.get(api + "/api/v2/instance", timeout=5).json()["api_versions"] == {"mastodon": 2}


def test_verify_credentials(api: str) -> None:
    response = requests.get(f"{api}/api/v1/accounts/verify_credentials", headers=auth(), timeout=5)
    assert response.status_code == 200
    assert response.json()["username"] == "alice"
    assert response.json()["id"].isdigit()


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {ALICE_TOKEN}"}]
)
def test_bad_token_is_401(api: str, headers: dict[str, str]) -> None:
    response = requests.post(f"{api}/api/v1/statuses", headers=headers, data={"status": "x"}, timeout=5)
    assert response.status_code == 401
    assert response.json() == {"error": "The access token is invalid"}


def test_rate_limit_headers_on_every_response(api: str) -> None:
    for response in (
        requests.get(f"{api}/api/v1/accounts/verify_credentials", headers=auth(), timeout=5),
        requests.get(f"{api}/api/v1/accounts/verify_credentials", timeout=5),
        post(api, data={"status": "hello"}),
    ):
        assert response.headers["X-RateLimit-Limit"] == "300"
        assert int(response.headers["X-RateLimit-Remaining"]) > 0
        assert ISO_MICROS.match(response.headers["X-RateLimit-Reset"])


# -- statuses ----------------------------------------------------------------------------------


def test_text_status_form_json_multipart(sim: Simulator, api: str) -> None:
    first = post(api, data={"status": "form <b>1</b>\nline", "visibility": "unlisted", "language": "en"})
    second = post(api, json={"status": "json 2", "sensitive": True, "spoiler_text": "cw"})
    third = post(api, files={"status": (None, "multipart 3")})
    assert [r.status_code for r in (first, second, third)] == [200, 200, 200]
    status = first.json()
    assert status["id"].isdigit()
    assert status["content"] == "<p>form &lt;b&gt;1&lt;/b&gt;<br />line</p>"
    assert status["visibility"] == "unlisted"
    assert status["language"] == "en"
    assert status["url"] == f"{sim.base_url}/mastodon/@alice/{status['id']}"
    assert status["uri"] == f"{sim.base_url}/mastodon/users/alice/statuses/{status['id']}"
    assert status["account"]["username"] == "alice"
    assert second.json()["sensitive"] is True and second.json()["spoiler_text"] == "cw"
    ledger = sim.ledger("mastodon")
    assert [e.text for e in ledger] == ["form <b>1</b>\nline", "json 2", "multipart 3"]
    assert ledger[0].remote_id == status["id"] and ledger[0].account == "alice"
    assert ledger[0].url == status["url"] and ledger[0].media == ()
    assert requests.get(status["url"], timeout=5).status_code == 200


def test_photos_with_alt_text(sim: Simulator, api: str) -> None:
    photo_a, photo_b = jpeg(color="green"), png()
    first = upload(api, photo_a, description="A green square", focus="0.5,-0.25")
    second = requests.post(
        f"{api}/api/v2/media",
        headers=auth(),
        files={"file": ("b.png", photo_b, "image/png")},
        timeout=5,
    )
    assert first.status_code == 200 and second.status_code == 200
    media = first.json()
    assert media["type"] == "image" and media["url"] and media["description"] == "A green square"
    assert media["meta"]["original"]["width"] == 64 and media["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    assert requests.get(media["url"], timeout=5).content == photo_a
    updated = requests.put(
        f"{api}/api/v1/media/{second.json()['id']}", headers=auth(), data={"description": "Blue"}, timeout=5
    )
    assert updated.status_code == 200 and updated.json()["description"] == "Blue"
    response = post(api, data={"status": "two photos", "media_ids[]": [media["id"], second.json()["id"]]})
    assert response.status_code == 200
    attachments = response.json()["media_attachments"]
    assert [a["description"] for a in attachments] == ["A green square", "Blue"]
    entry = sim.ledger("mastodon")[0]
    assert [(m.mime_type, m.alt_text, m.width) for m in entry.media] == [
        ("image/jpeg", "A green square", 64),
        ("image/png", "Blue", 32),
    ]
    assert sim.media_bytes("mastodon", entry.media[1].media_id) == photo_b
    assert entry.media[0].size == len(photo_a)


def test_media_only_status_with_json_media_ids(sim: Simulator, api: str) -> None:
    media_id = upload(api).json()["id"]
    response = post(api, json={"media_ids": [media_id]})
    assert response.status_code == 200
    assert sim.ledger()[0].text == "" and len(sim.ledger()[0].media) == 1


def test_scalar_media_ids_is_ignored_like_rails(api: str) -> None:
    media_id = upload(api).json()["id"]
    response = post(api, data={"status": "", "media_ids": media_id})
    assert response.status_code == 422
    assert response.json() == {"error": "Validation failed: Text can't be blank"}


@pytest.mark.parametrize(
    ("text", "spoiler", "expected"),
    [
        ("a" * 500, "", 500),
        ("é" * 10, "", 10),
        ("e\u0301" * 10, "", 10),  # combining acute accent joins its base
        ("👨‍👩‍👧‍👦" * 3, "", 3),  # ZWJ family
        ("🇫🇷🇩🇪", "", 2),  # regional-indicator pairs
        ("👍🏽", "", 1),  # skin-tone modifier
        ("❤️", "", 1),  # variation selector
        ("see https://example.com/" + "x" * 200, "", 4 + 23),
        ("hi @someone@example.social", "", len("hi @someone")),
        ("body", "spoiler", 11),
        ("a\r\nb", "", 3),
    ],
)
def test_status_length(text: str, spoiler: str, expected: int) -> None:
    assert status_length(text, spoiler) == expected


def test_text_over_500_is_422(sim: Simulator, api: str) -> None:
    assert post(api, data={"status": "a" * 500}).status_code == 200
    response = post(api, data={"status": "a" * 501})
    assert response.status_code == 422
    assert response.json() == {"error": "Validation failed: Text character limit of 500 exceeded"}
    url_text = "b" * 470 + " https://example.com/" + "p" * 300
    assert post(api, data={"status": url_text}).status_code == 200
    assert post(api, data={"status": "c" * 490, "spoiler_text": "s" * 11}).status_code == 422
    assert len(sim.ledger()) == 2


def test_status_rejections(sim: Simulator, api: str) -> None:
    ids = [upload(api).json()["id"] for _ in range(5)]
    bob_media = upload(api, token=BOB_TOKEN).json()["id"]
    cases = [
        ({"status": ""}, "Validation failed: Text can't be blank"),
        ({"status": "   "}, "Validation failed: Text can't be blank"),
        ({"status": "x", "media_ids[]": ids}, "Cannot attach more than 4 files"),
        ({"status": "x", "media_ids[]": ["999"]}, "Media 999 not found or already attached to another post"),
        ({"status": "x", "media_ids[]": [bob_media]}, None),
        ({"status": "x", "visibility": "everyone"}, "'everyone' is not a valid visibility"),
    ]
    for data, message in cases:
        response = post(api, data=data)
        assert response.status_code == 422, data
        if message is not None:
            assert response.json() == {"error": message}
    assert sim.ledger() == []


def test_media_is_single_use(api: str) -> None:
    media_id = upload(api).json()["id"]
    assert post(api, data={"status": "first", "media_ids[]": [media_id]}).status_code == 200
    again = post(api, data={"status": "second", "media_ids[]": [media_id]})
    assert again.status_code == 422
    assert "already attached" in again.json()["error"]
    assert (
        requests.put(
            f"{api}/api/v1/media/{media_id}", headers=auth(), data={"description": "x"}, timeout=5
        ).status_code
        == 404
    )


def test_upload_rejections(api: str) -> None:
    invalid = {"error": "Validation failed: File content type is invalid, File is invalid"}
    not_image = upload(api, b"this is not an image at all")
    assert not_image.status_code == 422 and not_image.json() == invalid
    truncated = upload(api, jpeg((400, 300))[:200])
    assert truncated.status_code == 422 and truncated.json() == invalid
    no_type = requests.post(
        f"{api}/api/v2/media", headers=auth(), files={"file": ("a.jpg", jpeg())}, timeout=5
    )
    # requests sends no Content-Type for a part given without one.
    assert no_type.status_code == 422 and no_type.json() == invalid
    too_big = upload(api, jpeg() + b"\0" * (16 * 1024 * 1024))
    assert too_big.status_code == 422
    assert "size" in too_big.json()["error"]
    long_alt = upload(api, description="d" * 1501)
    assert long_alt.status_code == 422
    assert upload(api, description="d" * 1500).status_code == 200
    missing = requests.post(f"{api}/api/v2/media", headers=auth(), data={"description": "x"}, timeout=5)
    assert missing.status_code == 422


def test_media_belongs_to_uploader(api: str) -> None:
    media_id = upload(api).json()["id"]
    assert (
        requests.get(f"{api}/api/v1/media/{media_id}", headers=auth(BOB_TOKEN), timeout=5).status_code == 404
    )
    assert requests.get(f"{api}/api/v1/media/{media_id}", headers=auth(), timeout=5).status_code == 200


def test_async_media_processing(sim: Simulator, api: str) -> None:
    sim.mastodon_async_media = 2
    response = upload(api, description="slow")
    assert response.status_code == 202
    media = response.json()
    assert media["url"] is None and media["preview_url"]
    not_ready = post(api, data={"status": "too soon", "media_ids[]": [media["id"]]})
    assert not_ready.status_code == 422
    assert not_ready.json() == {
        "error": "Cannot attach files that have not finished processing. Try again in a moment!"
    }
    polls = [requests.get(f"{api}/api/v1/media/{media['id']}", headers=auth(), timeout=5) for _ in range(3)]
    assert [p.status_code for p in polls] == [206, 206, 200]
    assert polls[0].json()["url"] is None and polls[2].json()["url"]
    assert post(api, data={"status": "ready", "media_ids[]": [media["id"]]}).status_code == 200
    # The deprecated v1 endpoint stays synchronous.
    v1 = requests.post(
        f"{api}/api/v1/media", headers=auth(), files={"file": ("a.jpg", jpeg(), "image/jpeg")}, timeout=5
    )
    assert v1.status_code == 200 and v1.json()["url"]


def test_idempotency_key_replay(sim: Simulator, api: str) -> None:
    first = post(api, headers={"Idempotency-Key": "post-1"}, data={"status": "once"})
    again = post(api, headers={"Idempotency-Key": "post-1"}, data={"status": "a different body"})
    assert first.status_code == again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["content"] == "<p>once</p>"
    other_account = post(api, token=BOB_TOKEN, headers={"Idempotency-Key": "post-1"}, data={"status": "once"})
    other_key = post(api, headers={"Idempotency-Key": "post-2"}, data={"status": "once"})
    assert len({first.json()["id"], other_account.json()["id"], other_key.json()["id"]}) == 3
    ledger = sim.ledger("mastodon")
    assert [(e.account, e.idempotency_key) for e in ledger] == [
        ("alice", "post-1"),
        ("bob", "post-1"),
        ("alice", "post-2"),
    ]


def test_no_duplicate_text_rejection(sim: Simulator, api: str) -> None:
    assert post(api, data={"status": "same"}).status_code == 200
    assert post(api, data={"status": "same"}).status_code == 200
    assert len(sim.ledger()) == 2


def test_delete_and_timeline(sim: Simulator, api: str) -> None:
    ids = [post(api, data={"status": f"post {i}"}).json()["id"] for i in range(4)]
    post(api, token=BOB_TOKEN, data={"status": "bob's"})
    account_id = requests.get(f"{api}/api/v1/accounts/verify_credentials", headers=auth(), timeout=5).json()[
        "id"
    ]
    assert (
        requests.delete(f"{api}/api/v1/statuses/{ids[1]}", headers=auth(BOB_TOKEN), timeout=5).status_code
        == 404
    )
    deleted = requests.delete(f"{api}/api/v1/statuses/{ids[1]}", headers=auth(), timeout=5)
    assert deleted.status_code == 200 and deleted.json()["text"] == "post 1"
    assert requests.delete(f"{api}/api/v1/statuses/{ids[1]}", headers=auth(), timeout=5).status_code == 404
    assert requests.get(f"{api}/api/v1/statuses/{ids[1]}", headers=auth(), timeout=5).status_code == 404
    assert sim.deleted("mastodon") == {ids[1]}
    assert len(sim.ledger("mastodon")) == 5  # entries stay; deletion is tracked apart
    timeline = requests.get(
        f"{api}/api/v1/accounts/{account_id}/statuses", params={"limit": 2}, headers=auth(), timeout=5
    ).json()
    assert [s["id"] for s in timeline] == [ids[3], ids[2]]
    older = requests.get(
        f"{api}/api/v1/accounts/{account_id}/statuses", params={"max_id": ids[2]}, headers=auth(), timeout=5
    ).json()
    assert [s["id"] for s in older] == [ids[0]]
    assert requests.get(f"{api}/api/v1/accounts/1/statuses", headers=auth(), timeout=5).status_code == 404


# -- faults ------------------------------------------------------------------------------------


def test_rate_limit_fault(sim: Simulator, api: str) -> None:
    sim.inject(Fault("rate_limit", platform="mastodon", path="/api/v1/statuses", reset_in=30))
    limited = post(api, data={"status": "limited"})
    assert limited.status_code == 429
    assert limited.json() == {"error": "Too many requests"}
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in limited.headers
    reset = limited.headers["X-RateLimit-Reset"]
    assert ISO_MICROS.match(reset)
    parsed = time.mktime(time.strptime(reset[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert 25 < parsed - time.time() < 35
    assert sim.ledger() == []
    assert post(api, data={"status": "fine"}).status_code == 200


def test_error_fault_does_not_apply(sim: Simulator, api: str) -> None:
    sim.inject(Fault("error", platform="mastodon", method="POST", status=503))
    response = post(api, data={"status": "x"})
    assert response.status_code == 503 and response.json() == {"error": "Service Unavailable"}
    assert sim.ledger() == []


def test_commit_then_drop_then_idempotent_retry(sim: Simulator, api: str) -> None:
    sim.inject(Fault("commit_then_drop", platform="mastodon", path="/api/v1/statuses"))
    with pytest.raises(requests.ConnectionError):
        post(api, headers={"Idempotency-Key": "k"}, data={"status": "sent, no answer"})
    assert [e.text for e in sim.ledger()] == ["sent, no answer"]
    retry = post(api, headers={"Idempotency-Key": "k"}, data={"status": "sent, no answer"})
    assert retry.status_code == 200 and retry.json()["id"] == sim.ledger()[0].remote_id
    assert len(sim.ledger()) == 1


def test_drop_does_not_apply(sim: Simulator, api: str) -> None:
    sim.inject(Fault("drop", platform="mastodon", path="/api/v1/statuses"))
    with pytest.raises(requests.ConnectionError):
        post(api, data={"status": "lost"})
    assert sim.ledger() == []
    assert [r.status for r in sim.requests_seen("mastodon")] == [0]
