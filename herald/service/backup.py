"""Backups: ``herald backup FILE`` writes one archive of the whole installation while it runs;
``herald restore FILE`` loads one into an empty database and rebuilds the content queue.

The archive is a zip file (random access, so a restore reads each table and photo when it
needs it; a truncated zip has no central directory and does not open):

- ``tables/<table>.jsonl``: each table's rows, one JSON object a line, every value written the
  one way its column's kind says (``herald.store.backup``); parents come before children in the
  manifest's table list;
- ``photos/<sha256>``: the bytes of every stored photo and rendition, stored as they are (JPEG
  and PNG are compressed already); their rows in ``tables/photo_blobs.jsonl`` leave the bytes
  out. Purged photos have a row and no file;
- ``manifest.json``, last: the format and its version, Herald's version, the Alembic revision,
  when the snapshot was taken, the database kind, each table's columns (name, kind) and row
  count, and the SHA-256 and size of every other member.

What it holds and what it does not: every table of the schema except signed-in browsers
(``SKIPPED_TABLES``: everyone signs in again after a restore). Channel credentials, alert
targets and second-factor secrets stay sealed exactly as stored: nothing here opens them, and
neither a backup nor a restore needs the secret key for the data. A restore rebuilds the
content queue, and a staged payload carries a MAC under the queue key (derived from
``HERALD_SECRET_KEY``, or given as part of ``HERALD_WEB_KEYS``): when the restoring process has
neither, the queue is left for the scheduler to rebuild when it starts. The key is not in the
archive: keep it apart, as ever, since the credentials in a backup open only with it.

The hashes catch a damaged, truncated or edited archive, not a forger who rewrites the manifest
too (signing it would need the key the backup must not need): keep backups where only the
operator can write. A restore never writes a file: members are read into the database only, and
an archive holding a member whose name Herald does not write (``../../etc/passwd``, ``/etc``, a
link) is refused whole.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Final

import redis
from sqlalchemy.exc import DBAPIError

from content_queue import ContentQueue
from herald import __version__
from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import AccessDenied, Conflict, InputError, QueueError
from herald.core.i18n import _, ngettext
from herald.core.keyring import Keyring
from herald.delivery.staging import ensure_queue
from herald.service.answers import Answer
from herald.store import audit
from herald.store.alerts import targets_listed
from herald.store.backup import (
    CHUNK_ROWS,
    KINDS,
    PHOTO_DATA,
    PHOTO_KEY,
    PHOTO_TABLE,
    ColumnShape,
    Kind,
    Loader,
    TableShape,
    decode,
    empty_tables,
    holdings,
    known_revisions,
    loading,
    migrate_to,
    migrate_to_head,
    schema_revision,
    taking,
)
from herald.store.crypto import CredentialBox
from herald.store.db import Database
from herald.store.sealed import sealed_values

log = logging.getLogger(__name__)

#: What ``manifest.json`` says it is, and the layout version this Herald writes and reads.
FORMAT: Final = "herald-backup"
FORMAT_VERSION: Final = 1
MANIFEST: Final = "manifest.json"
#: A manifest is a few hundred bytes a table plus ~100 a photo: this is a million photos.
MAX_MANIFEST_BYTES: Final = 128 * 1024 * 1024
#: Photo bytes held in memory at most (about) while loading them: a batch of photo rows is
#: inserted once it holds this much, whatever its number of rows.
LOAD_BATCH_BYTES: Final = 64 * 1024 * 1024
#: Bytes read at a time when hashing a member.
READ_CHUNK_BYTES: Final = 1024 * 1024

#: The only member names Herald writes; anything else in an archive is refused.
_TABLE_MEMBER = re.compile(r"tables/([a-z_][a-z0-9_]{0,62})\.jsonl")
_PHOTO_MEMBER = re.compile(r"photos/([0-9a-f]{64})")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def table_member(name: str) -> str:
    return f"tables/{name}.jsonl"


def photo_member(sha256: str) -> str:
    return f"photos/{sha256}"


# -- answers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableCount(Answer):
    table: str
    rows: int


@dataclass(frozen=True)
class BackupInfo(Answer):
    """What a backup holds, from its manifest (every hash already checked)."""

    file: str
    #: The archive's size in bytes.
    size: int
    format_version: int
    herald_version: str
    #: The Alembic revision of the schema the rows were read from.
    revision: str
    #: When the snapshot was taken (ISO 8601 UTC).
    created_at: str
    #: "sqlite" or "postgresql": where it was taken (it restores into either).
    database: str
    tables: tuple[TableCount, ...]
    photos: int
    photo_bytes: int

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


@dataclass(frozen=True)
class Restored(Answer):
    backup: BackupInfo
    #: What the database held before (``--force``), now replaced.
    replaced: tuple[TableCount, ...]
    #: The schema's revision now (this Herald's newest).
    revision: str
    #: Deliveries put back on the content queue; None: left to the scheduler (no queue key here).
    queued: int | None
    #: Channels and alert targets sealed to a key this installation does not have (restored with
    #: another ``HERALD_SECRET_KEY``?); None: not checked (no key here). Found by the key id in
    #: each sealed value: nothing is opened.
    foreign_credentials: tuple[str, ...] | None


# -- the manifest ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberHash:
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    format_version: int
    herald_version: str
    revision: str
    created_at: str
    database: str
    #: Parents first, as they were read.
    tables: tuple[TableShape, ...]
    rows: Mapping[str, int]
    members: Mapping[str, MemberHash]

    def to_json(self) -> bytes:
        d = {
            "format": FORMAT,
            "format_version": self.format_version,
            "herald_version": self.herald_version,
            "alembic_revision": self.revision,
            "created_at": self.created_at,
            "database": self.database,
            "tables": [
                {
                    "name": t.name,
                    "member": table_member(t.name),
                    "rows": self.rows[t.name],
                    "columns": [
                        {"name": c.name, "kind": c.kind, "nullable": c.nullable, "primary_key": c.primary_key}
                        for c in t.columns
                    ],
                    **({"bytes_in": photo_member("<" + PHOTO_KEY + ">")} if t.name == PHOTO_TABLE else {}),
                }
                for t in self.tables
            ],
            "photos": {"count": self.photo_count, "bytes": self.photo_bytes},
            "members": {
                name: {"sha256": m.sha256, "size": m.size} for name, m in sorted(self.members.items())
            },
        }
        return json.dumps(d, ensure_ascii=False, indent=1).encode()

    @property
    def photo_count(self) -> int:
        return sum(1 for name in self.members if _PHOTO_MEMBER.fullmatch(name))

    @property
    def photo_bytes(self) -> int:
        return sum(m.size for name, m in self.members.items() if _PHOTO_MEMBER.fullmatch(name))


def _refused(message: str) -> InputError:
    return InputError("backup", _("%(problem)s; nothing was restored") % {"problem": message})


def _shown(name: str) -> str:
    """A member name fit to print (a hostile one may be long or hold control characters)."""
    r = repr(name)
    return r if len(r) <= 80 else r[:77] + "..."


def _parse_manifest(raw: bytes) -> Manifest:
    """Raises InputError naming what is wrong with it."""
    try:
        d = json.loads(raw)
    except ValueError:
        raise _refused(_("its manifest is not JSON")) from None

    def need(ok: object, what: str) -> None:
        """``what``: the part at fault, a manifest key as it is written (``format``) or a
        description in the reader's words."""
        if not ok:
            raise _refused(_("its manifest is not one Herald writes (%(what)s)") % {"what": what})

    need(isinstance(d, dict) and d.get("format") == FORMAT, "format")
    version = d.get("format_version")
    need(isinstance(version, int) and not isinstance(version, bool), "format_version")
    if version != FORMAT_VERSION:
        raise _refused(
            _("it is backup format %(format)s; this Herald (%(version)s) reads format %(ours)d")
            % {"format": version, "version": __version__, "ours": FORMAT_VERSION}
        )
    for key in ("herald_version", "alembic_revision", "created_at", "database"):
        need(isinstance(d.get(key), str), key)
    members: dict[str, MemberHash] = {}
    raw_members = d.get("members")
    need(isinstance(raw_members, dict), "members")
    for name, m in raw_members.items():
        need(
            isinstance(m, dict)
            and isinstance(m.get("sha256"), str)
            and _SHA256.fullmatch(m["sha256"])
            and isinstance(m.get("size"), int)
            and m["size"] >= 0,
            _("member %(name)s") % {"name": _shown(name)},
        )
        members[name] = MemberHash(m["sha256"], m["size"])
    tables: list[TableShape] = []
    rows: dict[str, int] = {}
    raw_tables = d.get("tables")
    need(isinstance(raw_tables, list), "tables")
    for t in raw_tables:
        need(isinstance(t, dict) and isinstance(t.get("name"), str), _("a table's name"))
        name = t["name"]
        need(
            _TABLE_MEMBER.fullmatch(table_member(name)) and name not in rows,
            _("table %(table)s") % {"table": _shown(name)},
        )
        need(
            t.get("member") == table_member(name) and table_member(name) in members,
            _("the member of table %(table)s") % {"table": name},
        )
        need(
            isinstance(t.get("rows"), int) and t["rows"] >= 0,
            _("the rows of table %(table)s") % {"table": name},
        )
        need(
            isinstance(t.get("columns"), list) and t["columns"],
            _("the columns of table %(table)s") % {"table": name},
        )
        cols = []
        for c in t["columns"]:
            need(
                isinstance(c, dict)
                and isinstance(c.get("name"), str)
                and c.get("kind") in KINDS
                and isinstance(c.get("nullable"), bool)
                and isinstance(c.get("primary_key"), bool),
                _("a column of table %(table)s") % {"table": name},
            )
            kind: Kind = c["kind"]
            cols.append(ColumnShape(c["name"], kind, c["nullable"], c["primary_key"]))
        tables.append(TableShape(name, tuple(cols)))
        rows[name] = t["rows"]
    listed = {table_member(t.name) for t in tables}
    for name in members:
        need(
            name in listed or _PHOTO_MEMBER.fullmatch(name),
            _("member %(name)s, which belongs to no table") % {"name": _shown(name)},
        )
    return Manifest(
        version, d["herald_version"], d["alembic_revision"], d["created_at"], d["database"],
        tuple(tables), rows, members,
    )  # fmt: skip


# -- reading an archive ----------------------------------------------------------------------


class Archive:
    """An opened backup whose member names, manifest and every member's hash were checked
    (``open_backup``). Reading a member again checks its hash again."""

    def __init__(self, path: Path, zf: zipfile.ZipFile, manifest: Manifest) -> None:
        self.path = path
        self.zip = zf
        self.manifest = manifest

    @property
    def info(self) -> BackupInfo:
        return _info(self.path, self.manifest)

    def photo(self, sha256: str) -> bytes | None:
        """A photo's bytes; None if the archive holds none under that name (purged)."""
        name = photo_member(sha256)
        expected = self.manifest.members.get(name)
        if expected is None:
            return None
        data = self.zip.read(name)
        if len(data) != expected.size or hashlib.sha256(data).hexdigest() != expected.sha256:
            raise _changed(name)
        return data

    def lines(self, name: str) -> Iterator[bytes]:
        """A table member's lines; its hash is checked when the last has been read."""
        expected = self.manifest.members[name]
        h = hashlib.sha256()
        size = 0
        with self.zip.open(name) as f:
            for line in f:
                h.update(line)
                size += len(line)
                if size > expected.size:
                    raise _changed(name)
                yield line
        if size != expected.size or h.hexdigest() != expected.sha256:
            raise _changed(name)


def _info(path: Path, m: Manifest) -> BackupInfo:
    return BackupInfo(
        file=str(path),
        size=path.stat().st_size,
        format_version=m.format_version,
        herald_version=m.herald_version,
        revision=m.revision,
        created_at=m.created_at,
        database=m.database,
        tables=tuple(TableCount(t.name, m.rows[t.name]) for t in m.tables),
        photos=m.photo_count,
        photo_bytes=m.photo_bytes,
    )


def _changed(name: str) -> InputError:
    return _refused(
        _("member %(name)s does not match its hash in the manifest: the archive was damaged or changed")
        % {"name": _shown(name)}
    )


@contextmanager
def open_backup(path: str | os.PathLike[str]) -> Iterator[Archive]:
    """Open a backup and check it whole before anything is written anywhere: every member name
    is one Herald writes (no path of its own, no link, no duplicate), the manifest is one this
    Herald reads, the members are exactly those it lists, and each has its size and SHA-256.
    Raises InputError saying what is wrong."""
    p = Path(path)
    try:
        zf = zipfile.ZipFile(p)
    except FileNotFoundError:
        raise InputError("file", _("%(file)s does not exist") % {"file": p}) from None
    except IsADirectoryError:
        raise InputError("file", _("%(file)s is a folder") % {"file": p}) from None
    except zipfile.BadZipFile:
        raise _refused(
            _("%(file)s is not a Herald backup, or it is truncated (not a whole zip archive)") % {"file": p}
        ) from None
    except OSError as e:
        raise InputError(
            "file", _("cannot read %(file)s: %(why)s") % {"file": p, "why": e.strerror}
        ) from None
    try:
        archive = Archive(p, zf, _check(zf))
        yield archive
    finally:
        zf.close()


def _check(zf: zipfile.ZipFile) -> Manifest:
    infos = zf.infolist()
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        if not (name == MANIFEST or _TABLE_MEMBER.fullmatch(name) or _PHOTO_MEMBER.fullmatch(name)):
            raise _refused(_("it holds member %(name)s, a name Herald never writes") % {"name": _shown(name)})
        if name in seen:
            raise _refused(_("it holds member %(name)s twice") % {"name": _shown(name)})
        seen.add(name)
        # The name alone is not the whole story in a zip: a link or a folder is a file type in
        # the Unix mode bits, and an encrypted member is not ours either.
        mode = info.external_attr >> 16
        if info.is_dir() or (mode and (mode & 0o170000) not in (0, 0o100000)) or info.flag_bits & 0x1:
            raise _refused(_("member %(name)s is not a plain file") % {"name": _shown(name)})
    if MANIFEST not in seen:
        raise _refused(_("it has no manifest (truncated, or not a Herald backup)"))
    if zf.getinfo(MANIFEST).file_size > MAX_MANIFEST_BYTES:
        raise _refused(_("its manifest is too large"))
    try:
        manifest = _parse_manifest(zf.read(MANIFEST))
        listed, present = set(manifest.members), seen - {MANIFEST}
        if listed - present:
            raise _refused(
                _("member %(name)s is missing (truncated?)") % {"name": _shown(min(listed - present))}
            )
        if present - listed:
            raise _refused(
                _("member %(name)s is not in the manifest") % {"name": _shown(min(present - listed))}
            )
        for name, expected in manifest.members.items():
            _check_member(zf, name, expected)
    except (zipfile.BadZipFile, EOFError, OSError):
        raise _refused(_("it is damaged (a member does not read back whole)")) from None
    return manifest


def _check_member(zf: zipfile.ZipFile, name: str, expected: MemberHash) -> None:
    h = hashlib.sha256()
    size = 0
    with zf.open(name) as f:
        # Never more than the manifest says plus one byte: a member that inflates beyond its
        # stated size is refused without being read to its end.
        while chunk := f.read(min(READ_CHUNK_BYTES, expected.size + 1 - size)):
            h.update(chunk)
            size += len(chunk)
            if size > expected.size:
                break
    if size != expected.size or h.hexdigest() != expected.sha256:
        raise _changed(name)


# -- writing an archive ----------------------------------------------------------------------


class _MemberWriter:
    """One member being written, with its SHA-256 and size counted as it goes."""

    def __init__(self, zf: zipfile.ZipFile, name: str, stamp: datetime, *, compress: bool) -> None:
        info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = (0o100600) << 16  # a plain file, the owner's only
        self._out: IO[bytes] = zf.open(info, "w", force_zip64=True)
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._out.write(data)
        self._hash.update(data)
        self.size += len(data)

    def close(self) -> MemberHash:
        self._out.close()
        return MemberHash(self._hash.hexdigest(), self.size)


def _json_line(row: Mapping[str, object]) -> bytes:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _write_archive(db: Database, f: IO[bytes]) -> Manifest:
    """Read the database in one snapshot into a zip archive written to ``f``."""
    with zipfile.ZipFile(f, "w", allowZip64=True) as zf, taking(db) as snap:
        taken = datetime.now(UTC)
        rev = snap.revision()
        if rev is None:
            raise InputError("database", _("it has no Herald schema yet: there is nothing to back up"))
        tables = snap.tables()
        members: dict[str, MemberHash] = {}
        rows: dict[str, int] = {}
        for t in tables:
            if not _TABLE_MEMBER.fullmatch(table_member(t.name)):
                raise TypeError(f"table {t.name!r} has a name a backup cannot hold")
            leave_out = {PHOTO_DATA} if t.name == PHOTO_TABLE else set()
            w = _MemberWriter(zf, table_member(t.name), taken, compress=True)
            n = 0
            for row in snap.rows(t, leave_out=leave_out):
                w.write(_json_line(row))
                n += 1
            members[table_member(t.name)] = w.close()
            rows[t.name] = n
        if any(t.name == PHOTO_TABLE for t in tables):
            for key, data in snap.photos():
                if not _SHA256.fullmatch(key):
                    raise TypeError(f"photo key {key!r} is not a SHA-256: a backup cannot name its file")
                w = _MemberWriter(zf, photo_member(key), taken, compress=False)
                w.write(data)
                members[photo_member(key)] = w.close()
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            herald_version=__version__,
            revision=rev,
            created_at=taken.isoformat().replace("+00:00", "Z"),
            database=snap.database,
            tables=tuple(tables),
            rows=rows,
            members=members,
        )
        w = _MemberWriter(zf, MANIFEST, taken, compress=True)
        w.write(manifest.to_json())
        w.close()
    return manifest


def _publish(tmp: Path, target: Path, *, force: bool) -> None:
    """Move the finished archive to ``target`` in one step: never a half-written file there."""
    if force:
        os.replace(tmp, target)
    else:
        try:
            # A hard link fails if the name is taken, even if it was taken a moment ago.
            os.link(tmp, target)
        except FileExistsError:
            raise _exists(target) from None
        except OSError:  # a file system without hard links
            if target.exists() or target.is_symlink():
                raise _exists(target) from None
            os.replace(tmp, target)
        else:
            tmp.unlink()
    try:
        fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)  # the rename itself survives a crash
    except OSError:
        pass  # some file systems cannot sync a folder; the file's own data is synced already
    finally:
        os.close(fd)


def _exists(target: Path) -> Conflict:
    return Conflict("file", _("%(file)s already exists: give --force to replace it") % {"file": target})


# -- the service -----------------------------------------------------------------------------


def describe_rows(counts: Mapping[str, int]) -> str:
    """Rows by table in words, "12 rows of posts, 3 rows of channels, ..." (posts first: what a
    person misses most)."""
    order = sorted(counts, key=lambda n: (n != "posts", n != "channels", n != "users", n))
    return ", ".join(
        ngettext("%(n)d row of %(table)s", "%(n)d rows of %(table)s", counts[n])
        % {"n": counts[n], "table": n}
        for n in order
    )


class Backups:
    """Backups and restores of one installation.

    Not a part of ``Herald``: it needs no key (``Herald`` needs one to be built), and a restore
    runs into a database that is not an installation yet. ``queue`` and ``keyring`` are for a
    restore's rebuild of the content queue; without a keyring the rebuild is the scheduler's."""

    def __init__(
        self, db: Database, queue: ContentQueue | None = None, keyring: Keyring | None = None
    ) -> None:
        self.db = db
        self.queue = queue
        self.keyring = keyring

    @staticmethod
    def _require(actor: Actor) -> None:
        if not actor.can(Capability.ADMINISTER, None):
            raise AccessDenied(_("backups and restores need the admin role everywhere"))

    def back_up(
        self, path: str | os.PathLike[str], *, force: bool = False, actor: Actor = SYSTEM
    ) -> BackupInfo:
        """Write a backup of the whole database to ``path`` (mode 0600): built in a temporary
        file beside it and moved into place when whole, so ``path`` never holds half an archive.
        Safe while Herald runs (one read-only snapshot). Raises Conflict if ``path`` exists
        (unless ``force``), InputError for a folder that does not exist."""
        self._require(actor)
        target = Path(path)
        folder = target.parent
        if not folder.is_dir():
            raise InputError("file", _("folder %(folder)s does not exist") % {"folder": folder})
        if target.is_dir():
            raise InputError("file", _("%(file)s is a folder") % {"file": target})
        if not force and (target.exists() or target.is_symlink()):
            raise _exists(target)
        # mkstemp makes the file 0600 whatever the umask: the archive holds password hashes and
        # sealed credentials.
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "w+b") as f:
                manifest = _write_archive(self.db, f)
                f.flush()
                os.fsync(f.fileno())
            _publish(tmp, target, force=force)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        info = _info(target, manifest)
        log.info(
            "backup written",
            extra={"file": str(target), "bytes": info.size, "rows": info.rows, "photos": info.photos},
        )
        return info

    def restore(self, archive: Archive, *, force: bool = False, actor: Actor = SYSTEM) -> Restored:
        """Load a checked backup (``open_backup``) into this database, then rebuild the content
        queue from it.

        The database must hold nothing (no schema, or a schema with no rows) unless ``force``,
        which empties it first; the content queue must hold nothing. The schema is brought to
        the backup's revision, every row loaded in one transaction (a row that does not load
        leaves none loaded), PostgreSQL's sequences moved past the ids loaded, and the schema
        brought to this Herald's newest. Raises InputError (the archive), Conflict (the
        database or the queue holds something) or QueueError (Redis does not answer), each
        before anything is written."""
        self._require(actor)
        m = archive.manifest
        if m.revision not in known_revisions(self.db.url):
            raise _refused(
                _(
                    "it was made at schema revision %(revision)s by Herald %(theirs)s, a revision "
                    "this Herald (%(version)s) does not know: restore it with a Herald as new"
                )
                % {"revision": m.revision, "theirs": m.herald_version, "version": __version__}
            )
        names = [t.name for t in m.tables]
        before = holdings(self.db, names)
        current, held = before.revision, before.rows
        if current is not None and current not in known_revisions(self.db.url):
            raise Conflict(
                "database",
                _("it is at schema revision %(revision)s, which this Herald does not know")
                % {"revision": current},
            )
        if held and not force:
            raise Conflict(
                "database",
                _(
                    "it already holds %(what)s: restore into an empty database, "
                    "or give --force to replace everything in it"
                )
                % {"what": describe_rows(held)},
            )
        self._check_queue_empty()

        if held:
            empty_tables(self.db, before.tables)
            log.warning("restore: emptied the database first", extra={"tables": sorted(held)})
        migrate_to(self.db, m.revision)
        with loading(self.db, names) as loader:
            _check_shapes(m, loader.tables)
            _load(loader, archive)
        migrate_to_head(self.db)

        now_at = schema_revision(self.db) or m.revision
        with self.db.session() as s:
            audit.record(
                s,
                actor=actor.email,
                action="backup.restore",
                target_type="installation",
                target_id="database",
                detail={
                    "backup_created_at": m.created_at,
                    "backup_revision": m.revision,
                    "backup_herald_version": m.herald_version,
                    "backup_database": m.database,
                    "rows": sum(m.rows.values()),
                    "photos": m.photo_count,
                    "replaced": dict(held),
                },
            )
        restored = Restored(
            backup=archive.info,
            replaced=tuple(TableCount(n, c) for n, c in sorted(held.items())),
            revision=now_at,
            queued=self._rebuild_queue(),
            foreign_credentials=self._foreign_credentials(),
        )
        log.info(
            "backup restored",
            extra={"file": str(archive.path), "rows": restored.backup.rows, "queued": restored.queued},
        )
        return restored

    def _check_queue_empty(self) -> None:
        """A queue that holds deliveries holds them for another database (or for this one as it
        was): their ids would name other deliveries after the restore, so they are refused."""
        if self.queue is None:
            return
        try:
            counts = self.queue.counts()
        except redis.RedisError as e:
            raise QueueError(
                _("Redis does not answer (%(why)s): a restore rebuilds the content queue there") % {"why": e}
            ) from e
        waiting = counts["due"] + counts["inflight"]
        if waiting:
            raise Conflict(
                "queue",
                _(
                    "the content queue in Redis holds %(n)d deliveries (of the database being "
                    "replaced, or another): stop Herald, empty that Redis database (FLUSHDB) or use "
                    "an empty one, and restore again"
                )
                % {"n": waiting},
            )

    def _rebuild_queue(self) -> int | None:
        """The scheduler's own rebuild (``ensure_queue`` with no epoch marker): every delivery
        SQL says is queued, being published or being taken down goes back on the queue, and
        nothing published, failed or cancelled does. Without a queue key it is left to the
        scheduler, which makes the same rebuild first thing since the marker is gone."""
        if self.queue is None:
            return None
        try:
            self.queue.redis.delete(self.queue.keys.epoch)
            if self.keyring is None:
                return None
            return ensure_queue(self.db, self.queue, horizon_seconds=0.0)
        except (redis.RedisError, QueueError) as e:
            log.warning("restore: the content queue was not rebuilt (%s); the scheduler will rebuild it", e)
            return None

    def _foreign_credentials(self) -> tuple[str, ...] | None:
        if self.keyring is None:
            return None
        box = CredentialBox(self.keyring)
        with self.db.read() as s:
            found = [
                _("channel %(name)s") % {"name": v.label}
                for v in sealed_values(s)
                if v.kind == "channel" and not box.recognises(v.token)
            ]
            found += [
                _("alert target %(shown)s") % {"shown": t.shown}
                for t in targets_listed(s, None, True)
                if not box.recognises(bytes(t.url_encrypted))
            ]
        return tuple(found)


def _check_shapes(m: Manifest, targets: list[TableShape]) -> None:
    """Every table of the backup is in the schema at its revision, with the same columns."""
    here = {t.name: t for t in targets}
    for t in m.tables:
        found = here.get(t.name)
        if found is None:
            raise _refused(
                _("table %(table)s is not in the schema at revision %(revision)s")
                % {"table": t.name, "revision": m.revision}
            )
        theirs = {c.name: c.kind for c in t.columns}
        ours = {c.name: c.kind for c in found.columns}
        if theirs != ours:
            raise _refused(
                _("the columns of table %(table)s differ from the schema's at revision %(revision)s")
                % {"table": t.name, "revision": m.revision}
            )


def _load(loader: Loader, archive: Archive) -> None:
    m = archive.manifest
    photos_used = 0
    current = ""
    try:
        for t in loader.tables:
            if t.name not in m.rows:
                continue  # a table the backup does not hold stays empty
            current = t.name
            member = table_member(t.name)
            photo = t.name == PHOTO_TABLE
            expected_cols = set(t.names) - ({PHOTO_DATA} if photo else set())
            batch: list[dict[str, object]] = []
            held_bytes = n = 0
            for n, raw in enumerate(archive.lines(member), 1):
                row = _row(t, raw, expected_cols, member, n)
                if photo:
                    data = archive.photo(str(row[PHOTO_KEY]))
                    photos_used += data is not None
                    row[PHOTO_DATA] = data if data is not None else b""
                    held_bytes += len(row[PHOTO_DATA])  # type: ignore[arg-type]  # bytes, just set
                batch.append(row)
                if len(batch) >= CHUNK_ROWS or held_bytes >= LOAD_BATCH_BYTES:
                    loader.insert(t, batch)
                    batch, held_bytes = [], 0
            loader.insert(t, batch)
            if n != m.rows[t.name]:
                raise _refused(
                    _("%(member)s holds %(n)d rows, the manifest says %(listed)d")
                    % {"member": member, "n": n, "listed": m.rows[t.name]}
                )
    except DBAPIError as e:
        # The driver's first line names the rule (a key, a constraint); later lines may quote
        # the row's values, and the statement's parameters may hold sealed or hashed secrets.
        first = str(e.orig).strip().splitlines()[0][:200] if e.orig is not None else type(e).__name__
        raise _refused(
            _("the rows of table %(table)s do not load: %(why)s") % {"table": current, "why": first}
        ) from None
    if photos_used != m.photo_count:
        raise _refused(_("%(n)d photo file(s) belong to no photo row") % {"n": m.photo_count - photos_used})


def _row(t: TableShape, raw: bytes, expected: set[str], member: str, line: int) -> dict[str, object]:
    try:
        obj = json.loads(raw)
    except ValueError:
        raise _refused(_("%(member)s line %(line)d is not JSON") % {"member": member, "line": line}) from None
    if not isinstance(obj, dict) or set(obj) != expected:
        raise _refused(
            _("%(member)s line %(line)d does not have the columns of table %(table)s")
            % {"member": member, "line": line, "table": t.name}
        )
    row: dict[str, object] = {}
    for c in t.columns:
        if c.name not in obj:
            continue
        try:
            row[c.name] = decode(c.kind, obj[c.name])
        except ValueError as e:
            raise _refused(
                _("%(member)s line %(line)d, column %(column)s: %(why)s")
                % {"member": member, "line": line, "column": c.name, "why": e}
            ) from None
    return row


__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Archive",
    "BackupInfo",
    "Backups",
    "Restored",
    "TableCount",
    "describe_rows",
    "open_backup",
]
