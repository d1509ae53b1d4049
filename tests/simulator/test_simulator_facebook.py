"""The Facebook Page (Graph API) simulator against platforms.md §5, driven with plain ``requests``."""

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

from herald.simulator import Fault, Simulator, SimulatorClient

PAGE = "1234567890"
TOKEN = "EAAB-page-token"
OTHER_PAGE = "2222222222"
OTHER_TOKEN = "EAAB-other-page-token"


def jpeg(size: tuple[int, int] = (64, 48), color: str = "purple", *, gps: bool = False) -> bytes:
    exif = Image.Exif()
    if gps:
        exif.get_ifd(0x8825)[1] = "N"
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", exif=exif)
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10), "red").save(out, "WEBP")
    return out.getvalue()


class _Files(BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (stdlib signature)
        pass


@pytest.fixture(scope="module")
def files() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    _Files.files = {"/photo.jpg": jpeg(color="gold")}
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        simulator.add_account("facebook", username="HeraldPage", page_id=PAGE, page_access_token=TOKEN)
        simulator.add_account(
            "facebook", username="OtherPage", page_id=OTHER_PAGE, page_access_token=OTHER_TOKEN
        )
        yield simulator


@pytest.fixture(autouse=True)
def clean(sim: Simulator) -> Iterator[None]:
    sim.reset()
    yield
    sim.add_account("facebook", username="HeraldPage", page_id=PAGE, page_access_token=TOKEN)


@pytest.fixture
def api(sim: Simulator) -> str:
    return sim.url_for("facebook") + "/v21.0"


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def graph_error(response: requests.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    assert error["fbtrace_id"] and error["type"]
    return error


def photo(api: str, data: bytes, token: str = TOKEN, **fields: str) -> requests.Response:
    return requests.post(
        f"{api}/{PAGE}/photos",
        headers=auth(token),
        files={"source": ("p.jpg", data, "image/jpeg")},
        data=fields,
        timeout=5,
    )


def feed(api: str, token: str = TOKEN, **kwargs: Any) -> requests.Response:
    return requests.post(f"{api}/{PAGE}/feed", headers=auth(token), timeout=5, **kwargs)


# -- posting -----------------------------------------------------------------------------------


def test_text_post_any_version_and_token_placement(sim: Simulator, api: str) -> None:
    base = sim.url_for("facebook")
    first = requests.post(
        f"{base}/v19.0/{PAGE}/feed", data={"message": "one", "access_token": TOKEN}, timeout=5
    )
    second = requests.post(
        f"{base}/{PAGE}/feed", params={"access_token": TOKEN}, json={"message": "two"}, timeout=5
    )
    third = feed(api, json={"message": "three", "access_token": TOKEN})
    for response in (first, second, third):
        assert response.status_code == 200, response.text
        post_id = response.json()["id"]
        assert post_id.startswith(PAGE + "_") and post_id.split("_")[1].isdigit()
    entries = sim.ledger("facebook")
    assert [e.text for e in entries] == ["one", "two", "three"]
    assert entries[0].url == f"{base}/www.facebook.com/{first.json()['id']}"
    assert entries[0].account == "HeraldPage" and entries[0].extra["page_id"] == PAGE


def test_two_photos_with_alt_text_in_one_post(sim: Simulator, api: str) -> None:
    photo_a, photo_b = jpeg(gps=True), jpeg((30, 30), "white")
    ids = []
    for data, alt in ((photo_a, "A purple card"), (photo_b, "A white square")):
        response = photo(api, data, published="false", alt_text_custom=alt, temporary="false")
        assert response.status_code == 200 and set(response.json()) == {"id"}
        ids.append(response.json()["id"])
    response = feed(
        api,
        data={
            "message": "Two photos",
            "attached_media[0]": json.dumps({"media_fbid": ids[0]}),
            "attached_media[1]": json.dumps({"media_fbid": ids[1]}),
        },
    )
    assert response.status_code == 200, response.text
    post_id = response.json()["id"]
    (entry,) = sim.ledger("facebook")
    assert entry.remote_id == post_id and entry.text == "Two photos"
    assert [(m.alt_text, m.width, m.has_gps) for m in entry.media] == [
        ("A purple card", 64, True),
        ("A white square", 30, False),
    ]
    assert sim.media_bytes("facebook", ids[0]) == photo_a
    node = requests.get(
        f"{api}/{post_id}", params={"fields": "message,permalink_url,attachments"}, headers=auth(), timeout=5
    ).json()
    assert node["id"] == post_id and node["message"] == "Two photos"
    assert node["permalink_url"] == entry.url
    assert [a["description"] for a in node["attachments"]["data"]] == ["A purple card", "A white square"]
    assert requests.get(entry.url, timeout=5).status_code == 200


def test_attached_media_as_json(sim: Simulator, api: str) -> None:
    ids = [photo(api, jpeg(), published="false").json()["id"] for _ in range(2)]
    response = feed(api, json={"message": "json", "attached_media": [{"media_fbid": i} for i in ids]})
    assert response.status_code == 200
    assert len(sim.ledger("facebook")[0].media) == 2


def test_single_published_photo_is_a_post(sim: Simulator, api: str, files: str) -> None:
    response = photo(api, jpeg(), caption="Caption text", alt_text_custom="alt")
    assert response.status_code == 200
    body = response.json()
    assert body["post_id"].startswith(PAGE + "_") and body["id"].isdigit()
    by_url = requests.post(
        f"{api}/{PAGE}/photos",
        headers=auth(),
        data={"url": f"{files}/photo.jpg", "message": "by url"},
        timeout=5,
    )
    assert by_url.status_code == 200, by_url.text
    first, second = sim.ledger("facebook")
    assert (first.text, first.media[0].alt_text) == ("Caption text", "alt")
    assert (
        second.text == "by url"
        and sim.media_bytes("facebook", second.media[0].media_id) == _Files.files["/photo.jpg"]
    )


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"data": {"caption": "no file"}}, 324),
        ({"files": {"source": ("x.jpg", b"not an image", "image/jpeg")}}, 324),
        ({"files": {"source": ("x.webp", webp(), "image/webp")}}, 324),
        ({"files": {"source": ("x.jpg", jpeg() + b"\0" * (10 * 1024 * 1024), "image/jpeg")}}, 100),
        ({"data": {"url": "https://example.com/photo.jpg"}}, 100),
    ],
)
def test_photo_rejections(sim: Simulator, api: str, kwargs: dict[str, Any], code: int) -> None:
    response = requests.post(f"{api}/{PAGE}/photos", headers=auth(), timeout=5, **kwargs)
    assert response.status_code == 400 and graph_error(response)["code"] == code
    assert sim.ledger() == []


def test_attached_media_rejections(sim: Simulator, api: str) -> None:
    mine = photo(api, jpeg(), published="false").json()["id"]
    theirs = photo(api, jpeg(), OTHER_TOKEN, published="false")
    assert theirs.status_code == 403  # OtherPage's token cannot post to this page
    other_page = requests.post(
        f"{api}/{OTHER_PAGE}/photos",
        headers=auth(OTHER_TOKEN),
        files={"source": ("p.jpg", jpeg(), "image/jpeg")},
        data={"published": "false"},
        timeout=5,
    ).json()["id"]
    published = photo(api, jpeg()).json()["id"]
    assert (
        feed(api, data={"message": "ok", "attached_media[0]": json.dumps({"media_fbid": mine})}).status_code
        == 200
    )
    for fbid in (mine, other_page, published, "999"):
        response = feed(
            api, data={"message": f"with {fbid}", "attached_media[0]": json.dumps({"media_fbid": fbid})}
        )
        assert response.status_code == 400
        assert (
            graph_error(response)["code"] == 100 and "attached_media[0]" in graph_error(response)["message"]
        )
    empty = feed(api, data={})
    assert graph_error(empty)["message"] == "(#100) Missing message or attachment"
    bad_json = feed(api, data={"attached_media[0]": "{not json"})
    assert graph_error(bad_json)["code"] == 100
    assert len(sim.ledger("facebook")) == 2  # the published photo and the one good post


def test_duplicate_consecutive_message_is_506(sim: Simulator, api: str) -> None:
    assert feed(api, data={"message": "same"}).status_code == 200
    duplicate = feed(api, data={"message": "same"})
    error = graph_error(duplicate)
    assert duplicate.status_code == 400 and error["code"] == 506
    assert error["message"] == "(#506) Duplicate status message"
    assert feed(api, data={"message": "different"}).status_code == 200
    assert feed(api, data={"message": "same"}).status_code == 200  # no longer the latest
    assert [e.text for e in sim.ledger("facebook")] == ["same", "different", "same"]


# -- auth --------------------------------------------------------------------------------------


def test_token_errors(sim: Simulator, api: str) -> None:
    missing = requests.post(f"{api}/{PAGE}/feed", data={"message": "x"}, timeout=5)
    assert missing.status_code == 400 and graph_error(missing)["code"] == 104
    bad = feed(api, "nope", data={"message": "x"})
    error = graph_error(bad)
    assert (error["code"], error["type"]) == (190, "OAuthException") and "error_subcode" not in error
    assert "invalid_token" in bad.headers["WWW-Authenticate"]
    sim.add_account(
        "facebook",
        username="HeraldPage",
        page_id=PAGE,
        page_access_token=TOKEN,
        expires_at=str(time.time() - 1),
    )
    expired = graph_error(feed(api, data={"message": "x"}))
    assert (expired["code"], expired["error_subcode"]) == (190, 463)
    assert expired["message"].startswith("Error validating access token: Session has expired on ")
    sim.add_account(
        "facebook", username="HeraldPage", page_id=PAGE, page_access_token=TOKEN, password_changed="1"
    )
    changed = graph_error(feed(api, data={"message": "x"}))
    assert (changed["code"], changed["error_subcode"]) == (190, 460)
    sim.add_account("facebook", username="HeraldPage", page_id=PAGE, page_access_token=TOKEN)
    assert feed(api, data={"message": "x"}).status_code == 200
    assert [e.text for e in sim.ledger()] == ["x"]


def test_nodes_the_token_cannot_use(api: str) -> None:
    other = requests.post(f"{api}/{OTHER_PAGE}/feed", headers=auth(), data={"message": "x"}, timeout=5)
    assert other.status_code == 403 and graph_error(other)["code"] == 200
    unknown = requests.get(f"{api}/424242", headers=auth(), timeout=5)
    error = graph_error(unknown)
    assert (error["code"], error["error_subcode"], error["type"]) == (100, 33, "GraphMethodException")
    assert error["message"].startswith("Unsupported get request. Object with ID '424242' does not exist")
    edge = requests.get(f"{api}/{PAGE}/bogus", headers=auth(), timeout=5)
    assert graph_error(edge) | {"fbtrace_id": ""} == graph_error(edge) | {
        "message": "Unknown path components: /bogus",
        "code": 2500,
        "fbtrace_id": "",
    }
    me = requests.get(f"{api}/me", params={"fields": "id,name"}, headers=auth(), timeout=5).json()
    assert me == {"id": PAGE, "name": "HeraldPage"}


# -- reconciliation and deletion ---------------------------------------------------------------


def test_feed_listing_for_reconciliation(sim: Simulator, api: str) -> None:
    ids = [feed(api, data={"message": f"post {i}"}).json()["id"] for i in range(4)]
    for edge in ("feed", "published_posts"):
        page = requests.get(
            f"{api}/{PAGE}/{edge}",
            params={"fields": "id,message,created_time,permalink_url", "limit": 3},
            headers=auth(),
            timeout=5,
        ).json()
        assert [p["message"] for p in page["data"]] == ["post 3", "post 2", "post 1"]
        assert page["data"][0]["permalink_url"] == sim.ledger()[3].url
        assert page["data"][0]["created_time"].endswith("+0000")
        assert "access_token" not in page["paging"]["next"]
        rest = requests.get(page["paging"]["next"], headers=auth(), timeout=5).json()
        assert [p["id"] for p in rest["data"]] == [ids[0]] and "next" not in rest["paging"]
    assert requests.delete(f"{api}/{ids[3]}", headers=auth(), timeout=5).json() == {"success": True}
    listing = requests.get(f"{api}/{PAGE}/feed", headers=auth(), timeout=5).json()["data"]
    assert [set(p) for p in listing] == [{"id", "message", "created_time"}] * 3
    assert ids[3] not in [p["id"] for p in listing]
    future = requests.get(f"{api}/{PAGE}/feed", params={"since": time.time() + 60}, headers=auth(), timeout=5)
    assert future.json() == {"data": []}
    again = requests.delete(f"{api}/{ids[3]}", headers=auth(), timeout=5)
    assert graph_error(again)["error_subcode"] == 33
    assert sim.deleted("facebook") == {ids[3]}
    assert requests.get(sim.ledger()[3].url, timeout=5).status_code == 404


# -- usage headers and faults ------------------------------------------------------------------


def test_usage_headers(api: str) -> None:
    response = feed(api, data={"message": "usage"})
    app = json.loads(response.headers["X-App-Usage"])
    assert set(app) == {"call_count", "total_cputime", "total_time"}
    buc = json.loads(response.headers["X-Business-Use-Case-Usage"])
    (entry,) = buc[PAGE]
    assert entry["type"] == "pages" and entry["estimated_time_to_regain_access"] == 0
    assert 0 < entry["call_count"] <= 100


def test_rate_limit_fault_is_a_graph_throttle_not_a_429(sim: Simulator, api: str) -> None:
    sim.inject(Fault("rate_limit", platform="facebook", path="/feed", reset_in=90))
    limited = feed(api, data={"message": "throttled"})
    assert limited.status_code == 400
    error = graph_error(limited)
    assert (error["code"], error["is_transient"]) == (32, True)
    assert json.loads(limited.headers["X-App-Usage"])["call_count"] == 100
    (entry,) = json.loads(limited.headers["X-Business-Use-Case-Usage"])[PAGE]
    assert entry["estimated_time_to_regain_access"] == 2 and entry["call_count"] == 100
    assert "Retry-After" not in limited.headers
    assert sim.ledger() == []


@pytest.mark.parametrize(("status", "code"), [(500, 1), (503, 2), (400, 100)])
def test_error_faults_use_the_graph_envelope(sim: Simulator, api: str, status: int, code: int) -> None:
    sim.inject(Fault("error", platform="facebook", status=status))
    response = feed(api, data={"message": "x"})
    assert response.status_code == status and graph_error(response)["code"] == code
    assert sim.ledger() == []


def test_commit_then_drop_then_reconcile(sim: Simulator, api: str) -> None:
    sim.inject(Fault("commit_then_drop", platform="facebook", path="/feed", method="POST"))
    with pytest.raises(requests.ConnectionError):
        feed(api, data={"message": "sent, no answer"})
    listing = requests.get(
        f"{api}/{PAGE}/feed", params={"fields": "message"}, headers=auth(), timeout=5
    ).json()
    assert [p["message"] for p in listing["data"]] == ["sent, no answer"]
    assert graph_error(feed(api, data={"message": "sent, no answer"}))["code"] == 506


def test_expiry_over_the_control_api(sim: Simulator, api: str) -> None:
    client = SimulatorClient(sim.base_url)
    client.add_account(
        "facebook", username="HeraldPage", page_id=PAGE, page_access_token=TOKEN, expires_at="1"
    )
    assert graph_error(feed(api, data={"message": "x"}))["error_subcode"] == 463
    client.add_account("facebook", username="HeraldPage", page_id=PAGE, page_access_token=TOKEN)
    assert feed(api, data={"message": "x"}).status_code == 200
    assert client.ledger("facebook") == sim.ledger("facebook")
    bad = requests.post(
        sim.base_url + "/_sim/accounts",
        json={
            "platform": "facebook",
            "username": "p",
            "page_id": "1",
            "page_access_token": "t",
            "expires_at": "soon",
        },
        timeout=5,
    )
    assert bad.status_code == 400 and "expires_at" in bad.json()["error"]


def test_request_log_records_the_unversioned_path(sim: Simulator, api: str) -> None:
    feed(api, data={"message": "logged"})
    requests.post(
        f"{sim.url_for('facebook')}/{PAGE}/feed", headers=auth(), data={"message": "bare"}, timeout=5
    )
    assert [(s.method, s.path, s.status) for s in sim.requests_seen("facebook")] == [
        ("POST", f"/{PAGE}/feed", 200),
        ("POST", f"/{PAGE}/feed", 200),
    ]
