"""The composer's newcomer fixes over a real service (Redis + SQLite), signed in through the real
form: the live counter's endpoint (the same numbers as the "Check" button, its refusals), the
photo credit reaching the stored photo and the preview, and the whole IANA zone list."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from herald.web.forms import MAX_COUNT_TEXT_CHARS
from herald.web.zones import BROWSER_ZONE_COOKIE, ZONE_NAMES
from tests.e2e.browser import add_person
from tests.web import ADMIN, STAFF, add_channels, csrf_of, jpeg_bytes, web_client

#: X weighs each Hangul syllable 2: 150 of them are 300, over its 280.
HANGUL = "가" * 150
#: One family emoji (seven code points joined) is one grapheme on Bluesky.
FAMILY = "👨\u200d👩\u200d👧\u200d👦"
CAT = {"photo1": ("cat.jpg", jpeg_bytes(), "image/jpeg")}


@pytest.fixture
def staff(herald: Any) -> Iterator[TestClient]:
    add_channels(herald)
    herald.add_channel("b1", "bluesky", {"handle": "h.example", "app_password": "pw-b1-12345"})
    add_person(herald, STAFF)
    with web_client(herald, STAFF) as c:
        yield c


def token_of(client: TestClient) -> str:
    r = client.get("/compose")
    assert r.status_code == 200, r.text
    return csrf_of(r.text)


def count(client: TestClient, token: str | None, **fields: Any) -> Any:
    data = dict(fields)
    if token is not None:
        data["csrf_token"] = token
    return client.post("/compose/count", data=data, follow_redirects=False)


def checked(client: TestClient, token: str, **fields: Any) -> str:
    """The page the "Check" button answers with."""
    data = {"tz": "UTC", "action": "check", "csrf_token": token, **fields}
    r = client.post("/compose", data=data, files={"photo1": ("", b"", "application/octet-stream")})
    assert r.status_code == 200, r.text
    return r.text


def check_numbers(html: str, channel: str) -> tuple[int, int]:
    """Count and limit of ``channel``'s row in the check table."""
    row = re.search(rf"<th scope=\"row\">{channel} .*?</tr>", html, re.S)
    assert row, html
    nums = re.findall(r'<td class="num">([\d,]+)</td>', row.group(0))
    return int(nums[0].replace(",", "")), int(nums[1].replace(",", ""))


def test_counter_numbers_are_the_checks(staff: TestClient) -> None:
    token = token_of(staff)
    text = HANGUL + " " + FAMILY * 3
    r = count(staff, token, text=text, channels=["x1", "b1", "m1"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    rows = {row["channel"]: row for row in r.json()["channels"]}
    assert list(rows) == ["x1", "b1", "m1"]
    page = checked(staff, token, text=text, channels=["x1", "b1", "m1"])
    for name in rows:
        assert (rows[name]["count"], rows[name]["limit"]) == check_numbers(page, name)
    # X: Hangul weighs 2 (300 + 1 + three emoji at 2 each); over 280, so not fitting.
    assert rows["x1"]["count"] > 300
    assert rows["x1"]["limit"] == 280 and rows["x1"]["fits"] is False
    # Bluesky: graphemes (150 + 1 + 3).
    assert rows["b1"]["count"] == 154 and rows["b1"]["unit"] == "graphemes"
    assert rows["b1"]["fits"] is True


def test_a_channels_own_text_is_counted_as_its_own(staff: TestClient) -> None:
    token = token_of(staff)
    r = count(staff, token, text="hello", channels=["x1", "m1"], **{"text_for.x1": "가나다"})
    rows = {row["channel"]: row for row in r.json()["channels"]}
    assert rows["x1"]["own_text"] is True and rows["x1"]["count"] == 6
    assert rows["m1"]["own_text"] is False and rows["m1"]["count"] == 5


def test_no_channel_ticked_counts_nothing(staff: TestClient) -> None:
    r = count(staff, token_of(staff), text="hello")
    assert r.status_code == 200 and r.json() == {"channels": []}


def test_counter_needs_a_signed_in_person(herald: Any) -> None:
    add_channels(herald)
    with web_client(herald, None) as anonymous:
        r = anonymous.post("/compose/count", data={"text": "hi", "channels": "x1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("/login")


def test_counter_refuses_a_missing_or_wrong_csrf_token(staff: TestClient) -> None:
    assert count(staff, None, text="hi", channels="x1").status_code == 403
    assert count(staff, "forged", text="hi", channels="x1").status_code == 403


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"text": "a" * (MAX_COUNT_TEXT_CHARS + 1), "channels": "x1"}, "text"),
        ({"text": "nul\x00here", "channels": "x1"}, "text"),
        ({"text": "hi", "channels": "x1", "text_for.x1": "\x07bell"}, "text-for x1"),
        ({"text": "hi", "channels": ["x1", "nope"]}, "channel"),
    ],
)
def test_hostile_input_is_a_clear_422(staff: TestClient, fields: dict[str, Any], field: str) -> None:
    r = count(staff, token_of(staff), **fields)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field and r.json()["detail"]


def test_the_credit_reaches_the_stored_photo_and_the_preview(staff: TestClient, herald: Any) -> None:
    token = token_of(staff)
    fields = {
        "tz": "UTC",
        "now": "1",
        "text": "hello",
        "channels": "m1",
        "alt1": "a blue square",
        "credit1": "Kim Minji / Herald",
        "csrf_token": token,
    }
    preview = staff.post("/compose", data={**fields, "action": "preview"}, files=CAT)
    assert preview.status_code == 200, preview.text
    assert "Credit: Kim Minji / Herald" in preview.text
    r = staff.post("/compose", data={**fields, "action": "queue"}, files=CAT, follow_redirects=False)
    assert r.status_code == 303, r.text
    [post] = herald.list_posts()
    from sqlalchemy import select

    from herald.store.models import PostPhoto

    with herald.db.session() as s:
        [photo] = s.scalars(select(PostPhoto).where(PostPhoto.post_id == post.id)).all()
        assert (photo.alt_text, photo.credit) == ("a blue square", "Kim Minji / Herald")


def test_a_credit_with_a_control_character_is_refused(staff: TestClient, herald: Any) -> None:
    data = {"tz": "UTC", "now": "1", "text": "hi", "channels": "m1", "credit1": "x\x00y"}
    r = staff.post("/compose", data={**data, "csrf_token": token_of(staff)}, files=CAT)
    assert r.status_code == 422 and "control character" in r.text
    assert herald.list_posts() == []


def test_the_zone_lists_are_the_whole_iana_list(staff: TestClient, herald: Any) -> None:
    assert ZONE_NAMES[0] == "UTC" and "America/Argentina/Buenos_Aires" in ZONE_NAMES
    page = staff.get("/compose").text
    assert '<option value="America/Argentina/Buenos_Aires"' in page
    assert page.count("<option value=") >= len(ZONE_NAMES)
    add_person(herald, ADMIN)
    with web_client(herald, ADMIN) as admin:
        campaigns = admin.get("/campaigns").text
    assert '<option value="America/Argentina/Buenos_Aires"></option>' in campaigns


def test_the_composer_offers_the_viewers_zone(staff: TestClient) -> None:
    staff.cookies.set(BROWSER_ZONE_COOKIE, "America/Argentina/Buenos_Aires")
    page = staff.get("/compose").text
    assert '<option value="America/Argentina/Buenos_Aires" selected>' in page
    assert "Your zone." in page
    staff.cookies.set(BROWSER_ZONE_COOKIE, "../../etc/passwd")
    assert '<option value="UTC" selected>' in staff.get("/compose").text


def test_a_hostile_campaign_zone_is_refused(herald: Any) -> None:
    add_channels(herald)
    add_person(herald, ADMIN)
    with web_client(herald, ADMIN) as admin:
        token = csrf_of(admin.get("/campaigns").text)
        r = admin.post(
            "/campaigns", data={"name": "autumn", "timezone": "../../etc/passwd", "csrf_token": token}
        )
    assert r.status_code == 422, r.text
    assert "unknown time zone" in r.text
    assert "autumn" not in [c.name for c in herald.list_campaigns()]
