"""Issue 16, publish now: ``herald post publish-now POST_ID`` makes a queued (or scheduled-later)
post's deliveries due now and stages them again; refused clearly for a post published,
cancelled, held, waiting for approval, during its campaign's blackout window or outside its
date range; the same right as release and retry; audited. Real SQL (SQLite and PostgreSQL),
Redis and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from herald.cli import app as cli
from herald.core.errors import AccessDenied, Conflict, NotFound
from herald.delivery.staging import to_epoch
from herald.service import PostRequest
from herald.store import states
from herald.store.models import Delivery
from tests.web import PASSWORD, actor_of, add_channels, settle

runner = CliRunner()


@pytest.fixture
def db_url(any_db_url: str) -> str:
    return any_db_url


def _later(herald: Any, **kw: Any) -> str:
    return str(
        herald.add_post(
            PostRequest(
                channels=["m1", "x1"],
                text="later",
                at=datetime.now(UTC) + timedelta(days=2),
                campaign="spring",
                **kw,
            )
        )
    )


def _dues(herald: Any, post_id: str) -> list[tuple[int, str, datetime]]:
    with herald.db.read() as s:
        rows = s.execute(
            select(Delivery.id, Delivery.state, Delivery.due_at)
            .where(Delivery.post_id == post_id)
            .order_by(Delivery.id)
        ).all()
    return [(int(i), str(st), due) for i, st, due in rows]


def test_a_post_scheduled_later_is_made_due_now_and_staged_again(herald: Any) -> None:
    add_channels(herald)
    pid = _later(herald)
    r = runner.invoke(cli, ["post", "publish-now", pid])
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"{pid} due now on m1, x1"
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = _dues(herald, pid)
    assert all(st == states.QUEUED and abs(due - now) < timedelta(minutes=1) for _, st, due in rows)
    staged = herald.queue.payloads([i for i, _, _ in rows])
    assert all(staged[i].due == to_epoch(due) for i, _, due in rows)
    event = next(e for e in herald.audit_log() if e.action == "post.publish-now")
    assert event.target_id == pid and event.detail["channels"] == ["m1", "x1"]


def test_publish_now_is_refused_for_posts_with_nothing_queued(herald: Any) -> None:
    add_channels(herald)
    published, held = (
        str(herald.add_post(PostRequest(channels=["m1", "x1"], text=t, campaign="spring"))) for t in "ab"
    )
    cancelled = _later(herald)
    settle(herald, published, states.PUBLISHED, url="https://example.org/1")
    herald.cancel_post(cancelled)
    settle(herald, held, states.HELD, error="missed its window")
    for pid, says in (
        (published, "nothing queued to publish now (m1 published, x1 published)"),
        (cancelled, "(m1 cancelled, x1 cancelled)"),
        (held, "held ones go with `herald post release`"),
    ):
        r = runner.invoke(cli, ["post", "publish-now", pid])
        assert r.exit_code == 2 and says in r.stderr, r.stderr
    with pytest.raises(NotFound, match="unknown post"):
        herald.publish_now("nope")
    assert not any(e.action == "post.publish-now" for e in herald.audit_log())


def test_a_post_waiting_for_approval_is_not_published_now(herald: Any) -> None:
    add_channels(herald)
    herald.set_campaign("spring", requires_approval=True)
    herald.add_user("staff@example.org", PASSWORD, "staff", ["spring"])
    pid = herald.add_post(
        PostRequest(
            channels=["m1"], text="draft", at=datetime.now(UTC) + timedelta(days=1), campaign="spring"
        ),
        actor=actor_of(herald, "staff@example.org"),
    )
    with pytest.raises(Conflict, match="is pending, not approved"):
        herald.publish_now(pid)
    assert _dues(herald, pid)[0][1] == states.SCHEDULED


def test_only_those_who_may_release_may_publish_now(herald: Any) -> None:
    add_channels(herald)
    herald.add_user("staff@example.org", PASSWORD, "staff", ["spring"])
    herald.add_user("manager@example.org", PASSWORD, "manager", ["spring"])
    pid = _later(herald)
    before = _dues(herald, pid)
    with pytest.raises(AccessDenied, match="needs the manager role"):
        herald.publish_now(pid, actor=actor_of(herald, "staff@example.org"))
    assert _dues(herald, pid) == before
    done = herald.publish_now(pid, actor=actor_of(herald, "manager@example.org"))
    assert done.channels == ("m1", "x1")


def test_publish_now_respects_blackouts_the_range_and_a_pause(herald: Any) -> None:
    add_channels(herald)
    pid = _later(herald)
    before = _dues(herald, pid)
    now = datetime.now(UTC).replace(tzinfo=None)
    herald.add_blackout(
        "spring", starts=(now - timedelta(hours=1)).isoformat() + "+00:00",
        ends=(now + timedelta(hours=1)).isoformat() + "+00:00", label="silence",
    )  # fmt: skip
    with pytest.raises(Conflict, match="is in blackout 'silence' until"):
        herald.publish_now(pid)
    herald.remove_blackout("spring", herald.list_blackouts("spring")[0].id)
    herald.set_campaign("spring", starts=(now + timedelta(days=1)).isoformat() + "+00:00")
    with pytest.raises(Conflict, match="is before its start"):
        herald.publish_now(pid)
    herald.set_campaign("spring", starts="")
    herald.stop(campaign="spring")
    with pytest.raises(Conflict, match="its campaign is paused"):
        herald.publish_now(pid)
    herald.resume(campaign="spring")
    assert [st for _, st, _ in _dues(herald, pid)] == [st for _, st, _ in before]
    herald.publish_now(pid)
