"""Bulk queueing: ``Herald.add_posts`` and ``herald post import FILE.csv``.

All or nothing: every post is checked before anything is written, every refused row is named
by its line, and nothing already queued is lost or changed. What a bulk write stages in Redis
is exactly what a rebuild from SQL would stage."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import func, select
from typer.testing import CliRunner

from content_queue import Payload
from herald.cli import app as cli
from herald.core.errors import InputError
from herald.delivery.staging import build_payloads
from herald.service import PhotoInput, PostRequest
from herald.store.models import Campaign, Delivery, Post, PostPhoto, PostVariant
from tests.photos import exif_of, jpeg

runner = CliRunner()
SOON = datetime.now(UTC) + timedelta(hours=2)


@pytest.fixture
def db_url(any_db_url: str) -> str:
    """Bulk writes (multi-row INSERT ... RETURNING in order) run on SQLite and PostgreSQL."""
    return any_db_url


@pytest.fixture
def chans(herald: Any) -> Any:
    herald.add_channel("kr-m", "mastodon", {"access_token": "m-bulk-123456"}, base_url="http://127.0.0.1:9/m")
    herald.add_channel(
        "en-bsky",
        "bluesky",
        {"handle": "a.bsky.social", "app_password": "bulk-pass-123"},
        base_url="http://127.0.0.1:9/b",
    )
    # One post already queued: nothing a failed import does may touch it.
    herald.add_post(PostRequest(channels=["kr-m"], text="already queued", at=SOON))
    return herald


def _snapshot(herald: Any) -> dict[str, Any]:
    r = herald.queue.redis
    with herald.db.session() as s:
        counts = {
            m.__name__: s.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (Post, Delivery, PostVariant, PostPhoto, Campaign)
        }
    return {
        "sql": counts,
        "keys": sorted(k.decode() for k in r.keys("*")),
        "due": r.zrange(herald.queue.keys.due, 0, -1, withscores=True),
    }


def test_add_posts_stages_what_a_rebuild_from_sql_would(chans: Any) -> None:
    herald = chans
    photo = jpeg(gps=True)
    herald.set_campaign("unification", late_tolerance_seconds=600)
    reqs = [
        PostRequest(
            channels=["kr-m", "en-bsky"],
            text=f"평화 통일 #{i}",
            text_for={"en-bsky": f"Peaceful unification #{i}"} if i % 2 else {},
            photos=[PhotoInput(photo, "rally.jpg", alt_text="A rally", credit="Photo: J. Kim")]
            if i % 3 == 0
            else [],
            at=SOON + timedelta(minutes=i),
            campaign="unification" if i % 4 == 0 else None,
            language="ko",
        )
        for i in range(12)
    ]
    ids = herald.add_posts(reqs)
    assert len(ids) == 12 and len(set(ids)) == 12
    with herald.db.session() as s:
        rows = s.execute(select(Delivery.id, Delivery.post_id).where(Delivery.post_id.in_(ids))).all()
        assert len(rows) == 24
        # Each id is the post asked for, in order.
        texts = dict(s.execute(select(Post.id, Post.text).where(Post.id.in_(ids))).all())
        assert [texts[i] for i in ids] == [f"평화 통일 #{i}" for i in range(12)]
        rebuilt = {p.delivery_id: p for p, _ in build_payloads(s, [r[0] for r in rows])}
    staged = herald.queue.payloads(sorted(rebuilt))
    assert staged == rebuilt  # text variants, photos with credits, tolerance, keys: all equal
    some = next(p for p in staged.values() if p.photos)
    assert "Photo: J. Kim" in some.photos[0].alt_text
    stored = herald.queue.photos([some.photos[0].sha256])[some.photos[0].sha256]
    assert 0x8825 not in exif_of(stored)  # no GPS in what the workers will send
    due = dict(herald.queue.redis.zrange(herald.queue.keys.due, 0, -1, withscores=True))
    assert all(due[str(i).encode()] == p.due for i, p in staged.items())


def test_a_refused_post_refuses_the_batch_and_changes_nothing(chans: Any) -> None:
    herald = chans
    before = _snapshot(herald)
    reqs = [
        PostRequest(channels=["kr-m"], text="fine", at=SOON, campaign="new-campaign"),
        PostRequest(channels=["kr-m"], text="a" * 501, at=SOON),
        PostRequest(channels=["nope"], text="fine", at=SOON),
        PostRequest(channels=["kr-m"], text="past", at=datetime(2020, 1, 1, tzinfo=UTC)),
        PostRequest(
            channels=["kr-m"], text="broken photo", photos=[PhotoInput(jpeg()[:200], "cut.jpg")], at=SOON
        ),
    ]
    with pytest.raises(InputError) as err:
        herald.add_posts(reqs)
    msg = str(err.value)
    assert "5 of 5 posts refused, nothing queued" in msg
    for words in (
        ("post 1", "no campaign named 'new-campaign'"),
        ("post 2", "500"),
        ("post 3", "unknown channel", "nope"),
        ("post 4", "past"),
        ("post 5", "cut.jpg"),
    ):
        assert all(w in msg for w in words), (words, msg)
    assert [d["post"] for d in err.value.details] == [1, 2, 3, 4, 5]
    assert _snapshot(herald) == before  # not even the campaign of post 1


def _run(*args: str) -> Any:
    return runner.invoke(cli, list(args), catch_exceptions=False)


def _write(tmp: Path, text: str, name: str = "posts.csv") -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


def test_import_csv_queues_every_row(chans: Any, tmp_path: Path) -> None:
    herald = chans
    herald.set_campaign("unification")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "march.jpg").write_bytes(jpeg(gps=True))
    at = SOON.isoformat()
    csv_file = _write(
        tmp_path,
        "channels,at,text,text:en-bsky,photo1,alt1,campaign,language\n"
        f'kr-m;en-bsky,{at},"평화, 통일","Peace, unification",photos/march.jpg,Marchers,unification,ko\n'
        "\n"
        f'kr-m,now,"둘째 줄\n두 줄",,,,,ko\n',
    )
    res = _run("post", "import", str(csv_file))
    assert res.exit_code == 0, res.output
    ids = res.stdout.split()
    assert len(ids) == 2
    posts = {p["id"]: p for p in json.loads(_run("post", "list", "--format", "json").stdout)}
    assert posts[ids[0]]["text"] == "평화, 통일" and posts[ids[0]]["campaign"] == "unification"
    assert posts[ids[1]]["text"] == "둘째 줄\n두 줄"
    with herald.db.session() as s:
        variants = s.execute(select(PostVariant.text).where(PostVariant.post_id == ids[0])).scalars().all()
        assert variants == ["Peace, unification"]
        alts = s.execute(select(PostPhoto.alt_text).where(PostPhoto.post_id == ids[0])).scalars().all()
        assert alts == ["Marchers"]


def test_import_csv_gives_each_channel_its_language(chans: Any, tmp_path: Path) -> None:
    """``language:NAME`` beside ``text:NAME``: that channel's language; blank, the post's."""
    herald = chans
    csv_file = _write(
        tmp_path,
        "channels,at,text,text:kr-m,language,Language: kr-m\n"
        f'kr-m;en-bsky,{SOON.isoformat()},"Peace, unification","평화, 통일",en,ko\n'
        f"kr-m;en-bsky,{SOON.isoformat()},Second,,en,\n",
    )
    res = _run("post", "import", str(csv_file))
    assert res.exit_code == 0, res.output
    first, second = res.stdout.split()
    with herald.db.session() as s:
        rows = s.execute(
            select(PostVariant.post_id, PostVariant.text, PostVariant.language).where(
                PostVariant.post_id.in_([first, second])
            )
        ).all()
        assert [tuple(r) for r in rows] == [(first, "평화, 통일", "ko")]
        by_channel = {
            d.channel.name: d.id for d in s.execute(select(Delivery)).scalars() if d.post_id == first
        }
    staged = herald.queue.payloads(list(by_channel.values()))
    assert {n: staged[i].language for n, i in by_channel.items()} == {"kr-m": "ko", "en-bsky": "en"}


BAD = [
    ("unknown-column", "channels,at,text,colour\nkr-m,now,hi,red\n", ["unknown column", "colour"]),
    ("no-at-column", "channels,text\nkr-m,hi\n", ["no 'at' column"]),
    ("unclosed-quote", 'channels,at,text\nkr-m,now,"never closed\n', ["line", "unexpected end of data"]),
    ("too-many-cells", "channels,at,text\nkr-m,now,hi,extra\n", ["line 2", "4 cells", "3 columns"]),
    (
        "unknown-channel",
        "channels,at,text\nkr-m,now,fine\nkr-nope,now,hi\n",
        ["line 3", "unknown channel", "kr-nope"],
    ),
    ("past-time", "channels,at,text\nkr-m,2020-01-01T00:00:00Z,hi\n", ["line 2", "past"]),
    # A time without an offset is local (tests/test_import_terms.py); one that does not exist is not.
    (
        "dst-gap",
        "channels,at,text,tz\nkr-m,2030-03-10T02:30,hi,America/New_York\n",
        ["line 2", "does not exist"],
    ),
    ("over-limit", "channels,at,text\nkr-m,now," + "a" * 501 + "\n", ["line 2", "500", "501"]),
    (
        "path-escapes",
        "channels,at,text,photo1\nkr-m,now,hi,../secret.jpg\n",
        ["line 2", "outside the CSV's folder"],
    ),
    (
        "absolute-path",
        "channels,at,text,photo1\nkr-m,now,hi,/etc/passwd\n",
        ["line 2", "relative to the CSV"],
    ),
    (
        "missing-photo",
        "channels,at,text,photo1\nkr-m,now,hi,nope.jpg\n",
        ["line 2", "nope.jpg", "not a file"],
    ),
    ("not-a-photo", "channels,at,text,photo1\nkr-m,now,hi,notes.jpg\n", ["line 2", "notes.jpg"]),
    ("alt-without-photo", "channels,at,text,alt1\nkr-m,now,hi,lonely\n", ["line 2", "alt1"]),
    ("header-only", "channels,at,text\n", ["no posts"]),
    (
        "bad-channel-language",
        "channels,at,text,language:en-bsky\nkr-m;en-bsky,now,hi,english\n",
        ["line 2", "channel en-bsky", "'english' is not a language tag"],
    ),
    (
        "language-for-a-channel-not-in-the-row",
        "channels,at,text,language:en-bsky\nkr-m,now,hi,en\n",
        ["line 2", "language given for channel(s) not in this post: en-bsky"],
    ),
    ("nameless-language-column", "channels,at,text,language:\nkr-m,now,hi,en\n", ["unknown column"]),
    ("empty", "", ["empty"]),
]


@pytest.mark.parametrize(("case", "content", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_csv_is_refused_naming_the_problem_and_nothing_changes(
    chans: Any, tmp_path: Path, case: str, content: str, words: list[str]
) -> None:
    folder = tmp_path / "import"
    folder.mkdir()
    (tmp_path / "secret.jpg").write_bytes(jpeg())
    (folder / "notes.jpg").write_text("<html>not a photo</html>")
    csv_file = _write(folder, content)
    before = _snapshot(chans)
    res = _run("post", "import", str(csv_file))
    assert res.exit_code != 0, res.output
    for w in words:
        assert w in res.stderr, (w, res.stderr)
    assert _snapshot(chans) == before


def test_every_problem_of_a_file_is_reported_at_once(chans: Any, tmp_path: Path) -> None:
    csv_file = _write(
        tmp_path,
        "channels,at,text\nkr-m,now,fine\nkr-m,tomorrow,hi\nkr-m,now," + "b" * 600 + "\nkr-x,now,hi\n",
    )
    res = _run("post", "import", str(csv_file))
    assert res.exit_code != 0
    assert "3 problem(s), nothing queued" in res.stderr
    for line in ("line 3", "line 4", "line 5"):
        assert line in res.stderr


def test_not_utf8_and_dry_run(chans: Any, tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("channels,at,text\nkr-m,now,caf\xe9\n".encode("latin-1"))
    res = _run("post", "import", str(latin))
    assert res.exit_code != 0 and "not UTF-8" in res.stderr
    before = _snapshot(chans)
    good = _write(tmp_path, "channels,at,text\nkr-m,now,hello\nen-bsky,now,hi\n")
    res = _run("post", "import", "--dry-run", str(good))
    assert res.exit_code == 0, res.output
    assert "2 posts would be queued" in res.stderr
    assert _snapshot(chans) == before


def test_redis_down_at_import_loses_nothing(chans: Any, herald_env: dict[str, str]) -> None:
    """SQL is written first; if Redis refuses the staging, the scheduler's rebuild restores it."""
    herald = chans
    from content_queue import ContentQueue
    from herald.delivery.staging import reconcile_queue

    dead = ContentQueue(redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2), herald.queue.keys)
    live = herald.queue
    herald.queue = dead
    try:
        ids = herald.add_posts([PostRequest(channels=["kr-m"], text=f"r{i}", at=SOON) for i in range(3)])
    finally:
        herald.queue = live
    assert len(ids) == 3
    assert reconcile_queue(herald.db, live) == 3
    with herald.db.session() as s:
        dids = s.execute(select(Delivery.id).where(Delivery.post_id.in_(ids))).scalars().all()
    assert set(live.payloads(dids)) == set(dids)
    assert all(isinstance(p, Payload) for p in live.payloads(dids).values())
