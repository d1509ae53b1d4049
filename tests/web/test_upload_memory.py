"""Threat: a huge upload that the web process reads whole into memory (a 600 MB one once took it
from 439 MB to 1.05 GB, and it stayed there). Against ``herald web`` as its own process: a 2 GB
body announced by Content-Length is refused before it is read, and a 2 GB body streamed without
one is cut at the post's limit; a signed-in person's multipart form up to the limit is spooled to
disk. The process's resident memory stays flat throughout."""

from __future__ import annotations

import http.client
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from herald.web.app import POST_BODY_LIMIT
from tests.web import PASSWORD, STAFF, add_channels, csrf_of
from tests.web.process import herald_web

GIB = 1024**3
MIB = 1024**2
#: How much the web process may grow while taking all of this (its start-up is not counted).
FLAT_MIB = 64


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def web(herald: Any, herald_env: dict[str, str]) -> Iterator[tuple[str, int]]:
    add_channels(herald)
    herald.add_user(STAFF, PASSWORD, "staff")
    with herald_web({**os.environ, **herald_env, "HERALD_LOG_LEVEL": "WARNING"}) as web:
        yield web


def _zeros(total: int, chunk: int = 4 * MIB) -> Iterator[bytes]:
    block = b"\0" * chunk
    sent = 0
    while sent < total:
        n = min(chunk, total - sent)
        yield block[:n]
        sent += n


def test_a_two_gigabyte_upload_keeps_the_web_process_flat(web: tuple[str, int], tmp_path: Path) -> None:
    base, pid = web
    browser = requests.Session()
    token = csrf_of(browser.get(f"{base}/login").text)
    r = browser.post(f"{base}/login", data={"email": STAFF, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 200 and "herald_session" in browser.cookies
    token = csrf_of(browser.get(f"{base}/compose").text)
    before = _rss_mib(pid)

    # Announced: refused before a byte of the body is read. Sent by hand (requests would add
    # chunked framing to a generator, which the server may refuse as malformed instead): the
    # head alone, announcing 2 GB; the answer comes without the body ever being sent.
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.putrequest("POST", "/compose")
    conn.putheader("Content-Length", str(2 * GIB))
    conn.putheader("Content-Type", "multipart/form-data; boundary=x")
    conn.putheader("Cookie", "; ".join(f"{k}={v}" for k, v in browser.cookies.items()))
    conn.endheaders()
    answer = conn.getresponse()
    assert answer.status == 413
    conn.close()

    # A real form just under the limit: a photo part the parser spools to disk, then refused by
    # the photo checks (it is zeros), never held whole in memory.
    boundary = "herald-upload-test"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nbig\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="channels"\r\n\r\nm1\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="photo1"; filename="big.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = POST_BODY_LIMIT - len(head) - len(tail) - MIB

    # Streamed without a length, 2 GB of photo: cut at the post's limit.
    def endless() -> Iterator[bytes]:
        yield head
        yield from _zeros(2 * GIB)
        yield tail

    try:
        r = browser.post(
            f"{base}/compose",
            data=endless(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        # 413 when the cut is seen as such; 400 when the server's HTTP parser meets the rest of
        # the stream after it answered and closed. Refused either way, and nothing kept.
        assert r.status_code in (413, 400)
    except requests.ConnectionError:
        pass  # answered 413 and closed while the client still sent: refused all the same
    assert _rss_mib(pid) - before < FLAT_MIB

    # A file object: requests sends it with its Content-Length, in pieces.
    form = tmp_path / "form.bin"
    with form.open("wb") as f:
        f.write(head)
        for piece in _zeros(size):
            f.write(piece)
        f.write(tail)
    with form.open("rb") as f:
        r = browser.post(
            f"{base}/compose", data=f, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
    assert r.status_code == 422, (r.status_code, r.text[:500])  # refused by name (too large / not a photo)
    grown = _rss_mib(pid) - before
    assert grown < FLAT_MIB, f"the web process grew by {grown:.0f} MiB"
