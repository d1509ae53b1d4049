"""Simulator core: control API, faults, request log, photo metadata, concurrency, CLI."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from herald.simulator import BUILTIN_PLATFORMS, SANDBOX_ACCOUNTS, Fault, Simulator, SimulatorClient
from herald.simulator.server import InvalidImage, find_urls, inspect_image

TOKEN = "core-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
REPO = Path(__file__).resolve().parents[2]


def jpeg(
    *, exif: Image.Exif | None = None, xmp: bytes | None = None, size: tuple[int, int] = (40, 30)
) -> bytes:
    out = io.BytesIO()
    options: dict[str, object] = {}
    if exif is not None:
        options["exif"] = exif
    if xmp is not None:
        options["xmp"] = xmp
    Image.new("RGB", size, "orange").save(out, "JPEG", **options)
    return out.getvalue()


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (37.0, 33.0, 0.0)
    return exif


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        simulator.add_account("mastodon", username="core", access_token=TOKEN)
        yield simulator


@pytest.fixture(autouse=True)
def clean(sim: Simulator) -> None:
    sim.reset()
    sim.mastodon_async_media = 0


def post_status(sim: Simulator, text: str, session: requests.Session | None = None) -> requests.Response:
    sender = session or requests
    return sender.post(
        f"{sim.url_for('mastodon')}/api/v1/statuses", headers=HEADERS, data={"status": text}, timeout=5
    )


# -- lifecycle and routing ---------------------------------------------------------------------


def test_urls_and_health(sim: Simulator) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sim.base_url)
    assert sim.url_for("x") == sim.base_url + "/x"
    assert requests.get(sim.base_url + "/_sim/health", timeout=5).json() == {
        "status": "ok",
        "platforms": list(BUILTIN_PLATFORMS),
    }
    assert requests.get(sim.base_url + "/myspace/api/x", timeout=5).status_code == 404
    with pytest.raises(ValueError):
        sim.url_for("myspace")


def test_account_validation(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="access_token"):
        sim.add_account("mastodon", username="nobody")
    with pytest.raises(ValueError, match="api_secret"):
        sim.add_account("x", username="nobody", api_key="k", access_token="t", access_token_secret="s")
    with pytest.raises(ValueError):
        sim.add_account("myspace", username="tom", token="t")


def test_stop_closes_keep_alive_connections() -> None:
    simulator = Simulator().start()
    simulator.add_account("mastodon", username="a", access_token="t")
    session = requests.Session()
    assert session.get(simulator.base_url + "/_sim/health", timeout=5).status_code == 200
    simulator.stop()
    simulator.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        session.get(simulator.base_url + "/_sim/health", timeout=2)


# -- control API over HTTP ---------------------------------------------------------------------


def test_control_api_over_http(sim: Simulator) -> None:
    control = sim.base_url + "/_sim"
    created = requests.post(
        control + "/accounts",
        json={"platform": "mastodon", "username": "remote", "access_token": "remote-token"},
        timeout=5,
    )
    assert created.status_code == 201
    api = sim.url_for("mastodon")
    photo = jpeg()
    media = requests.post(
        f"{api}/api/v2/media",
        headers={"Authorization": "Bearer remote-token"},
        files={"file": ("p.jpg", photo, "image/jpeg")},
        data={"description": "orange"},
        timeout=5,
    ).json()
    status = requests.post(
        f"{api}/api/v1/statuses",
        headers={"Authorization": "Bearer remote-token"},
        data={"status": "over http", "media_ids[]": [media["id"]]},
        timeout=5,
    ).json()
    ledger = requests.get(control + "/ledger", params={"platform": "mastodon"}, timeout=5).json()
    assert [(e["account"], e["text"], e["remote_id"], e["deleted"]) for e in ledger] == [
        ("remote", "over http", status["id"], False)
    ]
    assert ledger[0]["media"][0]["alt_text"] == "orange" and "data" not in ledger[0]["media"][0]
    raw = requests.get(f"{control}/media/mastodon/{media['id']}", timeout=5)
    assert raw.content == photo and raw.headers["Content-Type"] == "image/jpeg"
    assert requests.get(control + "/media/mastodon/1", timeout=5).status_code == 404

    fault = {"kind": "error", "platform": "mastodon", "path": "/api/v1/statuses", "status": 502, "count": 1}
    assert requests.post(control + "/faults", json=fault, timeout=5).status_code == 201
    assert requests.get(control + "/faults", timeout=5).json()[0]["status"] == 502
    assert post_status(sim, "hit").status_code == 502
    assert post_status(sim, "passes").status_code == 200
    requests.post(control + "/faults", json={**fault, "count": None}, timeout=5)
    assert requests.delete(control + "/faults", timeout=5).status_code == 200
    assert post_status(sim, "cleared").status_code == 200

    seen = requests.get(control + "/requests", params={"platform": "mastodon"}, timeout=5).json()
    assert [r["status"] for r in seen if r["path"] == "/api/v1/statuses"] == [200, 502, 200, 200]
    assert requests.post(control + "/reset", timeout=5).json() == {"reset": True}
    assert requests.get(control + "/ledger", timeout=5).json() == []
    # Accounts survive a reset.
    assert (
        requests.get(
            f"{api}/api/v1/accounts/verify_credentials",
            headers={"Authorization": "Bearer remote-token"},
            timeout=5,
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "explode"},
        {"kind": "error", "count": 0},
        {"kind": "error", "probability": 2},
        {"kind": "error", "colour": "red"},
        {"kind": "error", "platform": "myspace"},
    ],
)
def test_control_api_rejects_bad_faults(sim: Simulator, body: dict[str, object]) -> None:
    response = requests.post(sim.base_url + "/_sim/faults", json=body, timeout=5)
    assert response.status_code == 400 and response.json()["error"]


def test_control_api_rejects_bad_accounts(sim: Simulator) -> None:
    bad = requests.post(sim.base_url + "/_sim/accounts", json={"platform": "x", "username": "y"}, timeout=5)
    assert bad.status_code == 400
    not_json = requests.post(sim.base_url + "/_sim/accounts", data=b"{", timeout=5)
    assert not_json.status_code == 400


def test_simulator_client(sim: Simulator) -> None:
    client = SimulatorClient(sim.base_url)
    assert client.health()["status"] == "ok"
    client.add_account("mastodon", username="client", access_token="client-token")
    client.configure(mastodon_async_media=1)
    assert sim.mastodon_async_media == 1
    client.configure(mastodon_async_media=0)
    client.inject(Fault("error", platform="mastodon", status=500))
    assert post_status(sim, "fails").status_code == 500
    first = post_status(sim, "one").json()["id"]
    requests.delete(f"{sim.url_for('mastodon')}/api/v1/statuses/{first}", headers=HEADERS, timeout=5)
    ledger = client.ledger("mastodon")
    assert ledger == sim.ledger("mastodon") and ledger[0].text == "one"
    assert client.deleted("mastodon") == {first}
    assert [r.status for r in client.requests_seen("mastodon")] == [500, 200, 200]
    client.inject(Fault("drop", count=None))
    client.clear_faults()
    assert sim.faults() == []
    client.reset()
    assert sim.ledger() == []


def test_feed_page_lists_posts_with_thumbnails(sim: Simulator) -> None:
    assert "No posts yet" in requests.get(sim.base_url + "/_sim/", timeout=5).text
    api = sim.url_for("mastodon")
    media = requests.post(
        f"{api}/api/v2/media",
        headers=HEADERS,
        files={"file": ("p.jpg", jpeg(), "image/jpeg")},
        data={"description": "a <sunset>"},
        timeout=5,
    ).json()
    requests.post(
        f"{api}/api/v1/statuses",
        headers=HEADERS,
        data={"status": "Hello <world>", "media_ids[]": [media["id"]]},
        timeout=5,
    )
    page = requests.get(sim.base_url + "/_sim/", timeout=5)
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Hello &lt;world&gt;" in page.text
    assert f'src="/_sim/media/mastodon/{media["id"]}"' in page.text
    assert "a &lt;sunset&gt;" in page.text


# -- faults ------------------------------------------------------------------------------------


def test_fault_count_method_and_path_filters(sim: Simulator) -> None:
    sim.inject(Fault("error", platform="x"))  # another platform: never hits
    sim.inject(Fault("error", platform="mastodon", method="GET"))  # another method
    sim.inject(Fault("error", platform="mastodon", path="/api/v2/media"))  # another path
    sim.inject(Fault("error", platform="mastodon", path="/statuses", method="post", count=2, status=500))
    statuses = [post_status(sim, f"try {i}").status_code for i in range(3)]
    assert statuses == [500, 500, 200]
    assert len(sim.faults()) == 3  # the spent one is gone
    assert [r.fault for r in sim.requests_seen("mastodon")] == ["error", "error", None]


def test_fault_probability(sim: Simulator) -> None:
    sim.random.seed(7)
    sim.inject(Fault("error", platform="mastodon", count=None, probability=0.5))
    results = [post_status(sim, f"p{i}").status_code for i in range(40)]
    assert 5 < results.count(503) < 35 and results.count(200) == len(sim.ledger())
    sim.clear_faults()
    sim.inject(Fault("error", platform="mastodon", count=3, probability=1.0))
    assert [post_status(sim, f"c{i}").status_code for i in range(5)] == [503, 503, 503, 200, 200]
    sim.inject(Fault("error", platform="mastodon", count=None, probability=0.0))
    assert post_status(sim, "never").status_code == 200


def test_drop_on_a_keep_alive_connection(sim: Simulator) -> None:
    session = requests.Session()
    assert post_status(sim, "before", session).status_code == 200
    sim.inject(Fault("drop", platform="mastodon"))
    with pytest.raises(requests.ConnectionError):
        post_status(sim, "dropped", session)
    assert post_status(sim, "after", session).status_code == 200
    assert [e.text for e in sim.ledger()] == ["before", "after"]


def test_commit_then_drop_applies(sim: Simulator) -> None:
    sim.inject(Fault("commit_then_drop", platform="mastodon"))
    with pytest.raises(requests.ConnectionError):
        post_status(sim, "committed")
    assert [e.text for e in sim.ledger()] == ["committed"]
    assert sim.requests_seen()[-1].status == 0


def test_slow_fault(sim: Simulator) -> None:
    sim.inject(Fault("slow", platform="mastodon", delay=0.25))
    started = time.monotonic()
    assert post_status(sim, "slow").status_code == 200
    assert time.monotonic() - started >= 0.25
    assert len(sim.ledger()) == 1


def test_requests_seen(sim: Simulator) -> None:
    before = time.time()
    post_status(sim, "one")
    requests.get(sim.url_for("x") + "/2/users/me", timeout=5)
    requests.get(sim.base_url + "/_sim/health", timeout=5)  # control calls are not recorded
    seen = sim.requests_seen()
    assert [(r.platform, r.method, r.path, r.status) for r in seen] == [
        ("mastodon", "POST", "/api/v1/statuses", 200),
        ("x", "GET", "/2/users/me", 401),
    ]
    assert all(r.time >= before for r in seen)
    assert len(sim.requests_seen("x")) == 1


def test_concurrent_posts(sim: Simulator) -> None:
    # 480 posts on one account, over Mastodon's 300 per 3 h: accepted (and recorded as
    # violations) so that this stays a test of concurrent commits.
    sim.enforce_post_limits = 0
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        session = requests.Session()
        try:
            for i in range(60):
                response = post_status(sim, f"w{number}-{i}", session)
                assert response.status_code == 200
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ledger = sim.ledger()
    assert len(ledger) == 480 and len({e.remote_id for e in ledger}) == 480
    assert [int(e.remote_id) for e in ledger] == sorted(int(e.remote_id) for e in ledger)


# -- photo metadata ----------------------------------------------------------------------------


def test_inspect_plain_jpeg() -> None:
    info = inspect_image(jpeg(size=(40, 30)))
    assert (info.mime_type, info.width, info.height) == ("image/jpeg", 40, 30)
    assert not (info.has_exif or info.has_gps or info.has_xmp)


def test_inspect_jpeg_with_gps_exif() -> None:
    info = inspect_image(jpeg(exif=gps_exif()))
    assert info.has_exif and info.has_gps and not info.has_xmp


def test_inspect_jpeg_with_exif_but_no_gps() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    info = inspect_image(jpeg(exif=exif))
    assert info.has_exif and not info.has_gps


def test_inspect_xmp_with_and_without_gps() -> None:
    packet = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>%s</rdf:RDF></x:xmpmeta>'
    with_gps = inspect_image(jpeg(xmp=packet % b"<exif:GPSLatitude>37,33.0N</exif:GPSLatitude>"))
    assert with_gps.has_xmp and with_gps.has_gps and not with_gps.has_exif
    without = inspect_image(jpeg(xmp=packet % b"<dc:title>t</dc:title>"))
    assert without.has_xmp and not without.has_gps


def test_inspect_png_with_exif() -> None:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "PNG", exif=gps_exif())
    info = inspect_image(out.getvalue())
    assert info.mime_type == "image/png" and info.has_exif and info.has_gps


@pytest.mark.parametrize("data", [b"", b"GIF89a", b"hello world", jpeg(size=(300, 300))[:400]])
def test_inspect_rejects_non_images(data: bytes) -> None:
    with pytest.raises(InvalidImage):
        inspect_image(data)


def test_ledger_reports_gps_of_uploaded_photo(sim: Simulator) -> None:
    api = sim.url_for("mastodon")
    photo = jpeg(exif=gps_exif())
    media = requests.post(
        f"{api}/api/v2/media", headers=HEADERS, files={"file": ("gps.jpg", photo, "image/jpeg")}, timeout=5
    ).json()
    requests.post(f"{api}/api/v1/statuses", headers=HEADERS, json={"media_ids": [media["id"]]}, timeout=5)
    (attached,) = sim.ledger()[0].media
    assert attached.has_gps and attached.has_exif
    assert sim.media_bytes("mastodon", attached.media_id) == photo


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("see https://example.com.", ["https://example.com"]),
        ("(http://example.com/a_(b))", ["http://example.com/a_(b)"]),
        ("two http://a.io, https://b.io!", ["http://a.io", "https://b.io"]),
        ("no link http:// here", []),
        ("ftp://example.com", []),
    ],
)
def test_find_urls(text: str, urls: list[str]) -> None:
    assert [text[a:b] for a, b in find_urls(text)] == urls


# -- command line ------------------------------------------------------------------------------


def test_python_m_simulator_sandbox(tmp_path: Path) -> None:
    account_file = tmp_path / "accounts.json"
    account_file.write_text(
        json.dumps([{"platform": "mastodon", "username": "extra", "access_token": "extra-tok"}])
    )
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "herald.simulator",
            "--port",
            "0",
            "--sandbox",
            "--account-file",
            str(account_file),
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as process:
        try:
            assert process.stderr is not None
            base_url = None
            deadline = time.monotonic() + 10
            while base_url is None and time.monotonic() < deadline:
                line = process.stderr.readline()
                match = re.search(r"serving (http://127\.0\.0\.1:\d+)", line)
                base_url = match.group(1) if match else None
            assert base_url is not None
            mastodon = next(a for a in SANDBOX_ACCOUNTS if a["platform"] == "mastodon")
            for token in (mastodon["access_token"], "extra-tok"):
                response = requests.get(
                    base_url + "/mastodon/api/v1/accounts/verify_credentials",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=5,
                )
                assert response.status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
