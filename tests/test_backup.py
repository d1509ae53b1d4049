"""``herald backup`` / ``herald restore`` (issue 17): one archive taken while Herald runs, restored
into an empty database of either kind, after which what was waiting goes out once and nothing
published goes out again; and the archive's attacker's tests (tampered, truncated, hostile
member names, secrets in plain text, file mode)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from typer.testing import CliRunner

from content_queue import ContentQueue
from herald.cli import app as cli
from herald.core.errors import Conflict, InputError
from herald.core.settings import get_settings, reset_settings
from herald.service import PhotoInput, PostRequest
from herald.service.backup import MANIFEST, Backups, open_backup
from herald.store import backup as store_backup
from herald.store.db import Database
from herald.store.models import Delivery, Post
from tests.conftest import PG_ADMIN_URL, SECRET_KEY, _pg_available
from tests.e2e.conftest import MASTODON_TOKEN, X_CREDS, wait_for
from tests.photos import jpeg

runner = CliRunner()

#: For checks of the archive itself, the same whatever database it came from: SQLite only.
archive_only = pytest.mark.parametrize("any_db_url", ["sqlite"], indirect=True)

#: Secrets that must never be in an archive in plain text.
ALERT_PASSWORD = "alert-smtp-password-4e1d9c"
PLAIN_SECRETS = [MASTODON_TOKEN, *X_CREDS.values(), ALERT_PASSWORD, SECRET_KEY]


@pytest.fixture
def db_url(any_db_url: str) -> str:
    """The installation backed up: SQLite and PostgreSQL."""
    return any_db_url


@pytest.fixture
def fresh_pg() -> Iterator[str]:
    """An empty PostgreSQL database (no schema), dropped afterwards."""
    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    import psycopg2

    name = f"herald_restore_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(PG_ADMIN_URL)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+psycopg2://", 1)
    finally:
        admin.cursor().execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture
def other_db(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database of the other kind: a SQLite backup restores into PostgreSQL and back."""
    if db_url.startswith("sqlite"):
        url: str = request.getfixturevalue("fresh_pg")
        return url
    return f"sqlite:///{tmp_path / 'restored' / 'herald.db'}"


@pytest.fixture
def same_kind_db(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database of the same kind."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored' / 'herald.db'}"
    url: str = request.getfixturevalue("fresh_pg")
    return url


def channels(herald: Any, sim: Any) -> list[str]:
    sim.add_account("mastodon", username="unify_kr", access_token=MASTODON_TOKEN)
    sim.add_account("x", username="unify_kr", **X_CREDS)
    herald.add_channel(
        "kr-mastodon", "mastodon", {"access_token": MASTODON_TOKEN}, base_url=sim.url_for("mastodon")
    )
    herald.add_channel("kr-x", "x", dict(X_CREDS), base_url=sim.url_for("x"))
    return ["kr-mastodon", "kr-x"]


def photo(i: int) -> PhotoInput:
    return PhotoInput(
        jpeg(60 + i, 40, color=(i * 37 % 255, 90, 200)), f"rally-{i}.jpg", alt_text=f"Rally photo {i}"
    )


def cli_ok(*args: str) -> str:
    res = runner.invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.stdout


def cli_refused(*args: str) -> str:
    res = runner.invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == 2, res.output
    return res.stderr


def use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("HERALD_DATABASE_URL", url)
    reset_settings()


def all_rows(url: str) -> dict[str, list[dict[str, object]]]:
    """Every row of every table (as a backup writes them) and every photo's bytes."""
    db = Database(url)
    try:
        with store_backup.snapshot(db) as conn:
            out = {t.name: list(store_backup.read_rows(conn, t)) for t in store_backup.shapes(conn)}
        return out
    finally:
        db.dispose()


# -- the whole way round, while Herald runs ------------------------------------------------------


def test_backup_while_running_restores_into_the_other_database_and_each_post_goes_out_once(
    running: Any,
    herald: Any,
    herald_env: dict[str, str],
    sim: Any,
    other_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from herald.delivery.factory import build_deliverer
    from tasks import app
    from tasks.handover import build_dispatcher
    from tasks.publish import set_deliverer

    names = channels(herald, sim)
    # Published before the backup: never to go out again.
    at = datetime.now(UTC) + timedelta(seconds=1)
    done = [
        herald.add_post(
            PostRequest(channels=names, text=f"Published before the backup {i}", photos=[photo(i)], at=at)
        )
        for i in range(3)
    ]
    assert wait_for(lambda: len(sim.ledger()) >= 6, timeout=30)
    assert wait_for(lambda: {r.status for r in herald.delivery_log()} == {"published"}, timeout=10)
    # Waiting at the time of the backup: to go out once, from the restored installation.
    due = datetime.now(UTC) + timedelta(seconds=15)
    waiting = [
        herald.add_post(
            PostRequest(channels=names, text=f"Waiting at the backup {i}", photos=[photo(10 + i)], at=due)
        )
        for i in range(3)
    ]
    later = herald.add_post(
        PostRequest(
            channels=names, text="Due tomorrow", photos=[photo(20)], at=datetime.now(UTC) + timedelta(days=1)
        )
    )

    # Someone keeps queueing while the backup is taken: the archive is one moment all the same.
    stop = threading.Event()
    written: list[str] = []

    def keep_queueing() -> None:
        i = 0
        while not stop.is_set():
            written.append(
                herald.add_post(
                    PostRequest(
                        channels=names,
                        text=f"Queued during the backup {i}",
                        photos=[photo(30 + i % 50)],
                        at=datetime.now(UTC) + timedelta(days=2),
                    )
                )
            )
            i += 1

    writer = threading.Thread(target=keep_queueing, daemon=True)
    writer.start()
    assert wait_for(lambda: len(written) >= 2, timeout=20)
    archive = tmp_path / "herald-backup.zip"
    out = cli_ok("backup", str(archive), "--format", "json")
    stop.set()
    writer.join(20)
    info = json.loads(out)
    assert info["revision"] and info["photos"] >= 7 and info["database"] == herald.db.engine.dialect.name

    # The installation goes down before the waiting posts are due.
    running.dispatcher.stop()
    assert datetime.now(UTC) < due - timedelta(seconds=2), "the machine was too slow for this test's margins"
    time.sleep(1.5)
    assert len(sim.ledger()) == 6

    # A new machine: the other kind of database, an empty Redis.
    url = herald_env["HERALD_REDIS_URL"]
    client = redis.Redis.from_url(url)
    client.flushdb()
    # The flush took the broker's queue binding too; a worker declares it again when it
    # (re)connects, which the in-process test worker does not do by itself.
    with app.connection_for_write() as conn:
        for q in app.amqp.queues.values():
            q.bind(conn.default_channel).declare()
    use_database(monkeypatch, other_db)
    out = cli_ok("restore", str(archive))
    assert "content queue rebuilt" in out

    restored = Database(other_db)
    with restored.session() as s:
        posts = {p.id: p for p in s.query(Post).all()}
        deliveries = s.query(Delivery).all()
    counts = {t["table"]: t["rows"] for t in info["tables"]}
    assert len(posts) == counts["posts"] and len(deliveries) == counts["deliveries"]
    assert set(done + waiting + [later]) <= set(posts)
    # Every post of the snapshot is whole (its deliveries and photos came with it), and the
    # posts queued after the snapshot began are not there at all.
    assert all(posts[d.post_id] for d in deliveries)
    assert {d.post_id for d in deliveries} == set(posts)
    assert 0 < len([p for p in written if p in posts]) <= len(written)

    # Workers on the restored installation.
    deliverer = build_deliverer()
    set_deliverer(deliverer)
    dispatcher = build_dispatcher()
    t = threading.Thread(target=dispatcher.run, daemon=True)
    t.start()
    try:
        assert wait_for(lambda: len(sim.ledger()) >= 12, timeout=40)
        time.sleep(2.0)  # anything sent twice would show by now
        ledger = sim.ledger()
        texts = [(e.platform, e.text) for e in ledger]
        assert len(texts) == 12 and len(set(texts)) == 12, "a post went out twice"
        for i in range(3):
            for platform in ("mastodon", "x"):
                assert texts.count((platform, f"Waiting at the backup {i}")) == 1
                assert texts.count((platform, f"Published before the backup {i}")) == 1
        for e in ledger[6:]:
            assert [m.alt_text for m in e.media] == [f"Rally photo {10 + int(e.text.rsplit(' ', 1)[1])}"]
            assert e.received_at >= due.timestamp() - 0.05, "a waiting post went out early"
        # What is still to come is back on the queue, and only that.
        queue = ContentQueue.from_url(url, keyring=get_settings().keyring())
        with restored.session() as s:
            state = {d.id: (d.post_id, d.state) for d in s.query(Delivery).all()}
        pending = [i for i, (p, st) in state.items() if st == "queued"]
        assert pending and all(queue.is_known(pending))
        assert {state[i][0] for i in pending} == {later} | {p for p in written if p in posts}
        published = [i for i, (_, st) in state.items() if st == "published"]
        assert len(published) == 12 and not any(queue.is_known(published))
    finally:
        dispatcher.stop()
        t.join(10)
        set_deliverer(running.deliverer)
        deliverer.close()
        restored.dispose()


# -- what is in the archive -----------------------------------------------------------------------


def populated(herald: Any, sim: Any) -> list[str]:
    """An installation with a bit of everything: people, a second factor, a token, a campaign, an
    alert target, channels, posts with photos (one purged)."""
    names = channels(herald, sim)
    herald.set_campaign("unification")
    herald.add_user("admin@example.org", "correct horse battery staple", "admin")
    herald.enable_second_factor("admin@example.org")
    herald.create_token("admin@example.org", name="ci")
    herald.add_alert_target(f"mailto://herald:{ALERT_PASSWORD}@mail.example.org?to=ops@example.org")
    posts = [
        herald.add_post(
            PostRequest(
                channels=names,
                text=f"통일 post {i} ✨",
                text_for={"kr-x": f"X text {i}"},
                photos=[photo(i)],
                campaign="unification",
                at=datetime.now(UTC) + timedelta(hours=i + 1),
            )
        )
        for i in range(3)
    ]
    herald.cancel_post(posts[0])
    assert (
        herald.purge_photos(
            older_than_days=1, now=datetime.now(UTC).replace(tzinfo=None) + timedelta(days=60)
        )
        >= 1
    )
    return posts


def test_round_trip_keeps_every_row_and_photo_and_new_ids_follow_on(
    herald: Any, sim: Any, same_kind_db: str, tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    populated(herald, sim)
    before = all_rows(herald.db.url)
    archive = tmp_path / "b.zip"
    Backups(herald.db).back_up(archive)

    target = Database(same_kind_db)
    queue = ContentQueue.from_url(redis_url, keyring=get_settings().keyring())
    queue.redis.flushdb()
    try:
        with open_backup(archive) as a:
            done = Backups(target, queue, get_settings().keyring()).restore(a)
        assert done.replaced == () and done.foreign_credentials == ()
        assert done.queued == 4  # two posts on two channels; the cancelled one is not queued
        after = all_rows(same_kind_db)
        assert "web_sessions" not in before
        for table, rows in before.items():
            if table == "audit_events":
                assert after[table][: len(rows)] == rows
                assert [r["action"] for r in after[table][len(rows) :]] == ["backup.restore"]
            else:
                assert after[table] == rows, table
        with store_backup.snapshot(target) as conn:
            photos = dict(store_backup.photo_files(conn))
        with store_backup.snapshot(herald.db) as conn:
            assert photos == dict(store_backup.photo_files(conn))
        assert all(hashlib.sha256(data).hexdigest() == sha for sha, data in photos.items())
        # New rows take fresh ids after the restored ones (PostgreSQL's sequences were moved on).
        from herald.runtime import service

        use_database(monkeypatch, same_kind_db)
        again = service()
        new_id = again.add_channel(
            "kr-mastodon-2", "mastodon", {"access_token": MASTODON_TOKEN}, base_url=sim.url_for("mastodon")
        )
        assert new_id > max(int(str(r["id"])) for r in before["channels"])
        # What the database keeps by itself (the counts behind the statistics, SQLite's text
        # search) was made again from the rows loaded, not copied (nor counted twice).
        assert again.stats() == herald.stats()
        from herald.service.log import LogQuery

        def found(h: Any) -> list[str]:
            return sorted(e.post_id for e in h.log_page(LogQuery(text="post 2"), limit=50).items)

        assert found(again) == found(herald) and len(found(herald)) == 1  # kr-x has its own text
        again.add_user("second@example.org", "another good long password", "staff")
        again.db.dispose()
    finally:
        target.dispose()


@archive_only
def test_archive_is_private_whole_or_absent_and_not_overwritten(
    herald: Any, sim: Any, tmp_path: Path
) -> None:
    populated(herald, sim)
    folder = tmp_path / "backups"
    folder.mkdir()
    archive = folder / "b.zip"
    umask = os.umask(0o022)  # the archive is private whatever the umask
    try:
        info = Backups(herald.db).back_up(archive)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert info.size == archive.stat().st_size and info.rows > 0
    assert [p.name for p in folder.iterdir()] == ["b.zip"]  # no temporary file left

    first = archive.read_bytes()
    with pytest.raises(Conflict, match="already exists"):
        Backups(herald.db).back_up(archive)
    assert archive.read_bytes() == first
    assert "already exists" in cli_refused("backup", str(archive))

    archive.chmod(0o644)
    Backups(herald.db).back_up(archive, force=True)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == ["b.zip"]

    with pytest.raises(InputError, match="does not exist"):
        Backups(herald.db).back_up(tmp_path / "no-such-folder" / "b.zip")


def test_no_secret_in_plain_text_in_the_archive(herald: Any, sim: Any, tmp_path: Path) -> None:
    populated(herald, sim)
    archive = tmp_path / "b.zip"
    Backups(herald.db).back_up(archive)
    raw = archive.read_bytes()
    with zipfile.ZipFile(archive) as zf:
        contents = b"".join(zf.read(n) for n in zf.namelist())
    for secret in PLAIN_SECRETS:
        assert secret.encode() not in raw and secret.encode() not in contents
    # The credentials are in it, sealed exactly as stored.
    with herald.db.session() as s:
        from herald.store.models import Channel

        sealed = {c.name: bytes(c.credentials_encrypted) for c in s.query(Channel).all()}
    with zipfile.ZipFile(archive) as zf:
        rows = [json.loads(line) for line in zf.read("tables/channels.jsonl").splitlines()]
    import base64

    assert {r["name"]: base64.b64decode(r["credentials_encrypted"]) for r in rows} == sealed


def test_manifest_names_every_member_with_its_hash(herald: Any, sim: Any, tmp_path: Path) -> None:
    populated(herald, sim)
    archive = tmp_path / "b.zip"
    Backups(herald.db).back_up(archive)
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read(MANIFEST))
        names = set(zf.namelist())
        assert names == set(manifest["members"]) | {MANIFEST}
        for name, m in manifest["members"].items():
            data = zf.read(name)
            assert hashlib.sha256(data).hexdigest() == m["sha256"] and len(data) == m["size"]
    assert manifest["format"] == "herald-backup" and manifest["format_version"] == 1
    assert (
        manifest["herald_version"] and manifest["alembic_revision"] and manifest["created_at"].endswith("Z")
    )
    assert manifest["database"] in ("sqlite", "postgresql")
    tables = [t["name"] for t in manifest["tables"]]
    # Parents before children.
    assert tables.index("posts") < tables.index("deliveries") < tables.index("attempts")
    assert tables.index("photo_blobs") < tables.index("post_photos")
    assert "web_sessions" not in tables and "alembic_version" not in tables
    assert manifest["photos"]["count"] == len([n for n in names if n.startswith("photos/")]) > 0


# -- refusals -------------------------------------------------------------------------------------


def rewrite(src: Path, dst: Path, change: Any) -> None:
    """Copy an archive member by member, letting ``change(name, data)`` return new data, None to
    drop the member, or a list of (name, data) to write instead."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            got = change(name, zin.read(name))
            if got is None:
                continue
            for n, d in got if isinstance(got, list) else [(name, got)]:
                zout.writestr(n, d)


@pytest.fixture
def archive(herald: Any, sim: Any, tmp_path: Path) -> Path:
    populated(herald, sim)
    path = tmp_path / "good.zip"
    Backups(herald.db).back_up(path)
    herald.queue.redis.flushdb()  # restored elsewhere: an empty Redis
    return path


@archive_only
@pytest.mark.parametrize(
    "change, match",
    [
        (
            lambda n, d: d.replace(b"post 1", b"post 9") if n == "tables/posts.jsonl" else d,
            "does not match its hash",
        ),
        (
            lambda n, d: d[:-1] + bytes([d[-1] ^ 1]) if n.startswith("photos/") else d,
            "does not match its hash",
        ),
        (lambda n, d: None if n == "tables/deliveries.jsonl" else d, "is missing"),
        (lambda n, d: None if n == MANIFEST else d, "no manifest"),
        (
            lambda n, d: [(n, d), ("tables/extra.jsonl", b"{}\n")] if n == MANIFEST else d,
            "not in the manifest",
        ),
        (lambda n, d: b"{not json" if n == MANIFEST else d, "manifest is not JSON"),
        (
            lambda n, d: json.dumps({**json.loads(d), "format_version": 99}).encode() if n == MANIFEST else d,
            "format 99",
        ),
    ],
    ids=[
        "row-edited",
        "photo-edited",
        "member-dropped",
        "no-manifest",
        "member-added",
        "manifest-garbled",
        "newer-format",
    ],
)
def test_a_changed_archive_is_refused_before_anything_is_written(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: Any, match: str
) -> None:
    bad = tmp_path / "bad.zip"
    rewrite(archive, bad, change)
    target = f"sqlite:///{tmp_path / 'target' / 'herald.db'}"
    with pytest.raises(InputError, match=match), open_backup(bad):
        pass
    use_database(monkeypatch, target)
    assert "nothing was restored" in cli_refused("restore", str(bad))
    assert not (tmp_path / "target").exists()


@archive_only
def test_a_truncated_archive_is_refused(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = archive.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 100):
        bad = tmp_path / "cut.zip"
        bad.write_bytes(data[:cut])
        with pytest.raises(InputError, match="truncated|damaged|not a Herald backup"), open_backup(bad):
            pass
    use_database(monkeypatch, f"sqlite:///{tmp_path / 'target' / 'herald.db'}")
    assert "truncated" in cli_refused("restore", str(bad))
    assert not (tmp_path / "target").exists()


@archive_only
@pytest.mark.parametrize(
    "hostile",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "tables/../../evil.jsonl",
        "photos/../../" + "a" * 64,
        "photos\\..\\..\\evil",
        "tables/posts.jsonl/../../x",
        "./manifest.json",
        "photos/" + "A" * 64,
    ],
)
def test_hostile_member_names_are_refused(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hostile: str
) -> None:
    bad = tmp_path / "hostile.zip"
    evil = b"root:x:0:0:owned\n"

    def add_member(name: str, data: bytes) -> Any:
        if name != MANIFEST:
            return data
        # Listed in the manifest with its true hash, so only the name is wrong.
        m = json.loads(data)
        m["members"][hostile] = {"sha256": hashlib.sha256(evil).hexdigest(), "size": len(evil)}
        return [(hostile, evil), (MANIFEST, json.dumps(m).encode())]

    rewrite(archive, bad, add_member)
    with pytest.raises(InputError, match="Herald never writes"), open_backup(bad):
        pass
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    use_database(monkeypatch, f"sqlite:///{tmp_path / 'target' / 'herald.db'}")
    assert "never writes" in cli_refused("restore", str(bad))
    assert list(workdir.iterdir()) == [] and not (tmp_path / "target").exists()
    assert not (tmp_path / "evil").exists() and not (tmp_path / "evil.jsonl").exists()


@archive_only
def test_a_link_or_folder_member_is_refused(archive: Path, tmp_path: Path) -> None:
    bad = tmp_path / "link.zip"
    with zipfile.ZipFile(archive) as zin, zipfile.ZipFile(bad, "w") as zout:
        for name in zin.namelist():
            info = zin.getinfo(name)
            if name.startswith("photos/"):
                # Same name, same bytes, but a symbolic link in the mode bits.
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zout.writestr(info, zin.read(name))
    with pytest.raises(InputError, match="not a plain file"), open_backup(bad):
        pass


def test_restore_refuses_a_database_that_holds_posts_unless_forced(
    archive: Path, herald: Any, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The source itself holds posts: the refusal names them, and nothing changes.
    before = all_rows(herald.db.url)
    out = cli_refused("restore", str(archive))
    assert "already holds" in out and "posts" in out and "--force" in out
    with pytest.raises(Conflict, match="posts"), open_backup(archive) as a:
        Backups(herald.db, herald.queue, get_settings().keyring()).restore(a)
    assert all_rows(herald.db.url) == before

    # A content queue that holds deliveries is refused too, even with --force: their ids would
    # name other deliveries after the restore.
    herald.queue.redis.zadd(herald.queue.keys.due, {"12345": time.time()})
    assert "content queue" in cli_refused("restore", str(archive), "--force")
    assert all_rows(herald.db.url) == before

    # --force replaces everything (the posts queued since the backup, the people's sessions).
    herald.add_post(
        PostRequest(
            channels=["kr-mastodon"], text="after the backup", at=datetime.now(UTC) + timedelta(days=3)
        )
    )
    herald.add_user("late@example.org", "yet another long password", "staff")
    signed_in = herald.sign_in("late@example.org", "yet another long password", address="127.0.0.1")
    herald.start_session(signed_in.user_id)
    herald.queue.redis.flushdb()  # as the refusal says: stop Herald, empty Redis
    out = cli_ok("restore", str(archive), "--force")
    assert "replaced" in out and "web_sessions" in out
    after = all_rows(herald.db.url)
    assert {r["text"] for r in after["posts"]} == {r["text"] for r in before["posts"]}
    assert [r["email"] for r in after["users"]] == [r["email"] for r in before["users"]]
    with herald.db.session() as s:
        from herald.store.models import WebSession

        assert s.query(WebSession).count() == 0


@archive_only
def test_an_archive_of_an_older_schema_restores_into_a_newer_one(
    herald: Any, sim: Any, tmp_path: Path, redis_url: str
) -> None:
    revisions = store_backup.known_revisions(herald.db.url)
    old = Database(f"sqlite:///{tmp_path / 'old' / 'herald.db'}")
    store_backup.migrate_to(old, revisions[-2])
    with old.engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(
            text(
                "INSERT INTO campaigns (name, timezone, late_tolerance_seconds, requires_approval,"
                " require_alt_text, created_at)"
                " VALUES ('old', 'Asia/Seoul', 60, 0, 1, '2026-01-02 03:04:05.000000')"
            )
        )
    archive = tmp_path / "old.zip"
    assert Backups(old).back_up(archive).revision == revisions[-2]
    # Into a database already at this Herald's newest schema (``herald migrate`` was run).
    target = Database(f"sqlite:///{tmp_path / 'new' / 'herald.db'}")
    target.migrate()
    with open_backup(archive) as a:
        done = Backups(target).restore(a)
    assert done.revision == revisions[-1]
    with target.session() as s:
        from herald.store.models import Campaign

        [c] = s.query(Campaign).all()
        assert (c.name, c.timezone, c.created_at) == ("old", "Asia/Seoul", datetime(2026, 1, 2, 3, 4, 5))


@archive_only
def test_an_archive_of_an_unknown_revision_is_refused(archive: Path, tmp_path: Path) -> None:
    bad = tmp_path / "future.zip"
    rewrite(
        archive,
        bad,
        lambda n, d: (
            json.dumps({**json.loads(d), "alembic_revision": "9999"}).encode() if n == MANIFEST else d
        ),
    )
    target = Database(f"sqlite:///{tmp_path / 'target' / 'herald.db'}")
    with pytest.raises(InputError, match="does not know"), open_backup(bad) as a:
        Backups(target).restore(a)
    with target.engine.connect() as conn:
        assert store_backup.revision(conn) is None


@archive_only
def test_backup_needs_no_key_and_restore_without_one_leaves_the_queue_to_the_scheduler(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    for name in ("HERALD_SECRET_KEY", "HERALD_WEB_KEYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HERALD_ENV", "production")
    reset_settings()
    cli_ok("backup", str(tmp_path / "again.zip"))
    assert "is whole" in cli_ok("restore", "--check", str(archive))
    redis.Redis.from_url(redis_url).set("herald:epoch", "before")
    use_database(monkeypatch, f"sqlite:///{tmp_path / 'target' / 'herald.db'}")
    out = cli_ok("restore", str(archive))
    assert "scheduler rebuilds the content queue" in out
    # The marker is gone, so the scheduler's first check is a full rebuild from SQL.
    assert redis.Redis.from_url(redis_url).get("herald:epoch") is None


@archive_only
def test_restore_with_another_key_names_the_credentials_it_cannot_open(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    monkeypatch.setenv("HERALD_SECRET_KEY", "another-installation-key-" + "1" * 32)
    use_database(monkeypatch, f"sqlite:///{tmp_path / 'target' / 'herald.db'}")
    res = runner.invoke(cli, ["restore", str(archive)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "channel kr-mastodon" in res.stderr and "channel kr-x" in res.stderr
    assert "alert target" in res.stderr


@archive_only
def test_backup_and_restore_speak_korean_and_json_stays_english(
    archive: Path, herald: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``HERALD_LANG=ko``: the sentences, the refusals and the time a backup was taken are
    Korean; ``--format json`` keeps its English keys and the manifest's ISO time."""
    monkeypatch.setenv("HERALD_LANG", "ko")
    out = cli_ok("restore", "--check", str(archive))
    assert "온전합니다" in out and re.search(r"\d{4}\. \d{1,2}\. \d{1,2}\. 오[전후] ", out), out
    info = json.loads(cli_ok("restore", "--check", "--format", "json", str(archive)))
    assert set(info) == {
        "file", "size", "format_version", "herald_version", "revision", "created_at", "database",
        "tables", "photos", "photo_bytes",
    }  # fmt: skip
    assert info["created_at"].endswith("Z") and {"table", "rows"} == set(info["tables"][0])
    said = cli_ok("backup", str(tmp_path / "again.zip"))
    assert "백업" in said and " MB" in said, said

    # Into the database the archive came from, which holds rows: refused, counting them.
    refused = cli_refused("restore", str(archive))
    assert refused.count("posts 행 ") == 1 and "이미 " in refused and "--force" in refused, refused

    # A manifest whose table lies about its rows: the part at fault is named in Korean too.
    bad = tmp_path / "bad.zip"

    def negative_rows(name: str, data: bytes) -> bytes:
        if name != MANIFEST:
            return data
        m = json.loads(data)
        next(t for t in m["tables"] if t["name"] == "posts")["rows"] = -1
        return json.dumps(m).encode()

    rewrite(archive, bad, negative_rows)
    use_database(monkeypatch, f"sqlite:///{tmp_path / 'target' / 'herald.db'}")
    refused = cli_refused("restore", str(bad))
    assert "(posts 테이블의 행 수)" in refused and "아무것도 복원하지 않았습니다" in refused, refused
