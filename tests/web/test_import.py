"""Bulk import from the browser (``/import``): a CSV file and the photos it names, through the
real service (Redis + SQLite) with CSRF; all or nothing, every problem named by its line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.photos import exif_of, jpeg
from tests.web import STAFF, add_channels, add_people, web_client


@pytest.fixture
def client(herald: Any) -> Iterator[TestClient]:
    add_channels(herald)
    add_people(herald)
    with web_client(herald, STAFF) as c:
        yield c


def _token(client: TestClient) -> str:
    r = client.get("/import")
    assert r.status_code == 200
    m = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', r.text)
    assert m
    return m.group(1)


def _post(client: TestClient, csv: str, *, photos: dict[str, bytes] | None = None, **data: str) -> Any:
    files: list[tuple[str, tuple[str, bytes, str]]] = [("csv", ("plan.csv", csv.encode(), "text/csv"))]
    files += [("photos", (name, body, "image/jpeg")) for name, body in (photos or {}).items()]
    return client.post("/import", data=data, files=files)


def _state(herald: Any) -> tuple[Any, ...]:
    r = herald.queue.redis
    return (herald.list_posts(), sorted(r.keys("*")), r.zrange(herald.queue.keys.due, 0, -1, withscores=True))


def test_the_page_is_in_the_navigation(client: TestClient) -> None:
    page = client.get("/").text
    assert 'href="/import"' in page
    form = client.get("/import").text
    assert 'enctype="multipart/form-data"' in form and 'name="photos"' in form


def test_import_with_photos_queues_every_row(client: TestClient, herald: Any) -> None:
    token = _token(client)
    csv = (
        "channels,at,text,text:x1,photo1,alt1\n"
        'm1;x1,now,"평화 통일, together","평화 통일 (X)",march.jpg,Marchers in Seoul\n'
        "m1,2030-01-01T09:00+09:00,second,,,\n"
    )
    # The browser sends whatever name the file had; only its last part is used.
    r = _post(client, csv, photos={"../../march.jpg": jpeg(gps=True)}, csrf_token=token)
    assert r.status_code == 200, r.text
    assert "2 posts queued" in r.text
    posts = {p.text: p for p in herald.list_posts()}
    assert set(posts) == {"평화 통일, together", "second"}
    rows = herald.delivery_log(post_id=posts["평화 통일, together"].id)
    payloads = herald.queue.payloads([row.delivery_id for row in rows])
    photo = next(p for p in payloads.values()).photos[0]
    # The platforms get a neutral name, never the person's (tests/e2e/test_trust_names.py).
    assert photo.alt_text == "Marchers in Seoul" and photo.filename == "photo-1.jpg"
    data = herald.queue.photos([photo.sha256])[photo.sha256]
    assert 0x8825 not in exif_of(data)  # GPS gone before anything was stored


def test_bad_rows_are_listed_by_line_and_nothing_is_queued(client: TestClient, herald: Any) -> None:
    token = _token(client)
    before = _state(herald)
    csv = (
        "channels,at,text,photo1\n"
        "m1,now,fine,\n"
        "nope,now,hi,\n"
        "m1,2020-01-01T00:00Z,old,\n"
        "m1,now,with photo,../../etc/passwd\n"
        "x1,now," + "가" * 150 + ",\n"
    )
    r = _post(client, csv, csrf_token=token)
    assert r.status_code == 422
    text = r.text
    assert "Nothing was queued" in text
    for line, words in (
        ("line 3", "unknown channel"),
        ("line 4", "past"),
        ("line 5", "was not uploaded"),
        ("line 6", "280"),
    ):
        assert re.search(rf"{line}:[^<]*{words}", text), (line, words)
    assert "line 2" not in text
    assert _state(herald) == before


def test_check_only_and_csrf(client: TestClient, herald: Any) -> None:
    before = _state(herald)
    r = _post(client, "channels,at,text\nm1,now,hello\nx1,now,hi\n", csrf_token=_token(client), dry_run="1")
    assert r.status_code == 200 and "2 posts would be queued" in r.text
    r = _post(client, "channels,at,text\nm1,now,hello\n")  # no token
    assert r.status_code == 403
    r = client.post("/import", data={"csrf_token": _token(client)}, files=[("csv", ("", b"", "text/csv"))])
    assert r.status_code == 422 and "choose a CSV file" in r.text
    assert _state(herald) == before
