"""Issue 16, campaign controls: a campaign's date range (nothing outside it is queued, the slot
search is bounded by it), its hashtags and UTM parameters (appended per channel before the
platform's own counter checks the text), resuming a stop with a choice (keep the times, or the
next free slot), and duplicating a post to other channels. Real SQL (SQLite and PostgreSQL),
Redis and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from herald.cli import app as cli
from herald.core.errors import AccessDenied, InputError
from herald.service import PhotoInput, PostRequest
from herald.store import states
from herald.store.models import Delivery, PhotoBlob, Post, PostPhoto
from tests.web import PASSWORD, actor_of, add_channels, jpeg_bytes

runner = CliRunner()
#: A Monday, 2027-01-04 00:00 UTC (09:00 in Seoul).
MONDAY = datetime(2027, 1, 4)


@pytest.fixture
def db_url(any_db_url: str) -> str:
    return any_db_url


def _cli(*args: str) -> Any:
    return runner.invoke(cli, list(args))


def _deliveries(herald: Any, post_id: str) -> dict[str, tuple[str, datetime]]:
    with herald.db.read() as s:
        rows = s.execute(
            select(Delivery.channel_id, Delivery.state, Delivery.due_at).where(Delivery.post_id == post_id)
        ).all()
    names = {c.id: c.name for c in herald.list_channels()}
    return {names[c]: (st, due) for c, st, due in rows}


# -- the date range ----------------------------------------------------------------------------


def test_the_range_is_set_in_local_time_shown_and_cleared(herald: Any) -> None:
    r = _cli(
        "campaign",
        "set",
        "unification",
        "--tz",
        "Asia/Seoul",
        "--starts",
        "2027-01-01",
        "--ends",
        "2027-03-31T18:00",
    )
    assert r.exit_code == 0, r.output
    shown = json.loads(_cli("campaign", "show", "unification").output)
    assert shown["starts_at"] == "2026-12-31T15:00:00Z" and shown["ends_at"] == "2027-03-31T09:00:00Z"
    assert (
        shown["starts_local"] == "2027-01-01T00:00+09:00" and shown["ends_local"] == "2027-03-31T18:00+09:00"
    )
    listed = json.loads(_cli("campaign", "list", "--format", "json").output)
    assert listed[0]["ends_local"] == "2027-03-31T18:00+09:00"
    assert _cli("campaign", "set", "unification", "--starts", "").exit_code == 0
    shown = json.loads(_cli("campaign", "show", "unification").output)
    assert shown["starts_at"] is None and shown["ends_at"] == "2027-03-31T09:00:00Z"
    assert any(e.action == "campaign.change" and e.detail.get("starts") == "" for e in herald.audit_log())


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--starts", "2027-04-01", "--ends", "2027-03-31"], "would end (2027-04-01 00:00) before it starts"),
        (["--starts", "2027-03-14T02:30", "--tz", "America/New_York"], "does not exist"),
        (["--ends", "next spring"], "is not a local date or time"),
        (["--hashtags", "#one two-three"], "not a hashtag"),
    ],
)
def test_a_bad_range_or_hashtag_is_refused_and_changes_nothing(
    herald: Any, args: list[str], says: str
) -> None:
    herald.set_campaign("unification", timezone="Asia/Seoul")
    before = herald.show_campaign("unification")
    r = _cli("campaign", "set", "unification", *args)
    assert r.exit_code == 2 and says in r.stderr
    assert herald.show_campaign("unification") == before


def test_nothing_outside_the_range_is_queued(herald: Any) -> None:
    add_channels(herald)
    herald.set_campaign("spring", timezone="Asia/Seoul", starts="2027-01-01", ends="2027-03-31T18:00")
    now = datetime(2026, 12, 1)
    for local, says in (
        (datetime(2027, 4, 2, 9), "2027-04-02 09:00 is after its end"),
        (datetime(2026, 12, 31, 23, 59), "2026-12-31 23:59 is before its start"),
    ):
        with pytest.raises(InputError) as e:
            herald.add_post(
                PostRequest(channels=["m1"], text="t", local_at=local, campaign="spring"), now=now
            )
        assert e.value.message == (
            f"campaign spring runs from 2027-01-01 00:00 to 2027-03-31 18:00 (Asia/Seoul); {says}"
        )
    with pytest.raises(InputError, match="is before its start"):  # "now" too
        herald.add_post(PostRequest(channels=["m1"], text="t", campaign="spring"), now=now)
    assert herald.list_posts() == []
    pid = herald.add_post(
        PostRequest(channels=["m1"], text="t", local_at=datetime(2027, 3, 31, 17, 59), campaign="spring"),
        now=now,
    )
    assert _deliveries(herald, pid)["m1"] == (states.QUEUED, datetime(2027, 3, 31, 8, 59))
    # The CLI: exit 2, the reason on stderr, nothing queued.
    r = _cli(
        "post", "add", "--channel", "m1", "--text", "late", "--campaign", "spring", "--at", "2027-04-02T09:00"
    )
    assert r.exit_code == 2 and "is after its end" in r.stderr
    assert len(herald.list_posts()) == 1


def test_the_next_free_slot_starts_at_the_range_and_fails_past_its_end(herald: Any) -> None:
    add_channels(herald)
    herald.set_schedule("m1", slots="mon-fri 09:00", timezone="Asia/Seoul")
    herald.set_campaign("spring", timezone="Asia/Seoul", starts="2027-01-05", ends="2027-01-07")
    now = datetime(2026, 12, 1)
    first = herald.add_post(
        PostRequest(channels=["m1"], text="a", next_slot=True, campaign="spring"), now=now
    )
    assert _deliveries(herald, first)["m1"][1] == datetime(2027, 1, 5)  # 09:00 Seoul, not 2026-12-01
    herald.add_posts(
        [PostRequest(channels=["m1"], text=t, next_slot=True, campaign="spring") for t in ("b", "c")], now=now
    )
    with pytest.raises(InputError) as e:
        herald.add_post(PostRequest(channels=["m1"], text="d", next_slot=True, campaign="spring"), now=now)
    assert (
        e.value.field == "next-slot"
        and "the next free slot, 2027-01-08 09:00, is after its end" in e.value.message
    )
    assert len(herald.list_posts()) == 3


# -- hashtags and UTM --------------------------------------------------------------------------


def test_each_channel_gets_the_hashtags_and_its_own_utm_source(herald: Any) -> None:
    add_channels(herald)
    r = _cli("campaign", "set", "spring", "--hashtags", "#통일 #Unification", "--utm")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["utm_campaign"] == "spring"
    pid = herald.add_post(
        PostRequest(
            channels=["m1", "x1"],
            text="Read https://example.org/news?id=7#top #unification",
            campaign="spring",
        )
    )
    texts = {
        q.platform: q.text
        for q in herald.queue.payloads([d.delivery_id for d in herald.delivery_log(post_id=pid)]).values()
    }
    assert texts["mastodon"] == (
        "Read https://example.org/news?id=7&utm_source=mastodon&utm_medium=social&utm_campaign=spring#top"
        " #unification\n\n#통일"
    )
    assert "utm_source=x&" in texts["x"]
    # What SQL keeps is what went to Redis: a rebuild gives the same texts.
    from herald.delivery.staging import build_payloads

    with herald.db.read() as s:
        rebuilt = {
            p.platform: p.text
            for p, _ in build_payloads(s, [d.delivery_id for d in herald.delivery_log(post_id=pid)])
        }
    assert rebuilt == texts


def test_a_text_that_no_longer_fits_is_refused_naming_the_channel_and_the_cause(herald: Any) -> None:
    add_channels(herald)
    herald.set_campaign("spring", hashtags="#Unification2027 #Peace")
    text = "x" * 270  # fits X's 280 alone; not with the hashtags
    herald.check(["x1"], text)  # the draft itself fits
    with pytest.raises(InputError) as e:
        herald.add_post(PostRequest(channels=["x1", "m1"], text=text, campaign="spring"))
    assert (
        e.value.message.startswith("x1: ")
        and "with campaign spring's hashtags and UTM link parameters" in e.value.message
    )
    assert "m1" not in e.value.message  # Mastodon's 500 still fit
    assert herald.list_posts() == []
    # Links count as 23 on X whatever their length, so UTM parameters never push a post over.
    herald.set_campaign("spring", hashtags="", utm=True)
    herald.add_post(
        PostRequest(channels=["x1"], text="y" * 250 + " https://example.org/a", campaign="spring")
    )


# -- resume with a choice ----------------------------------------------------------------------


def test_resume_keeps_the_times_or_moves_held_posts_to_next_slots_in_their_order(herald: Any) -> None:
    add_channels(herald)
    herald.set_schedule("m1", slots="mon-sun 09:00,13:00", timezone="UTC")
    herald.add_user("manager@example.org", PASSWORD, "manager", ["spring"])
    herald.add_user("staff@example.org", PASSWORD, "staff", ["spring"])
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    early = herald.add_post(
        PostRequest(channels=["m1"], text="early", at=now + timedelta(minutes=5), campaign="spring"), now=now
    )
    late = herald.add_post(
        PostRequest(channels=["m1"], text="late", at=now + timedelta(minutes=1), campaign="spring"), now=now
    )
    herald.stop(campaign="spring")
    with pytest.raises(AccessDenied):
        herald.resume(campaign="spring", reschedule="next-slot", actor=actor_of(herald, "staff@example.org"))
    with pytest.raises(InputError, match="keep or next-slot"):
        herald.resume(campaign="spring", reschedule="tomorrow")
    assert all(d.status == states.HELD for d in herald.delivery_log(campaign="spring"))

    r = _cli("campaign", "resume", "spring", "--reschedule", "next-slot", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {"scope": "spring", "released": 2, "reschedule": "next-slot", "moved": 2}
    a, b = _deliveries(herald, late)["m1"], _deliveries(herald, early)["m1"]
    assert a[0] == b[0] == states.QUEUED
    assert a[1] < b[1] and {a[1].hour, b[1].hour} <= {9, 13}  # the earlier post, the earlier slot
    assert a[1] > now
    resumed = [e for e in herald.audit_log() if e.action == "resume"]
    assert resumed[0].detail["reschedule"] == "next-slot"

    # keep (the default): the old behaviour.
    herald.stop(campaign="spring")
    assert _cli("resume", "--campaign", "spring").exit_code == 0
    assert _deliveries(herald, late)["m1"] == a


def test_resume_to_next_slots_without_slots_is_refused_and_resumes_nothing(herald: Any) -> None:
    add_channels(herald)
    pid = herald.add_post(
        PostRequest(channels=["m1"], text="t", at=datetime.now(UTC) + timedelta(hours=1), campaign="spring")
    )
    herald.stop(campaign="spring")
    r = _cli("resume", "--campaign", "spring", "--reschedule", "next-slot")
    assert r.exit_code == 2 and "have no posting slots" in r.stderr
    assert _deliveries(herald, pid)["m1"][0] == states.HELD
    assert herald.show_campaign("spring").paused


def test_the_api_resume_takes_the_choice(herald: Any) -> None:
    from fastapi.testclient import TestClient

    from herald.web import create_app
    from tests.web import BASE_URL

    add_channels(herald)
    herald.set_schedule("m1", slots="mon-sun 09:00", timezone="UTC")
    pid = herald.add_post(
        PostRequest(channels=["m1"], text="t", at=datetime.now(UTC) + timedelta(minutes=1), campaign="spring")
    )
    herald.add_user("kim@example.org", PASSWORD, "manager", ["spring"])
    herald.stop(campaign="spring")
    with TestClient(create_app(herald), base_url=BASE_URL) as client:
        client.headers["Authorization"] = f"Bearer {herald.create_token('kim@example.org').token.reveal()}"
        r = client.post("/api/v1/resume", json={"campaign": "spring", "reschedule": "later"})
        assert r.status_code == 422 and _deliveries(herald, pid)["m1"][0] == states.HELD
        r = client.post("/api/v1/resume", json={"campaign": "spring", "reschedule": "next-slot"})
        assert r.status_code == 200, r.text
    state, due = _deliveries(herald, pid)["m1"]
    assert state == states.QUEUED and (due.hour, due.minute) == (9, 0)


# -- duplicate ----------------------------------------------------------------------------------


def test_a_post_is_duplicated_to_other_channels_with_its_photos_and_alt_text(herald: Any) -> None:
    add_channels(herald)
    herald.add_channel("m2", "mastodon", {"access_token": "tok-123456"}, base_url="http://127.0.0.1:9/m2")
    pid = herald.add_post(
        PostRequest(
            channels=["m1"],
            text="평화 photo",
            photos=[PhotoInput(jpeg_bytes(), "a.jpg", alt_text="a blue square", credit="Kim")],
            campaign="spring",
            language="ko",
            at=datetime.now(UTC) + timedelta(hours=2),
        )
    )
    r = _cli(
        "post",
        "duplicate",
        pid,
        "--channel",
        "x1",
        "--channel",
        "m2",
        "--at",
        (datetime.now(UTC) + timedelta(hours=3)).isoformat(),
    )
    assert r.exit_code == 0, r.output
    new = r.output.strip().splitlines()[-1]
    assert new != pid and set(_deliveries(herald, new)) == {"x1", "m2"}
    with herald.db.read() as s:
        post = s.get(Post, new)
        assert (
            post is not None
            and post.text == "평화 photo"
            and post.language == "ko"
            and post.campaign is not None
        )
        assert post.campaign.name == "spring"
        photos = s.execute(select(PostPhoto.alt_text, PostPhoto.credit).where(PostPhoto.post_id == new)).all()
        assert [tuple(p) for p in photos] == [("a blue square", "Kim")]
        # The stored (already cleaned) photo goes through ingest again; for this photo that
        # gives the same bytes, so the same blob is shared, not stored twice.
        shas = s.execute(select(PostPhoto.post_id, PostPhoto.sha256)).all()
        assert len({sha for _, sha in shas}) == 1
    assert any(e.action == "post.queue" and e.target_id == new for e in herald.audit_log())


def test_duplicating_runs_every_check_and_needs_the_right_to_draft(herald: Any) -> None:
    add_channels(herald)
    herald.add_user("viewer@example.org", PASSWORD, "staff", ["spring"])
    pid = herald.add_post(
        PostRequest(
            channels=["m1"], text="z" * 400, campaign="spring", at=datetime.now(UTC) + timedelta(hours=1)
        )
    )
    before = herald.list_posts()
    r = _cli("post", "duplicate", pid, "--channel", "x1")
    assert r.exit_code == 2 and "x1:" in r.stderr  # 400 characters do not fit X
    r = _cli("post", "duplicate", pid, "--channel", "nowhere")
    assert r.exit_code == 2 and "unknown channel" in r.stderr
    r = _cli("post", "duplicate", "nope", "--channel", "m1")
    assert r.exit_code == 2 and "unknown post" in r.stderr
    assert herald.list_posts() == before
    # Staff may draft in the campaign, so staff may duplicate there.
    staff = actor_of(herald, "viewer@example.org")
    new = herald.duplicate_post(pid, ["m1"], at=datetime.now(UTC) + timedelta(hours=2), actor=staff)
    assert new != pid


def test_a_post_whose_photos_were_purged_is_not_duplicated(herald: Any) -> None:
    add_channels(herald)
    pid = herald.add_post(
        PostRequest(
            channels=["m1"],
            text="p",
            photos=[PhotoInput(jpeg_bytes(), "a.jpg", alt_text="alt")],
            campaign="spring",
        )
    )
    with herald.db.session() as s:
        for blob in s.execute(select(PhotoBlob)).scalars():
            blob.purged_at = datetime(2026, 1, 1)
    r = _cli("post", "duplicate", pid, "--channel", "x1")
    assert r.exit_code == 2 and "purged" in r.stderr


def test_the_campaigns_page_shows_the_range_tags_and_windows(herald: Any) -> None:
    from tests.web import ADMIN, add_people, web_client

    add_channels(herald)
    add_people(herald)
    herald.set_campaign("spring", timezone="Asia/Seoul", starts="2027-01-01", hashtags="#봄", utm=True)
    herald.add_blackout("spring", starts="2027-06-06", ends="2027-06-06", label="Memorial Day")
    with web_client(herald, ADMIN) as client:
        page = client.get("/campaigns").text
    assert "2027-01-01 00:00 to …" in page and "#봄; UTM links (spring)" in page
    assert "Memorial Day (wait): 2027-06-06 00:00 to 2027-06-07 00:00" in page
