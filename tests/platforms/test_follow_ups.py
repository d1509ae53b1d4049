"""Later parts of a long post on Facebook, Instagram and LinkedIn (a first comment under the post)
and Threads (a reply chain), each connector against its simulator over HTTP.

A follow-up names its parent the platform's way (the ledger records it), is counted against the
comment's own limit before any call, is refused like the platform refuses a post that is gone,
turns a lost answer on its create call into ``UncertainError``, and is found again (or proved
absent) by ``reconcile`` from a connector that never saw the try. Hostile ids never reach a URL
path."""

from __future__ import annotations

import dataclasses

import pytest
import requests

from herald.core.errors import PermanentError, UncertainError
from herald.platforms.base import Connector, Draft, Published, Reply
from herald.simulator import Fault, FaultKind
from tests.platforms.harness import READ_TIMEOUT, Harness, settle

FOLLOWING = ("facebook", "instagram", "linkedin", "threads")
COMMENTING = ("facebook", "instagram", "linkedin")

#: (follow_up, follow-up text limit) each connector promises.
RULES = {
    "facebook": ("comment", 8000),
    "instagram": ("comment", 2200),
    "linkedin": ("comment", 1250),
    "threads": ("thread", 500),
}

#: (path substring, method) of the call that makes a follow-up visible.
CREATE = {
    "facebook": ("/comments", "POST"),
    "instagram": ("/comments", "POST"),
    "linkedin": ("/comments", "POST"),
    "threads": ("/threads_publish", "POST"),
}

#: A post id each platform has never handed out.
UNKNOWN_POST = {
    "facebook": "1234567890_999999999999",
    "instagram": "17999999999999999",
    "linkedin": "urn:li:share:7999999999999999999",
    "threads": "17999999999999999",
}


@pytest.fixture(scope="module", params=FOLLOWING)
def platform(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def post(harness: Harness[Connector], connector: Connector, text: str) -> Published:
    """A post to follow up on (with a photo where the platform has no text-only posts)."""
    photos = harness.photos(1) if harness.spec.photo_required else ()
    return connector.publish(harness.draft(text, photos, key=f"post:{text}"))


def follow_up(
    harness: Harness[Connector], text: str, root: Published, parent: Published | None = None
) -> Draft:
    return dataclasses.replace(
        harness.draft(text, key=f"follow-up:{text}"), reply_to=Reply(root, parent or root)
    )


def parent_in_ledger(harness: Harness[Connector], remote_id: str) -> str | None:
    """The post the simulator recorded ``remote_id`` as answering."""
    entry = next(e for e in harness.ledger() if e.remote_id == remote_id)
    parent = entry.extra.get("comment_on") or entry.extra.get("reply_to")
    return None if parent is None else str(parent)


def under(harness: Harness[Connector], root: Published) -> list[str]:
    """Texts the ledger holds as answering ``root`` (follow-ups still shown or not)."""
    return [
        e.text
        for e in harness.ledger()
        if root.remote_id in (e.extra.get("comment_on"), e.extra.get("reply_to"))
    ]


def test_each_connector_says_how_a_long_post_continues(connector: Connector) -> None:
    kind, limit = RULES[connector.name]
    assert type(connector).follow_up == kind
    counted = type(connector).count_follow_up("봄 campaign")
    assert counted.limit == limit and counted.count == len("봄 campaign") and counted.fits


def test_a_follow_up_lands_under_its_post(harness: Harness[Connector], connector: Connector) -> None:
    root = post(harness, connector, "봄 캠페인 part one")
    first = connector.publish(follow_up(harness, "봄 캠페인 part two (첫 댓글)", root))
    assert parent_in_ledger(harness, first.remote_id) == root.remote_id
    assert under(harness, root) == ["봄 캠페인 part two (첫 댓글)"]
    name = connector.name
    if name == "facebook":
        assert first.url.startswith(root.url + "?comment_id=")
        assert first.remote_id.endswith(first.url.rsplit("=", 1)[-1])
    elif name == "instagram":
        assert first.url == root.url
    elif name == "linkedin":
        assert first.remote_id == f"urn:li:comment:({root.remote_id},{first.remote_id.rsplit(',', 1)[-1]}"
        assert first.url.startswith(root.url + "?commentUrn=urn%3Ali%3Acomment%3A")
    else:
        # Threads: a chain, each part under the one before, all in the thread the root began.
        second = connector.publish(follow_up(harness, "봄 캠페인 part three", root, first))
        assert parent_in_ledger(harness, second.remote_id) == first.remote_id
        entry = next(e for e in harness.ledger() if e.remote_id == second.remote_id)
        assert entry.extra["root_post"] == root.remote_id
        assert second.url and second.url != first.url
    if name in ("facebook", "linkedin"):
        # The comment's address is the post's page, which the simulator serves.
        assert requests.get(first.url, timeout=5).status_code == 200


def test_the_look_up_finds_a_follow_up_and_proves_one_never_sent_absent(
    harness: Harness[Connector], connector: Connector
) -> None:
    root = post(harness, connector, "Look-up root")
    draft = follow_up(harness, "Look-up follow-up, 한 번만", root)
    elsewhere = harness.make()  # another worker: it never saw a try
    try:
        assert elsewhere.reconcile(draft) is None
        sent = connector.publish(draft)
        found = elsewhere.reconcile(draft)
    finally:
        elsewhere.close()
    assert found is not None and found.remote_id == sent.remote_id and found.url == sent.url
    assert under(harness, root) == ["Look-up follow-up, 한 번만"]


@pytest.mark.parametrize(
    ("kind", "applied"),
    [("error", False), ("commit_then_drop", True), ("slow", True)],
    ids=["503", "answer dropped after commit", "read timeout"],
)
def test_a_lost_answer_on_the_follow_up_is_uncertain_and_the_look_up_settles_it(
    harness: Harness[Connector], connector: Connector, kind: FaultKind, applied: bool
) -> None:
    root = post(harness, connector, f"Fault root {kind}")
    draft = follow_up(harness, f"Fault follow-up {kind}", root)
    path, method = CREATE[connector.name]
    knobs = {"status": 503} if kind == "error" else {"delay": READ_TIMEOUT + 0.5} if kind == "slow" else {}
    harness.sim.inject(Fault(kind=kind, platform=connector.name, path=path, method=method, **knobs))
    with pytest.raises(UncertainError):
        connector.publish(draft)
    if kind == "slow":
        settle(harness.sim)
    elsewhere = harness.make()
    try:
        found = elsewhere.reconcile(draft)
        if applied:
            assert found is not None
            assert parent_in_ledger(harness, found.remote_id) == root.remote_id
            # The connector that tried finds it too (Threads: through its container's status).
            assert connector.reconcile(draft) == found
        else:
            assert found is None
            # Nothing went out, so the next try sends it, once.
            again = elsewhere.publish(draft)
            assert parent_in_ledger(harness, again.remote_id) == root.remote_id
    finally:
        elsewhere.close()
    assert under(harness, root) == [f"Fault follow-up {kind}"]


def test_a_follow_up_to_a_post_that_is_gone_or_unknown_is_refused(
    harness: Harness[Connector], connector: Connector
) -> None:
    unknown = Published(UNKNOWN_POST[connector.name], "https://example.invalid/post")
    with pytest.raises(PermanentError):
        connector.publish(follow_up(harness, "Orphan of nothing", unknown))
    if type(connector).can_delete:
        root = post(harness, connector, "This post will be deleted")
        connector.delete(root.remote_id)
        with pytest.raises(PermanentError):
            connector.publish(follow_up(harness, "Orphan of a deleted post", root))
    assert not [e for e in harness.ledger() if e.text.startswith("Orphan")]


def test_a_follow_up_over_its_limit_is_refused_before_any_call(
    harness: Harness[Connector], connector: Connector
) -> None:
    root = post(harness, connector, "Limit root")
    _, limit = RULES[connector.name]
    text = "가" * (limit + 1)
    assert not type(connector).count_follow_up(text).fits
    seen = len(harness.sim.requests_seen())
    with pytest.raises(PermanentError, match=f"allows {limit}"):
        connector.publish(follow_up(harness, text, root))
    assert len(harness.sim.requests_seen()) == seen
    assert under(harness, root) == []


def test_a_hostile_parent_id_never_reaches_a_url(harness: Harness[Connector], connector: Connector) -> None:
    """A post id recorded from an earlier answer goes into a path: ``/`` and ``?`` in it must not
    turn a comment into a call to another endpoint (a new post on the feed...)."""
    if connector.name == "linkedin":
        # URNs are URL-encoded whole; a comment URN Herald cannot parse is refused before a call.
        with pytest.raises(PermanentError, match="not a comment URN"):
            connector.delete("urn:li:comment:(urn:li:share:1,2/../../rest/posts)")
        assert harness.sim.requests_seen() == []
        hostile = Published("urn:li:share:1/../../../rest/posts", "https://example.invalid")
        with pytest.raises(PermanentError):
            connector.publish(follow_up(harness, "Hostile parent", hostile))
        assert harness.ledger() == []
        return
    for bad in ("123/../../me/feed", "me/feed?message=x&", "1234567890_1?fields=access_token"):
        hostile = Published(bad, "https://example.invalid")
        with pytest.raises(PermanentError, match="is not a"):
            connector.publish(follow_up(harness, "Hostile parent", hostile))
        with pytest.raises(UncertainError, match="is not a"):
            connector.reconcile(follow_up(harness, "Hostile parent", hostile))
    assert harness.sim.requests_seen() == []
    assert harness.ledger() == []


def test_deleting_a_follow_up_leaves_its_post(harness: Harness[Connector], connector: Connector) -> None:
    root = post(harness, connector, "Delete root")
    draft = follow_up(harness, "Delete me, not my post", root)
    sent = connector.publish(draft)
    if not type(connector).can_delete:
        seen = len(harness.sim.requests_seen())
        with pytest.raises(PermanentError, match="cannot be deleted"):
            connector.delete(sent.remote_id)
        assert len(harness.sim.requests_seen()) == seen
        return
    connector.delete(sent.remote_id)
    assert harness.sim.deleted(connector.name) == {sent.remote_id}
    connector.delete(sent.remote_id)  # already gone: what was asked
    assert connector.reconcile(draft) is None


# -- comments only -------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["blank text", "a photo"])
def test_a_comment_without_text_or_with_a_photo_is_refused_before_any_call(
    harness: Harness[Connector], connector: Connector, what: str
) -> None:
    if connector.name not in COMMENTING:
        pytest.skip("a Threads reply is a post: it may hold photos")
    root = post(harness, connector, f"Refusal root {what}")
    draft = follow_up(harness, "   " if what == "blank text" else "With a photo", root)
    if what == "a photo":
        draft = dataclasses.replace(draft, photos=harness.photos(1))
    seen = len(harness.sim.requests_seen())
    with pytest.raises(PermanentError, match="needs a text" if what == "blank text" else "text only"):
        connector.publish(draft)
    assert len(harness.sim.requests_seen()) == seen


def test_instagram_refuses_more_than_30_hashtags_in_a_comment(
    harness: Harness[Connector], connector: Connector
) -> None:
    if connector.name != "instagram":
        pytest.skip("Instagram's own rule")
    root = post(harness, connector, "Hashtag root")
    seen = len(harness.sim.requests_seen())
    tags = " ".join(f"#tag{i}" for i in range(31))
    with pytest.raises(PermanentError, match="30 hashtags"):
        connector.publish(follow_up(harness, tags, root))
    assert len(harness.sim.requests_seen()) == seen


def test_a_comment_by_someone_else_with_the_same_text_is_not_ours(
    harness: Harness[Connector], connector: Connector
) -> None:
    """Facebook and LinkedIn name a comment's author; the look-up only counts the channel's own."""
    if connector.name not in ("facebook", "linkedin"):
        pytest.skip("the author is checked where the platform names it reliably")
    root = post(harness, connector, "Shared root")
    draft = follow_up(harness, "Same words, other author", root)
    other = _other_account_connector(harness)
    try:
        other.publish(draft)
    finally:
        other.close()
    assert connector.reconcile(draft) is None


def _other_account_connector(harness: Harness[Connector]) -> Connector:
    """A connector of a second account of the same platform, added to the simulator."""
    if harness.spec.name == "facebook":
        harness.sim.add_account(
            "facebook", username="OtherPage", page_id="2222222222", page_access_token="EAAB-other-page-token"
        )
        return harness.make(page_id="2222222222", page_access_token="EAAB-other-page-token")
    harness.sim.add_account(
        "linkedin",
        username="other-org",
        organization_urn="urn:li:organization:2222",
        access_token="linkedin-other-token-0123456789",
    )
    return harness.make(
        organization_urn="urn:li:organization:2222", access_token="linkedin-other-token-0123456789"
    )
