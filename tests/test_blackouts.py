"""Issue 16, blackout windows: per campaign, named local-time windows when nothing goes out.
Enforced at queue time (a post placed in a window waits for its end or is held; the next free
slot skips windows), when a window is added (queued deliveries already in it move or are held,
in SQL and in Redis), and at the worker's last check before the platform call (a retry that
lands in one is deferred to its end or held). Real SQL (SQLite and PostgreSQL), Redis, the
delivery engine and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from herald.cli import app as cli
from herald.core.errors import AccessDenied, InputError, NotFound
from herald.delivery.factory import build_deliverer
from herald.delivery.staging import to_epoch
from herald.service import PostRequest
from herald.store import states
from herald.store.blackouts import add_blackout
from herald.store.models import Campaign, Delivery
from tests.web import PASSWORD, actor_of, add_channels

runner = CliRunner()


@pytest.fixture
def db_url(any_db_url: str) -> str:
    return any_db_url


def _cli(*args: str) -> Any:
    return runner.invoke(cli, list(args))


def _row(herald: Any, post_id: str) -> tuple[int, str, datetime, str | None]:
    with herald.db.read() as s:
        d = s.execute(select(Delivery).where(Delivery.post_id == post_id)).scalar_one()
        return d.id, d.state, d.due_at, d.last_error


def _seoul(herald: Any) -> None:
    add_channels(herald)
    herald.set_campaign("spring", timezone="Asia/Seoul")
    herald.set_schedule("m1", slots="mon-sun 09:00,18:00", timezone="Asia/Seoul")


NOW = datetime(2027, 6, 1)  # a week before Memorial Day (2027-06-06 in Seoul)


# -- the CLI and who may ------------------------------------------------------------------------


def test_windows_are_added_listed_and_removed_by_managers_and_audited(herald: Any) -> None:
    _seoul(herald)
    r = _cli(
        "campaign", "blackout", "add", "spring", "--from", "2027-06-06T00:00", "--to", "2027-06-07T00:00",
        "--mode", "wait", "--label", "Memorial Day",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    added = json.loads(r.output)
    assert added["starts_at"] == "2027-06-05T15:00:00Z" and added["starts_local"] == "2027-06-06T00:00+09:00"
    listed = json.loads(_cli("campaign", "blackout", "list", "spring", "--format", "json").output)
    assert [(b["label"], b["mode"], b["ends_local"]) for b in listed] == [
        ("Memorial Day", "wait", "2027-06-07T00:00+09:00")
    ]
    assert herald.show_campaign("spring").blackouts[0].label == "Memorial Day"
    r = _cli("campaign", "blackout", "remove", "spring", str(added["id"]))
    assert r.exit_code == 0 and "removed blackout" in r.output
    assert herald.list_blackouts("spring") == []
    actions = [e.action for e in herald.audit_log()]
    assert "campaign.blackout.add" in actions and "campaign.blackout.remove" in actions

    herald.add_user("staff@example.org", PASSWORD, "staff", ["spring"])
    herald.add_user("manager@example.org", PASSWORD, "manager", ["spring"])
    staff, manager = actor_of(herald, "staff@example.org"), actor_of(herald, "manager@example.org")
    with pytest.raises(AccessDenied, match="needs the manager role"):
        herald.add_blackout("spring", starts="2027-06-06", ends="2027-06-06", actor=staff)
    b = herald.add_blackout("spring", starts="2027-06-06", ends="2027-06-06", mode="hold", actor=manager)
    assert b.created_by == "manager@example.org" and b.mode == "hold"
    with pytest.raises(AccessDenied):
        herald.remove_blackout("spring", b.id, actor=staff)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--from", "2027-06-07", "--to", "2027-06-06T12:00"], "ends after it starts"),
        (["--from", "2027-06-06", "--to", "2027-06-07", "--mode", "skip"], "wait or hold"),
        (["--from", "tomorrow", "--to", "2027-06-07"], "not a local date or time"),
        (["--from", "2027-06-06", "--to", "2027-06-07", "--label", "a\x00b"], "control character"),
    ],
)
def test_a_bad_window_is_refused_and_nothing_changes(herald: Any, args: list[str], says: str) -> None:
    _seoul(herald)
    pid = herald.add_post(
        PostRequest(channels=["m1"], text="t", local_at=datetime(2027, 6, 6, 9), campaign="spring"), now=NOW
    )
    before = _row(herald, pid)
    r = _cli("campaign", "blackout", "add", "spring", *args)
    assert r.exit_code == 2 and says in r.stderr
    assert herald.list_blackouts("spring") == [] and _row(herald, pid) == before


def test_unknown_campaigns_and_windows_are_named(herald: Any) -> None:
    _seoul(herald)
    with pytest.raises(NotFound, match="unknown campaign 'autumn'"):
        herald.add_blackout("autumn", starts="2027-06-06", ends="2027-06-06")
    r = _cli("campaign", "blackout", "remove", "spring", "99")
    assert r.exit_code == 2 and "has no blackout window 99" in r.stderr


# -- at queue time ------------------------------------------------------------------------------


def test_posts_due_in_a_wait_window_go_at_its_end_in_their_order(herald: Any) -> None:
    _seoul(herald)
    w = herald.add_blackout("spring", starts="2027-06-06", ends="2027-06-06", label="Memorial Day")
    later = herald.add_post(
        PostRequest(channels=["m1"], text="b", local_at=datetime(2027, 6, 6, 18), campaign="spring"), now=NOW
    )
    earlier = herald.add_post(
        PostRequest(channels=["m1"], text="a", local_at=datetime(2027, 6, 6, 9), campaign="spring"), now=NOW
    )
    end = datetime(2027, 6, 6, 15)  # 2027-06-07 00:00 in Seoul
    (i1, s1, due1, _), (i2, s2, due2, _) = _row(herald, earlier), _row(herald, later)
    assert s1 == s2 == states.QUEUED and end < due1 < due2 < end + timedelta(seconds=1)
    staged = herald.queue.payloads([i1, i2])
    assert staged[i1].due == to_epoch(due1) and staged[i1].blackouts == ()  # nothing left ahead of it
    # The next free slot skips the window: 09:00 and 18:00 on the 6th are in it.
    slot = herald.add_post(
        PostRequest(channels=["m1"], text="c", next_slot=True, after=datetime(2027, 6, 5, 23, tzinfo=UTC),
                    campaign="spring"), now=NOW,
    )  # fmt: skip
    assert _row(herald, slot)[2] == datetime(2027, 6, 7, 0)  # 09:00 on the 7th, Seoul
    assert w.label == "Memorial Day"


def test_a_post_due_in_a_hold_window_is_held_for_a_person_and_a_release_sends_it(herald: Any) -> None:
    _seoul(herald)
    herald.add_blackout(
        "spring", starts="2027-06-02", ends="2027-06-04", mode="hold", label="election silence"
    )
    pid = herald.add_post(
        PostRequest(channels=["m1"], text="vote", local_at=datetime(2027, 6, 3, 9), campaign="spring"),
        now=NOW,
    )
    i, state, _, error = _row(herald, pid)
    assert state == states.HELD and error is not None and "'election silence' holds" in error
    assert herald.queue.payload(i) is None  # never staged
    # A person decides: released, it is due now (a release inside the window would override
    # that window: ``herald.core.intervals.pending``).
    assert herald.requeue(pid, what="release") == [i]
    payload = herald.queue.payload(i)
    assert payload is not None and payload.due <= datetime.now(UTC).timestamp()
    assert _row(herald, pid)[1] == states.QUEUED


# -- when a window is added ---------------------------------------------------------------------


def test_adding_a_window_moves_or_holds_what_is_already_queued_in_it(herald: Any) -> None:
    _seoul(herald)

    def post(text: str, local: datetime) -> str:
        return str(
            herald.add_post(
                PostRequest(channels=["m1"], text=text, local_at=local, campaign="spring"), now=NOW
            )
        )

    before, inside, held_one, after = (
        post("before", datetime(2027, 6, 5, 9)),
        post("inside", datetime(2027, 6, 6, 9)),
        post("held", datetime(2027, 6, 10, 9)),
        post("after", datetime(2027, 6, 20, 9)),
    )
    herald.add_blackout("spring", starts="2027-06-06", ends="2027-06-06", label="Memorial Day", now=NOW)
    herald.add_blackout("spring", starts="2027-06-10", ends="2027-06-10", mode="hold", now=NOW)
    i, state, due, _ = _row(herald, inside)
    assert state == states.QUEUED and datetime(2027, 6, 6, 15) < due < datetime(2027, 6, 6, 15, 0, 1)
    assert herald.queue.payload(i).due == to_epoch(due)  # re-staged in Redis
    assert _row(herald, held_one)[1] == states.HELD
    # One before the window is staged again carrying it (a retry could land in it); one after
    # it is untouched.
    j = _row(herald, before)[0]
    assert [b[3] for b in herald.queue.payload(j).blackouts] == ["Memorial Day", ""]
    k = _row(herald, after)[0]
    assert herald.queue.payload(k).blackouts == ()
    event = next(e for e in herald.audit_log() if e.action == "campaign.blackout.add")
    assert (event.detail["moved"], event.detail["held"]) in {(1, 0), (0, 1)}


# -- at the worker's last check -----------------------------------------------------------------


def _due_now_inside_a_window(herald: Any, mode: str) -> int:
    """A post due now whose campaign has a window around now that SQL did not apply (as for a
    retry that lands in it): staged with the window in its payload."""
    add_channels(herald)
    now = datetime.now(UTC).replace(tzinfo=None)
    pid = herald.add_post(PostRequest(channels=["m1"], text="t", campaign="spring"))
    i = _row(herald, pid)[0]
    with herald.db.session() as s:
        cid = s.execute(select(Campaign.id).where(Campaign.name == "spring")).scalar_one()
        add_blackout(
            s, cid, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1), mode=mode,
            label="silence", created_by=None,
        )  # fmt: skip
        s.execute(update(Delivery).where(Delivery.id == i).values(due_at=now - timedelta(seconds=1)))
    herald._stage([i])
    return i


def test_the_worker_defers_a_delivery_that_comes_due_in_a_wait_window(herald: Any) -> None:
    i = _due_now_inside_a_window(herald, "wait")
    deliverer = build_deliverer()
    try:
        assert deliverer.deliver(i) == "deferred"
    finally:
        deliverer.close()
    with herald.db.read() as s:
        d = s.get(Delivery, i)
        assert d is not None and d.state == states.QUEUED and d.attempts == 0
        assert d.due_at > datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=59)
    entry = herald.delivery_log(channel="m1")[0]
    assert entry.status == states.QUEUED


def test_the_worker_holds_a_delivery_that_comes_due_in_a_hold_window(herald: Any) -> None:
    i = _due_now_inside_a_window(herald, "hold")
    deliverer = build_deliverer()
    try:
        assert deliverer.deliver(i) == "held"
    finally:
        deliverer.close()
    with herald.db.read() as s:
        d = s.get(Delivery, i)
        assert d is not None and d.state == states.HELD and "'silence' holds" in (d.last_error or "")


def test_a_window_ahead_does_not_make_a_waiting_post_late(herald: Any) -> None:
    """A post that waited out a window is not "late" for having waited: the payload's missed
    window is counted without the window's time."""
    _seoul(herald)
    herald.add_blackout("spring", starts="2027-06-06T08:00", ends="2027-06-06T20:00", now=NOW)
    pid = herald.add_post(
        PostRequest(channels=["m1"], text="t", local_at=datetime(2027, 6, 6, 7, 30), campaign="spring"),
        now=NOW,
    )
    i = _row(herald, pid)[0]
    p = herald.queue.payload(i)
    assert p is not None and p.hold_after is not None
    # Due 07:30 with an hour's tolerance: half an hour of it before the window (08:00-20:00
    # Seoul), the other half after: late after 20:30 Seoul.
    assert p.hold_after == to_epoch(datetime(2027, 6, 6, 11, 30))
    with pytest.raises(InputError):
        herald.add_blackout("spring", starts="2027-06-06T08:00", ends="2027-06-06T07:00")
