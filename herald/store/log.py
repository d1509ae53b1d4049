"""The delivery log: one row per (post, channel), newest scheduled first, with the text that
channel gets (its own variant, else the post's), a keyset page at a time, at any size.

How a page is read (migration 0016 made what it reads):

- **Order**: the post's scheduled time, newest first, then the delivery id, lowest first. It is
  a total order, so a page continues strictly after the key of the last row of the page before
  (``DeliveryKey``), or, a page back, strictly before the first one: rows added meanwhile never
  shift a page, and a deep page costs what the first one does (no OFFSET anywhere).
- **One table**: the post's time and campaign are copied onto the delivery by triggers
  (``post_scheduled_at``, ``post_campaign_key``), so filters are equalities on an index whose
  next columns are the order: ``ix_deliveries_log`` (none), ``_by_state``, ``_by_channel``,
  ``_by_campaign``, ``_by_campaign_state``, ``_by_channel_state``. The date range is a range of
  the same index.
- **One index drives a page**: one that serves every filter given, else the one that reads
  fewest rows for a page (the counts of ``store.stats`` tell); a filter of several values (a
  platform's channels, the campaigns a person may see) is read as one range per value, merged
  in order. The filters the driving index does not serve are checked on each row it reads, at
  most ``SCAN_BUDGET`` rows a page: a page that reaches the budget first ends short, with a key
  to go on from (``LogSlice.partial``). A rare combination of filters costs bounded time, and
  says so, never a read of the whole log.
- **Text search** first checks the words on the rows read in order, for ``PROBE_ROWS`` rows:
  a common word fills a page there. Else it finds the posts whose text (or a channel's own
  text) contains them through a trigram index (pg_trgm; SQLite's FTS5 trigram table) when they
  are in at most ``TEXT_CANDIDATES`` posts, and reads only their deliveries: its cost grows
  with those posts, up to that bound. Words in more posts than that are checked row by row as
  above; so are words with no run of ``MIN_INDEXED_RUN`` letters or digits (a trigram index
  cannot look those up), and any words on a database without the index. Either way a row
  matches when the text it shows contains the words, ignoring the case of Latin letters.
"""

from __future__ import annotations

import heapq
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String, and_, bindparam, case, column, func, literal, or_, select, text, true
from sqlalchemy.orm import Session

from herald.store.models import Campaign, Channel, Delivery, Post, PostVariant
from herald.store.parts import PartState, parts_of
from herald.store.scope import EVERYTHING, Reach
from herald.store.stats import NO_CAMPAIGN, KeyCount, key_counts

#: The most rows one page may hold, whatever is asked.
MAX_PAGE_ROWS = 1000
#: The most index entries one page reads while checking filters its index does not serve.
SCAN_BUDGET = 20_000
#: Rows read per query while checking (the first query reads what the counts predict).
MAX_CHUNK = 5_000
MIN_CHUNK = 64
#: Posts whose deliveries are read per query on the way through a bounded set (doubling).
POST_BATCH = 32
#: Words in at most this many posts are looked up in the trigram index; commoner words are
#: checked row by row (their matches are dense: a page fills quickly).
TEXT_CANDIDATES = 5_000
#: Rows read in the log's order, checking the words, before the words are looked up in the
#: trigram index: enough for a word in a quarter of the posts to fill a page, few enough to
#: cost little.
PROBE_ROWS = 500
#: A trigram index looks words up by runs of three letters or digits.
MIN_INDEXED_RUN = 3
_INDEXED = re.compile(rf"\w{{{MIN_INDEXED_RUN},}}")
#: Most values of one filter read as ranges of their own; more are checked row by row. A
#: range costs a query: about as much as reading this many rows of one.
MAX_RANGES = 32
RANGE_COST = 50
#: An index that serves every filter in this many ranges or fewer is taken without weighing.
FEW_RANGES = 4

#: Whether SQLite's FTS5 table of post and variant texts is there (migration 0016).
_HAS_SEARCH = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'post_search'"


@dataclass(frozen=True)
class DeliveryKey:
    """Where a page of the log ended: its last row's post's scheduled time (naive UTC) and the
    delivery's id."""

    scheduled_at: datetime
    delivery_id: int


@dataclass(frozen=True)
class LogFilters:
    """Each filter given narrows the log; None leaves it open."""

    campaign: str | None = None
    channel: str | None = None
    platform: str | None = None
    status: str | None = None
    post_id: str | None = None
    #: The post's scheduled time: from ``since`` (inclusive) to ``until`` (exclusive), naive UTC.
    since: datetime | None = None
    until: datetime | None = None
    #: Words the text the row shows contains.
    text: str | None = None
    #: What the person asking may see.
    reach: Reach = EVERYTHING


@dataclass(frozen=True)
class LogRow:
    """One delivery as the log shows it."""

    delivery_id: int
    post_id: str
    channel: str
    platform: str
    campaign: str | None
    state: str
    #: What this channel gets: its variant's text, else the post's.
    text: str
    scheduled_at: datetime
    due_at: datetime
    published_at: datetime | None
    attempts: int
    remote_id: str | None
    remote_url: str | None
    last_error: str | None
    approval: str
    approved_by: str | None
    approved_at: datetime | None
    created_by: str | None
    series_id: str | None
    occurrence: int | None
    #: A thread's parts (or a post and its first comment), in order; empty for a single post.
    parts: list[PartState] = field(default_factory=list)
    #: The language this channel gets: its variant's, else the post's.
    language: str | None = None


@dataclass(frozen=True)
class LogSlice:
    """Some rows of the log, newest first, and where the pages on either side start."""

    rows: list[LogRow]
    #: The older page comes after this key (None: nothing older).
    next: DeliveryKey | None
    #: The newer page comes before this key (None: this is the first page).
    newer: DeliveryKey | None = None
    #: The page stopped at ``SCAN_BUDGET`` rows read before it was full: fewer rows than asked
    #: (maybe none); every delivery up to where it stopped was looked at, and the page on that
    #: side starts there.
    partial: bool = False


def log_page(
    s: Session,
    filters: LogFilters,
    *,
    after: DeliveryKey | None = None,
    before: DeliveryKey | None = None,
    limit: int,
) -> LogSlice:
    """At most ``limit`` deliveries (``MAX_PAGE_ROWS`` at most) matching ``filters``, newest
    scheduled first, then by delivery id: the first ones after ``after`` (older), or the last
    ones before ``before`` (newer), or the newest of all when neither is given."""
    limit = max(1, min(limit, MAX_PAGE_ROWS))
    walk = _Walk(before, newer=True) if before is not None else _Walk(after)
    scope = _scope(s, filters)
    if scope is None:
        return LogSlice([], None)
    plan = _plan(s, scope, filters, limit)
    if plan.search is None:
        found = _read_keys(s, scope, plan, filters, walk, limit, SCAN_BUDGET)
    else:
        # Words an index could look up: common ones fill a page within a few rows read in
        # order, so that is tried first; words that do not are looked up in the index (when
        # in few enough posts), else read on with the whole budget.
        found = _read_keys(s, scope, plan, filters, walk, limit, PROBE_ROWS)
        if found.partial:
            posts = _text_candidates(s, plan.search)
            plan = _Plan(posts) if posts is not None else plan
            found = _read_keys(s, scope, plan, filters, walk, limit, SCAN_BUDGET)
    rows = _rows(s, [k.delivery_id for k in found.keys])
    return LogSlice(rows, found.older, found.newer, found.partial)


def matching_count(s: Session, filters: LogFilters) -> int | None:
    """How many deliveries match ``filters``, from the counts; None where the counts cannot
    tell (a date range, words, one post)."""
    if filters.since or filters.until or filters.text or filters.post_id:
        return None
    scope = _scope(s, filters)
    if scope is None:
        return 0
    return sum(c.n for c in key_counts(s) if scope.counts(c))


# -- the filters as ids ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    """The filters as ids: None leaves a dimension open."""

    #: Campaign keys (``NO_CAMPAIGN``: posts of none).
    campaigns: frozenset[int] | None
    #: Only posts of some campaign (a reach of "every campaign", posts of none excluded).
    some_campaign: bool
    channels: frozenset[int] | None
    state: str | None

    def matches(self, campaign_key: int, channel_id: int, state: str) -> bool:
        """Whether deliveries of this campaign, channel and state match (text and dates aside)."""
        return (
            (self.campaigns is None or campaign_key in self.campaigns)
            and (not self.some_campaign or campaign_key != NO_CAMPAIGN)
            and (self.channels is None or channel_id in self.channels)
            and (self.state is None or state == self.state)
        )

    def counts(self, c: KeyCount) -> bool:
        return self.matches(c.campaign_key, c.channel_id, c.state)


def _scope(s: Session, f: LogFilters) -> _Scope | None:
    """The filters as ids, or None when nothing can match (a name that names nothing)."""
    campaigns: frozenset[int] | None = None
    some_campaign = False
    if not f.reach.everything:
        if f.reach.campaigns is None:
            some_campaign = True
        else:
            campaigns = frozenset(f.reach.campaigns) | (
                frozenset({NO_CAMPAIGN}) if f.reach.no_campaign else frozenset()
            )
    if f.campaign:
        found = s.scalar(select(Campaign.id).where(Campaign.name == f.campaign))
        if found is None:
            return None
        campaigns = frozenset({found}) if campaigns is None else campaigns & {found}
    channels: frozenset[int] | None = None
    if f.channel:
        found = s.scalar(select(Channel.id).where(Channel.name == f.channel))
        if found is None:
            return None
        channels = frozenset({found})
    if f.platform:
        on = frozenset(s.scalars(select(Channel.id).where(Channel.platform == f.platform)))
        channels = on if channels is None else channels & on
    if (campaigns is not None and not campaigns) or (channels is not None and not channels):
        return None
    return _Scope(campaigns, some_campaign, channels, f.status)


# -- the plan: which index drives, what is checked on each row -------------------------------


@dataclass(frozen=True)
class _Plan:
    """How a page is read: the posts of a bounded set, checked here, or ranges of an index."""

    #: Every delivery of these posts (by id, with their times) is read and checked in Python
    #: (one post; a search's posts): a few thousand rows at most, in no index's order.
    posts: dict[str, datetime] | None
    #: Else: the index read (for the record: SQLite and PostgreSQL both pick it, as the only
    #: one that serves the range and the order), and one condition per range of it.
    index: str = "ix_deliveries_log"
    ranges: list[Any] = field(default_factory=list)  # Any: SQLAlchemy boolean clauses
    #: Conditions checked on each row read; a row that fails them is read and not shown.
    check: list[Any] = field(default_factory=list)
    #: Matching rows expected per row read (for the size of the first read).
    density: float = 1.0
    #: Words a trigram index could look up, checked row by row in this plan (``log_page``
    #: tries that for ``PROBE_ROWS`` rows before it asks the index).
    search: str | None = None


@dataclass(frozen=True)
class _Driver:
    """An index that can drive a page: one range of it per value of the filters it serves."""

    index: str
    #: The filters it serves ("campaign", "channel", "state").
    serves: frozenset[str]
    ranges: list[Any]  # Any: SQLAlchemy boolean clauses


def _drivers(scope: _Scope) -> list[_Driver]:
    """The indexes that could drive a page for ``scope``: always the log's own, and each one
    whose filters are given (with at most ``MAX_RANGES`` values)."""
    campaigns = sorted(scope.campaigns) if scope.campaigns is not None else None
    channels = sorted(scope.channels) if scope.channels is not None else None
    state = scope.state
    out = [_Driver("ix_deliveries_log", frozenset(), [true()])]
    if state is not None:
        out.append(_Driver("ix_deliveries_log_by_state", frozenset({"state"}), [Delivery.state == state]))
    if channels is not None and len(channels) <= MAX_RANGES:
        ranges = [Delivery.channel_id == c for c in channels]
        out.append(_Driver("ix_deliveries_log_by_channel", frozenset({"channel"}), ranges))
        if state is not None:
            ranges = [and_(Delivery.channel_id == c, Delivery.state == state) for c in channels]
            out.append(_Driver("ix_deliveries_log_by_channel_state", frozenset({"channel", "state"}), ranges))
    if campaigns is not None and len(campaigns) <= MAX_RANGES:
        ranges = [Delivery.post_campaign_key == k for k in campaigns]
        out.append(_Driver("ix_deliveries_log_by_campaign", frozenset({"campaign"}), ranges))
        if state is not None:
            ranges = [and_(Delivery.post_campaign_key == k, Delivery.state == state) for k in campaigns]
            out.append(
                _Driver("ix_deliveries_log_by_campaign_state", frozenset({"campaign", "state"}), ranges)
            )
    return out


def _plan(s: Session, scope: _Scope, f: LogFilters, limit: int) -> _Plan:
    """How to read a page of ``limit`` rows: one post's deliveries, or a search's posts' (a
    bounded set), else the index that reads fewest rows, with what it leaves to check."""
    words = (f.text or "").strip()
    if f.post_id:
        found = s.execute(select(Post.scheduled_at).where(Post.id == f.post_id)).first()
        return _Plan({} if found is None else {f.post_id: found[0]})
    wanted: dict[str, Any] = {}
    if scope.campaigns is not None:
        wanted["campaign"] = _one_of(Delivery.post_campaign_key, scope.campaigns)
    if scope.some_campaign:
        wanted["some_campaign"] = Delivery.post_campaign_key != NO_CAMPAIGN
    if scope.channels is not None:
        wanted["channel"] = _one_of(Delivery.channel_id, scope.channels)
    if scope.state is not None:
        wanted["state"] = Delivery.state == scope.state
    drivers = _drivers(scope)
    exact = [d for d in drivers if d.serves == set(wanted)]
    density = 1.0
    if exact and len(exact[0].ranges) <= FEW_RANGES:
        chosen = exact[0]  # an index serves every filter but words, in a few ranges: no weighing
    else:
        counts = key_counts(s)
        matches = max(sum(c.n for c in counts if scope.counts(c)), 1)

        def size(d: _Driver) -> int:
            return sum(c.n for c in counts if _reads(d, scope, c))

        def cost(d: _Driver) -> float:
            """Rows read for a page (as many as the counts predict), and a query per range."""
            return min(size(d), (limit + 1) * size(d) / matches) + RANGE_COST * len(d.ranges)

        chosen = min(drivers, key=cost)
        density = matches / max(size(chosen), 1)
    check = [clause for name, clause in wanted.items() if name not in chosen.serves]
    if words:
        check.append(_contains(words))
    search = words if words and _INDEXED.search(words) else None
    return _Plan(None, chosen.index, chosen.ranges, check, density, search)


def _reads(d: _Driver, scope: _Scope, c: KeyCount) -> bool:
    """Whether the deliveries counted in ``c`` are read by driver ``d``."""
    return (
        ("state" not in d.serves or c.state == scope.state)
        and ("channel" not in d.serves or (scope.channels is not None and c.channel_id in scope.channels))
        and (
            "campaign" not in d.serves or (scope.campaigns is not None and c.campaign_key in scope.campaigns)
        )
    )


def _one_of(col: Any, values: frozenset[int]) -> Any:  # Any: SQL expressions
    ordered = sorted(values)
    return col == ordered[0] if len(ordered) == 1 else col.in_(ordered)


# -- text search -------------------------------------------------------------------------------


def _like_pattern(words: str) -> str:
    """``words`` anywhere in a text, as a LIKE pattern with ``\\`` escaping."""
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(words: str) -> Any:  # Any: a SQL condition
    """The text a row shows (its channel's variant, else the post's) contains ``words``,
    ignoring the case of Latin letters. Subqueries, not joins: the log's index stays the one
    table read in order."""
    variant = (
        select(PostVariant.text)
        .where(PostVariant.post_id == Delivery.post_id, PostVariant.channel_id == Delivery.channel_id)
        .scalar_subquery()
    )
    own = select(Post.text).where(Post.id == Delivery.post_id).scalar_subquery()
    return func.coalesce(variant, own).ilike(_like_pattern(words), escape="\\")


def _text_candidates(s: Session, words: str) -> dict[str, datetime] | None:
    """The posts whose text or a variant contains ``words`` (a superset is fine: each row is
    checked again), with their times, looked up in the trigram index; None when the words
    cannot be looked up there or are in more than ``TEXT_CANDIDATES`` posts."""
    if not _INDEXED.search(words):
        return None
    n = TEXT_CANDIDATES + 1
    if s.get_bind().dialect.name == "sqlite":
        if s.scalar(text(_HAS_SEARCH)) is None:
            return None
        phrase = '"' + words.replace('"', '""') + '"'  # one FTS5 string: the words as written
        hits = s.scalars(_SQLITE_HITS, {"phrase": phrase, "n": n}).all()
        if len(hits) >= n:
            return None
        # rowid > 0: a post's key; < 0: a variant's id. Joined to their posts in one statement,
        # the ids as one JSON parameter (a few thousand bound parameters cost more than the join).
        ids = {
            "keys": json.dumps([h for h in hits if h > 0]),
            "variants": json.dumps([-h for h in hits if h < 0]),
        }
        return {post_id: at for at, post_id in s.execute(_SQLITE_HIT_POSTS, ids)}
    if s.scalar(text("SELECT to_regclass('ix_posts_text_trgm') IS NOT NULL")) is not True:
        return None
    pattern = _like_pattern(words)
    found = {
        post_id: at
        for at, post_id in s.execute(
            select(Post.scheduled_at, Post.id).where(Post.text.ilike(pattern, escape="\\")).limit(n)
        ).all()
    }
    if len(found) < n:
        in_variants = (
            select(Post.scheduled_at, Post.id)
            .where(
                Post.id.in_(select(PostVariant.post_id).where(PostVariant.text.ilike(pattern, escape="\\")))
            )
            .limit(n)
        )
        found.update((post_id, at) for at, post_id in s.execute(in_variants).all())
    return found if len(found) < n else None


#: SQLite's search hits (the rowids of ``post_search``), at most ``:n``.
_SQLITE_HITS = text("SELECT rowid FROM post_search WHERE post_search MATCH :phrase LIMIT :n")
#: The posts of SQLite's search hits, with their times: ``:keys`` the integer keys of posts
#: (``post_search_keys``), ``:variants`` the ids of variants, each a JSON array.
_SQLITE_HIT_POSTS = text(
    "SELECT p.scheduled_at, p.id FROM posts p JOIN post_search_keys k ON k.post_id = p.id "
    "WHERE k.id IN (SELECT value FROM json_each(:keys)) "
    "UNION "
    "SELECT p.scheduled_at, p.id FROM posts p JOIN post_variants v ON v.post_id = p.id "
    "WHERE v.id IN (SELECT value FROM json_each(:variants))"
).columns(column("scheduled_at", DateTime), column("id", String))


# -- reading -----------------------------------------------------------------------------------

_AT = Delivery.post_scheduled_at


@dataclass(frozen=True)
class _Walk:
    """Which way a page reads from its key: older rows (the log's order), or newer ones
    (nearest first, the log's order reversed; the page is turned round afterwards)."""

    key: DeliveryKey | None
    newer: bool = False

    def beyond(self) -> list[Any]:  # Any: SQL conditions
        """Rows beyond the key this way, in SQL."""
        k = self.key
        if k is None:
            return []
        if self.newer:
            return [_AT >= k.scheduled_at, or_(_AT > k.scheduled_at, Delivery.id < k.delivery_id)]
        return [_AT <= k.scheduled_at, or_(_AT < k.scheduled_at, Delivery.id > k.delivery_id)]

    def is_beyond(self, key: DeliveryKey) -> bool:
        """``beyond`` in Python."""
        k = self.key
        if k is None:
            return True
        if self.newer:
            return key.scheduled_at > k.scheduled_at or (
                key.scheduled_at == k.scheduled_at and key.delivery_id < k.delivery_id
            )
        return key.scheduled_at < k.scheduled_at or (
            key.scheduled_at == k.scheduled_at and key.delivery_id > k.delivery_id
        )

    def order(self) -> tuple[Any, Any]:  # Any: SQL ordering clauses
        return (_AT.asc(), Delivery.id.desc()) if self.newer else (_AT.desc(), Delivery.id.asc())

    def sort_key(self, key: DeliveryKey) -> tuple[datetime, int]:
        """Ascending in the order rows are read this way."""
        return (key.scheduled_at, -key.delivery_id)

    def from_key(self, key: DeliveryKey) -> _Walk:
        return _Walk(key, self.newer)


def _bounds(f: LogFilters) -> list[Any]:  # Any: SQL conditions
    """The date range (and rows with a time at all: every row has one, filled by a trigger)."""
    out: list[Any] = [_AT.is_not(None)]
    if f.since is not None:
        out.append(_AT >= f.since)
    if f.until is not None:
        out.append(_AT < f.until)
    return out


#: A row read: its time, its id, and whether it matches (plain tuples: a page may read 20,000).
_Read = tuple[datetime, int, bool]


def _range_rows(
    s: Session, plan: _Plan, clause: Any, f: LogFilters, walk: _Walk, chunk: int
) -> Iterator[_Read]:
    """The rows of one range of the plan's index, the way ``walk`` reads: ``chunk`` rows a
    query, each query beyond the last row of the one before, doubling up to ``MAX_CHUNK``. The
    checks are a column, not a condition: a condition could lead a planner to another index,
    and the budget counts rows read, not rows shown."""
    hit = case((and_(*plan.check), literal(1)), else_=literal(0)) if plan.check else literal(1)
    while True:
        q = select(_AT, Delivery.id, hit).where(clause, *_bounds(f), *walk.beyond()).order_by(*walk.order())
        rows = s.execute(q.limit(chunk)).all()
        for at, delivery_id, matched in rows:
            yield at, delivery_id, bool(matched)
        if len(rows) < chunk:
            return
        walk = walk.from_key(DeliveryKey(rows[-1][0], int(rows[-1][1])))
        chunk = min(chunk * 2, MAX_CHUNK)


def _post_keys(
    s: Session, scope: _Scope, f: LogFilters, posts: dict[str, datetime], walk: _Walk, wanted: int
) -> list[DeliveryKey]:
    """The keys of at least ``wanted`` matching deliveries of ``posts`` (all there are, if
    fewer), the way ``walk`` reads. The posts' times are read first (a post's deliveries all
    have its time), then their deliveries post by post in that order, a few posts at a time,
    by post (the only condition in SQL, so that the post's index is the one used) and checked
    here."""
    edge = walk.key
    times: list[tuple[datetime, str]] = sorted(
        (
            (at, post_id)
            for post_id, at in posts.items()
            if (f.since is None or at >= f.since)
            and (f.until is None or at < f.until)
            and (edge is None or (at >= edge.scheduled_at if walk.newer else at <= edge.scheduled_at))
        ),
        reverse=not walk.newer,
    )
    words = (f.text or "").strip()
    hit = case((_contains(words), literal(1)), else_=literal(0)) if words else literal(1)
    found: list[DeliveryKey] = []
    start, batch = 0, POST_BATCH
    while start < len(times) and len(found) < wanted:
        # A batch ends between two times: the next batch is further on, so batches come in order.
        end = min(start + batch, len(times))
        while end < len(times) and times[end][0] == times[end - 1][0]:
            end += 1
        q = select(
            _AT, Delivery.id, Delivery.post_campaign_key, Delivery.channel_id, Delivery.state, hit
        ).where(Delivery.post_id.in_([post_id for _, post_id in times[start:end]]))
        keys = [
            DeliveryKey(at, int(delivery_id))
            for at, delivery_id, campaign_key, channel_id, state, matched in s.execute(q).all()
            if matched and at is not None and scope.matches(int(campaign_key), int(channel_id), str(state))
        ]
        found += sorted((k for k in keys if walk.is_beyond(k)), key=walk.sort_key, reverse=not walk.newer)
        start, batch = end, batch * 2
    return found


@dataclass(frozen=True)
class _Keys:
    """What a read found: the page's keys (newest first), where the older and the newer page
    start from, and whether it stopped at the budget."""

    keys: list[DeliveryKey]
    older: DeliveryKey | None
    newer: DeliveryKey | None
    partial: bool


def _read_keys(
    s: Session, scope: _Scope, plan: _Plan, f: LogFilters, walk: _Walk, limit: int, budget: int
) -> _Keys:
    """The keys of a page, read from ``walk``'s key its way. One more row than shown is read,
    to know whether another page follows; ``budget`` rows at most when rows are checked."""
    wanted = limit + 1
    merged: Iterator[_Read]
    if plan.posts is not None:
        merged = (
            (k.scheduled_at, k.delivery_id, True) for k in _post_keys(s, scope, f, plan.posts, walk, wanted)
        )
    else:
        chunk = wanted
        if plan.check:
            expected = math.ceil(wanted / max(plan.density, 1e-9) / len(plan.ranges) * 1.25)
            chunk = max(MIN_CHUNK, min(expected, MAX_CHUNK))
        streams = [_range_rows(s, plan, clause, f, walk, chunk) for clause in plan.ranges]
        # Each range comes in the walk's order; merged, so does the page.
        merged = (
            streams[0]
            if len(streams) == 1
            else heapq.merge(*streams, key=lambda r: (r[0], -r[1]), reverse=not walk.newer)
        )
    found: list[DeliveryKey] = []
    read = 0
    stopped: DeliveryKey | None = None
    for at, delivery_id, matched in merged:
        read += 1
        if matched:
            found.append(DeliveryKey(at, delivery_id))
            if len(found) == wanted:
                stopped = found[limit - 1]
                found = found[:limit]
                break
        if plan.check and read >= budget:
            return _turned(found, walk, DeliveryKey(at, delivery_id), partial=True)
    return _turned(found, walk, stopped, partial=False)


def _turned(found: list[DeliveryKey], walk: _Walk, stopped: DeliveryKey | None, *, partial: bool) -> _Keys:
    """A read's keys as a page, newest first, with the keys of the pages on either side.
    ``stopped``: where the read stopped short of the end (None: it reached the end)."""
    if not walk.newer:
        newer = None
        if walk.key is not None:
            # The page before this one ends with the row this one started after: a key just
            # newer than that row (same time, next id) includes it.
            first = found[0] if found else walk.key
            newer = first if found else DeliveryKey(first.scheduled_at, first.delivery_id + 1)
        return _Keys(found, stopped, newer, partial)
    keys = found[::-1]
    assert walk.key is not None
    last = keys[-1] if keys else DeliveryKey(walk.key.scheduled_at, walk.key.delivery_id - 1)
    return _Keys(keys, last, stopped, partial)


def _rows(s: Session, ids: Sequence[int]) -> list[LogRow]:
    """The rows of deliveries ``ids``, in that order (one that is gone meanwhile is left out)."""
    if not ids:
        return []
    body = func.coalesce(PostVariant.text, Post.text)
    q = (
        select(
            Delivery.id,
            Delivery.post_id,
            Channel.name,
            Channel.platform,
            Campaign.name,
            Delivery.state,
            body,
            Post.scheduled_at,
            Delivery.due_at,
            Delivery.published_at,
            Delivery.attempts,
            Delivery.remote_id,
            Delivery.remote_url,
            Delivery.last_error,
            Post.approval,
            Post.approved_by,
            Post.approved_at,
            Post.created_by,
            Post.series_id,
            Post.occurrence,
            func.coalesce(PostVariant.language, Post.language),
        )
        .join(Post, Delivery.post_id == Post.id)
        .join(Channel, Delivery.channel_id == Channel.id)
        .outerjoin(Campaign, Post.campaign_id == Campaign.id)
        .outerjoin(
            PostVariant,
            and_(PostVariant.post_id == Delivery.post_id, PostVariant.channel_id == Delivery.channel_id),
        )
        .where(Delivery.id.in_(bindparam("ids", expanding=True)))
    )
    found = {int(r[0]): r for r in s.execute(q, {"ids": list(ids)}).all()}
    parts = parts_of(s, list(found))
    out = []
    for delivery_id in ids:
        row = found.get(delivery_id)
        if row is None:
            continue
        r: tuple[Any, ...] = tuple(row)  # Any: the columns selected above, in that order
        (_, post_id, channel, platform, campaign, state, body, scheduled_at, due_at, published_at) = r[:10]
        (attempts, remote_id, remote_url, last_error, approval, approved_by, approved_at) = r[10:17]
        (created_by, series_id, occurrence, language) = r[17:]
        out.append(
            LogRow(
                delivery_id=delivery_id,
                post_id=post_id,
                channel=channel,
                platform=platform,
                campaign=campaign,
                state=state,
                text=body,
                scheduled_at=scheduled_at,
                due_at=due_at,
                published_at=published_at,
                attempts=attempts,
                remote_id=remote_id,
                remote_url=remote_url,
                last_error=last_error,
                approval=approval,
                approved_by=approved_by,
                approved_at=approved_at,
                created_by=created_by,
                series_id=series_id,
                occurrence=occurrence,
                parts=parts.get(delivery_id, []),
                language=language,
            )
        )
    return out
