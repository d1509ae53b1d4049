"""``/campaigns`` (real app, service, Redis and SQLite, signed in through the real form as an
admin): the list, the settings form (new and edit), its errors shown by field, the one-time
note after saving, and that only admins may use it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from herald.service import MAX_CAMPAIGN_NAME_CHARS
from tests.e2e.browser import add_person
from tests.web import ADMIN, MANAGER, STAFF, csrf_of, web_client


@pytest.fixture
def admin(herald: Any) -> Iterator[TestClient]:
    add_person(herald, ADMIN)
    with web_client(herald, ADMIN) as c:
        yield c


def save(client: TestClient, token: str | None, **fields: str) -> Any:
    data = dict(fields)
    if token is not None:
        data["csrf_token"] = token
    return client.post("/campaigns", data=data, follow_redirects=False)


def campaign(herald: Any, name: str) -> Any:
    [row] = [c for c in herald.list_campaigns() if c.name == name]
    return row


def test_campaigns_page_lists_and_saves_settings(admin: TestClient, herald: Any) -> None:
    herald.set_campaign("봄 캠페인", timezone="Asia/Seoul")
    r = admin.get("/campaigns")
    assert r.status_code == 200
    assert '<th scope="row">봄 캠페인</th>' in r.text and "<td>Asia/Seoul</td>" in r.text
    token = csrf_of(r.text)
    fields = {
        "name": "시위",
        "timezone": "Asia/Seoul",
        "late_tolerance": "90",
        "require_alt_text": "1",
        "protect_faces": "blur",
    }
    assert save(admin, None, **fields).status_code == 403
    r = save(admin, token, **fields)
    assert r.status_code == 303
    assert r.headers["location"] == "/campaigns"
    assert campaign(herald, "시위").to_dict() == {
        "name": "시위",
        "timezone": "Asia/Seoul",
        "late_tolerance_seconds": 5400,
        "require_alt_text": True,
        "protect_faces": "blur",
        "requires_approval": False,
        "paused": False,
        # Campaign controls (tests/test_campaign_controls.py): no range, tags or windows yet.
        "starts_at": None,
        "ends_at": None,
        "starts_local": None,
        "ends_local": None,
        "hashtags": None,
        "utm": False,
        "utm_campaign": None,
        "blackouts": [],
    }
    # The note is on the next page only.
    page = admin.get(r.headers["location"]).text
    assert "Campaign 시위 has its new settings." in page and "90 min" in page
    assert "has its new settings" not in admin.get("/campaigns").text

    # Edit: the form comes filled in; blank fields keep what was set; "off" turns faces off.
    edit = admin.get("/campaigns", params={"edit": "시위"}).text
    assert 'id="late_tolerance" name="late_tolerance" value="90"' in edit
    assert 'id="require_alt_text" name="require_alt_text" value="1" checked' in edit
    assert '<option value="blur" selected>' in edit
    r = save(admin, token, name="시위", timezone="", late_tolerance="", protect_faces="off")
    assert r.status_code == 303
    row = campaign(herald, "시위")
    assert row.timezone == "Asia/Seoul" and row.late_tolerance_seconds == 5400
    assert row.require_alt_text is False and row.protect_faces is None


#: (fields typed, the field refused, what its message says).
BAD_SETTINGS: list[tuple[dict[str, str], str, str]] = [
    ({"name": "  "}, "name", "give the campaign a name"),
    (
        {"name": "a" * (MAX_CAMPAIGN_NAME_CHARS + 1)},
        "name",
        f"at most {MAX_CAMPAIGN_NAME_CHARS} characters",
    ),
    ({"name": "c", "late_tolerance": "soon"}, "late_tolerance", "number of minutes"),
    ({"name": "c", "late_tolerance": "-5"}, "late_tolerance", "number of minutes"),
    ({"name": "c", "timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
    ({"name": "c", "protect_faces": "erase"}, "protect_faces", "choose blur, pixelate, review, off"),
]


def test_campaign_errors_are_shown_by_field(admin: TestClient, herald: Any) -> None:
    token = csrf_of(admin.get("/campaigns").text)
    for fields, field, message in BAD_SETTINGS:
        r = save(admin, token, **fields)
        assert r.status_code == 422, fields
        html = r.text
        assert 'role="alert"' in html
        assert f'<li><a href="#{field}">' in html, fields
        assert f'aria-invalid="true" aria-describedby="{field}-error"' in html, fields
        error = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', html, re.S)
        assert error and message in error.group(1), (fields, html)
        # What was typed is still there.
        assert f'value="{fields["name"]}"' in html, fields
        assert [c.name for c in herald.list_campaigns()] == [], fields


@pytest.mark.parametrize("email", [MANAGER, STAFF])
def test_only_admins_change_campaigns(herald: Any, email: str) -> None:
    herald.set_campaign("봄", timezone="Asia/Seoul")
    add_person(herald, email)
    with web_client(herald, email) as person:
        page = person.get("/campaigns")
        assert page.status_code == 403 and "Not allowed" in page.text
        assert 'href="/campaigns"' not in person.get("/").text
        r = save(person, csrf_of(person.get("/").text), name="봄", timezone="UTC", protect_faces="blur")
        assert r.status_code == 403 and "Not allowed" in r.text
    row = campaign(herald, "봄")
    assert (row.timezone, row.protect_faces) == ("Asia/Seoul", "review")  # the default
