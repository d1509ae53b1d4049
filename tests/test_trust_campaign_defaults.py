"""Issue 15, point 3: safe defaults for a campaign of this kind, set in one place. A new campaign
requires alt text and has faces reviewed unless its creator says otherwise; the installation's
operator changes the defaults with two settings; the campaigns page says what they are.

Threat: a photo showing an escapee's face goes out because nobody looked. In a campaign that
has faces reviewed, a post whose photos show a face waits for a person who may approve in that
campaign (staff cannot pass it on their own); a photo without faces goes straight to the queue.
Real SQL (SQLite and PostgreSQL), Redis and face detector."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from herald.core.errors import InputError
from herald.core.settings import reset_settings
from herald.service import PhotoInput, PostRequest
from herald.store import states
from tests.web import ADMIN, actor_of, add_people, csrf_of, face_jpeg, jpeg_bytes, web_client

PASSWORD = "correct horse battery staple"


def test_a_new_campaign_requires_alt_text_and_has_faces_reviewed(herald: Any) -> None:
    made = herald.set_campaign("unification")
    assert (made.require_alt_text, made.protect_faces) == (True, "review")
    # What its creator says wins; a change keeps what it does not name.
    other = herald.set_campaign("berlin", require_alt_text=False, protect_faces="blur")
    assert (other.require_alt_text, other.protect_faces) == (False, "blur")
    again = herald.set_campaign("berlin", timezone="Europe/Berlin")
    assert (again.require_alt_text, again.protect_faces) == (False, "blur")


def test_the_operator_sets_the_defaults_in_one_place(
    herald_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from herald.runtime import service

    monkeypatch.setenv("HERALD_CAMPAIGN_REQUIRE_ALT_TEXT", "false")
    monkeypatch.setenv("HERALD_CAMPAIGN_PROTECT_FACES", "pixelate")
    reset_settings()
    made = service().set_campaign("chapter-tokyo")
    assert (made.require_alt_text, made.protect_faces) == (False, "pixelate")


def test_the_campaigns_page_shows_the_defaults_and_a_new_form_starts_with_them(herald: Any) -> None:
    add_people(herald)
    with web_client(herald, ADMIN) as admin:
        html = admin.get("/campaigns").text
    assert "New campaigns start with alt text required and faces reviewed by a manager" in html
    assert 'id="require_alt_text" name="require_alt_text" value="1" checked' in html
    assert '<option value="review" selected>' in html


def test_a_misspelt_campaign_cannot_skip_the_review(herald: Any) -> None:
    herald.set_campaign("unification")
    herald.add_channel("m", "mastodon", {"access_token": "tok-123456"}, base_url="http://127.0.0.1:9")
    with pytest.raises(InputError, match="unification"):
        herald.add_post(PostRequest(channels=["m"], text="typo", campaign="unifcation"))


@pytest.fixture
def team(herald: Any) -> dict[str, Any]:
    herald.set_campaign("unification")  # the defaults: alt text required, faces reviewed
    herald.add_channel("kr-m", "mastodon", {"access_token": "tok-123456"}, base_url="http://127.0.0.1:9")
    herald.add_user("staff@example.org", PASSWORD, "staff", ["unification"])
    herald.add_user("manager@example.org", PASSWORD, "manager", ["unification"])
    return {who: actor_of(herald, f"{who}@example.org", PASSWORD) for who in ("staff", "manager")}


def _post(photo: bytes, alt: str = "Volunteers at the rally") -> PostRequest:
    return PostRequest(
        channels=["kr-m"],
        text="평화 통일 / peace",
        at=datetime.now(UTC) + timedelta(hours=1),
        campaign="unification",
        photos=[PhotoInput(data=photo, filename="rally.jpg", alt_text=alt)],
    )


def test_a_face_in_a_staff_post_waits_for_a_manager(team: dict[str, Any], herald: Any) -> None:
    staff, manager = team["staff"], team["manager"]
    with pytest.raises(InputError, match="requires alt text"):
        herald.add_post(_post(face_jpeg(), alt=""), actor=staff)

    held = herald.add_post(_post(face_jpeg()), actor=staff)
    plain = herald.add_post(_post(jpeg_bytes((320, 240))), actor=staff)
    by_id = {p.id: p for p in herald.list_posts(actor=staff)}
    assert by_id[held].approval == "pending" and by_id[plain].approval == "approved"
    assert herald.queue.counts()["due"] == 1  # only the photo without a face is in Redis
    # The face is kept as it was: a person decides, nothing was blurred behind their back.
    assert herald.delivery_log(post_id=held, actor=manager)[0].status == states.SCHEDULED

    herald.approve_post(held, actor=manager)
    assert herald.queue.counts()["due"] == 2
    # A manager's own post with a face: they are the person who looks.
    own = herald.add_post(_post(face_jpeg()), actor=manager)
    assert herald.delivery_log(post_id=own)[0].status == states.QUEUED


def test_staff_choosing_blur_for_the_photo_needs_no_review(team: dict[str, Any], herald: Any) -> None:
    req = replace(
        _post(face_jpeg()), photos=[PhotoInput(face_jpeg(), "a.jpg", "Crowd", protect_faces="blur")]
    )
    pid = herald.add_post(req, actor=team["staff"])
    (post,) = herald.list_posts(actor=team["staff"])
    assert (post.id, post.approval) == (pid, "approved")


def test_the_campaigns_form_offers_review(herald: Any) -> None:
    add_people(herald)
    with web_client(herald, ADMIN) as admin:
        token = csrf_of(admin.get("/campaigns").text)
        r = admin.post(
            "/campaigns",
            data={"name": "tokyo", "protect_faces": "review", "csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    (row,) = [c for c in herald.list_campaigns() if c.name == "tokyo"]
    assert row.protect_faces == "review" and row.require_alt_text is False  # the box was left unticked
