"""The LinkedIn Posts/Images simulator against platforms.md §7, driven with plain ``requests``."""

from __future__ import annotations

import io
import re
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image

from herald.simulator import Fault, Simulator
from herald.simulator.linkedin import render_little_text

ORG = "urn:li:organization:5515715"
TOKEN = "AQV-herald-token"
OTHER_ORG = "urn:li:organization:999"
OTHER_TOKEN = "AQV-other-token"


def months_ago(months: int) -> str:
    now = time.gmtime()
    index = now.tm_year * 12 + now.tm_mon - 1 - months
    return f"{index // 12}{index % 12 + 1:02d}"


VERSION = months_ago(0)


def jpeg(size: tuple[int, int] = (64, 48), color: str = "steelblue") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        simulator.add_account("linkedin", username="herald-org", organization_urn=ORG, access_token=TOKEN)
        simulator.add_account(
            "linkedin", username="other-org", organization_urn=OTHER_ORG, access_token=OTHER_TOKEN
        )
        yield simulator


@pytest.fixture(autouse=True)
def clean(sim: Simulator) -> Iterator[None]:
    sim.reset()
    yield
    sim.add_account("linkedin", username="herald-org", organization_urn=ORG, access_token=TOKEN)


@pytest.fixture
def api(sim: Simulator) -> str:
    return sim.url_for("linkedin") + "/rest"


def headers(
    token: str = TOKEN, version: str | None = VERSION, restli: str | None = "2.0.0"
) -> dict[str, str]:
    result = {"Authorization": f"Bearer {token}"}
    if version is not None:
        result["LinkedIn-Version"] = version
    if restli is not None:
        result["X-Restli-Protocol-Version"] = restli
    return result


def post_body(commentary: str = "Hello from Herald", **extra: Any) -> dict[str, Any]:
    return {
        "author": ORG,
        "commentary": commentary,
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
        **extra,
    }


def create(api: str, body: dict[str, Any], **header_args: Any) -> requests.Response:
    return requests.post(f"{api}/posts", json=body, headers=headers(**header_args), timeout=5)


def upload_image(api: str, data: bytes, token: str = TOKEN) -> str:
    init = requests.post(
        f"{api}/images",
        params={"action": "initializeUpload"},
        json={"initializeUploadRequest": {"owner": ORG}},
        headers=headers(token),
        timeout=5,
    )
    assert init.status_code == 200, init.text
    value = init.json()["value"]
    assert value["uploadUrlExpiresAt"] > time.time() * 1000
    put = requests.put(
        value["uploadUrl"],
        data=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"},
        timeout=5,
    )
    assert put.status_code == 201
    urn: str = value["image"]
    return urn


def quoted(urn: str) -> str:
    return urllib.parse.quote(urn, safe="")


# -- posting -----------------------------------------------------------------------------------


def test_text_post_is_201_with_x_restli_id(sim: Simulator, api: str) -> None:
    response = create(api, post_body())
    assert response.status_code == 201 and response.content == b""
    urn = response.headers["x-restli-id"]
    assert re.fullmatch(r"urn:li:share:\d{19}", urn)
    (entry,) = sim.ledger("linkedin")
    assert entry.remote_id == urn and entry.text == "Hello from Herald" and entry.account == "herald-org"
    assert entry.url == f"{sim.base_url}/linkedin/feed/update/{urn}"
    fetched = requests.get(f"{api}/posts/{quoted(urn)}", headers=headers(), timeout=5).json()
    assert fetched["id"] == urn and fetched["commentary"] == "Hello from Herald" and fetched["author"] == ORG
    assert requests.get(entry.url, timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("commentary", "shown", "truncated"),
    [
        ("Hello \\(escaped\\) world", "Hello (escaped) world", False),
        ("Hello (world)", "Hello ", True),
        ("Price: 5 * 3", "Price: 5 ", True),
        ("Write me@example.com", "Write me", True),
        ("Launch #today", "Launch ", True),
        ("snake_case", "snake", True),
        ("a ~ b | c < d > e", "a ", True),
        ("C:\\dir", "C:", True),
        ("slash \\\\ kept", "slash \\ kept", False),
        ("Hi @[Herald](urn:li:organization:5515715) {hashtag|\\#|launch}!", "Hi Herald #launch!", False),
        (
            "all escaped \\| \\{ \\} \\@ \\[ \\] \\< \\> \\# \\* \\_ \\~",
            "all escaped | { } @ [ ] < > # * _ ~",
            False,
        ),
    ],
)
def test_little_text_truncates_silently(
    sim: Simulator, api: str, commentary: str, shown: str, truncated: bool
) -> None:
    assert render_little_text(commentary) == (shown, truncated)
    response = create(api, post_body(commentary))
    assert response.status_code == 201  # LinkedIn accepts it and cuts the text without a word
    (entry,) = sim.ledger("linkedin")
    assert entry.text == shown and entry.extra["truncated"] is truncated
    assert entry.extra["commentary"] == commentary


def test_two_images_with_alt_text(sim: Simulator, api: str) -> None:
    photos = [jpeg(), jpeg((30, 30), "gold")]
    urns = [upload_image(api, data) for data in photos]
    image = requests.get(f"{api}/images/{quoted(urns[0])}", headers=headers(), timeout=5).json()
    assert image["status"] == "AVAILABLE" and image["aspectRatioWidth"] == 64
    content = {
        "multiImage": {"images": [{"id": urns[0], "altText": "Blue"}, {"id": urns[1], "altText": "Gold"}]}
    }
    response = create(api, post_body("Two images", content=content))
    assert response.status_code == 201, response.text
    (entry,) = sim.ledger("linkedin")
    assert [(m.alt_text, m.width) for m in entry.media] == [("Blue", 64), ("Gold", 30)]
    assert sim.media_bytes("linkedin", entry.media[1].media_id) == photos[1]
    single = create(api, post_body("One image", content={"media": {"id": urns[0], "altText": "Again"}}))
    assert single.status_code == 201 and sim.ledger("linkedin")[1].media[0].alt_text == "Again"


def test_image_rejections(sim: Simulator, api: str) -> None:
    good = upload_image(api, jpeg())
    not_image = upload_image(api, b"definitely not an image")
    assert requests.get(f"{api}/images/{quoted(not_image)}", headers=headers(), timeout=5).json()[
        "status"
    ] == ("PROCESSING_FAILED")
    waiting = requests.post(
        f"{api}/images",
        params={"action": "initializeUpload"},
        json={"initializeUploadRequest": {"owner": ORG}},
        headers=headers(),
        timeout=5,
    ).json()["value"]
    assert requests.get(f"{api}/images/{quoted(waiting['image'])}", headers=headers(), timeout=5).json()[
        "status"
    ] == ("WAITING_UPLOAD")
    cases = [
        ({"media": {"id": waiting["image"]}}, 400),
        ({"media": {"id": not_image}}, 400),
        ({"media": {"id": "urn:li:image:C4Enope"}}, 422),
        ({"multiImage": {"images": [{"id": good}]}}, 422),
        ({"multiImage": {"images": [{"id": good}] * 21}}, 422),
    ]
    for number, (content, status) in enumerate(cases):
        response = create(api, post_body(f"case {number}", content=content))
        assert response.status_code == status, (content, response.text)
        assert response.json()["status"] == status
    assert sim.ledger() == []
    other_owner = requests.post(
        f"{api}/images",
        params={"action": "initializeUpload"},
        json={"initializeUploadRequest": {"owner": OTHER_ORG}},
        headers=headers(),
        timeout=5,
    )
    assert other_owner.status_code == 403 and other_owner.json()["code"] == "ACCESS_DENIED"
    assert requests.put(waiting["uploadUrl"], data=jpeg(), timeout=5).status_code == 401
    foreign = requests.put(
        waiting["uploadUrl"], data=jpeg(), headers={"Authorization": f"Bearer {OTHER_TOKEN}"}, timeout=5
    )
    assert foreign.status_code == 404


# -- headers and auth --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header_args", "status", "code"),
    [
        ({"version": None}, 400, "VERSION_MISSING"),
        ({"version": months_ago(13)}, 426, "NONEXISTENT_VERSION"),
        ({"version": months_ago(-1)}, 426, "NONEXISTENT_VERSION"),
        ({"version": "2026-01"}, 426, "NONEXISTENT_VERSION"),
        ({"restli": None}, 400, None),
        ({"restli": "1.0.0"}, 400, None),
        ({"token": "nope"}, 401, "INVALID_ACCESS_TOKEN"),
    ],
)
def test_required_headers(
    sim: Simulator, api: str, header_args: dict[str, Any], status: int, code: str | None
) -> None:
    response = create(api, post_body(), **header_args)
    assert response.status_code == status
    body = response.json()
    assert body["status"] == status and body.get("code") == code and body["message"]
    assert sim.ledger() == []


def test_versions_stay_active_for_a_year(api: str) -> None:
    assert create(api, post_body("a"), version=months_ago(12)).status_code == 201
    assert create(api, post_body("b"), version=months_ago(3) + ".01").status_code == 201


def test_expired_token(sim: Simulator, api: str) -> None:
    sim.add_account(
        "linkedin", username="herald-org", organization_urn=ORG, access_token=TOKEN, expires_at="1"
    )
    response = create(api, post_body())
    assert response.status_code == 401
    assert response.json() == {
        "status": 401,
        "message": "The token used in the request has expired",
        "serviceErrorCode": 65601,
        "code": "EXPIRED_ACCESS_TOKEN",
    }


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (post_body("c" * 3001), 422, "ERROR :: /commentary :: length of 3001"),
        (post_body(author=OTHER_ORG), 403, "Not enough permissions to access"),
        ({**post_body(), "visibility": None}, 422, "ERROR :: /visibility :: field is required"),
        (post_body(lifecycleState="LIVE"), 422, 'ERROR :: /lifecycleState :: "LIVE" is not an enum symbol'),
        ({**post_body(), "distribution": None}, 422, "ERROR :: /distribution :: field is required"),
    ],
)
def test_post_validation(sim: Simulator, api: str, body: dict[str, Any], status: int, fragment: str) -> None:
    body = {k: v for k, v in body.items() if v is not None}
    response = create(api, body)
    assert response.status_code == status and fragment in response.json()["message"]
    assert sim.ledger() == []


def test_commentary_limit_is_inclusive(api: str) -> None:
    assert create(api, post_body("c" * 3000)).status_code == 201


# -- duplicates, reconciliation, deletion ------------------------------------------------------


def test_duplicate_commentary_names_the_existing_post(sim: Simulator, api: str) -> None:
    urn = create(api, post_body("Same words")).headers["x-restli-id"]
    duplicate = create(api, post_body("Same words"))
    assert duplicate.status_code == 422
    body = duplicate.json()
    assert body["message"].endswith(f"Content is a duplicate of {urn}")
    assert body["errorDetails"]["inputErrors"][0]["code"] == "DUPLICATE_POST"
    assert requests.delete(f"{api}/posts/{quoted(urn)}", headers=headers(), timeout=5).status_code == 204
    assert create(api, post_body("Same words")).status_code == 201


def test_find_by_author_and_delete(sim: Simulator, api: str) -> None:
    urns = [create(api, post_body(f"post {i}")).headers["x-restli-id"] for i in range(3)]
    found = requests.get(
        f"{api}/posts",
        params={"q": "author", "author": ORG, "count": 2, "sortBy": "LAST_MODIFIED"},
        headers=headers(),
        timeout=5,
    ).json()
    assert [p["commentary"] for p in found["elements"]] == ["post 2", "post 1"]
    assert found["paging"]["total"] == 3
    assert requests.delete(f"{api}/posts/{quoted(urns[2])}", headers=headers(), timeout=5).status_code == 204
    assert requests.get(f"{api}/posts/{quoted(urns[2])}", headers=headers(), timeout=5).status_code == 404
    assert requests.delete(f"{api}/posts/{quoted(urns[2])}", headers=headers(), timeout=5).status_code == 404
    left = requests.get(
        f"{api}/posts", params={"q": "author", "author": ORG}, headers=headers(), timeout=5
    ).json()
    assert [p["id"] for p in left["elements"]] == [urns[1], urns[0]]
    assert sim.deleted("linkedin") == {urns[2]}
    other = requests.get(
        f"{api}/posts", params={"q": "author", "author": OTHER_ORG}, headers=headers(), timeout=5
    )
    assert other.status_code == 403


# -- faults ------------------------------------------------------------------------------------


def test_rate_limit_fault(sim: Simulator, api: str) -> None:
    sim.inject(Fault("rate_limit", platform="linkedin", path="/rest/posts", reset_in=60))
    limited = create(api, post_body())
    assert limited.status_code == 429
    assert limited.json()["code"] == "TOO_MANY_REQUESTS" and limited.json()["serviceErrorCode"] == 101
    assert not any(
        name.lower().startswith(("x-ratelimit", "ratelimit", "retry-after")) for name in limited.headers
    )
    assert sim.ledger() == []


def test_error_fault(sim: Simulator, api: str) -> None:
    sim.inject(Fault("error", platform="linkedin", status=500))
    response = create(api, post_body())
    assert response.status_code == 500 and response.json() == {
        "status": 500,
        "message": "Internal Server Error",
    }


def test_commit_then_drop_then_duplicate_names_the_post(sim: Simulator, api: str) -> None:
    sim.inject(Fault("commit_then_drop", platform="linkedin", path="/rest/posts"))
    with pytest.raises(requests.ConnectionError):
        create(api, post_body("sent, no answer"))
    (entry,) = sim.ledger("linkedin")
    retry = create(api, post_body("sent, no answer"))
    assert retry.status_code == 422 and retry.json()["message"].endswith(entry.remote_id)
    assert len(sim.ledger("linkedin")) == 1
