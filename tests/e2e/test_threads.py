"""Issue 16: threads. A post with ``thread`` goes out on X, Bluesky and Mastodon as a reply
chain, each part once and in order, each reply under the part before it (Bluesky: and naming
the thread's root), with the whole thread's outcome in the log. Faults on a part are settled on
that part: a lost answer is looked up, a retry goes on from the part that failed, a refusal
names it. Real Redis, SQL, Celery worker and platform simulators."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from herald.service import PostRequest
from herald.service.answers import LogEntry
from herald.simulator import Fault
from tests.e2e.conftest import wait_for

PARTS = [
    "평화 통일을 위한 캠페인 스레드를 시작합니다. Our thread for peaceful unification starts here.",
    "둘째: 탈북민 위원회가 증언합니다. Second: the escapees' committee speaks.",
    "셋째: 해외 지부가 함께합니다. Third: chapters abroad join in.",
    "넷째: 서명해 주세요. Fourth: please sign the petition.",
    "다섯째: 감사합니다. Fifth: thank you for reading.",
]
THREAD = "\n---\n".join(PARTS)


def _final(herald: Any, post_id: str, timeout: float = 30) -> list[LogEntry]:
    def done() -> bool:
        return all(r.status not in ("queued", "publishing") for r in herald.delivery_log(post_id=post_id))

    assert wait_for(done, timeout=timeout), herald.delivery_log(post_id=post_id)
    return list(herald.delivery_log(post_id=post_id))


def _parent(entry: Any) -> str | None:
    extra = dict(entry.extra)
    if "reply" in extra:
        parent: str = extra["reply"]["parent"]
        return parent
    return extra.get("reply_to") or extra.get("in_reply_to_id")


def assert_one_chain(sim: Any, platform: str, texts: Sequence[str]) -> list[str]:
    """Each text on ``platform`` exactly once, in order, each under the one before; the ids."""
    ledger = sim.ledger(platform)
    ids = []
    for i, text in enumerate(texts):
        found = [e for e in ledger if e.text == text]
        assert len(found) == 1, (platform, i + 1, [e.text for e in ledger])
        ids.append(found[0].remote_id)
        assert _parent(found[0]) == (ids[i - 1] if i else None), (platform, i + 1)
        if platform == "bluesky" and i:
            assert found[0].extra["reply"]["root"] == ids[0]
    order = [e.remote_id for e in ledger if e.remote_id in ids]
    assert order == ids, f"{platform}: parts out of order"
    return ids


def test_a_five_part_thread_goes_out_in_order_on_x_bluesky_and_mastodon(
    running: Any, three_channels: dict[str, str], sim: Any, herald: Any
) -> None:
    post_id = herald.add_post(PostRequest(channels=list(three_channels), text=THREAD, thread=True))
    rows = _final(herald, post_id)
    assert {r.status for r in rows} == {"published"}
    for row in rows:
        ids = assert_one_chain(sim, row.platform, PARTS)
        assert row.remote_id == ids[0]  # the delivery is the thread's first post
        assert [p.position for p in row.parts] == [1, 2, 3, 4, 5]
        assert [p.text for p in row.parts] == PARTS
        assert [p.remote_id for p in row.parts] == ids
        assert {p.status for p in row.parts} == {"published"}
        assert all(p.remote_url for p in row.parts)


def test_a_long_text_is_split_by_each_platforms_own_counter(
    running: Any, three_channels: dict[str, str], sim: Any, herald: Any
) -> None:
    text = " ".join(f"통일 캠페인 문장 {i}번입니다." for i in range(60))  # X weighs Hangul as 2
    post_id = herald.add_post(PostRequest(channels=list(three_channels), text=text, thread=True))
    rows = {r.platform: r for r in _final(herald, post_id)}
    assert {r.status for r in rows.values()} == {"published"}
    assert len(rows["x"].parts) > len(rows["mastodon"].parts) > 1  # 280 weighted vs 500 chars
    for platform, row in rows.items():
        texts = [p.text for p in row.parts]
        assert_one_chain(sim, platform, texts)
        n = len(texts)
        assert [t.rsplit(" ", 1)[1] for t in texts] == [f"{i}/{n}" for i in range(1, n + 1)]
        # Nothing lost in the split: the words, in order.
        assert " ".join(t.rsplit(" ", 1)[0] for t in texts).split() == text.split()


def test_a_lost_answer_mid_thread_is_looked_up_not_sent_twice(
    running: Any, three_channels: dict[str, str], sim: Any, herald: Any
) -> None:
    # The third create on each platform is committed, then its answer never arrives.
    for platform, path in (("x", "/2/tweets"), ("mastodon", "/api/v1/statuses")):
        sim.inject(Fault(kind="commit_then_drop", platform=platform, path=path, method="POST", after=2))
    post_id = herald.add_post(PostRequest(channels=["kr-x", "kr-mastodon"], text=THREAD, thread=True))
    rows = _final(herald, post_id)
    assert {r.status for r in rows} == {"published"}, rows
    for row in rows:
        assert_one_chain(sim, row.platform, PARTS)


def test_a_retry_goes_on_from_the_part_that_failed(
    running: Any, three_channels: dict[str, str], sim: Any, herald: Any
) -> None:
    # A 429 on part 4: nothing of it went out, and the channel waits for the reset.
    sim.inject(
        Fault(
            kind="rate_limit",
            platform="mastodon",
            path="/api/v1/statuses",
            method="POST",
            reset_in=0.5,
            after=3,
        )
    )
    post_id = herald.add_post(PostRequest(channels=["kr-mastodon"], text=THREAD, thread=True))
    (row,) = _final(herald, post_id)
    assert row.status == "published" and row.attempts == 2, row
    assert_one_chain(sim, "mastodon", PARTS)
    # The second try sent parts 4 and 5 only.
    creates = [
        r for r in sim.requests_seen("mastodon") if r.method == "POST" and r.path == "/api/v1/statuses"
    ]
    assert len(creates) == 6


def test_a_refused_part_fails_the_thread_naming_it_and_what_is_out(
    running: Any, three_channels: dict[str, str], sim: Any, herald: Any
) -> None:
    sim.inject(Fault(kind="error", platform="x", path="/2/tweets", method="POST", status=403, after=2))
    post_id = herald.add_post(PostRequest(channels=["kr-x"], text=THREAD, thread=True))
    (row,) = _final(herald, post_id)
    assert row.status == "failed"
    assert row.error.startswith("part 3 of 5 (2 out before it):"), row.error
    assert [p.status for p in row.parts] == ["published", "published", "sending", "waiting", "waiting"]
    assert [e.text for e in sim.ledger("x")] == PARTS[:2]


@pytest.mark.parametrize("channel", ["kr-x", "kr-mastodon"])
def test_a_first_comment_is_the_last_reply_on_a_threading_platform(
    running: Any, three_channels: dict[str, str], sim: Any, herald: Any, channel: str
) -> None:
    post_id = herald.add_post(
        PostRequest(
            channels=[channel], text="Sign the petition today.", first_comment="Link: example.org/sign"
        )
    )
    (row,) = _final(herald, post_id)
    assert row.status == "published"
    assert_one_chain(sim, three_channels[channel], ["Sign the petition today.", "Link: example.org/sign"])


def test_taking_a_thread_down_deletes_every_part_last_first(
    running: Any, three_channels: dict[str, str], sim: Any, herald: Any
) -> None:
    post_id = herald.add_post(PostRequest(channels=list(three_channels), text=THREAD, thread=True))
    rows = _final(herald, post_id)
    ids = {r.platform: [p.remote_id for p in r.parts] for r in rows}
    herald.takedown(post_id)

    def gone() -> bool:
        return {r.status for r in herald.delivery_log(post_id=post_id)} == {"deleted"}

    assert wait_for(gone, timeout=30), herald.delivery_log(post_id=post_id)
    for platform, remote_ids in ids.items():
        assert set(remote_ids) <= set(sim.deleted(platform)), platform
        if platform in ("x", "mastodon"):  # the id is in the path: the order shows
            deleted = [r.path.rsplit("/", 1)[1] for r in sim.requests_seen(platform) if r.method == "DELETE"]
            assert deleted == remote_ids[::-1], platform


def test_every_platform_that_continues_a_post_does_so_its_own_way(
    public_web: str, running: Any, every_platform: dict[str, str], sim: Any, herald: Any
) -> None:
    """A thread on the threading platforms, a post and one first comment on the commenting ones.
    (An Instagram post needs a photo: its comments are tested on the connector,
    tests/platforms/test_follow_ups.py; Telegram cannot continue a post.)"""
    channels = [
        name for name, platform in every_platform.items() if platform not in ("telegram", "instagram")
    ]
    text = "평화 통일.\n---\nPart two.\n---\nPart three."
    post_id = herald.add_post(PostRequest(channels=channels, text=text, thread=True))
    rows = {r.platform: r for r in _final(herald, post_id, timeout=60)}
    assert {r.status for r in rows.values()} == {"published"}, rows
    for platform in ("x", "bluesky", "mastodon", "threads"):
        assert [p.text for p in rows[platform].parts] == ["평화 통일.", "Part two.", "Part three."]
    for platform in ("facebook", "linkedin"):
        row = rows[platform]
        assert [p.text for p in row.parts] == ["평화 통일.", "Part two.\n\nPart three."]
        (comment,) = [e for e in sim.ledger(platform) if e.extra.get("comment_on")]
        assert comment.text == "Part two.\n\nPart three."
        assert comment.remote_id == row.parts[1].remote_id
    (reply2, reply3) = [e for e in sim.ledger("threads") if e.extra.get("reply_to")]
    assert reply2.extra["reply_to"] == rows["threads"].parts[0].remote_id
    assert reply3.extra["reply_to"] == rows["threads"].parts[1].remote_id
