"""The Instagram content-publishing simulator against platforms.md §6, with plain ``requests``."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from PIL import Image

from herald.simulator import Fault, Simulator
from herald.simulator import graph as simulator_graph

IG_USER = "17841400000000000"
TOKEN = "IGQ-herald-token"
OTHER_USER = "17841400000000099"
OTHER_TOKEN = "IGQ-other-token"


def image(size: tuple[int, int], fmt: str = "JPEG", *, gps: bool = False, color: str = "crimson") -> bytes:
    exif = Image.Exif()
    if gps:
        exif.get_ifd(0x8825)[1] = "N"
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt, exif=exif)
    return out.getvalue()


FILES = {
    "/a.jpg": image((400, 400), gps=True),
    "/b.jpg": image((400, 320), color="khaki"),
    "/portrait.jpg": image((400, 500)),
    "/landscape.jpg": image((382, 200)),
    "/photo.png": image((400, 400), "PNG"),
    "/tall.jpg": image((400, 600)),
    "/wide.jpg": image((400, 200)),
    "/big.jpg": image((400, 400)) + b"\0" * (8 * 1024 * 1024),
}


class _Files(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow.jpg":
            time.sleep(1.0)
        body = FILES.get(self.path, FILES["/a.jpg"] if self.path == "/slow.jpg" else None)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        try:
            self.wfile.write(body or b"")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the simulator stops reading past its size cap or after its timeout

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (stdlib signature)
        pass


@pytest.fixture(scope="module")
def files() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        simulator.add_account("instagram", username="herald.ig", ig_user_id=IG_USER, access_token=TOKEN)
        simulator.add_account(
            "instagram", username="other.ig", ig_user_id=OTHER_USER, access_token=OTHER_TOKEN
        )
        yield simulator


@pytest.fixture(autouse=True)
def clean(sim: Simulator) -> Iterator[None]:
    sim.reset()
    yield
    sim.instagram_processing_polls = 0
    sim.instagram_publish_limit = 100
    sim.add_account("instagram", username="herald.ig", ig_user_id=IG_USER, access_token=TOKEN)


@pytest.fixture
def api(sim: Simulator) -> str:
    return sim.url_for("instagram") + "/v21.0"


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def container(api: str, token: str = TOKEN, user: str = IG_USER, **fields: str) -> requests.Response:
    return requests.post(f"{api}/{user}/media", headers=auth(token), data=fields, timeout=5)


def container_id(api: str, **fields: str) -> str:
    response = container(api, **fields)
    assert response.status_code == 200, response.text
    value: str = response.json()["id"]
    return value


def publish(api: str, creation_id: str) -> requests.Response:
    return requests.post(
        f"{api}/{IG_USER}/media_publish", params={"creation_id": creation_id}, headers=auth(), timeout=5
    )


def status(api: str, creation_id: str) -> str:
    body = requests.get(
        f"{api}/{creation_id}", params={"fields": "status_code"}, headers=auth(), timeout=5
    ).json()
    value: str = body["status_code"]
    return value


def codes(response: requests.Response) -> tuple[int, int, int | None]:
    error = response.json()["error"]
    assert error["type"] == "OAuthException" and error["fbtrace_id"]
    return response.status_code, error["code"], error.get("error_subcode")


# -- publishing --------------------------------------------------------------------------------


def test_carousel_of_two_photos_with_alt_text(sim: Simulator, api: str, files: str) -> None:
    children = [
        container_id(api, image_url=f"{files}/a.jpg", is_carousel_item="true", alt_text="A crimson square"),
        container_id(api, image_url=f"{files}/b.jpg", is_carousel_item="true", alt_text="A khaki card"),
    ]
    carousel = container_id(
        api, media_type="CAROUSEL", children=",".join(children), caption="Two photos #herald"
    )
    assert status(api, carousel) == "FINISHED"
    published = publish(api, carousel)
    assert published.status_code == 200, published.text
    media_id = published.json()["id"]
    assert status(api, carousel) == "PUBLISHED"
    (entry,) = sim.ledger("instagram")
    assert entry.remote_id == media_id and entry.text == "Two photos #herald"
    assert entry.idempotency_key == carousel and entry.extra["children"] == children
    # The ledger holds what Instagram fetched: here the GPS position was not stripped.
    assert [(m.alt_text, m.width, m.has_gps) for m in entry.media] == [
        ("A crimson square", 400, True),
        ("A khaki card", 400, False),
    ]
    assert sim.media_bytes("instagram", entry.media[1].media_id) == FILES["/b.jpg"]
    node = requests.get(
        f"{api}/{media_id}",
        params={"fields": "permalink,shortcode,media_type,children"},
        headers=auth(),
        timeout=5,
    ).json()
    assert node["permalink"] == entry.url == f"{sim.base_url}/instagram/p/{node['shortcode']}/"
    assert node["media_type"] == "CAROUSEL_ALBUM" and len(node["children"]["data"]) == 2
    assert requests.get(entry.url, timeout=5).status_code == 200


def test_single_image_with_processing_polls_and_republish(sim: Simulator, api: str, files: str) -> None:
    sim.instagram_processing_polls = 2
    creation = container_id(api, image_url=f"{files}/portrait.jpg", caption="One", alt_text="alt")
    too_soon = publish(api, creation)
    assert codes(too_soon) == (400, 9007, 2207027)
    assert too_soon.json()["error"]["error_user_title"] == "Media Not Ready For Publishing"
    assert [status(api, creation) for _ in range(3)] == ["IN_PROGRESS", "IN_PROGRESS", "FINISHED"]
    first = publish(api, creation)
    assert first.status_code == 200
    again = publish(api, creation)
    assert codes(again) == (400, 24, 2207006)
    assert len(sim.ledger("instagram")) == 1
    full = requests.get(
        f"{api}/{creation}", params={"fields": "status_code,status"}, headers=auth(), timeout=5
    )
    assert full.json() == {"status_code": "PUBLISHED", "status": full.json()["status"], "id": creation}


def test_landscape_and_portrait_limits_are_inclusive(api: str, files: str) -> None:
    for name in ("portrait.jpg", "landscape.jpg"):
        assert publish(api, container_id(api, image_url=f"{files}/{name}")).status_code == 200


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/photo.png", (400, 36001, 2207005)),
        ("/tall.jpg", (400, 36003, 2207009)),
        ("/wide.jpg", (400, 36003, 2207009)),
        ("/big.jpg", (400, 36000, 2207004)),
        ("/missing.jpg", (400, 9004, 2207052)),
        ("https://example.com/a.jpg", (400, 9004, 2207052)),
        ("http://10.0.0.1/a.jpg", (400, 9004, 2207052)),
    ],
)
def test_image_rejections(
    sim: Simulator, api: str, files: str, url: str, expected: tuple[int, int, int]
) -> None:
    full = files + url if url.startswith("/") else url
    assert codes(container(api, image_url=full)) == expected


def test_fetch_timeout_is_2207003(api: str, files: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simulator_graph, "FETCH_TIMEOUT_SECONDS", 0.2)
    assert codes(container(api, image_url=f"{files}/slow.jpg")) == (400, -2, 2207003)


def test_missing_image_url_and_unknown_media_type(api: str) -> None:
    assert codes(container(api, caption="no image")) == (400, 100, None)
    assert codes(container(api, media_type="HOLOGRAM")) == (400, 100, 2207023)


@pytest.mark.parametrize(
    "caption",
    ["c" * 2201, " ".join(f"#tag{i}" for i in range(31)), " ".join(f"@user{i}" for i in range(21))],
)
def test_caption_rejections(api: str, files: str, caption: str) -> None:
    assert codes(container(api, image_url=f"{files}/a.jpg", caption=caption)) == (400, 36004, 2207010)


def test_caption_limits_are_inclusive(api: str, files: str) -> None:
    tags = " ".join(f"#tag{i}" for i in range(30)) + " " + " ".join(f"@user{i}" for i in range(20))
    for caption in ("c" * 2200, tags):
        assert container(api, image_url=f"{files}/a.jpg", caption=caption).status_code == 200


def test_carousel_rejections(sim: Simulator, api: str, files: str) -> None:
    child = container_id(api, image_url=f"{files}/a.jpg", is_carousel_item="true")
    single = container_id(api, image_url=f"{files}/a.jpg")
    theirs = container(api, OTHER_TOKEN, OTHER_USER, image_url=f"{files}/a.jpg", is_carousel_item="true")
    assert codes(container(api, media_type="CAROUSEL", children=child)) == (400, 100, 2207028)
    assert codes(container(api, media_type="CAROUSEL", children=",".join([child] * 11))) == (
        400,
        100,
        2207028,
    )
    assert codes(container(api, media_type="CAROUSEL", children=f"{child},{single}")) == (400, 24, 2207006)
    mixed = json.dumps([child, theirs.json()["id"]])
    assert codes(container(api, media_type="CAROUSEL", children=mixed)) == (400, 24, 2207006)
    assert codes(publish(api, child)) == (400, 24, 2207006)  # a carousel item is not publishable alone
    assert codes(publish(api, "123")) == (400, 24, 2207006)
    assert sim.ledger() == []


def test_publishing_quota(sim: Simulator, api: str, files: str) -> None:
    sim.instagram_publish_limit = 2
    for _ in range(2):
        assert publish(api, container_id(api, image_url=f"{files}/a.jpg")).status_code == 200
    refused = publish(api, container_id(api, image_url=f"{files}/a.jpg"))
    assert codes(refused) == (400, 9, 2207042)
    limit = requests.get(
        f"{api}/{IG_USER}/content_publishing_limit",
        params={"fields": "config,quota_usage"},
        headers=auth(),
        timeout=5,
    ).json()
    assert limit == {"data": [{"config": {"quota_total": 2, "quota_duration": 86400}, "quota_usage": 2}]}
    plain = requests.get(f"{api}/{IG_USER}/content_publishing_limit", headers=auth(), timeout=5).json()
    assert plain == {"data": [{"quota_usage": 2}]}
    assert len(sim.ledger("instagram")) == 2


def test_recent_media_for_reconciliation(api: str, files: str) -> None:
    ids = [
        publish(api, container_id(api, image_url=f"{files}/a.jpg", caption=f"n{i}")).json()["id"]
        for i in range(3)
    ]
    page = requests.get(
        f"{api}/{IG_USER}/media",
        params={"fields": "id,caption,timestamp,permalink", "limit": 2, "access_token": TOKEN},
        timeout=5,
    ).json()
    assert [m["id"] for m in page["data"]] == [ids[2], ids[1]]
    assert page["data"][0]["caption"] == "n2" and page["data"][0]["timestamp"].endswith("+0000")
    assert "next" in page["paging"]


# -- auth, headers and faults ------------------------------------------------------------------


def test_tokens(sim: Simulator, api: str, files: str) -> None:
    me = requests.get(f"{api}/me", params={"fields": "id,username", "access_token": TOKEN}, timeout=5).json()
    assert me == {"id": IG_USER, "username": "herald.ig"}
    assert codes(container(api, token="bad", image_url=f"{files}/a.jpg")) == (400, 190, None)
    assert codes(container(api, user=OTHER_USER, image_url=f"{files}/a.jpg")) == (403, 200, None)
    sim.add_account(
        "instagram", username="herald.ig", ig_user_id=IG_USER, access_token=TOKEN, expires_at=str(time.time())
    )
    assert codes(container(api, image_url=f"{files}/a.jpg")) == (400, 190, 463)


def test_usage_headers_and_rate_limit_fault(sim: Simulator, api: str, files: str) -> None:
    ok = container(api, image_url=f"{files}/a.jpg")
    (usage,) = json.loads(ok.headers["X-Business-Use-Case-Usage"])[IG_USER]
    assert usage["type"] == "instagram"
    sim.inject(Fault("rate_limit", platform="instagram", path="media_publish", reset_in=30))
    limited = publish(api, ok.json()["id"])
    assert codes(limited) == (400, 4, None) and limited.json()["error"]["is_transient"] is True
    (usage,) = json.loads(limited.headers["X-Business-Use-Case-Usage"])[IG_USER]
    assert usage["call_count"] == 100 and usage["estimated_time_to_regain_access"] == 1
    assert sim.ledger() == []


def test_commit_then_drop_reconciles_through_the_container(sim: Simulator, api: str, files: str) -> None:
    creation = container_id(api, image_url=f"{files}/a.jpg", caption="sent, no answer")
    sim.inject(Fault("commit_then_drop", platform="instagram", path="media_publish"))
    with pytest.raises(requests.ConnectionError):
        publish(api, creation)
    assert status(api, creation) == "PUBLISHED"
    recent = requests.get(
        f"{api}/{IG_USER}/media", params={"fields": "caption"}, headers=auth(), timeout=5
    ).json()
    assert [m["caption"] for m in recent["data"]] == ["sent, no answer"]
    assert codes(publish(api, creation)) == (400, 24, 2207006)
    assert len(sim.ledger("instagram")) == 1


def test_error_fault(sim: Simulator, api: str, files: str) -> None:
    sim.inject(Fault("error", platform="instagram", path="/media", status=500))
    assert codes(container(api, image_url=f"{files}/a.jpg")) == (500, 1, None)
