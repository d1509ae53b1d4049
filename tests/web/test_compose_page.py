"""The compose page over a real service (Redis + SQLite), signed in through the real form as a
member of staff: the form, queueing (with the one-time note on the dashboard), photos kept in
a draft that belongs to the person, the "Check" button, refused input and CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.browser import add_person
from tests.web import BASE_URL, MANAGER, STAFF, add_channels, csrf_of, jpeg_bytes, sign_in, web_client

KOREAN = "안녕하세요 hello"
#: 150 Hangul syllables weigh 300 on X (CJK counts double), over its 280; Mastodon counts 150.
OVER_X_LIMIT = "가" * 150
#: A photo input left empty, as a browser sends it: a part with no file name and no bytes.
NO_FILE = {"photo1": ("", b"", "application/octet-stream")}
CAT = {"photo1": ("cat.jpg", jpeg_bytes(), "image/jpeg")}


@pytest.fixture
def staff(herald: Any) -> Iterator[TestClient]:
    add_channels(herald)
    add_person(herald, STAFF)
    with web_client(herald, STAFF) as c:
        yield c


def same_app(client: TestClient, email: str) -> TestClient:
    """Another browser on the same app (so the same drafts in memory), signed in as ``email``."""
    other = TestClient(client.app, base_url=BASE_URL)
    sign_in(other, email)
    return other


def form_token(client: TestClient) -> str:
    """The CSRF token of the compose form (the signed-in session's)."""
    r = client.get("/compose")
    assert r.status_code == 200, r.text
    return csrf_of(r.text)


def compose(client: TestClient, token: str | None, files: dict[str, Any] | None = None, **fields: Any) -> Any:
    """Submit the compose form (``action`` defaults to the "Queue post" button's)."""
    data: dict[str, Any] = {"tz": "UTC", **fields}
    if token is not None:
        data["csrf_token"] = token
    return client.post("/compose", data=data, files=files or NO_FILE, follow_redirects=False)


def draft_of(html: str) -> str:
    m = re.search(r'name="draft" value="([^"]+)"', html)
    assert m, "no draft on the page"
    return m.group(1)


# -- the form and queueing ---------------------------------------------------------------------


def test_compose_form_lists_channels_with_platform(staff: TestClient) -> None:
    r = staff.get("/compose")
    assert r.status_code == 200
    html = r.text
    assert 'enctype="multipart/form-data"' in html
    assert 'name="channels" value="m1"' in html and 'name="channels" value="x1"' in html
    assert '<span class="platform">mastodon</span>' in html
    assert 'name="text_for.m1"' in html
    assert html.count('type="file"') == 4 and 'name="alt4"' in html
    assert '<option value="UTC" selected>' in html and '<option value="Asia/Seoul">' in html
    assert 'type="datetime-local"' in html and 'name="now"' in html
    # The form carries the session's CSRF token: the same on every page of the session.
    assert re.fullmatch(r"[0-9a-f]{64}", csrf_of(html))
    assert csrf_of(html) == csrf_of(staff.get("/").text)
    assert 'href="/compose" aria-current="page"' in html


def test_compose_queues_post_and_shows_the_note_once(staff: TestClient, herald: Any) -> None:
    r = compose(staff, form_token(staff), text=KOREAN + "\r\nsecond line", channels=["m1"], now="1")
    assert r.status_code == 303, r.text
    # The note travels in a signed cookie, not in the address.
    assert r.headers["location"] == "/"
    [post] = herald.list_posts()
    # Browsers send CRLF line breaks; the post keeps plain LF.
    assert post.text == KOREAN + "\nsecond line"
    assert post.deliveries == {"m1": "queued"}

    page = staff.get(r.headers["location"]).text
    assert 'role="status"' in page
    assert f"Post <code>{post.id}</code> is queued for m1." in page
    again = staff.get("/").text
    assert "is queued for" not in again and 'role="status"' not in again
    # Staff see the post on their dashboard, but neither the delivery log nor its actions.
    assert post.id[:8] in again and 'id="log-h"' not in again


def test_compose_with_photo_variant_and_campaign(staff: TestClient, herald: Any) -> None:
    files = {
        "photo1": ("cat.jpg", jpeg_bytes(), "image/jpeg"),
        "photo2": ("", b"", "application/octet-stream"),
    }
    herald.set_campaign("launch")
    r = compose(
        staff,
        form_token(staff),
        files=files,
        text="hello",
        channels=["m1", "x1"],
        now="1",
        alt1="A blue square",
        campaign="launch",
        **{"text_for.x1": "hello X", "text_for.m1": ""},
    )
    assert r.status_code == 303, r.text
    [post] = herald.list_posts()
    assert post.photos == 1 and post.campaign == "launch"
    texts = {row.channel: row.text for row in herald.delivery_log(post_id=post.id)}
    assert texts == {"m1": "hello", "x1": "hello X"}


def _languages(herald: Any, post_id: str) -> dict[str, str | None]:
    """The language each channel's staged payload carries."""
    rows = {r.delivery_id: r.channel for r in herald.delivery_log(post_id=post_id)}
    return {rows[d]: p.language for d, p in herald.queue.payloads(list(rows)).items()}


def test_compose_gives_each_channel_its_own_language(staff: TestClient, herald: Any) -> None:
    html = staff.get("/compose").text
    assert 'name="language"' in html and 'list="language-tags"' in html
    assert re.search(r'<label for="language-for-1">Language on m1 ', html)
    assert 'name="language_for.m1"' in html and 'name="language_for.x1"' in html
    assert '<option value="ko"></option>' in html
    r = compose(
        staff,
        form_token(staff),
        text="Peace starts with listening.",
        channels=["m1", "x1"],
        now="1",
        language="en",
        **{"text_for.m1": KOREAN, "language_for.m1": " ko ", "language_for.x1": ""},
    )
    assert r.status_code == 303, r.text
    [post] = herald.list_posts()
    assert post.language == "en"
    assert {n: (v.text, v.language) for n, v in post.variants.items()} == {"m1": (KOREAN, "ko")}
    assert _languages(herald, post.id) == {"m1": "ko", "x1": "en"}


def test_a_bad_channel_language_is_refused_and_the_form_keeps_it(staff: TestClient, herald: Any) -> None:
    r = compose(
        staff,
        form_token(staff),
        text="hello",
        channels=["m1", "x1"],
        now="1",
        **{"language_for.x1": "<b>english</b>"},
    )
    assert r.status_code == 422
    alert = re.search(r'<div class="note note-error" role="alert" id="form-error">(.*?)</div>', r.text, re.S)
    assert alert, r.text
    assert "channel x1: &#39;&lt;b&gt;english&lt;/b&gt;&#39; is not a language tag" in alert.group(1)
    assert "<b>english</b>" not in r.text  # escaped wherever it is shown
    assert 'name="language_for.x1" value="&lt;b&gt;english&lt;/b&gt;"' in r.text
    assert '<details class="variants" open>' in r.text
    assert herald.list_posts() == []


def test_the_preview_shows_each_channels_language_and_confirm_keeps_it(
    staff: TestClient, herald: Any
) -> None:
    token = form_token(staff)
    r = compose(
        staff,
        token,
        files=CAT,
        action="preview",
        text="hello",
        channels=["m1", "x1"],
        now="1",
        alt1="A blue square",
        language="en",
        **{"language_for.m1": "ko"},
    )
    assert r.status_code == 200, r.text
    chips = re.search(r'<ul class="chips">(.*?)</ul>', r.text, re.S)
    assert chips and "m1" in chips.group(1)
    assert re.search(
        r"m1 <span[^>]*>mastodon</span> <span class=\"hint\">\(language: ko\)</span>", chips.group(1)
    )
    assert re.search(r"x1 <span[^>]*>x</span> <span class=\"hint\">\(language: en\)</span>", chips.group(1))
    assert herald.list_posts() == []
    done = staff.post(
        "/compose/confirm",
        data={"draft": draft_of(r.text), "action": "confirm", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    [post] = herald.list_posts()
    assert _languages(herald, post.id) == {"m1": "ko", "x1": "en"}


#: (time zone, local time typed, the UTC time it is).
ZONES = [
    ("UTC", "2099-01-01T09:30", "2099-01-01T09:30:00Z"),
    ("Asia/Seoul", "2099-01-01T09:30", "2099-01-01T00:30:00Z"),
]


def test_compose_schedules_in_the_chosen_time_zone(staff: TestClient, herald: Any) -> None:
    token = form_token(staff)
    for zone, local, _ in ZONES:
        r = compose(staff, token, text=f"later in {zone}", channels=["m1"], at=local, tz=zone)
        assert r.status_code == 303, (zone, r.text)
    scheduled = {post.text: post.scheduled_at for post in herald.list_posts()}
    assert scheduled == {f"later in {zone}": utc for zone, _, utc in ZONES}


def test_compose_error_names_each_channel_problem_and_keeps_input(staff: TestClient, herald: Any) -> None:
    herald.set_campaign("봄 campaign")  # staff post in campaigns; only admins make new ones
    r = compose(
        staff,
        form_token(staff),
        files=CAT,
        text=OVER_X_LIMIT,
        channels=["m1", "x1"],
        now="1",
        alt1="가나다 alt",
        campaign="봄 campaign",
        **{"text_for.m1": "mastodon variant"},
    )
    assert r.status_code == 422
    html = r.text
    alert = re.search(r'<div class="note note-error" role="alert" id="form-error">(.*?)</div>', html, re.S)
    assert alert, html
    # The summary names the channel, its platform, the limit and the count, and which one fits.
    assert "does not fit 1 of the 2 channels ticked" in alert.group(1)
    assert (
        '<a href="#channel-x1">x1</a> <span class="platform">x</span>: '
        "X allows 280 weighted characters; this text has 300" in alert.group(1)
    )
    assert "It fits m1." in alert.group(1)
    # Next to the channel itself, tied to its checkbox for screen readers.
    assert 'value="x1" checked aria-describedby="channel-x1-problems"' in html
    problems = re.search(r'<ul class="field-error" id="channel-x1-problems">(.*?)</ul>', html, re.S)
    assert problems and "(300 of 280)" in problems.group(1)
    assert '<p class="field-ok">Fits m1.</p>' in html
    # Everything typed is kept, the photo too (server-side, in a draft).
    assert f"{OVER_X_LIMIT}</textarea>" in html
    assert 'name="channels" value="m1" checked' in html
    assert "mastodon variant</textarea>" in html
    assert 'value="가나다 alt"' in html and 'value="봄 campaign"' in html
    assert 'id="now" name="now" value="1" checked' in html
    assert "Keeping <strong>cat.jpg</strong>" in html and 'name="kept1" value="cat.jpg"' in html
    assert "Choose the photos again" not in html
    assert herald.list_posts() == []


# -- photos kept in a draft --------------------------------------------------------------------


def test_kept_photo_goes_out_with_the_corrected_post(staff: TestClient, herald: Any) -> None:
    token = form_token(staff)
    refused = compose(staff, token, files=CAT, text=OVER_X_LIMIT, channels=["x1"], now="1", alt1="cat")
    assert refused.status_code == 422
    draft = draft_of(refused.text)
    # Resubmitted with no file chosen: the kept photo is used.
    r = compose(
        staff, token, text="short", channels=["x1"], now="1", alt1="cat", draft=draft, kept1="cat.jpg"
    )
    assert r.status_code == 303, r.text
    [post] = herald.list_posts()
    assert post.photos == 1

    # "Remove photo 1" drops it.
    refused = compose(staff, token, files=CAT, text=OVER_X_LIMIT, channels=["x1"], now="1")
    r = compose(
        staff,
        token,
        text="no photo",
        channels=["x1"],
        now="1",
        draft=draft_of(refused.text),
        kept1="cat.jpg",
        drop1="1",
    )
    assert r.status_code == 303
    assert sorted(p.photos for p in herald.list_posts()) == [0, 1]


#: Draft tokens that find nothing: none, not one, and one that is well formed but unsigned.
GONE_DRAFTS = ["", "forged.0000", "x" * 43 + "." + "0" * 64]


def test_a_kept_photo_that_is_gone_is_never_silently_dropped(staff: TestClient, herald: Any) -> None:
    token = form_token(staff)
    for draft in GONE_DRAFTS:
        r = compose(staff, token, text="hi", channels=["m1"], now="1", draft=draft, kept1="cat.jpg")
        assert r.status_code == 422, draft
        assert 'role="alert"' in r.text and "cat.jpg" in r.text and "choose the photo again" in r.text, draft
    assert herald.list_posts() == []


def test_a_draft_belongs_to_the_person_who_made_it(staff: TestClient, herald: Any) -> None:
    """Another person cannot use the draft's token; the same person, signed in elsewhere (a
    second browser, a new session), can."""
    refused = compose(staff, form_token(staff), files=CAT, text=OVER_X_LIMIT, channels=["x1"], now="1")
    draft = draft_of(refused.text)
    add_person(herald, MANAGER)
    with same_app(staff, MANAGER) as other:
        r = compose(
            other, form_token(other), text="hi", channels=["m1"], now="1", draft=draft, kept1="cat.jpg"
        )
    assert r.status_code == 422 and "choose the photo again" in r.text
    assert herald.list_posts() == []

    with same_app(staff, STAFF) as elsewhere:
        r = compose(
            elsewhere,
            form_token(elsewhere),
            text="hi",
            channels=["m1"],
            now="1",
            draft=draft,
            kept1="cat.jpg",
        )
    assert r.status_code == 303, r.text
    [post] = herald.list_posts()
    assert post.photos == 1


# -- check -------------------------------------------------------------------------------------


def check_rows(html: str) -> dict[str, list[str]]:
    """The check table: channel → [verdict, count, limit, unit, problems], as text."""
    table = re.search(r'<table class="checks">(.*?)</table>', html, re.S)
    assert table, "no check table"
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)[1:]:
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        out[cells[0].split()[0]] = cells[1:]
    return out


def test_check_gives_a_verdict_per_channel_and_queues_nothing(staff: TestClient, herald: Any) -> None:
    r = compose(staff, form_token(staff), text=OVER_X_LIMIT, channels=["m1", "x1"], now="1", action="check")
    assert r.status_code == 200
    assert "Fits 1 of 2 channels." in r.text and "Nothing was queued." in r.text
    rows = check_rows(r.text)
    assert rows["m1"] == ["fits", "150", "500", "characters", ""]
    assert rows["x1"] == [
        "does not fit",
        "300",
        "280",
        "weighted characters",
        "X allows 280 weighted characters; this text has 300",
    ]
    # The form is still filled in, and nothing was queued.
    assert f"{OVER_X_LIMIT}</textarea>" in r.text
    assert 'name="channels" value="x1" checked' in r.text
    assert herald.list_posts() == []


def test_check_uses_each_channels_own_text(staff: TestClient) -> None:
    own_text: dict[str, Any] = {"text_for.x1": "짧은 글 short"}
    r = compose(
        staff,
        form_token(staff),
        text=OVER_X_LIMIT,
        channels=["m1", "x1"],
        now="1",
        action="check",
        **own_text,
    )
    assert r.status_code == 200
    rows = check_rows(r.text)
    assert rows["m1"][:2] == ["fits", "150"]
    assert rows["x1"][:2] == ["fits", "13"]  # 3 Hangul syllables weigh 2 each on X
    assert 'x1 <span class="platform">x</span> <span class="hint">(its own text)</span>' in r.text
    assert "Fits every channel ticked." in r.text


def test_check_with_a_photo_keeps_it(staff: TestClient, herald: Any) -> None:
    files = {"photo1": ("사진.jpg", jpeg_bytes((640, 480)), "image/jpeg")}
    r = compose(staff, form_token(staff), files=files, text="hi", channels=["x1"], now="1", action="check")
    assert r.status_code == 200
    assert check_rows(r.text)["x1"][0] == "fits"
    assert "Keeping <strong>사진.jpg</strong>" in r.text
    assert herald.list_posts() == []


#: (fields of a "Check", what the refusal says).
BAD_CHECKS: list[tuple[dict[str, Any], str]] = [
    ({"text": "hi"}, "tick at least one channel"),
    ({"text": "hi", "channels": ["nope"]}, "unknown channel"),
]


def test_check_refuses_bad_input(staff: TestClient) -> None:
    token = form_token(staff)
    for fields, message in BAD_CHECKS:
        r = compose(staff, token, action="check", **fields)
        assert r.status_code == 422, fields
        assert 'role="alert"' in r.text and message in r.text, fields


# -- refused input -----------------------------------------------------------------------------


#: (fields of a "Queue post", what the refusal says).
BAD_POSTS: list[tuple[dict[str, Any], str]] = [
    ({"text": "hi", "channels": ["m1"]}, "choose a date and time"),
    ({"text": "hi", "channels": ["m1"], "at": "tomorrow"}, "is not a date and time"),
    ({"text": "hi", "channels": ["m1"], "at": "2099-01-01T09:30", "tz": "Mars/Olympus"}, "unknown time zone"),
    ({"text": "hi", "channels": ["m1"], "at": "2001-01-01T09:30"}, "is in the past"),
    ({"text": "hi", "now": "1"}, "at least one channel"),
]


def test_compose_refuses_bad_input(staff: TestClient, herald: Any) -> None:
    token = form_token(staff)
    for fields, message in BAD_POSTS:
        r = compose(staff, token, **fields)
        assert r.status_code == 422, fields
        assert 'role="alert"' in r.text and message in r.text, fields
    assert herald.list_posts() == []


def test_compose_without_valid_csrf_is_refused(staff: TestClient, herald: Any) -> None:
    token = form_token(staff)
    fields: dict[str, Any] = {"text": "hi", "channels": ["m1"], "now": "1"}
    for forged in (None, "", "0" * 64, "토큰" * 32, token.upper()):
        r = compose(staff, forged, **fields)
        assert r.status_code == 403, forged
        assert 'role="alert"' in r.text and "did not come from Herald" in r.text
    # A token is bound to its session: another session's (the same person's) does not go with
    # this one, nor this one's with it.
    with same_app(staff, STAFF) as elsewhere:
        assert compose(elsewhere, token, **fields).status_code == 403
        assert compose(staff, form_token(elsewhere), **fields).status_code == 403
    assert herald.list_posts() == []
    assert compose(staff, token, **fields).status_code == 303


def test_a_campaign_that_does_not_exist_is_a_form_error_that_keeps_everything(
    staff: TestClient, herald: Any
) -> None:
    """A misspelt or new campaign name is refused on the form itself (a typo must not make a
    campaign without the real one's policies), naming the campaigns there are, with the
    text, channels and photo kept, and nothing queued or made."""
    r = compose(
        staff,
        form_token(staff),
        files=CAT,
        text=KOREAN,
        channels=["m1"],
        campaign="brand-new",
        **{"photo1_alt": "A cat"},
        now="1",
    )
    assert r.status_code == 422
    assert "no campaign named" in r.text and "spring" in r.text
    assert KOREAN in r.text and 'name="draft"' in r.text
    assert herald.list_posts() == [] and [c.name for c in herald.list_campaigns()] == ["spring"]
