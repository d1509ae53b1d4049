"""Scenario ``log``: the delivery log at a million deliveries (``--quick``: 20k).

On one database (the suite runs it on SQLite, then on PostgreSQL, rows marked), in this
process, through the service layer the web page, the API and ``herald log`` call
(``Herald.log_page``, ``stats``, ``list_posts``):

1. two fresh databases at the newest schema: one gets 1,000 deliveries, the reference, the
   other 1,000,000 (250 posts per 1,000 deliveries, each on 4 of 10 channels, 22 campaign
   choices, the states, errors, links and lateness of a real log, 1 post in 20 with a channel's
   own text). Rows are generated here and inserted in batches of 50k (``executemany`` on
   SQLite, ``COPY`` on PostgreSQL); the triggers of migration 0016 fire as for Herald's own
   writes (counts, search index), the log's copies of the post's time and campaign are given
   by the loader (the trigger that fills them skips rows that have them), the counts are
   folded as the scheduler does, and PostgreSQL is analysed as autovacuum would;
2. every read is timed on both, in turns (small, big, small...), so that both meet the same
   load on a shared machine: the median of ``REPEATS`` each after one untimed run;
3. the CSV export of each whole log (``Herald.walk_log`` into ``web.exports.csv_lines``, as
   ``/log.csv`` streams it) runs in a process of its own (``bench.log_export``): rows per
   second, and resident memory sampled as it goes (flat: the same at the end as after 10%).

Target: each read at 1M within 2x of the same read at 1k (the issue's).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.plan import Plan
from bench.results import Outcome, Spec, Target
from bench.rig import fresh_database

ROOT = Path(__file__).resolve().parents[1]
#: The reference size, and what each timed read is the median of.
SMALL = 1_000
REPEATS = 7
#: Rows per insert batch (and per COPY).
BATCH = 50_000
#: Rows a page of the web page and the API shows.
PAGE = 100
#: The seeded world: channels (name, platform), campaigns, channels per post.
CHANNELS = (
    ("x-news", "x"),
    ("x-korea", "x"),
    ("mastodon-kr", "mastodon"),
    ("mastodon-en", "mastodon"),
    ("bluesky", "bluesky"),
    ("telegram", "telegram"),
    ("facebook", "facebook"),
    ("instagram", "instagram"),
    ("linkedin", "linkedin"),
    ("threads", "threads"),
)
CAMPAIGNS = 20
PER_POST = 4
BASE = datetime(2025, 1, 1, 6, 0)
#: Words of the texts; a rare phrase in 1 post of 500 (looked up in the trigram index), a
#: common word in 1 of 3 (read row by row: too common for the index to help), and a
#: two-syllable Korean word (too short for a trigram index).
VOCAB = (
    "campaign update our volunteers reached three more neighbourhoods this week thank you "
    "everyone who knocked on doors made calls and shared posts next stop river district "
    "평화 함께 시민 여러분 감사합니다 다음 주 행사 안내 자원봉사자 모집 오늘 저녁"
).split()
RARE = "moonlit harbor"
COMMON = "volunteers"
SHORT = "통일"
#: (state, share in thousandths, attempts, error) of the seeded deliveries.
STATES = (
    ("published", 850, 1, None),
    ("failed", 40, 3, "x: HTTP 403: You are not allowed to create a Tweet with duplicate content."),
    ("uncertain", 5, 2, "mastodon: read timed out after the post was sent"),
    ("cancelled", 30, 0, None),
    ("held", 10, 1, "channel paused: credentials revoked"),
    ("queued", 50, 0, None),
    ("scheduled", 5, 0, None),
    ("deleted", 10, 1, None),
)
#: Rows of the table, by key: (metric, what is read).
READS = (
    ("first", "first page (100 rows)"),
    ("deep", "deep page, by cursor (90% down)"),
    ("campaign", "filter: one campaign"),
    ("channel", "filter: one channel"),
    ("platform", "filter: one platform (2 channels)"),
    ("status", "filter: status failed (4%)"),
    ("dates", "filter: date range (middle third)"),
    ("combined", "filters: failed on one campaign"),
    ("reach", "manager of 3 campaigns, no filter"),
    ("rare", f"search: words in 1 post of 500 ({RARE!r})"),
    ("common", f"search: word in 1 post of 3 ({COMMON!r})"),
    ("short", f"search: 2 letters, row by row ({SHORT!r})"),
    ("stats", "dashboard: counts by campaign, platform, state"),
    ("posts", "dashboard: latest 100 posts"),
)


def _database_name(pg_admin_url: str | None) -> str:
    return "PostgreSQL" if pg_admin_url else "SQLite"


def _specs(plan: Plan) -> dict[str, Spec]:
    """The rows of one database's run (the suite runs the scenario on SQLite, then on
    PostgreSQL with its rows marked)."""
    big = plan.count(plan.log_deliveries)
    small = f"{plan.count(SMALL)} deliveries"
    sc = f"log ({big} deliveries{', --quick' if plan.quick else ''})"
    out = {key: Spec(sc, metric, "ms", small, Target("ratio", 2.0)) for key, metric in READS}
    out["export"] = Spec(sc, f"CSV export of {big}", "rows/s", small)
    out["rss"] = Spec(sc, f"CSV export of {big}: RSS at the end", "MB", "RSS after 10%", Target("ratio", 1.2))
    out["seed"] = Spec(
        sc, f"seeding {big} (bulk insert, triggers fire)", "rows/s", f"seeding {plan.count(SMALL)}"
    )
    return out


def specs(plan: Plan) -> list[Spec]:
    return list(_specs(plan).values())


# -- seeding ---------------------------------------------------------------------------------------


def _text(i: int) -> str:
    words = [VOCAB[(i * 2654435761 + k * 40503) % len(VOCAB)] for k in range(14)]
    if i % 3 == 0:
        words.insert(3, COMMON)
    if i % 500 == 7:
        words.insert(5, RARE)
    if i % 4 == 1:
        words.insert(1, SHORT)
    return f"{' '.join(words)} #{i:07d}"


def _post(i: int) -> dict[str, Any]:
    tie = i % 7 == 6  # every 7th post shares its time with the one before: the id breaks ties
    at = BASE + timedelta(seconds=37 * (i - 1 if tie else i))
    campaign = i % (CAMPAIGNS + 2) - 1
    return {
        "id": f"{i:032x}",
        "campaign_id": campaign if campaign >= 1 else None,
        "text": _text(i),
        "scheduled_at": at,
        "approval": "approved",
        "created_by": "bench@herald.test",
        "created_at": at - timedelta(hours=2),
        "updated_at": at - timedelta(hours=2),
        "version": 1,
        "thread": False,
    }


def _deliveries(i: int, post: dict[str, Any]) -> Iterator[dict[str, Any]]:
    at = post["scheduled_at"]
    for k in range(PER_POST):
        d = PER_POST * i + k + 1
        channel = (i + 3 * k) % len(CHANNELS) + 1
        pick = (d * 2654435761) % 1000
        state, attempts, error = STATES[-1][0], STATES[-1][2], STATES[-1][3]
        edge = 0
        for name, share, tries, err in STATES:
            edge += share
            if pick < edge:
                state, attempts, error = name, tries, err
                break
        out = state in ("published", "deleted")
        yield {
            "id": d,
            "post_id": post["id"],
            "channel_id": channel,
            "state": state,
            "due_at": at,
            "idempotency_key": f"bench-{d}",
            "attempts": attempts,
            "needs_reconcile": False,
            "remote_id": str(10**12 + d) if out else None,
            "remote_url": f"https://social.example/@{CHANNELS[channel - 1][0]}/{10**12 + d}" if out else None,
            "published_at": at + timedelta(seconds=pick % 240) if out else None,
            "last_error": error,
            "updated_at": at,
            "post_scheduled_at": at,
            "post_campaign_key": post["campaign_id"] or 0,
        }


POST_COLUMNS = (
    "id",
    "campaign_id",
    "text",
    "scheduled_at",
    "approval",
    "created_by",
    "created_at",
    "updated_at",
    "version",
    "thread",
)
DELIVERY_COLUMNS = (
    "id",
    "post_id",
    "channel_id",
    "state",
    "due_at",
    "idempotency_key",
    "attempts",
    "needs_reconcile",
    "remote_id",
    "remote_url",
    "published_at",
    "last_error",
    "updated_at",
    "post_scheduled_at",
    "post_campaign_key",
)


def _world(herald: Any) -> None:
    """The campaigns and channels (through SQL: sealing credentials is not what is measured)."""
    from sqlalchemy import insert

    from herald.store.models import Campaign, Channel, utcnow

    with herald.db.session() as s:
        s.execute(
            insert(Campaign),
            [
                {"id": c, "name": f"campaign-{c:02d}", "timezone": "Asia/Seoul", "created_at": utcnow()}
                for c in range(1, CAMPAIGNS + 1)
            ],
        )
        s.execute(
            insert(Channel),
            [
                {
                    "id": n,
                    "name": name,
                    "platform": platform,
                    "credentials_encrypted": b"-",
                    "credential_names": [],
                    "options": {},
                    "slots": {},
                    "created_at": utcnow(),
                }
                for n, (name, platform) in enumerate(CHANNELS, start=1)
            ],
        )


def _grow(herald: Any, posts_from: int, posts_to: int) -> float:
    """Insert posts ``posts_from..posts_to-1`` and their deliveries (and a channel's own text
    for 1 post in 20); seconds taken, counts folded."""
    from herald.store.stats import fold_counts

    t0 = time.perf_counter()
    per_batch = BATCH // PER_POST
    for lo in range(posts_from, posts_to, per_batch):
        numbered = [(i, _post(i)) for i in range(lo, min(posts_to, lo + per_batch))]
        posts = [p for _, p in numbered]
        deliveries = [d for i, p in numbered for d in _deliveries(i, p)]
        variants = [
            {"post_id": p["id"], "channel_id": (i % len(CHANNELS)) + 1, "text": "[own text] " + p["text"]}
            for i, p in numbered
            if i % 20 == 5
        ]
        _insert(herald, posts, variants, deliveries)
    with herald.db.session() as s:
        fold_counts(s)
    if not herald.db.is_sqlite:
        with herald.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
    return time.perf_counter() - t0


def _insert(
    herald: Any, posts: list[dict[str, Any]], variants: list[dict[str, Any]], deliveries: list[dict[str, Any]]
) -> None:
    raw = herald.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        if herald.db.is_sqlite:
            cur.execute("BEGIN IMMEDIATE")
            for table, columns, rows in (
                ("posts", POST_COLUMNS, posts),
                ("post_variants", ("post_id", "channel_id", "text"), variants),
                ("deliveries", DELIVERY_COLUMNS, deliveries),
            ):
                marks = ", ".join("?" * len(columns))
                cur.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                    [tuple(_sqlite(r[c]) for c in columns) for r in rows],
                )
            cur.execute("COMMIT")
        else:
            for table, columns, rows in (
                ("posts", POST_COLUMNS, posts),
                ("post_variants", ("post_id", "channel_id", "text"), variants),
                ("deliveries", DELIVERY_COLUMNS, deliveries),
            ):
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row(tuple(r[c] for c in columns))
            raw.commit()
        cur.close()
    finally:
        raw.close()


def _sqlite(value: object) -> object:
    """A value as SQLAlchemy writes it to SQLite: times as text with microseconds (they are
    compared as text, so every writer must write them alike)."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value


# -- the reads -------------------------------------------------------------------------------------


def _paired_ms(small: Callable[[], object], big: Callable[[], object]) -> tuple[float, float]:
    """Median milliseconds of each read, timed in turns (small, big, small...) after one untimed
    run of each, so that both meet the same load on a shared machine."""
    small()
    big()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(REPEATS):
        for read, into in ((small, times[0]), (big, times[1])):
            t0 = time.perf_counter()
            read()
            into.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times[0]), 1000 * statistics.median(times[1])


def _reads(herald: Any, posts: int, rows: dict[str, int] | None = None) -> dict[str, Callable[[], object]]:
    """Each timed read, over a log of ``posts`` seeded posts: a page of ``PAGE`` rows, or of
    ``rows[key]`` for the reads named there."""
    rows = rows or {}
    from herald.service.log import LogQuery
    from herald.store.log import DeliveryKey, LogFilters, log_page
    from herald.store.scope import Reach

    last = BASE + timedelta(seconds=37 * posts)
    deep_post = posts // 10  # 90% down from the newest
    deep = DeliveryKey(BASE + timedelta(seconds=37 * deep_post), PER_POST * deep_post + 1)
    third = (last - BASE) / 3

    def page(key: str, **filters: Any) -> Callable[[], object]:
        return lambda: herald.log_page(LogQuery(**filters), limit=rows.get(key, PAGE))

    def reach() -> object:
        with herald.db.read() as s:
            filters = LogFilters(reach=Reach(frozenset({3, 8, 15}), no_campaign=False))
            return log_page(s, filters, after=None, limit=PAGE)

    return {
        "first": page("first"),
        "deep": lambda: herald.log_page(LogQuery(), after=deep, limit=rows.get("deep", PAGE)),
        "campaign": page("campaign", campaign="campaign-07"),
        "channel": page("channel", channel="mastodon-kr"),
        "platform": page("platform", platform="x"),
        "status": page("status", status="failed"),
        "dates": page("dates", since=BASE + third, until=BASE + 2 * third),
        "combined": page("combined", status="failed", campaign="campaign-07"),
        "reach": reach,
        "rare": page("rare", text=RARE),
        "common": page("common", text=COMMON),
        "short": page("short", text=SHORT),
        "stats": herald.stats,
        "posts": lambda: herald.list_posts(limit=100),
    }


def _measure(
    small: Any, big: Any, small_posts: int, big_posts: int
) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[int, int]]]:
    """Each read on the small log and on the big one, timed in turns; and the rows each page
    read shows on each. A filter that matches fewer than a page on the small log is read on the
    big one for as many rows (the same request: "the newest 40 failed deliveries"), so that the
    ratio is what the size of the log costs, not what showing more rows costs."""
    small_reads = _reads(small, small_posts)
    matched = {}
    for key, read in small_reads.items():
        shown = read()
        if hasattr(shown, "items") or hasattr(shown, "rows"):
            n = _count(shown)
            if 0 < n < PAGE:
                matched[key] = n
    reads = small_reads, _reads(big, big_posts, matched)
    times = {key: _paired_ms(reads[0][key], reads[1][key]) for key in reads[0]}
    shown = {}
    for key in reads[0]:
        pages = reads[0][key](), reads[1][key]()
        if all(hasattr(p, "items") or hasattr(p, "rows") for p in pages):
            shown[key] = (_count(pages[0]), _count(pages[1]))
    return times, shown


def _count(page: Any) -> int:
    return len(page.items if hasattr(page, "items") else page.rows)


def _export(url: str) -> dict[str, float]:
    """The CSV export of the whole log, in a process of its own (``bench.log_export``)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.log_export", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HERALD_DATABASE_URL": url},
        timeout=1800,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@contextlib.contextmanager
def _service(url: str) -> Iterator[Any]:
    """The service layer on ``url`` (schema migrated), with this process's environment put back
    afterwards. Redis is named, never used: the log reads SQL only."""
    from herald.core.settings import reset_settings

    env = {
        "HERALD_ENV": "test",
        "HERALD_DATABASE_URL": url,
        "HERALD_REDIS_URL": "redis://127.0.0.1:1/0",
        "HERALD_SECRET_KEY": "bench-secret-key-" + "7" * 32,
        "HERALD_DATA_DIR": str(Path(tempfile.gettempdir()) / "herald-bench-log"),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    reset_settings()
    try:
        from herald.runtime import service

        herald = service()
        try:
            yield herald
        finally:
            herald.db.dispose()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_settings()


@contextlib.contextmanager
def _database(pg_admin_url: str | None) -> Iterator[str]:
    """A fresh database: PostgreSQL through ``pg_admin_url`` (dropped afterwards), else a
    SQLite file in a temporary folder."""
    if pg_admin_url:
        with fresh_database(pg_admin_url) as url:
            assert url is not None
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="herald-bench-log-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'herald.db'}"


def run(plan: Plan, pg_admin_url: str | None = None) -> Outcome:
    """The scenario on SQLite, or on PostgreSQL through ``pg_admin_url`` (fresh databases,
    dropped afterwards)."""
    out = Outcome()
    sp = _specs(plan)
    db = _database_name(pg_admin_url)
    big_posts = plan.log_deliveries // PER_POST
    small_posts = SMALL // PER_POST
    with contextlib.ExitStack() as stack:
        small_url = stack.enter_context(_database(pg_admin_url))
        big_url = stack.enter_context(_database(pg_admin_url))
        small = stack.enter_context(_service(small_url))
        big = stack.enter_context(_service(big_url))
        for herald in (small, big):
            _world(herald)
        seeded_small = _grow(small, 1, small_posts + 1)
        seeded = _grow(big, 1, big_posts + 1)
        times, shown = _measure(small, big, small_posts, big_posts)
        small_export = _export(small_url)
        export = _export(big_url)
    for key, _ in READS:
        rows_shown = shown.get(key)
        note = (
            f"rows shown: {rows_shown[0]} at {SMALL:,}, {rows_shown[1]} at {plan.log_deliveries:,}"
            if rows_shown
            else ""
        )
        out.put(sp[key], times[key][1], times[key][0], note=note)
    rows = export["rows"]
    out.put(sp["export"], rows / export["seconds"], small_export["rows"] / small_export["seconds"])
    out.put(
        sp["rss"],
        export["rss_end"] / 1e6,
        export["rss_10"] / 1e6,
        note=f"{db}: RSS {export['rss_start'] / 1e6:.0f} MB before the export, "
        f"peak {export['rss_peak'] / 1e6:.0f} MB; {rows:,.0f} rows in {export['seconds']:.0f} s",
    )
    out.put(
        sp["seed"],
        plan.log_deliveries / seeded,
        SMALL / seeded_small,
        note=f"{db}: {plan.log_deliveries:,} deliveries ({big_posts:,} posts) in {seeded:.0f} s, "
        "triggers (counts, search index) and the counts' fold included",
    )
    out.sections["Delivery log at scale"] = (
        f"Reads are timed on a log of {SMALL:,} deliveries and one of {plan.log_deliveries:,} side by "
        f"side, in turns ({REPEATS} of each after one untimed run, medians), so that both meet the "
        "same load. A filter that matches fewer than a page at 1k is read at 1M for as many rows "
        "(the same request: the newest 40 failed deliveries, say), so that the ratio is what the "
        "log's size costs, not what showing more rows costs (each row about 20–50 µs to read and "
        "build; notes: rows shown)."
    )
    return out
