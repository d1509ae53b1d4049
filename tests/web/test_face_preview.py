"""Face protection on the compose page (real app, service, Redis and SQLite; OpenCV's detector
on a drawn face): a post whose photos have faces to blur or pixelate is previewed first, and
queued only when its author confirms, with exactly the photos shown. The preview is a draft of
the person who made it, bound to their CSRF token."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.browser import add_person
from tests.web import MANAGER, STAFF, add_channels, face_jpeg, jpeg_bytes, stored_photos, web_client
from tests.web.test_compose_page import OVER_X_LIMIT, compose, draft_of, form_token, same_app

FACE = {"photo1": ("face.jpg", face_jpeg(), "image/jpeg")}


@pytest.fixture
def staff(herald: Any) -> Iterator[TestClient]:
    add_channels(herald)
    add_person(herald, STAFF)
    with web_client(herald, STAFF) as c:
        yield c


def preview_images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'<img src="data:image/[a-z]+;base64,([^"]+)"', html)]


def confirm(client: TestClient, token: str | None, draft: str, action: str = "confirm") -> Any:
    data = {"draft": draft, "action": action}
    if token is not None:
        data["csrf_token"] = token
    return client.post("/compose/confirm", data=data, follow_redirects=False)


def test_faces_are_previewed_then_queued_exactly_as_shown(staff: TestClient, herald: Any) -> None:
    token = form_token(staff)
    files = {
        "photo1": ("face.jpg", face_jpeg(), "image/jpeg"),
        "photo2": ("blue.jpg", jpeg_bytes((320, 200)), "image/jpeg"),
    }
    r = compose(
        staff,
        token,
        files=files,
        text="행사 사진",
        channels=["m1"],
        now="1",
        alt1="얼굴",
        faces1="blur",
        faces2="keep",
    )
    # Nothing queued yet: the preview comes first.
    assert r.status_code == 200
    assert herald.list_posts() == []
    html = r.text
    assert "<h1>Check the faces before queueing</h1>" in html
    assert "1 face blurred." in html and "Faces left as they are." in html
    assert 'alt="Photo 1, faces blurred: 얼굴"' in html
    assert (
        '<button class="button button-primary" type="submit" name="action" value="confirm">Confirm and queue'
        in html
    )
    shown = preview_images(html)
    assert len(shown) == 2
    # The form carries only a signed token: the photos stay on the server.
    form = html.split('action="/compose/confirm"')[1]
    assert "base64" not in form and 'type="file"' not in form

    r = confirm(staff, token, draft_of(html))
    assert r.status_code == 303 and r.headers["location"] == "/"
    [post] = herald.list_posts()
    stored = stored_photos(herald, post.id)
    assert [faces for _, faces, _ in stored] == [1, None]
    # Exactly the previewed photos (small enough to be shown full size).
    assert [data for _, _, data in stored] == shown
    assert stored[0][0] == hashlib.sha256(shown[0]).hexdigest()
    assert f"Post <code>{post.id}</code> is queued for m1." in staff.get("/").text

    # A second click on "Confirm and queue" does not queue it twice.
    again = confirm(staff, token, draft_of(html))
    assert again.status_code == 303 and again.headers["location"] == r.headers["location"]
    assert len(herald.list_posts()) == 1


def test_preview_says_when_no_face_was_found(staff: TestClient, herald: Any) -> None:
    files = {"photo1": ("blue.jpg", jpeg_bytes((320, 200)), "image/jpeg")}
    r = compose(staff, form_token(staff), files=files, text="hi", channels=["m1"], now="1", faces1="pixelate")
    assert r.status_code == 200
    assert (
        '<p class="warning" role="alert"><strong>No face found — check the photo yourself.</strong></p>'
        in r.text
    )
    assert herald.list_posts() == []


def test_campaign_face_setting_asks_for_a_preview(staff: TestClient, herald: Any) -> None:
    herald.set_campaign("시위", protect_faces="pixelate", require_alt_text=False)
    token = form_token(staff)
    r = compose(staff, token, files=FACE, text="hi", channels=["m1"], now="1", campaign="시위")
    assert r.status_code == 200
    assert "1 face pixelated." in r.text and "Campaign 시위 protects faces (pixelate)." in r.text
    assert confirm(staff, token, draft_of(r.text)).status_code == 303
    [post] = herald.list_posts()
    assert [faces for _, faces, _ in stored_photos(herald, post.id)] == [1]


def test_preview_back_to_edit_keeps_everything(staff: TestClient, herald: Any) -> None:
    token = form_token(staff)
    preview = compose(staff, token, files=FACE, text="다시", channels=["x1"], now="1", faces1="blur")
    r = confirm(staff, token, draft_of(preview.text), action="edit")
    assert r.status_code == 200
    assert "다시</textarea>" in r.text and 'name="channels" value="x1" checked' in r.text
    assert "Keeping <strong>face.jpg</strong>" in r.text
    assert '<option value="blur" selected>' in r.text
    assert herald.list_posts() == []


def test_preview_refuses_a_post_that_does_not_fit_first(staff: TestClient, herald: Any) -> None:
    r = compose(
        staff, form_token(staff), files=FACE, text=OVER_X_LIMIT, channels=["m1", "x1"], now="1", faces1="blur"
    )
    assert r.status_code == 422
    assert "X allows 280" in r.text and "It fits m1." in r.text
    assert "Check the faces" not in r.text
    assert herald.list_posts() == []


def test_confirm_without_a_live_draft_queues_nothing(staff: TestClient, herald: Any) -> None:
    token = form_token(staff)
    for draft in ("", "nope", "x" * 43 + "." + "0" * 64):
        r = confirm(staff, token, draft)
        assert r.status_code == 422, draft
        assert 'role="alert"' in r.text and "this preview has expired" in r.text, draft
    assert herald.list_posts() == []


def test_confirm_is_bound_to_the_person_and_to_csrf(staff: TestClient, herald: Any) -> None:
    token = form_token(staff)
    draft = draft_of(
        compose(staff, token, files=FACE, text="hi", channels=["m1"], now="1", faces1="blur").text
    )
    assert confirm(staff, None, draft).status_code == 403
    assert confirm(staff, "0" * 64, draft).status_code == 403
    # Another person, on the same app (the same drafts in memory), with their own valid token.
    add_person(herald, MANAGER)
    with same_app(staff, MANAGER) as other:
        r = confirm(other, form_token(other), draft)
        assert r.status_code == 422 and "this preview has expired" in r.text
    assert herald.list_posts() == []
    # The person who made it can, from another browser too (a draft is the person's).
    with same_app(staff, STAFF) as elsewhere:
        r = confirm(elsewhere, form_token(elsewhere), draft)
        assert r.status_code == 303, r.text
    assert len(herald.list_posts()) == 1
    # And the first browser's click after it is answered as done, not queued again.
    assert confirm(staff, token, draft).status_code == 303
    assert len(herald.list_posts()) == 1


def test_unknown_face_choice_is_refused(staff: TestClient, herald: Any) -> None:
    r = compose(staff, form_token(staff), files=FACE, text="hi", channels=["m1"], now="1", faces1="erase")
    assert r.status_code == 422 and "faces in photo 1: choose keep, blur, pixelate" in r.text
    assert herald.list_posts() == []
