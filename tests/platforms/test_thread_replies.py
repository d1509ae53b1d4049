"""Replies on the platforms whose long posts continue as a thread (X, Bluesky, Mastodon): each
connector against its simulator. A reply names its parent the platform's way, the look-up after
a lost answer finds a reply only under its own parent, and a reply to a post that is gone is
refused as the platform refuses it."""

from __future__ import annotations

import dataclasses

import pytest

from herald.core.errors import PermanentError
from herald.platforms.base import Connector, Published, Reply
from tests.platforms.harness import Harness

THREADING = ("bluesky", "mastodon", "x")


@pytest.fixture(scope="module", params=THREADING)
def platform(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def parent_in_ledger(harness: Harness[Connector], remote_id: str) -> str | None:
    """The parent the simulator recorded for ``remote_id`` (each platform's own field)."""
    entry = next(e for e in harness.ledger() if e.remote_id == remote_id)
    extra = dict(entry.extra)
    if "reply" in extra:  # Bluesky: root and parent
        parent: str = extra["reply"]["parent"]
        return parent
    return extra.get("reply_to") or extra.get("in_reply_to_id")


def test_a_reply_names_its_parent_and_the_thread_root(
    harness: Harness[Connector], connector: Connector
) -> None:
    assert type(connector).follow_up == "thread"
    root = connector.publish(harness.draft("Part one of a thread 1/3", key="thread-part-1"))
    second = connector.publish(
        dataclasses.replace(
            harness.draft("Part two of a thread 2/3", key="thread-part-2"), reply_to=Reply(root, root)
        )
    )
    third = connector.publish(
        dataclasses.replace(
            harness.draft("Part three of a thread 3/3", key="thread-part-3"), reply_to=Reply(root, second)
        )
    )
    assert parent_in_ledger(harness, root.remote_id) is None
    assert parent_in_ledger(harness, second.remote_id) == root.remote_id
    assert parent_in_ledger(harness, third.remote_id) == second.remote_id
    if harness.spec.name == "bluesky":
        entry = next(e for e in harness.ledger() if e.remote_id == third.remote_id)
        assert entry.extra["reply"]["root"] == root.remote_id
        assert root.cid and second.cid  # the strong refs a reply needs


def test_the_look_up_finds_a_reply_under_its_parent_only(
    harness: Harness[Connector], connector: Connector
) -> None:
    root = connector.publish(harness.draft("A thread begins here 1/2", key="look-1"))
    reply = dataclasses.replace(
        harness.draft("And goes on here 2/2", key="look-2"), reply_to=Reply(root, root)
    )
    if not type(connector).idempotent:  # the idempotent ones publish on a look-up: nothing to find
        assert connector.reconcile(reply) is None
    sent = connector.publish(reply)
    found = connector.reconcile(reply)
    assert found is not None and found.remote_id == sent.remote_id
    assert len(harness.ledger()) == 2


def test_a_reply_to_a_post_that_is_gone_is_refused(harness: Harness[Connector], connector: Connector) -> None:
    if not type(connector).can_delete:
        pytest.skip("cannot delete on this platform")
    root = connector.publish(harness.draft("This post will be deleted 1/2", key="gone-1"))
    connector.delete(root.remote_id)
    reply = dataclasses.replace(harness.draft("Orphan 2/2", key="gone-2"), reply_to=Reply(root, root))
    if harness.spec.name == "bluesky":
        # The PDS stores a reply whatever its parent; the AppView shows it detached.
        assert connector.publish(reply).remote_id
        return
    with pytest.raises(PermanentError):
        connector.publish(reply)
    assert [e.remote_id for e in harness.ledger()] == [root.remote_id]


def test_a_bluesky_reply_without_the_parents_cid_is_refused_before_any_call(
    harness: Harness[Connector], connector: Connector
) -> None:
    if harness.spec.name != "bluesky":
        pytest.skip("only Bluesky replies need a CID")
    bare = Published("at://did:plc:abc/app.bsky.feed.post/3kabcabcabcab", "https://bsky.app/x")
    with pytest.raises(PermanentError, match="CID"):
        connector.publish(
            dataclasses.replace(harness.draft("no cid", key="nocid"), reply_to=Reply(bare, bare))
        )
    assert harness.ledger() == []
