"""The composer's "When" and threads (issue 16) over the real app, service, Redis and SQLite,
signed in through the real form: a local time in a zone from the whole IANA list (the
campaign's zone by default), the DST choices, the next free slot (common or each channel's
own, not before a time), a thread and a first comment; the preview shows the time in the
chosen zone and in UTC and each channel's parts, after every check queueing makes, and the post
is queued only on confirm. Every refusal keeps what was typed and queues nothing."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.browser import add_person
from tests.web import PASSWORD, STAFF, add_channels, web_client
from tests.web.test_compose_page import CAT, check_rows, compose, draft_of, form_token
from tests.web.test_face_preview import confirm

#: Two channels with weekday 09:00 slots, one in Seoul and one in Washington.
SLOTS = (("seoul", "Asia/Seoul"), ("dc", "America/New_York"))
#: A text written as three parts (the writer's own ``---`` lines).
THREE_PARTS = "첫째 — one\n---\n둘째 — two\n---\n셋째 — three"


@pytest.fixture
def staff(herald: Any) -> Iterator[TestClient]:
    add_channels(herald)  # m1 (Mastodon), x1 (X), campaign "spring"
    herald.set_campaign("서울", timezone="Asia/Seoul")
    for name, tz in SLOTS:
        herald.add_channel(
            name, "mastodon", {"access_token": "tok-5550000"}, base_url="http://127.0.0.1:9", timezone=tz
        )
        herald.set_schedule(name, slots="mon-fri 09:00")
    add_person(herald, STAFF)
    with web_client(herald, STAFF) as c:
        yield c


def preview(client: TestClient, token: str | None, **fields: Any) -> Any:
    """The compose form's "Preview" button."""
    return compose(client, token, action="preview", **fields)


def when_text(html: str) -> list[str]:
    """The preview's "When" lines, as text."""
    block = re.search(r'<dd id="when">(.*?)</dd>', html, re.S)
    assert block, "no When on the page"
    lines = re.findall(r"<li>(.*?)</li>", block.group(1), re.S)
    return [" ".join(htmllib.unescape(re.sub(r"<[^>]+>", "", line)).split()) for line in lines]


def field_error(html: str, name: str) -> str:
    """The refusal shown next to the field ``name``."""
    m = re.search(rf'<p class="field-error" id="{name}-error">(.*?)</p>', html, re.S)
    assert m, f"no error next to {name}"
    return htmllib.unescape(m.group(1))


def due(herald: Any, post_id: str) -> dict[str, str]:
    return {r.channel: r.due_at[:16] for r in herald.delivery_log(post_id=post_id)}


# -- a local time in a zone --------------------------------------------------------------------


def test_a_seoul_time_is_previewed_in_seoul_and_utc_and_stored_in_utc(staff: TestClient, herald: Any) -> None:
    token = form_token(staff)
    r = preview(staff, token, text="봄 행사", channels=["m1"], at="2099-03-02T09:30", tz="Asia/Seoul")
    assert r.status_code == 200, r.text
    assert "Check the post before queueing" in r.text and "Not queued yet." in r.text
    assert when_text(r.text) == ["Mon 2099-03-02 09:30 Asia/Seoul (Mon 2099-03-02 00:30 UTC)"]
    assert '<time datetime="2099-03-02T00:30:00Z">' in r.text
    assert herald.list_posts() == []

    assert confirm(staff, token, draft_of(r.text)).status_code == 303
    [post] = herald.list_posts()
    assert post.scheduled_at == "2099-03-02T00:30:00Z"


def test_the_zone_left_as_offered_is_the_campaigns_else_the_channels(staff: TestClient, herald: Any) -> None:
    page = staff.get("/compose").text
    # The whole IANA list, UTC offered (nothing chosen yet) and marked as the default.
    assert page.count("<option value=") > 400 and '<option value="Pacific/Auckland">' in page
    assert (
        '<option value="UTC" selected>' in page and '<input type="hidden" name="tz_auto" value="UTC">' in page
    )
    token = form_token(staff)
    left = {"at": "2099-03-02T09:30", "tz": "UTC", "tz_auto": "UTC"}
    # Left as offered, in campaign 서울: read in Seoul, and the page says why.
    r = preview(staff, token, text="a", channels=["m1"], campaign="서울", **left)
    assert when_text(r.text) == ["Mon 2099-03-02 09:30 Asia/Seoul (Mon 2099-03-02 00:30 UTC)"]
    # No campaign, channels sharing a zone: theirs.
    r = preview(staff, token, text="a", channels=["dc"], **left)
    assert when_text(r.text) == ["Mon 2099-03-02 09:30 America/New_York (Mon 2099-03-02 14:30 UTC)"]
    # Channels in different zones, no campaign: UTC.
    r = preview(staff, token, text="a", channels=["seoul", "dc"], **left)
    assert when_text(r.text) == ["Mon 2099-03-02 09:30 UTC (Mon 2099-03-02 09:30 UTC)"]
    # A zone the person chose is theirs, whatever the campaign's.
    r = preview(staff, token, text="a", channels=["m1"], campaign="서울", **{**left, "tz": "Europe/Berlin"})
    assert when_text(r.text) == ["Mon 2099-03-02 09:30 Europe/Berlin (Mon 2099-03-02 08:30 UTC)"]
    # A refused form shows the default it used, still marked as a default.
    r = compose(staff, token, text="a", channels=["m1"], campaign="서울", **{**left, "at": "x"})
    assert r.status_code == 422
    assert '<option value="Asia/Seoul" selected>' in r.text
    assert '<input type="hidden" name="tz_auto" value="Asia/Seoul">' in r.text
    assert "Campaign 서울’s zone." in r.text
    assert herald.list_posts() == []


def test_an_ambiguous_new_york_time_is_refused_then_queued_as_the_second(
    staff: TestClient, herald: Any
) -> None:
    """01:30 on 1 November 2099 happens twice in New York (clocks fall back at 02:00 EDT)."""
    token = form_token(staff)
    typed: dict[str, Any] = {
        "text": "뉴욕 — New York",
        "channels": ["dc"],
        "at": "2099-11-01T01:30",
        "tz": "America/New_York",
        "first_comment": "댓글",
    }
    for action in ("preview", "queue"):
        r = compose(staff, token, action=action, **typed)
        assert r.status_code == 422, action
        message = field_error(r.text, "at")
        assert "2099-11-01 01:30 in America/New_York happens twice" in message
        assert "05:30Z" in message and "06:30Z" in message and "first or the second" in message
        assert 'id="at" name="at" value="2099-11-01T01:30" aria-invalid="true"' in r.text
        # Everything typed is still there.
        assert "뉴욕 — New York</textarea>" in r.text and "댓글</textarea>" in r.text
        assert '<option value="America/New_York" selected>' in r.text
        assert 'name="channels" value="dc" checked' in r.text
        assert herald.list_posts() == []

    r = preview(staff, token, fold="second", **typed)
    assert r.status_code == 200, r.text
    assert when_text(r.text) == ["Sun 2099-11-01 01:30 America/New_York (Sun 2099-11-01 06:30 UTC)"]
    assert confirm(staff, token, draft_of(r.text)).status_code == 303
    [post] = herald.list_posts()
    assert post.scheduled_at == "2099-11-01T06:30:00Z"
    # "The first" is the other instant, queued at once by "Queue post".
    assert compose(staff, token, fold="first", **typed).status_code == 303
    assert sorted(p.scheduled_at for p in herald.list_posts()) == [
        "2099-11-01T05:30:00Z",
        "2099-11-01T06:30:00Z",
    ]


def test_a_time_that_does_not_exist_is_refused_unless_moved_forward(staff: TestClient, herald: Any) -> None:
    """02:30 on 8 March 2099 does not happen in New York (clocks spring from 02:00 to 03:00)."""
    token = form_token(staff)
    typed = {"text": "gap", "channels": ["dc"], "at": "2099-03-08T02:30", "tz": "America/New_York"}
    r = preview(staff, token, **typed)
    assert r.status_code == 422
    assert "does not exist: the clocks go from 02:00 to 03:00" in field_error(r.text, "at")
    assert herald.list_posts() == []
    r = preview(staff, token, shift_gap="1", **typed)
    assert when_text(r.text) == ["Sun 2099-03-08 03:30 America/New_York (Sun 2099-03-08 07:30 UTC)"]
    assert confirm(staff, token, draft_of(r.text)).status_code == 303
    assert [p.scheduled_at for p in herald.list_posts()] == ["2099-03-08T07:30:00Z"]


# -- the next free slot ------------------------------------------------------------------------


def test_each_channels_own_next_free_slot_is_shown_per_channel(staff: TestClient, herald: Any) -> None:
    token = form_token(staff)
    # Not before Monday 7 January 2030, 09:00 in Seoul (00:00 UTC).
    slot = {"channels": ["seoul", "dc"], "after": "2030-01-07T09:00", "tz": "Asia/Seoul"}
    r = preview(staff, token, text="각자", when="each", **slot)
    assert r.status_code == 200, r.text
    assert "Each channel’s own next free slot, not before 2030-01-07 09:00." in r.text
    assert when_text(r.text) == [
        "seoul: Mon 2030-01-07 09:00 Asia/Seoul (Mon 2030-01-07 00:00 UTC)",
        "dc: Mon 2030-01-07 23:00 Asia/Seoul (Mon 2030-01-07 14:00 UTC)",
    ]
    assert herald.list_posts() == []
    assert confirm(staff, token, draft_of(r.text)).status_code == 303
    [post] = herald.list_posts()
    assert due(herald, post.id) == {"seoul": "2030-01-07T00:00", "dc": "2030-01-07T14:00"}

    # The next post in Seoul's common slot takes the one after (Monday's is taken).
    r = preview(staff, token, text="다음", when="slot", **{**slot, "channels": ["seoul"]})
    assert "The next free slot common to its channels" in r.text
    assert when_text(r.text) == ["Tue 2030-01-08 09:00 Asia/Seoul (Tue 2030-01-08 00:00 UTC)"]
    # Queued at once, with the date typed in the date-and-time box ignored (not chosen).
    r = compose(
        staff, token, text="다음", when="slot", at="2099-01-01T00:00", **{**slot, "channels": ["seoul"]}
    )
    assert r.status_code == 303, r.text
    nxt = [p for p in herald.list_posts() if p.text == "다음"]
    assert [p.scheduled_at for p in nxt] == ["2030-01-08T00:00:00Z"]


def test_no_common_slot_and_a_bad_not_before_are_refused(staff: TestClient, herald: Any) -> None:
    token = form_token(staff)
    # Seoul's 09:00 and Washington's 09:00 are never the same instant.
    r = preview(
        staff, token, text="x", channels=["seoul", "dc"], when="slot", tz="UTC", after="2030-01-07T00:00"
    )
    assert r.status_code == 422
    assert 'role="alert"' in r.text and 'id="when-error"' in r.text
    for after, message in (
        ("soon", "is not a date and time"),
        ("2030-01-07T00:00+09:00", "without a zone offset"),
    ):
        r = preview(staff, token, text="x", channels=["seoul"], when="slot", tz="UTC", after=after)
        assert r.status_code == 422, after
        assert message in field_error(r.text, "after"), after
        assert f'value="{htmllib.escape(after)}"' in r.text
    assert herald.list_posts() == []


def test_back_to_edit_keeps_every_when_choice(staff: TestClient, herald: Any) -> None:
    token = form_token(staff)
    typed = {
        "text": "다시",
        "channels": ["seoul", "dc"],
        "when": "each",
        "after": "2030-01-07T09:00",
        "tz": "Asia/Seoul",
        "fold": "second",
        "shift_gap": "1",
        "thread": "1",
        "first_comment": "댓글 하나",
    }
    r = confirm(staff, token, draft_of(preview(staff, token, **typed).text), action="edit")
    assert r.status_code == 200
    for shown in (
        'id="when-each" name="when" value="each" checked',
        'id="after" name="after" value="2030-01-07T09:00"',
        '<option value="Asia/Seoul" selected>',
        '<option value="second" selected>',
        'id="shift_gap" name="shift_gap" value="1" checked',
        'id="thread" name="thread" value="1" checked',
        "댓글 하나</textarea>",
    ):
        assert shown in r.text, shown
    # The zone was chosen, not left as offered: no default mark for it.
    assert 'name="tz_auto"' not in r.text
    assert herald.list_posts() == []


def test_the_preview_says_a_post_waits_for_approval(staff: TestClient, herald: Any) -> None:
    herald.set_campaign("spring", requires_approval=True)
    token = form_token(staff)
    r = preview(
        staff, token, text="승인", channels=["m1"], campaign="spring", at="2099-03-02T09:30", tz="UTC"
    )
    assert r.status_code == 200, r.text
    assert "Campaign spring asks a manager to approve it" in r.text
    assert confirm(staff, token, draft_of(r.text)).status_code == 303
    [post] = herald.list_posts()
    assert post.approval == "pending" and post.scheduled_at == "2099-03-02T09:30:00Z"


# -- threads and the first comment -------------------------------------------------------------


def test_a_thread_is_previewed_with_each_channels_parts(staff: TestClient, herald: Any) -> None:
    token = form_token(staff)
    typed = {
        "text": THREE_PARTS,
        "channels": ["m1", "x1"],
        "now": "1",
        "thread": "1",
        "first_comment": "끝 — end",
    }
    r = preview(staff, token, **typed)
    assert r.status_code == 200, r.text
    parts = {
        name: [htmllib.unescape(p) for p in re.findall(r'<li class="post-text">(.*?)</li>', block, re.S)]
        for name, block in re.findall(
            r'<h3 id="parts-(\w+)">.*?<ol class="parts"[^>]*>(.*?)</ol>', r.text, re.S
        )
    }
    expected = ["첫째 — one", "둘째 — two", "셋째 — three", "끝 — end"]
    assert parts == {"m1": expected, "x1": expected}
    assert "4 parts" in r.text
    # "Check" shows the same parts, under each channel's verdict.
    checked = compose(staff, token, action="check", **typed)
    assert check_rows(checked.text)["m1"][0] == "fits"
    assert checked.text.count('<li class="post-text">첫째 — one</li>') == 2
    assert 'id="thread" name="thread" value="1" checked' in checked.text
    assert herald.list_posts() == []

    assert confirm(staff, token, draft_of(r.text)).status_code == 303
    [post] = herald.list_posts()
    for row in herald.delivery_log(post_id=post.id):
        assert [p.text for p in row.parts] == expected, row.channel


def test_a_long_text_without_thread_does_not_fit_and_with_it_is_split(staff: TestClient, herald: Any) -> None:
    long = " ".join(["봄바람 spring wind"] * 40)  # 720 characters: over Mastodon's 500
    token = form_token(staff)
    r = preview(staff, token, text=long, channels=["m1"], now="1")
    assert r.status_code == 422 and "Mastodon allows 500" in r.text
    r = preview(staff, token, text=long, channels=["m1"], now="1", thread="1")
    assert r.status_code == 200, r.text
    assert "2 parts" in r.text
    assert herald.list_posts() == []


# -- the campaign's rules, before the preview (the known gap) ----------------------------------


def test_the_preview_refuses_what_confirm_would_refuse_for_alt_text(staff: TestClient, herald: Any) -> None:
    """A campaign that requires alt text: the preview used to accept a photo without it, and
    confirm then refused the post. Both buttons now refuse it first, keeping the photo."""
    herald.set_campaign("spring", require_alt_text=True)
    token = form_token(staff)
    for fields in ({"action": "preview"}, {"faces1": "blur"}):
        r = compose(
            staff, token, files=CAT, text="사진", channels=["m1"], now="1", campaign="spring", **fields
        )
        assert r.status_code == 422, fields
        assert "campaign spring requires alt text; photo(s) 1 have none" in r.text
        assert "Keeping <strong>cat.jpg</strong>" in r.text
        assert "Check the" not in r.text
    r = compose(
        staff,
        token,
        files=CAT,
        text="사진",
        channels=["m1"],
        now="1",
        campaign="spring",
        alt1="고양이",
        action="preview",
    )
    assert r.status_code == 200 and "Photo 1" in r.text
    assert confirm(staff, token, draft_of(r.text)).status_code == 303
    assert [p.photos for p in herald.list_posts()] == [1]


# -- who may, and hostile input ----------------------------------------------------------------


def test_preview_and_confirm_without_csrf_are_refused(staff: TestClient, herald: Any) -> None:
    token = form_token(staff)
    typed = {"text": "hi", "channels": ["m1"], "at": "2099-03-02T09:30", "tz": "Asia/Seoul"}
    for forged in (None, "", "0" * 64):
        assert preview(staff, forged, **typed).status_code == 403, forged
    draft = draft_of(preview(staff, token, **typed).text)
    for forged in (None, "0" * 64):
        r = confirm(staff, forged, draft)
        assert r.status_code == 403 and "did not come from Herald" in r.text
    assert herald.list_posts() == []
    assert confirm(staff, token, draft).status_code == 303


def test_staff_of_another_campaign_cannot_preview_or_queue_into_this_one(herald: Any) -> None:
    add_channels(herald)
    herald.set_campaign("autumn")
    other = "autumn-staff@herald.test"
    herald.add_user(other, PASSWORD, "staff", ["autumn"])
    with web_client(herald, other) as client:
        token = form_token(client)
        typed = {
            "text": "침입",
            "channels": ["m1"],
            "at": "2099-03-02T09:30",
            "tz": "UTC",
            "campaign": "spring",
        }
        for action in ("preview", "queue", "check"):
            r = compose(client, token, action=action, **typed)
            if action == "check":  # (counts the text only; nothing of the campaign's)
                assert r.status_code == 200 and "Nothing was queued." in r.text
                continue
            assert r.status_code == 403, action
            assert 'role="alert"' in r.text and "침입</textarea>" in r.text, action
        # Their own campaign goes through.
        r = compose(client, token, **{**typed, "campaign": "autumn"})
        assert r.status_code == 303, r.text
    assert [p.campaign for p in herald.list_posts()] == ["autumn"]


#: (fields, the field refused, what it says): zones that are not IANA names, and choices the
#: form does not offer.
HOSTILE: list[tuple[dict[str, str], str, str]] = [
    ({"tz": "../../etc/passwd"}, "tz", "unknown time zone '../../etc/passwd'; choose one from the list"),
    ({"tz": "/etc/localtime"}, "tz", "unknown time zone"),
    ({"tz": "Mars/Olympus"}, "tz", "unknown time zone 'Mars/Olympus'"),
    ({"tz": "asia/seoul"}, "tz", "unknown time zone"),
    ({"tz": "Asia/Seoul\x00"}, "tz", "unknown time zone"),
    ({"tz": "../../etc/passwd", "when": "slot", "after": ""}, "tz", "unknown time zone"),
    ({"when": "whenever"}, "when", "choose a date and time, the next free slot"),
    ({"fold": "third"}, "fold", "choose the first or the second"),
]


def test_hostile_zones_and_choices_are_refused_with_a_clear_error(staff: TestClient, herald: Any) -> None:
    token = form_token(staff)
    base = {"text": "hi", "channels": ["seoul"], "at": "2099-03-02T09:30", "tz": "UTC"}
    for fields, field, message in HOSTILE:
        for action in ("preview", "queue"):
            r = compose(staff, token, action=action, **{**base, **fields})
            assert r.status_code == 422, (fields, action)
            assert 'role="alert"' in r.text and message in htmllib.unescape(r.text), (fields, action)
            if field in ("tz",):
                assert message in field_error(r.text, "tz"), fields
    assert herald.list_posts() == []
    assert herald.list_posts() == [] and compose(staff, token, **base).status_code == 303
