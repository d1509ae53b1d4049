"""The delivery log at any size (migration 0016, ``store.log``, ``Herald.log_page``), on SQLite
and on PostgreSQL: keyset pages that show every row once however the log changes between them,
each filter (and several together) against a plain reading of the whole log, pages back and
forth, pages cut short by the scan budget that still lose nothing, a person's reach, the counts
that follow every change, search that follows every edit, the migration up and down, and
hostile input refused with the field named."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, literal_column, select, text, update

from herald.core.errors import InputError
from herald.service import PostRequest
from herald.service.log import LogQuery, log_query, log_time, plain_error
from herald.store import log as store_log
from herald.store.log import DeliveryKey, LogFilters, log_page
from herald.store.models import Channel, Delivery, Post, PostVariant, utcnow
from herald.store.scope import Reach
from herald.store.stats import KeyCount, fold_counts, key_counts
from tests.web import PASSWORD, add_channels

#: A phrase in a few posts (looked up in the trigram index), a word in most (read row by row),
#: two Hangul letters (too short for a trigram), and texts that look like SQL or LIKE patterns.
RARE = "moonlit harbor"
KOREAN = "통일"
PERCENT = "100% off_now"


@pytest.fixture
def db_url(any_db_url: str) -> str:
    return any_db_url


@dataclass(frozen=True)
class Row:
    """A delivery as a plain reading of the whole log sees it."""

    id: int
    at: datetime
    campaign: str | None
    channel: str
    platform: str
    state: str
    text: str


@pytest.fixture
def world(herald: Any) -> list[str]:
    """Three channels (m1 Mastodon, x1 X, b1 Bluesky), campaigns spring and autumn, and 24
    posts an hour apart (two pairs at the same time), on two or three channels each, in every
    state, some with a channel's own text."""
    add_channels(herald)
    herald.set_campaign("autumn")
    herald.add_channel("b1", "bluesky", {"handle": "h.example", "app_password": "pw-b1-12345"})
    base = utcnow().replace(microsecond=0) + timedelta(days=2)
    reqs = []
    for i in range(24):
        at = base + timedelta(hours=i if i not in (7, 15) else i - 1)  # ties: 6/7 and 14/15
        words = ["campaign update", f"number {i}"]
        if i % 8 == 3:
            words.append(RARE)
        if i % 3 == 0:
            words.append(KOREAN)
        if i == 5:
            words.append(PERCENT)
        channels = ["m1", "x1", "b1"] if i % 2 else ["m1", "x1"]
        reqs.append(
            PostRequest(
                channels=channels,
                text=" ".join(words),
                at=at,
                campaign=[None, "spring", "autumn"][i % 3],
                text_for={"x1": f"own text for X {i}" + (f" {RARE}" if i == 10 else "")}
                if i % 5 == 0
                else {},
            )
        )
    ids = [herald.add_post(r) for r in reqs]
    states = ["published", "failed", "queued", "held", "cancelled", "uncertain", "published"]
    with herald.db.session() as s:
        rows = s.execute(select(Delivery.id).order_by(Delivery.id)).scalars().all()
        for n, delivery_id in enumerate(rows):
            state = states[n % len(states)]
            if state != "queued":
                error = "x: HTTP 403: duplicate content" if state == "failed" else None
                s.execute(
                    update(Delivery).where(Delivery.id == delivery_id).values(state=state, last_error=error)
                )
    return ids


def everything(herald: Any) -> list[Row]:
    """Every delivery, in the log's order, read plainly (joins, no index tricks)."""
    from herald.store.models import Campaign

    with herald.db.read() as s:
        rows = s.execute(
            select(
                Delivery.id,
                Post.scheduled_at,
                Campaign.name,
                Channel.name,
                Channel.platform,
                Delivery.state,
                func.coalesce(PostVariant.text, Post.text),
            )
            .join(Post, Post.id == Delivery.post_id)
            .join(Channel, Channel.id == Delivery.channel_id)
            .outerjoin(Campaign, Campaign.id == Post.campaign_id)
            .outerjoin(
                PostVariant,
                (PostVariant.post_id == Delivery.post_id) & (PostVariant.channel_id == Delivery.channel_id),
            )
        ).all()
    out = [Row(*r) for r in rows]
    return sorted(out, key=lambda r: (r.at, -r.id), reverse=True)


def walk(herald: Any, query: LogQuery, limit: int, **kw: Any) -> Iterator[list[int]]:
    """The ids of each page, from the first to the last."""
    after = None
    while True:
        page = herald.log_page(query, after=after, limit=limit, **kw)
        yield [e.delivery_id for e in page.items]
        if page.next is None:
            return
        after = page.next


def all_ids(herald: Any, query: LogQuery, limit: int = 4, **kw: Any) -> list[int]:
    return [i for page in walk(herald, query, limit, **kw) for i in page]


# -- pages --------------------------------------------------------------------------------------


def test_pages_show_every_row_once_in_the_logs_order(herald: Any, world: list[str]) -> None:
    rows = everything(herald)
    assert len(rows) == 60
    pages = list(walk(herald, LogQuery(), 7))
    assert [i for p in pages for i in p] == [r.id for r in rows]
    assert [len(p) for p in pages] == [7] * 8 + [4]
    # Two posts at one time: their deliveries by id, lowest first, across both posts.
    by_time = Counter(r.at for r in rows)
    assert sorted(by_time.values())[-2:] == [5, 5]
    # ``delivery_log`` (the list scripts read) is the same order, cut at its limit.
    assert [e.delivery_id for e in herald.delivery_log(limit=9)] == [r.id for r in rows[:9]]


def test_rows_added_between_pages_never_show_twice(herald: Any, world: list[str]) -> None:
    before = [r.id for r in everything(herald)]
    seen: list[int] = []
    after = None
    base = utcnow() + timedelta(days=2)
    for n in range(100):
        page = herald.log_page(LogQuery(), after=after, limit=5)
        seen += [e.delivery_id for e in page.items]
        if page.next is None:
            break
        after = page.next
        # Newer than everything (shown on no later page), and older than the page (shown later).
        herald.add_post(PostRequest(channels=["m1"], text=f"newer {n}", at=base + timedelta(days=30 + n)))
        herald.add_post(
            PostRequest(channels=["x1"], text=f"older {n}", at=base - timedelta(hours=1, minutes=n))
        )
    counts = Counter(seen)
    assert [i for i, k in counts.items() if k > 1] == []
    assert set(before) <= set(seen)
    texts = {e.delivery_id: e.text for e in herald.walk_log(LogQuery())}
    assert not any(texts[i].startswith("newer") for i in seen)
    assert sum(texts[i].startswith("older") for i in seen) > 5


def test_newer_pages_walk_back_the_same_rows(herald: Any, world: list[str]) -> None:
    rows = [r.id for r in everything(herald)]
    pages = list(walk(herald, LogQuery(), 7))
    last = herald.log_page(LogQuery(), after=herald.log_page(LogQuery(), limit=56).next, limit=7)
    assert [e.delivery_id for e in last.items] == pages[-1] and last.newer is not None
    back: list[int] = []
    before = last.newer
    while before is not None:
        page = herald.log_page(LogQuery(), before=before, limit=7)
        assert len(page.items) == 7 or page.newer is None
        back = [e.delivery_id for e in page.items] + back
        assert page.next is not None  # a page back always has an older one after it
        before = page.newer
    assert back + pages[-1] == rows
    # The first page has no newer one; a page after a key has one.
    assert herald.log_page(LogQuery(), limit=7).newer is None


def test_pages_stopped_by_the_scan_budget_lose_nothing(
    herald: Any, world: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Filters no one index serves are checked row by row, at most ``SCAN_BUDGET`` rows a page:
    a page may end short, even empty, with a key to go on from; walked on, nothing is lost."""
    monkeypatch.setattr(store_log, "SCAN_BUDGET", 5)
    monkeypatch.setattr(store_log, "MIN_CHUNK", 2)
    query = log_query(status="published", text=KOREAN)  # two letters: checked on each row read
    expected = [r.id for r in everything(herald) if r.state == "published" and KOREAN in r.text]
    pages = []
    after = None
    partial = 0
    while True:
        page = herald.log_page(query, after=after, limit=3)
        pages.append([e.delivery_id for e in page.items])
        partial += page.partial
        if page.next is None:
            break
        after = page.next
    assert [i for p in pages for i in p] == expected and expected
    assert partial > 0


# -- filters ------------------------------------------------------------------------------------

FILTERS: list[tuple[dict[str, Any], Callable[[Row], bool]]] = [
    ({}, lambda r: True),
    ({"campaign": "spring"}, lambda r: r.campaign == "spring"),
    ({"channel": "x1"}, lambda r: r.channel == "x1"),
    ({"platform": "bluesky"}, lambda r: r.platform == "bluesky"),
    ({"status": "failed"}, lambda r: r.state == "failed"),
    (
        {"status": "published", "campaign": "autumn"},
        lambda r: r.state == "published" and r.campaign == "autumn",
    ),
    ({"status": "held", "channel": "m1"}, lambda r: r.state == "held" and r.channel == "m1"),
    ({"platform": "x", "campaign": "spring"}, lambda r: r.platform == "x" and r.campaign == "spring"),
    ({"text": RARE}, lambda r: RARE in r.text),
    ({"text": "MOONLIT Harbor"}, lambda r: RARE in r.text),  # Latin letters, either case
    ({"text": KOREAN}, lambda r: KOREAN in r.text),
    ({"text": "own text for X"}, lambda r: "own text for X" in r.text),
    ({"text": PERCENT}, lambda r: PERCENT in r.text),
    ({"text": "100%"}, lambda r: "100%" in r.text),  # the % is a character, not a wildcard
    ({"text": "f_now"}, lambda r: "f_now" in r.text),  # and so is _
    ({"text": "'; DROP TABLE posts; --"}, lambda r: False),
    ({"text": RARE, "status": "published"}, lambda r: RARE in r.text and r.state == "published"),
    ({"campaign": "nowhere"}, lambda r: False),
    ({"channel": "nowhere"}, lambda r: False),
]


@pytest.mark.parametrize("probe", [store_log.PROBE_ROWS, 2], ids=["read-first", "index-first"])
@pytest.mark.parametrize(("given", "wanted"), FILTERS, ids=[str(f[0]) for f in FILTERS])
def test_each_filter_matches_a_plain_reading(
    herald: Any,
    world: list[str],
    given: dict[str, Any],
    wanted: Callable[[Row], bool],
    probe: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Words are checked on the rows read first, then looked up in the trigram index when a
    few rows read (``PROBE_ROWS``; 2 here: the index at once) do not fill the page."""
    monkeypatch.setattr(store_log, "PROBE_ROWS", probe)
    expected = [r.id for r in everything(herald) if wanted(r)]
    assert all_ids(herald, log_query(**given)) == expected
    total = herald.log_page(log_query(**given), count=True).total
    assert total == (None if "text" in given else len(expected))


def test_a_date_range_is_from_inclusive_to_exclusive(herald: Any, world: list[str]) -> None:
    rows = everything(herald)
    times = sorted({r.at for r in rows})
    start, end = times[3], times[9]
    query = log_query(since=start.isoformat(), until=end.isoformat() + "Z")
    assert all_ids(herald, query) == [r.id for r in rows if start <= r.at < end]
    # A date alone is the whole UTC day; "to" includes its day.
    day = times[0].date().isoformat()
    assert log_query(since=day, until=day) == LogQuery(
        since=datetime.fromisoformat(day), until=datetime.fromisoformat(day) + timedelta(days=1)
    )
    # A time with its zone is read in that zone.
    assert log_time("from", "2026-05-01T09:30+09:00") == datetime(2026, 5, 1, 0, 30)


def test_one_posts_deliveries(herald: Any, world: list[str]) -> None:
    post = world[10]
    entries = herald.delivery_log(post_id=post)
    assert {e.channel: e.text for e in entries} == {
        "m1": "campaign update number 10",
        "x1": f"own text for X 10 {RARE}",
    }
    assert herald.delivery_log(post_id="no-such-post") == []


# -- reach --------------------------------------------------------------------------------------


def test_a_person_sees_only_the_campaigns_they_may_review(herald: Any, world: list[str]) -> None:
    herald.add_user("spring@herald.test", PASSWORD, "manager", ["spring"])
    signed = herald.sign_in("spring@herald.test", PASSWORD, address="10.0.0.9")
    sid, _ = herald.start_session(signed.user_id)
    actor = herald.session(sid).actor
    rows = everything(herald)
    spring = [r.id for r in rows if r.campaign == "spring"]
    assert all_ids(herald, LogQuery(), actor=actor) == spring
    assert all_ids(herald, log_query(campaign="autumn"), actor=actor) == []
    assert all_ids(herald, log_query(status="failed"), actor=actor) == [
        r.id for r in rows if r.campaign == "spring" and r.state == "failed"
    ]
    assert all_ids(herald, log_query(text=RARE), actor=actor) == [
        r.id for r in rows if r.campaign == "spring" and RARE in r.text
    ]
    assert herald.log_page(LogQuery(), count=True, actor=actor).total == len(spring)
    assert {s.campaign for s in herald.stats(actor=actor)} == {"spring"}


def test_a_reach_of_several_campaigns_and_none(herald: Any, world: list[str]) -> None:
    """Several campaigns (and posts of none) are read as one index range each, merged."""
    rows = everything(herald)
    with herald.db.read() as s:
        spring = s.scalar(text("SELECT id FROM campaigns WHERE name = 'spring'"))
        autumn = s.scalar(text("SELECT id FROM campaigns WHERE name = 'autumn'"))
        for reach, wanted in (
            (Reach(frozenset({spring, autumn}), no_campaign=False), {"spring", "autumn"}),
            (Reach(frozenset({autumn}), no_campaign=True), {"autumn", None}),
            (Reach(None, no_campaign=False), {"spring", "autumn"}),
            (Reach(frozenset(), no_campaign=False), set()),
        ):
            seen: list[int] = []
            after = None
            while True:
                page = log_page(s, LogFilters(reach=reach), after=after, limit=5)
                seen += [r.delivery_id for r in page.rows]
                if page.next is None:
                    break
                after = page.next
            assert seen == [r.id for r in rows if r.campaign in wanted], reach


# -- counts -------------------------------------------------------------------------------------


def plain_counts(herald: Any) -> Counter[tuple[int, int, str]]:
    with herald.db.read() as s:
        key = func.coalesce(Post.campaign_id, literal_column("0"))
        rows = s.execute(
            select(key, Delivery.channel_id, Delivery.state, func.count())
            .join(Post, Post.id == Delivery.post_id)
            .group_by(key, Delivery.channel_id, Delivery.state)
        ).all()
    return Counter({(int(k), int(c), str(st)): int(n) for k, c, st, n in rows})


def counted(herald: Any) -> Counter[tuple[int, int, str]]:
    with herald.db.read() as s:
        found: list[KeyCount] = key_counts(s)
    return Counter({(c.campaign_key, c.channel_id, c.state): c.n for c in found})


def test_the_counts_follow_every_change(herald: Any, world: list[str]) -> None:
    assert counted(herald) == plain_counts(herald)
    with herald.db.session() as s:
        assert fold_counts(s) > 0
        assert fold_counts(s) == 0
    assert counted(herald) == plain_counts(herald)
    with herald.db.session() as s:
        s.execute(update(Delivery).where(Delivery.state == "queued").values(state="published"))
        spring = s.scalar(text("SELECT id FROM campaigns WHERE name = 'spring'"))
        s.execute(update(Post).where(Post.id == world[0]).values(campaign_id=spring))  # moved in
        s.execute(update(Post).where(Post.id == world[1]).values(campaign_id=None))  # moved out
        s.execute(delete(Post).where(Post.id == world[2]))  # its deliveries go with it
        s.execute(update(Delivery).where(Delivery.post_id == world[3]).values(channel_id=Delivery.channel_id))
    assert counted(herald) == plain_counts(herald)
    herald.add_post(PostRequest(channels=["m1", "b1"], text="one more", campaign="autumn"))
    with herald.db.session() as s:
        fold_counts(s)
    assert counted(herald) == plain_counts(herald)
    # The dashboard's statistics read the counts: the same as counting the deliveries.
    stats = {(r.campaign, r.platform): dict(r.counts) for r in herald.stats()}
    expected: dict[tuple[str | None, str], dict[str, int]] = {}
    for r in everything(herald):
        expected.setdefault((r.campaign, r.platform), {}).setdefault(r.state, 0)
        expected[(r.campaign, r.platform)][r.state] += 1
    assert stats == expected


def test_the_logs_copies_follow_the_post(herald: Any, world: list[str]) -> None:
    """A post moved in time or to another campaign: the log's order and filters follow."""
    later = utcnow() + timedelta(days=400)
    with herald.db.session() as s:
        s.execute(update(Post).where(Post.id == world[4]).values(scheduled_at=later, campaign_id=None))
    first = herald.log_page(LogQuery(), limit=2).items
    assert [e.post_id for e in first] == [world[4]] * 2
    assert world[4] not in {e.post_id for e in herald.walk_log(log_query(campaign="spring"))}
    with herald.db.read() as s:
        copies = s.execute(
            select(Delivery.post_scheduled_at, Delivery.post_campaign_key).where(Delivery.post_id == world[4])
        ).all()
    assert {tuple(c) for c in copies} == {(later, 0)}


def test_search_follows_every_edit(herald: Any, world: list[str]) -> None:
    def found(words: str) -> set[str]:
        return {e.post_id for e in herald.walk_log(log_query(text=words))}

    with herald.db.session() as s:
        s.execute(update(Post).where(Post.id == world[1]).values(text="zebra crossing tonight"))
        s.execute(update(Post).where(Post.id == world[3]).values(text="nothing here"))
        m1 = s.scalar(select(Channel.id).where(Channel.name == "m1"))
        s.add(PostVariant(post_id=world[6], channel_id=m1, text="a zebra of our own"))
    assert found("zebra") == {world[1], world[6]}
    assert world[3] not in found(RARE)
    with herald.db.session() as s:
        s.execute(delete(PostVariant).where(PostVariant.post_id == world[6]))
        s.execute(delete(Post).where(Post.id == world[1]))
    assert found("zebra") == set()


def test_the_plan_reads_the_index_of_the_filters(herald: Any, world: list[str]) -> None:
    with herald.db.read() as s:

        def plan(**given: Any) -> Any:
            f = LogFilters(**given)
            scope = store_log._scope(s, f)
            assert scope is not None
            return store_log._plan(s, scope, f, 100)

        assert plan().index == "ix_deliveries_log" and plan().check == []
        assert plan(status="failed").index == "ix_deliveries_log_by_state"
        assert plan(channel="x1").index == "ix_deliveries_log_by_channel"
        assert plan(campaign="spring").index == "ix_deliveries_log_by_campaign"
        combined = plan(campaign="spring", status="failed")
        assert combined.index == "ix_deliveries_log_by_campaign_state" and combined.check == []
        assert plan(platform="x", status="held").index == "ix_deliveries_log_by_channel_state"
        assert plan(text=RARE).search == RARE  # an index could look it up...
        assert set(store_log._text_candidates(s, RARE) or {}) == {world[3], world[10], world[11], world[19]}
        assert plan(text=KOREAN).search is None  # ...two letters it cannot: checked row by row
        assert store_log._text_candidates(s, KOREAN) is None


# -- hostile input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"status": "exploded"}, "status"),
        ({"platform": "myspace"}, "platform"),
        ({"since": "yesterday"}, "from"),
        ({"since": "2026-13-45"}, "from"),
        ({"until": "2026-05-01T25:00"}, "to"),
        ({"since": "2026-05-02", "until": "2026-05-01"}, "to"),
        ({"text": "x" * 201}, "q"),
        ({"text": "nul\x00byte"}, "q"),
        ({"campaign": "\x00"}, "campaign"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(given: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as e:
        log_query(**given)
    assert e.value.field == field


def test_a_huge_page_is_capped_and_the_log_unharmed(herald: Any, world: list[str]) -> None:
    page = herald.log_page(LogQuery(), limit=10**9)
    assert len(page.items) == 60 and page.next is None
    assert len(herald.log_page(LogQuery(), limit=0).items) == 1  # at least one row a page
    herald.log_page(log_query(text="'); DELETE FROM deliveries; --"))
    herald.log_page(log_query(campaign="x' OR '1'='1", channel='"; DROP TABLE channels'))
    assert len(everything(herald)) == 60


def test_a_key_for_no_row_still_pages_in_order(herald: Any, world: list[str]) -> None:
    """A cursor is only a position: one between rows, or past the end, pages from there."""
    rows = everything(herald)
    mid = rows[20]
    between = DeliveryKey(mid.at, mid.id - 1 if mid.id > 1 else 0)
    assert [e.delivery_id for e in herald.log_page(LogQuery(), after=between, limit=60).items] == [
        r.id for r in rows if (r.at, -r.id) < (between.scheduled_at, -between.delivery_id)
    ]
    assert herald.log_page(LogQuery(), after=DeliveryKey(datetime(1970, 1, 1), 0)).items == ()


# -- errors in plain words ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        (None, None),
        ("x: HTTP 403: You are not allowed to create a Tweet with duplicate content.", "duplicate"),
        ("mastodon: HTTP 401: The access token is invalid", "reconnect the channel"),
        (
            "facebook: HTTP 400: Error validating access token (code 190, subcode 463: the token expired)",
            "the token expired",
        ),
        ("instagram: HTTP 400: publishing quota reached: limit (code 9, subcode 2207042)", "limit of posts"),
        ("bluesky: HTTP 429: Rate Limit Exceeded", "slow down"),
        ("gave up after 5 attempts: mastodon: HTTP 503: Service Unavailable", "Gave up after 5 tries"),
        ("x: HTTP 503: over capacity (the post may exist)", "may be published"),
        ("channel m1 is paused: credentials revoked", None),
        ("something else entirely", None),
    ],
)
def test_platform_errors_in_plain_words(raw: str | None, plain: str | None) -> None:
    said = plain_error(raw)
    if plain is None:
        assert said is None
    else:
        assert said is not None and plain in said


# -- the migration ------------------------------------------------------------------------------

TRIGGERS = {
    "deliveries_log_fill",
    "deliveries_count_insert",
    "deliveries_count_update",
    "deliveries_count_delete",
}


def test_every_trigger_is_there_at_the_newest_revision(herald: Any) -> None:
    """A later migration that recreates deliveries, posts or post_variants on SQLite drops their
    triggers with the old table: it must make them again (see migration 0016)."""
    with herald.db.read() as s:
        if herald.db.is_sqlite:
            names = set(s.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
            wanted = TRIGGERS | {
                "posts_log_time",
                "posts_log_campaign",
                "posts_search_insert",
                "posts_search_update",
                "posts_search_delete",
                "post_variants_search_insert",
                "post_variants_search_update",
                "post_variants_search_delete",
            }
        else:
            names = set(s.scalars(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
            wanted = TRIGGERS | {"posts_log_sync"}
    assert wanted <= names


def test_the_migration_goes_down_and_up_again_with_the_rows_it_finds(herald: Any, db_url: str) -> None:
    from alembic import command

    from herald.store.db import alembic_config

    add_channels(herald)
    first = herald.add_post(PostRequest(channels=["m1", "x1"], text=f"before the way down {RARE}"))
    cfg = alembic_config(db_url)
    command.downgrade(cfg, "0015")
    with herald.db.session() as s:
        columns = set(s.execute(text("SELECT * FROM deliveries")).keys())
    assert "post_scheduled_at" not in columns
    herald.db.dispose()
    command.upgrade(cfg, "head")
    second = herald.add_post(PostRequest(channels=["m1"], text="after the way up", campaign="spring"))
    entries = herald.delivery_log()
    assert [e.post_id for e in entries] == [second, first, first]
    assert {e.post_id for e in herald.walk_log(log_query(text=RARE))} == {first}
    assert counted(herald) == plain_counts(herald)
