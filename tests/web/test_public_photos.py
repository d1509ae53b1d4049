"""The photo server (``herald photos``, ``herald.web.public``): the one part of Herald meant to
face the internet. It serves a shared photo by its token and nothing else: no sign-in page, no
dashboard, no API, no static files, no schema; and only under the public URL's host name."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from herald.core.settings import get_settings
from herald.web.public import create_public_app, public_hosts


@pytest.fixture
def photos(herald: Any, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setattr(get_settings(), "public_url", "https://photos.campaign.example")
    return TestClient(create_public_app(herald), base_url="https://photos.campaign.example")


def test_a_shared_photo_is_served_and_nothing_else(photos: TestClient, herald: Any) -> None:
    token = herald.queue.share_photo(b"\xff\xd8stripped", "image/jpeg", 60)
    r = photos.get(f"/p/{token}")
    assert r.status_code == 200 and r.content == b"\xff\xd8stripped"
    assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"
    for path in (
        "/",
        "/login",
        "/compose",
        "/log",
        "/users",
        "/api/v1/posts",
        "/api/v1/openapi.json",
        "/static/herald.css",
        "/docs",
    ):
        assert photos.get(path).status_code == 404, path
    assert photos.post("/login", data={"email": "a@b.c"}).status_code in (404, 405, 413)
    assert photos.get("/healthz").json() == {"ok": True}
    herald.queue.unshare_photos([token])
    assert photos.get(f"/p/{token}").status_code == 404


def test_only_the_public_host_name_is_answered(photos: TestClient, herald: Any) -> None:
    token = herald.queue.share_photo(b"\xff\xd8stripped", "image/jpeg", 60)
    assert "photos.campaign.example" in public_hosts(get_settings())
    assert photos.get(f"/p/{token}", headers={"Host": "evil.example"}).status_code == 400
