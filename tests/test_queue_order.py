"""Issue 16: reorder and shuffle a channel's queue (``herald schedule queue|reorder|shuffle``).
The posts trade the channel's times (the set of times stays, so slots and gaps hold); only
queued posts at a slot move (not one being published, held, waiting for approval or at a time
of its own), only on that channel, each move a compare-and-set, staged again in Redis, audited;
a person moves only the posts they may queue at any time. A post keeps its place when others
are cancelled. Real SQL (SQLite and PostgreSQL) and Redis."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from herald.cli import app as cli
from herald.core.errors import AccessDenied, Conflict, InputError, NotFound
from herald.delivery.staging import build_payloads, to_epoch
from herald.service import PostRequest
from herald.store import deliveries, states
from herald.store.models import Delivery, Post
from herald.store.queue_order import channel_queue, lanes, move_queued
from tests.web import actor_of

runner = CliRunner()
PASSWORD = "correct horse battery staple"
# 2030-01-07 is a Monday; 09:00 in Seoul is 00:00 UTC.
NOW = datetime(2030, 1, 6, 12, 0)
DAY = timedelta(days=1)
FIRST = datetime(2030, 1, 7, 0, 0)


@pytest.fixture
def db_url(any_db_url: str) -> str:
    return any_db_url


@pytest.fixture
def seoul(herald: Any) -> str:
    herald.set_campaign("unification")
    herald.set_campaign("berlin", requires_approval=True)
    for name, tz in (("seoul", "Asia/Seoul"), ("berlin", "Europe/Berlin")):
        herald.add_channel(
            name, "mastodon", {"access_token": "tok-123456"}, base_url="http://127.0.0.1:9", timezone=tz
        )
    herald.set_schedule("seoul", slots="daily 09:00", min_gap_seconds=3600)
    herald.set_schedule("berlin", slots="daily 01:00")  # 00:00 UTC in winter: Seoul's 09:00
    herald.add_user("staff@example.org", PASSWORD, "staff", ["unification", "berlin"])
    herald.add_user("manager@example.org", PASSWORD, "manager", ["unification", "berlin"])
    return "seoul"


def _queue(
    herald: Any, text: str, campaign: str | None = "unification", channels: tuple[str, ...] = ("seoul",)
) -> str:
    return str(
        herald.add_post(
            PostRequest(channels=list(channels), text=text, next_slot=True, campaign=campaign), now=NOW
        )
    )


def _times(herald: Any, channel: str = "seoul") -> dict[str, datetime]:
    """Post id → its delivery's time on ``channel``."""
    with herald.db.read() as s:
        rows = s.execute(
            select(Delivery.post_id, Delivery.due_at)
            .join(Delivery.channel)
            .where(Delivery.channel.has(name=channel))
        ).all()
    return {str(p): due for p, due in rows}


def _order(herald: Any) -> list[str]:
    return [p for p, _ in sorted(_times(herald).items(), key=lambda kv: kv[1])]


def _cli(*args: str) -> Any:
    return runner.invoke(cli, list(args), catch_exceptions=False)


def test_reorder_moves_one_post_and_the_others_shift_among_the_same_times(herald: Any, seoul: str) -> None:
    posts = [_queue(herald, t) for t in ("one", "two", "three", "four")]
    before = _times(herald)
    assert sorted(before.values()) == [FIRST + i * DAY for i in range(4)]

    done = herald.reorder(seoul, posts[3], 1, now=NOW)
    assert _order(herald) == [posts[3], posts[0], posts[1], posts[2]]
    assert sorted(_times(herald).values()) == sorted(before.values())  # the same times
    assert [(m.post_id, m.local) for m in done.moved] == [
        (posts[3], "2030-01-07T09:00+09:00"),
        (posts[0], "2030-01-08T09:00+09:00"),
        (posts[1], "2030-01-09T09:00+09:00"),
        (posts[2], "2030-01-10T09:00+09:00"),
    ]
    assert done.kept == ()
    # Redis holds the new times, as a rebuild from SQL would; the post's time follows.
    ids = {e.post_id: e.delivery_id for e in done.queue}
    staged = herald.queue.payloads(list(ids.values()))
    with herald.db.session() as s:
        rebuilt = {p.delivery_id: p for p, _ in build_payloads(s, list(ids.values()))}
        scheduled = dict(s.execute(select(Post.id, Post.scheduled_at)).all())
    for post_id, at in _times(herald).items():
        assert staged[ids[post_id]].due == to_epoch(at) == rebuilt[ids[post_id]].due
        assert staged[ids[post_id]].hold_after == rebuilt[ids[post_id]].hold_after == to_epoch(at) + 3600
        assert scheduled[post_id] == at
    assert "channel.reorder" in [e.action for e in herald.audit_log()]

    herald.reorder(seoul, posts[3], 99, now=NOW)  # past the end: last
    assert _order(herald) == [posts[0], posts[1], posts[2], posts[3]]


def test_shuffle_permutes_the_posts_among_the_same_times(herald: Any, seoul: str) -> None:
    posts = [_queue(herald, f"post {i}") for i in range(6)]
    before = _times(herald)
    done = herald.shuffle(seoul, seed=7, now=NOW)
    by_position = [e.delivery_id for e in sorted(done.queue, key=lambda e: e.position or 0)]
    ids = sorted(by_position)  # delivery ids in the order they were placed (the old order)
    expected = list(ids)
    random.Random(7).shuffle(expected)
    assert by_position == expected
    assert sorted(_times(herald).values()) == sorted(before.values())
    assert set(_times(herald)) == set(posts)
    assert "channel.shuffle" in [e.action for e in herald.audit_log()]


def test_only_queued_posts_at_a_slot_move_and_the_answer_says_why_the_others_stay(
    herald: Any, seoul: str
) -> None:
    a, b, c = (_queue(herald, t) for t in ("a", "b", "c"))
    own = herald.add_post(
        PostRequest(
            channels=[seoul],
            text="own time",
            at=FIRST + 10 * DAY + timedelta(minutes=30),
            campaign="unification",
        ),
        now=NOW,
    )
    pending = herald.add_post(
        PostRequest(channels=[seoul], text="pending", next_slot=True, campaign="berlin"),
        now=NOW,
        actor=herald_staff_in_berlin(herald),
    )
    held = _queue(herald, "held")
    [held_id] = [r.delivery_id for r in herald.delivery_log(post_id=held)]
    with herald.db.session() as s:  # a worker found it past its window
        claim = deliveries.claim(s, held_id, lease_seconds=60, now=FIRST + 4 * DAY)
        assert claim is not None
        assert deliveries.mark_final(s, held_id, claim.token, states.HELD, error="missed its window")
    # A worker claims b: it is being published when the person shuffles.
    [b_id] = [r.delivery_id for r in herald.delivery_log(post_id=b)]
    with herald.db.session() as s:
        assert deliveries.claim(s, b_id, lease_seconds=60, now=FIRST + DAY) is not None
    before = _times(herald)

    done = herald.shuffle(seoul, seed=1, now=NOW)
    moved = {m.post_id for m in done.moved}
    assert moved <= {a, c}
    notes = {e.post_id: e.note for e in done.kept}
    assert notes[b].startswith("being published")
    assert notes[own].startswith("at a time of its own")
    assert notes[pending] == "waiting for approval"
    assert notes[held] == "held for a person"
    after = _times(herald)
    for stays in (b, own, pending, held):
        assert after[stays] == before[stays]
    assert {after[a], after[c]} == {before[a], before[c]}
    with pytest.raises(Conflict, match="stays where it is on seoul: being published"):
        herald.reorder(seoul, b, 1, now=NOW)


def herald_staff_in_berlin(herald: Any) -> Any:
    """A staff member of the approving campaign: their post waits for a manager."""
    herald.add_user("writer@example.org", PASSWORD, "staff", ["berlin"])
    return actor_of(herald, "writer@example.org", PASSWORD)


def test_a_post_on_two_channels_moves_only_on_this_one(herald: Any, seoul: str) -> None:
    both = _queue(herald, "both", channels=("seoul", "berlin"))
    later = _queue(herald, "later")
    assert _times(herald)[both] == _times(herald, "berlin")[both] == FIRST
    [berlin_id] = [r.delivery_id for r in herald.delivery_log(post_id=both) if r.channel == "berlin"]
    herald_payload = herald.queue.payloads([berlin_id])[berlin_id]

    herald.reorder(seoul, later, 1, now=NOW)
    assert _times(herald)[both] == FIRST + DAY  # moved on seoul
    assert _times(herald, "berlin")[both] == FIRST  # not on berlin
    with herald.db.session() as s:
        assert s.get(Post, both).scheduled_at == FIRST  # still the earliest of its deliveries
        [(rebuilt, _)] = build_payloads(s, [berlin_id])
    assert (rebuilt.due, rebuilt.hold_after) == (herald_payload.due, herald_payload.hold_after)

    # Moved back earlier than its post's other copy: the post's time follows, and the other
    # copy keeps its late window (it is not late from the new, earlier time).
    herald.reorder(seoul, later, 2, now=NOW)
    herald.reorder(seoul, both, 1, now=NOW)
    assert _times(herald)[both] == FIRST


def test_the_post_time_becomes_earlier_and_the_other_copy_keeps_its_window(herald: Any, seoul: str) -> None:
    early = _queue(herald, "early")
    both = _queue(herald, "both", channels=("seoul", "berlin"))  # the next common slot: day 2
    assert (_times(herald)[both], _times(herald, "berlin")[both]) == (FIRST + DAY, FIRST + DAY)
    [berlin_id] = [r.delivery_id for r in herald.delivery_log(post_id=both) if r.channel == "berlin"]
    staged = herald.queue.payloads([berlin_id])[berlin_id]

    herald.reorder(seoul, early, 2, now=NOW)  # "both" goes first on seoul
    with herald.db.session() as s:
        assert s.get(Post, both).scheduled_at == FIRST  # the earliest of its deliveries now
        [(rebuilt, _)] = build_payloads(s, [berlin_id])
    # Berlin's copy is not late from the post's new, earlier time: its window is as staged.
    assert rebuilt.hold_after == staged.hold_after == to_epoch(FIRST + DAY) + 3600

    herald.reorder(seoul, both, 2, now=NOW)
    with herald.db.session() as s:
        assert s.get(Post, both).scheduled_at == FIRST + DAY


def test_a_post_keeps_its_place_when_others_are_cancelled(herald: Any, seoul: str) -> None:
    posts = [_queue(herald, t) for t in ("one", "two", "three", "four")]
    before = _times(herald)
    herald.cancel_post(posts[1])
    after = _times(herald)
    for p in (posts[0], posts[2], posts[3]):
        assert after[p] == before[p]
    shown = herald.queue_of(seoul, now=NOW)
    assert [(e.position, e.post_id) for e in shown.entries] == [(1, posts[0]), (2, posts[2]), (3, posts[3])]
    # The freed time goes to the next post queued, not to the ones already placed.
    fifth = _queue(herald, "five")
    assert _times(herald)[fifth] == before[posts[1]]


def test_staff_move_only_their_campaigns_posts(herald: Any, seoul: str) -> None:
    staff = actor_of(herald, "staff@example.org", PASSWORD)
    manager = actor_of(herald, "manager@example.org", PASSWORD)
    ours = [_queue(herald, "ours 1"), _queue(herald, "ours 2")]
    theirs = _queue(herald, "theirs", campaign="berlin")  # an approving campaign (queued by the system)
    none = _queue(herald, "no campaign", campaign=None)
    before = _times(herald)

    with pytest.raises(AccessDenied, match="not yours to move"):
        herald.reorder(seoul, theirs, 1, actor=staff, now=NOW)
    shown = {e.post_id: e for e in herald.queue_of(seoul, now=NOW, actor=staff).entries}
    assert set(shown) == {*ours, theirs}  # not the post of no campaign: staff may not see it
    assert shown[theirs].position is None and "needs the approve capability" in (shown[theirs].note or "")
    with pytest.raises(NotFound):  # nor learn that it exists
        herald.reorder(seoul, none, 1, actor=staff, now=NOW)

    done = herald.reorder(seoul, ours[1], 1, actor=staff, now=NOW)
    after = _times(herald)
    assert (after[ours[0]], after[ours[1]]) == (before[ours[1]], before[ours[0]])
    assert after[theirs] == before[theirs] and after[none] == before[none]
    assert {m.post_id for m in done.moved} == set(ours)

    # A manager of the approving campaign may move its approved post; staff may not shuffle it.
    herald.shuffle(seoul, seed=3, actor=staff, now=NOW)
    assert _times(herald)[theirs] == before[theirs]
    herald.reorder(seoul, theirs, 1, actor=manager, now=NOW)
    assert _times(herald)[theirs] == FIRST
    # Someone with no role anywhere is refused outright.
    with pytest.raises(AccessDenied):
        herald.shuffle(seoul, actor=_no_role(herald), now=NOW)


def _no_role(herald: Any) -> Any:
    from herald.accounts import Actor

    return Actor(user_id=None, email="nobody@example.org", roles={})


def test_hostile_and_wrong_input_is_refused_and_moves_nothing(
    herald: Any, seoul: str, herald_env: dict[str, str]
) -> None:
    posts = [_queue(herald, t) for t in ("one", "two")]
    before = _times(herald)
    with pytest.raises(InputError, match="places start at 1"):
        herald.reorder(seoul, posts[1], 0, now=NOW)
    with pytest.raises(NotFound, match="unknown channel"):
        herald.reorder("nowhere", posts[1], 1, now=NOW)
    for hostile in ("' OR 1=1 --", "x" * 10_000, "\x00"):
        with pytest.raises(NotFound, match="nothing coming on channel seoul"):
            herald.reorder(seoul, hostile, 1, now=NOW)
    for args, message in (
        (("schedule", "reorder", seoul, posts[1], "--to", "0"), "places start at 1"),
        (("schedule", "reorder", "nowhere", posts[1], "--to", "1"), "unknown channel"),
        (("schedule", "queue", "nowhere"), "unknown channel"),
        (("schedule", "shuffle", "nowhere"), "unknown channel"),
    ):
        res = _cli(*args)
        assert res.exit_code != 0 and message in res.stderr, res.output
    assert _cli("schedule", "reorder", seoul, posts[1], "--to", "first").exit_code != 0
    assert _cli("schedule", "shuffle", seoul, "--seed", "x").exit_code != 0
    assert _times(herald) == before


def test_a_delivery_claimed_meanwhile_is_not_moved(herald: Any, seoul: str) -> None:
    """The compare-and-set under a reorder: a plan made from a read, applied after a worker
    claimed one of its deliveries, leaves that one alone (the service then moves nothing)."""
    posts = [_queue(herald, t) for t in ("one", "two")]
    with herald.db.session() as s:
        [ch] = {d.channel_id for d in s.execute(select(Delivery)).scalars()}
        rows = channel_queue(s, ch, NOW)
    with herald.db.session() as s:
        assert deliveries.claim(s, rows[0].delivery_id, lease_seconds=60, now=FIRST) is not None
    with herald.db.session() as s:
        moved = move_queued(
            s,
            {
                rows[0].delivery_id: (rows[0].due_at, rows[1].due_at),
                rows[1].delivery_id: (rows[1].due_at, rows[0].due_at),
            },
            now=NOW,
        )
    assert moved == [rows[1].delivery_id]
    assert _times(herald)[posts[0]] == FIRST  # the claimed one stayed


def test_the_command_line_lists_reorders_and_shuffles(
    herald: Any, seoul: str, herald_env: dict[str, str]
) -> None:
    posts = [_queue(herald, t) for t in ("one", "two", "three")]
    listed = json.loads(_cli("schedule", "queue", seoul, "--format", "json").stdout)
    assert listed["timezone"] == "Asia/Seoul"
    assert [(e["position"], e["post_id"], e["local"]) for e in listed["entries"]] == [
        (1, posts[0], "2030-01-07T09:00+09:00"),
        (2, posts[1], "2030-01-08T09:00+09:00"),
        (3, posts[2], "2030-01-09T09:00+09:00"),
    ]
    table = _cli("schedule", "queue", seoul)
    assert table.exit_code == 0 and "2030-01-07T09:00+09:00" in table.stdout
    res = _cli("schedule", "reorder", seoul, posts[2], "--to", "1", "--format", "json")
    assert res.exit_code == 0, res.output
    assert [m["post_id"] for m in json.loads(res.stdout)["moved"]] == [posts[2], posts[0], posts[1]]
    assert _order(herald) == [posts[2], posts[0], posts[1]]
    res = _cli("schedule", "shuffle", seoul, "--seed", "5")
    assert res.exit_code == 0 and "moved on seoul" in res.stderr
    assert sorted(_times(herald).values()) == [FIRST, FIRST + DAY, FIRST + 2 * DAY]


# -- the hand-over's lanes (scheduler.lanes): a channel's deliveries in its queue's order --------------


def test_lanes_group_a_hand_over_by_channel_in_queue_order(herald: Any, seoul: str) -> None:
    at = datetime(2030, 1, 7, 0, 0)
    for k in range(4):  # each post on both channels: ids alternate between them
        herald.add_post(
            PostRequest(channels=["seoul", "berlin"], text=f"lane #{k}", at=at + timedelta(seconds=k % 2)),
            now=NOW,
        )
    with herald.db.read() as s:
        rows = s.execute(
            select(Delivery.id, Delivery.channel_id, Delivery.due_at).order_by(Delivery.id)
        ).all()
        ids = [r.id for r in rows]
        got = lanes(s, [*reversed(ids), 999_999])
    by_channel: dict[int, list[tuple[datetime, int]]] = {}
    for r in rows:
        by_channel.setdefault(r.channel_id, []).append((r.due_at, r.id))
    expected = [tuple(i for _, i in sorted(v)) for v in by_channel.values()]
    # Each channel's lane in (due, made) order; the channel of the earliest delivery first; an
    # id with no row (gone since it was staged) is a lane of its own, last.
    assert sorted(got[:-1]) == sorted(expected)
    assert got[0][0] == min(ids)
    assert got[-1] == (999_999,)
    # Due times decide before the order they were made: #1 and #3 are due a second later.
    for lane in got[:-1]:
        dues = [next(r.due_at for r in rows if r.id == i) for i in lane]
        assert dues == sorted(dues)
