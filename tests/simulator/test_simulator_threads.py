"""The Threads publishing simulator against platforms.md §8, driven with plain ``requests``."""

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
from herald.simulator.threads import text_length

USER = "1234567890"
TOKEN = "THQ-herald-token"
OTHER_USER = "9876543210"
OTHER_TOKEN = "THQ-other-token"


def image(size: tuple[int, int] = (300, 300), fmt: str = "JPEG", color: str = "seagreen") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


FILES = {"/a.jpg": image(), "/b.png": image((200, 100), "PNG", "plum"), "/c.gif": image(fmt="GIF")}


class _Files(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = FILES.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

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
        simulator.add_account("threads", username="herald.threads", threads_user_id=USER, access_token=TOKEN)
        simulator.add_account(
            "threads", username="other.threads", threads_user_id=OTHER_USER, access_token=OTHER_TOKEN
        )
        yield simulator


@pytest.fixture(autouse=True)
def clean(sim: Simulator) -> Iterator[None]:
    sim.reset()
    yield
    sim.threads_processing_polls = 0
    sim.threads_publish_limit = 250
    sim.add_account("threads", username="herald.threads", threads_user_id=USER, access_token=TOKEN)


@pytest.fixture
def api(sim: Simulator) -> str:
    return sim.url_for("threads") + "/v1.0"


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def container(api: str, node: str = USER, token: str = TOKEN, **fields: str) -> requests.Response:
    return requests.post(f"{api}/{node}/threads", headers=auth(token), data=fields, timeout=5)


def container_id(api: str, **fields: str) -> str:
    response = container(api, **fields)
    assert response.status_code == 200, response.text
    value: str = response.json()["id"]
    return value


def publish(api: str, creation_id: str) -> requests.Response:
    return requests.post(
        f"{api}/{USER}/threads_publish", params={"creation_id": creation_id}, headers=auth(), timeout=5
    )


def status(api: str, creation_id: str) -> dict[str, Any]:
    response = requests.get(
        f"{api}/{creation_id}", params={"fields": "status,error_message"}, headers=auth(), timeout=5
    )
    body: dict[str, Any] = response.json()
    return body


def codes(response: requests.Response) -> tuple[int, int, int | None]:
    error = response.json()["error"]
    assert error["fbtrace_id"]
    return response.status_code, error["code"], error.get("error_subcode")


@pytest.mark.parametrize(
    ("text", "length"),
    [("hello", 5), ("é", 1), ("👍", 4), ("❤️", 6), ("👨‍👩‍👧‍👦", 25), ("hi 👍🏽!", 3 + 8 + 1), ("日本", 2)],
)
def test_text_length_counts_emoji_as_utf8_bytes(text: str, length: int) -> None:
    assert text_length(text) == length


# -- publishing --------------------------------------------------------------------------------


def test_carousel_of_two_images_with_alt_text(sim: Simulator, api: str, files: str) -> None:
    children = [
        container_id(
            api, media_type="IMAGE", image_url=f"{files}/a.jpg", is_carousel_item="true", alt_text="Green"
        ),
        container_id(
            api, media_type="IMAGE", image_url=f"{files}/b.png", is_carousel_item="true", alt_text="Plum"
        ),
    ]
    carousel = container_id(api, media_type="CAROUSEL", children=",".join(children), text="Two images")
    assert status(api, carousel) == {"status": "FINISHED", "id": carousel}
    response = publish(api, carousel)
    assert response.status_code == 200, response.text
    media_id = response.json()["id"]
    (entry,) = sim.ledger("threads")
    assert entry.remote_id == media_id and entry.text == "Two images" and entry.idempotency_key == carousel
    assert [(m.alt_text, m.mime_type) for m in entry.media] == [
        ("Green", "image/jpeg"),
        ("Plum", "image/png"),
    ]
    assert sim.media_bytes("threads", entry.media[0].media_id) == FILES["/a.jpg"]
    node = requests.get(
        f"{api}/{media_id}",
        params={"fields": "permalink,shortcode,media_type,text"},
        headers=auth(),
        timeout=5,
    ).json()
    assert (
        node["permalink"] == entry.url == f"{sim.base_url}/threads/@herald.threads/post/{node['shortcode']}"
    )
    assert node["media_type"] == "CAROUSEL_ALBUM" and node["text"] == "Two images"
    assert requests.get(entry.url, timeout=5).status_code == 200


def test_text_post_through_me(sim: Simulator, api: str) -> None:
    creation = container_id(api, media_type="TEXT", text="Hello Threads 👋")
    assert publish(api, creation).status_code == 200
    me = requests.get(f"{api}/me", params={"fields": "id,username"}, headers=auth(), timeout=5).json()
    assert me == {"id": USER, "username": "herald.threads"}
    via_me = container(api, node="me", media_type="TEXT", text="via me")
    assert via_me.status_code == 200
    assert [e.text for e in sim.ledger("threads")] == ["Hello Threads 👋"]


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("a" * 500, True),
        ("a" * 501, False),
        ("👍" * 125, True),
        ("👍" * 126, False),
        ("a" * 497 + "👍", False),
    ],
)
def test_text_limit(api: str, text: str, accepted: bool) -> None:
    response = container(api, media_type="TEXT", text=text)
    if accepted:
        assert response.status_code == 200
    else:
        assert codes(response) == (400, 100, None)


@pytest.mark.parametrize(
    "fields",
    [
        {"text": "no media type"},
        {"media_type": "VIDEO", "video_url": "http://127.0.0.1/v.mp4"},
        {"media_type": "TEXT"},
        {"media_type": "IMAGE"},
        {"media_type": "CAROUSEL", "children": "1"},
        {"media_type": "CAROUSEL", "children": json.dumps([str(i) for i in range(21)])},
    ],
)
def test_container_rejections(sim: Simulator, api: str, fields: dict[str, str]) -> None:
    assert codes(container(api, **fields)) == (400, 100, None)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://example.com/a.jpg", "FAILED_DOWNLOADING_IMAGE"),
        ("/missing.jpg", "FAILED_DOWNLOADING_IMAGE"),
        ("/c.gif", "INVALID_IMAGE_FORMAT"),
    ],
)
def test_image_problems_surface_as_container_error(
    sim: Simulator, api: str, files: str, url: str, message: str
) -> None:
    creation = container_id(api, media_type="IMAGE", image_url=files + url if url.startswith("/") else url)
    assert status(api, creation) == {"status": "ERROR", "error_message": message, "id": creation}
    assert codes(publish(api, creation)) == (400, 100, None)
    assert sim.ledger() == []


def test_processing_polls_and_republish(sim: Simulator, api: str, files: str) -> None:
    sim.threads_processing_polls = 1
    creation = container_id(api, media_type="IMAGE", image_url=f"{files}/a.jpg", text="wait for it")
    assert codes(publish(api, creation)) == (400, 9007, 2207027)
    assert [status(api, creation)["status"] for _ in range(2)] == ["IN_PROGRESS", "FINISHED"]
    assert publish(api, creation).status_code == 200
    assert status(api, creation)["status"] == "PUBLISHED"
    assert codes(publish(api, creation)) == (400, 24, 2207006)
    assert len(sim.ledger("threads")) == 1


def test_carousel_children_must_be_own_items(api: str, files: str) -> None:
    item = container_id(api, media_type="IMAGE", image_url=f"{files}/a.jpg", is_carousel_item="true")
    plain = container_id(api, media_type="IMAGE", image_url=f"{files}/a.jpg")
    theirs = container(
        api,
        node=OTHER_USER,
        token=OTHER_TOKEN,
        media_type="IMAGE",
        image_url=f"{files}/a.jpg",
        is_carousel_item="true",
    ).json()["id"]
    assert codes(container(api, media_type="CAROUSEL", children=f"{item},{plain}")) == (400, 24, 2207006)
    assert codes(container(api, media_type="CAROUSEL", children=f"{item},{theirs}")) == (400, 24, 2207006)
    assert codes(publish(api, item)) == (400, 24, 2207006)


def test_publishing_limit(sim: Simulator, api: str) -> None:
    sim.threads_publish_limit = 1
    assert publish(api, container_id(api, media_type="TEXT", text="one")).status_code == 200
    assert codes(publish(api, container_id(api, media_type="TEXT", text="two"))) == (400, 9, 2207042)
    limit = requests.get(
        f"{api}/{USER}/threads_publishing_limit",
        params={"fields": "quota_usage,config"},
        headers=auth(),
        timeout=5,
    ).json()
    assert limit == {"data": [{"quota_usage": 1, "config": {"quota_total": 1, "quota_duration": 86400}}]}


def test_recent_posts_and_delete(sim: Simulator, api: str) -> None:
    ids = [publish(api, container_id(api, media_type="TEXT", text=f"t{i}")).json()["id"] for i in range(3)]
    listing = requests.get(
        f"{api}/{USER}/threads",
        params={"fields": "id,text,timestamp,permalink", "limit": 5},
        headers=auth(),
        timeout=5,
    ).json()
    assert [p["text"] for p in listing["data"]] == ["t2", "t1", "t0"]
    deleted = requests.delete(f"{api}/{ids[1]}", headers=auth(), timeout=5)
    assert deleted.json() == {"success": True, "deleted_id": ids[1]}
    assert codes(requests.delete(f"{api}/{ids[1]}", headers=auth(), timeout=5)) == (400, 100, 33)
    listing = requests.get(f"{api}/{USER}/threads", headers=auth(), timeout=5).json()
    assert [p["id"] for p in listing["data"]] == [ids[2], ids[0]]
    assert sim.deleted("threads") == {ids[1]}
    assert requests.get(sim.ledger()[1].url, timeout=5).status_code == 404


# -- auth and faults ---------------------------------------------------------------------------


def test_expired_token(sim: Simulator, api: str) -> None:
    sim.add_account(
        "threads",
        username="herald.threads",
        threads_user_id=USER,
        access_token=TOKEN,
        expires_at=str(time.time()),
    )
    assert codes(container(api, media_type="TEXT", text="x")) == (400, 190, 463)


def test_rate_limit_fault(sim: Simulator, api: str) -> None:
    sim.inject(Fault("rate_limit", platform="threads", path="threads_publish", reset_in=120))
    limited = publish(api, container_id(api, media_type="TEXT", text="x"))
    assert codes(limited) == (400, 4, None)
    (usage,) = json.loads(limited.headers["X-Business-Use-Case-Usage"])[USER]
    assert usage["type"] == "threads" and usage["estimated_time_to_regain_access"] == 2
    assert sim.ledger() == []


def test_commit_then_drop_reconciles_through_the_container(sim: Simulator, api: str) -> None:
    creation = container_id(api, media_type="TEXT", text="sent, no answer")
    sim.inject(Fault("commit_then_drop", platform="threads", path="threads_publish"))
    with pytest.raises(requests.ConnectionError):
        publish(api, creation)
    assert status(api, creation)["status"] == "PUBLISHED"
    assert codes(publish(api, creation)) == (400, 24, 2207006)
    assert len(sim.ledger("threads")) == 1
