"""Every table's rows out of one snapshot and back in, whatever the database: the SQL half of
``herald backup`` and ``herald restore`` (``herald.service.backup`` makes and checks the archive).

The tables are read from the database itself (reflection), not from the models, so a backup
holds exactly what the schema at its Alembic revision holds, and a table a later migration adds
is backed up without a change here. Each column has a *kind* (``Kind``), and each kind is
written to JSON one way only (``encode``/``decode``): integers and floats as numbers, times as
naive ISO 8601 (every timestamp column is naive UTC), bytes as base64, and a JSON column as the
JSON text it holds (so SQL NULL, ``null``, stays apart from JSON ``null``, ``"null"``). Nothing
depends on the database's own dump format: a backup of SQLite restores into PostgreSQL and
back.

Consistency while Herald runs: ``snapshot`` reads every table in one transaction, a
``REPEATABLE READ READ ONLY`` one on PostgreSQL (one snapshot, and it never blocks a writer) and
a plain ``BEGIN`` on SQLite (in WAL mode, one snapshot from the first read to the end, the
writer going on meanwhile). Photo bytes live in ``photo_blobs``, so they come from the same
snapshot as the posts using them: a photo stored after the snapshot began belongs to a post the
backup does not hold either, and a photo purged meanwhile is still whole in it.

Loading happens in the caller's one transaction, parents before children (foreign keys hold at
every insert on both databases), then PostgreSQL's sequences are moved past the ids loaded.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, Literal, get_args

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    cast,
    column,
    delete,
    func,
    insert,
    inspect,
    select,
    table,
    text,
)
from sqlalchemy.sql.expression import ColumnElement, TableClause
from sqlalchemy.types import TypeEngine

from herald.store.db import READ_ONLY_OPTION, Database, alembic_config, migrate

#: What a column holds, as far as a backup is concerned.
Kind = Literal["int", "bool", "float", "str", "datetime", "date", "bytes", "json"]
KINDS: Final[tuple[str, ...]] = get_args(Kind)

#: Not backed up: the schema's own bookkeeping (the revision is in the manifest), and signed-in
#: browsers (a restore signs everyone out; a session row carries its CSRF secret, and on a
#: database replaced with ``--force`` an old session would name another person's user id).
SKIPPED_TABLES: Final = frozenset({"alembic_version", "web_sessions"})

#: Kept by the database itself from other tables' rows (triggers, since revision 0016): the
#: delivery counts behind the dashboard and SQLite's text-search keys. Not backed up: loading
#: the rows they are made from fires the same triggers, which make them again, on either
#: database (loading them as well would count every delivery twice). A migration that adds a
#: table kept by triggers adds it here. SQLite's virtual tables (FTS5) and their shadow tables
#: are left out the same way (``_derived``).
DERIVED_TABLES: Final = frozenset({"delivery_counts", "delivery_count_changes", "post_search_keys"})

#: The table whose bytes go into the archive as photo files of their own instead of JSON: the
#: key column names the file (a SHA-256), the data column is its content (empty once purged).
PHOTO_TABLE: Final = "photo_blobs"
PHOTO_KEY: Final = "sha256"
PHOTO_DATA: Final = "data"

#: Rows fetched or inserted per round trip.
CHUNK_ROWS: Final = 500


@dataclass(frozen=True)
class ColumnShape:
    name: str
    kind: Kind
    nullable: bool
    primary_key: bool


@dataclass(frozen=True)
class TableShape:
    name: str
    columns: tuple[ColumnShape, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.primary_key)


# -- the schema ----------------------------------------------------------------------------------


def _kind(t: TypeEngine[Any]) -> Kind | None:
    # Order matters where one generic type subclasses another (Text is a String, DateTime is
    # not a Date); each dialect's reflected type (BYTEA, TIMESTAMP, DOUBLE_PRECISION ...)
    # subclasses one of these.
    for generic, kind in _GENERIC_KINDS:
        if isinstance(t, generic):
            return kind
    return None


_GENERIC_KINDS: tuple[tuple[type[TypeEngine[Any]], Kind], ...] = (
    (JSON, "json"),
    (Boolean, "bool"),
    (Integer, "int"),
    (Float, "float"),
    (Numeric, "float"),
    (DateTime, "datetime"),
    (Date, "date"),
    (LargeBinary, "bytes"),
    (String, "str"),
)


def shapes(conn: Connection, only: Collection[str] | None = None) -> list[TableShape]:
    """The database's tables (those in ``only`` if given), parents before children, without
    ``SKIPPED_TABLES``. Raises TypeError for a column of a type backups cannot write (a new
    kind of column needs a kind here first)."""
    left_out = SKIPPED_TABLES | DERIVED_TABLES | _derived(conn)
    md = MetaData()
    md.reflect(
        bind=conn,
        only=lambda name, _md: name not in left_out and (only is None or name in only),
    )
    out = []
    for t in md.sorted_tables:
        cols = []
        for c in t.columns:
            kind = _kind(c.type)
            if kind is None:
                raise TypeError(f"column {t.name}.{c.name} has type {c.type}, which a backup cannot write")
            cols.append(ColumnShape(c.name, kind, bool(c.nullable), bool(c.primary_key)))
        out.append(TableShape(t.name, tuple(cols)))
    return out


def _derived(conn: Connection) -> set[str]:
    """SQLite's virtual tables and their shadow tables (``<name>_data``, ``<name>_idx`` ...):
    an index the database keeps, filled again by the triggers that keep it."""
    if conn.dialect.name != "sqlite":
        return set()
    rows = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all()
    virtual = {str(name) for name, sql in rows if str(sql or "").upper().startswith("CREATE VIRTUAL TABLE")}
    return {str(name) for name, _ in rows if any(name == v or str(name).startswith(v + "_") for v in virtual)}


def session_tables(conn: Connection) -> list[str]:
    """The skipped tables this database has that hold rows of an installation (signed-in
    browsers): a restore over a database empties them too."""
    have = set(inspect(conn).get_table_names())
    return sorted(n for n in SKIPPED_TABLES - {"alembic_version"} if n in have)


def revision(conn: Connection) -> str | None:
    """The database's Alembic revision; None if it has no schema yet."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return str(found) if found is not None else None


def known_revisions(url: str) -> list[str]:
    """This Herald's revisions, oldest first (the history is one line)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(url))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def migrate_to(db: Database, target: str) -> None:
    """Bring the schema to revision ``target``, up or down from where it is (a database with no
    schema yet is built up to it). Down only ever runs on a database with no rows (a restore
    checks that first), so nothing is lost by it."""
    from alembic import command

    order = known_revisions(db.url)
    with db.engine.connect() as conn:
        current = revision(conn)
    if current == target:
        return
    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        if current is not None and order.index(current) > order.index(target):
            command.downgrade(cfg, target)
        else:
            command.upgrade(cfg, target)


def migrate_to_head(db: Database) -> None:
    migrate(db.url, db.engine)


# -- reading ---------------------------------------------------------------------------------


@contextmanager
def snapshot(db: Database) -> Iterator[Connection]:
    """A connection inside one read-only transaction that sees one moment of the database
    while writers go on (see the module's docstring)."""
    conn = db.engine.connect()
    try:
        if db.engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        else:
            # store.db's begin hook: a plain BEGIN, which takes no write lock.
            conn = conn.execution_options(**{READ_ONLY_OPTION: True})
        with conn.begin():
            yield conn
    finally:
        conn.close()


#: How each kind is read (a JSON column as its text) and written.
_READ_TYPES: dict[str, TypeEngine[Any]] = {
    "int": BigInteger(),
    "bool": Boolean(),
    "float": Float(),
    "str": Text(),
    "datetime": DateTime(),
    "date": Date(),
    "bytes": LargeBinary(),
    "json": Text(),
}
_WRITE_TYPES: dict[str, TypeEngine[Any]] = {**_READ_TYPES, "json": JSON(none_as_null=True)}


def _clause(t: TableShape, types: Mapping[str, TypeEngine[Any]]) -> TableClause:
    return table(t.name, *(column(c.name, types[c.kind]) for c in t.columns))


def read_rows(
    conn: Connection, t: TableShape, *, leave_out: Collection[str] = ()
) -> Iterator[dict[str, object]]:
    """``t``'s rows in key order, each value as JSON holds it (``encode``), without the
    columns in ``leave_out``."""
    clause = _clause(t, _READ_TYPES)
    cols = [c for c in t.columns if c.name not in leave_out]
    picked: list[ColumnElement[Any]] = [
        cast(clause.c[c.name], Text).label(c.name) if c.kind == "json" else clause.c[c.name] for c in cols
    ]
    query = select(*picked).order_by(*(clause.c[k] for k in t.key))
    result = conn.execution_options(stream_results=True, yield_per=CHUNK_ROWS).execute(query)
    for row in result:
        yield {c.name: encode(c.kind, v) for c, v in zip(cols, row, strict=True)}


def photo_files(conn: Connection) -> Iterator[tuple[str, bytes]]:
    """(key, bytes) of every photo whose bytes are still stored, in key order."""
    blobs = table(PHOTO_TABLE, column(PHOTO_KEY, Text()), column(PHOTO_DATA, LargeBinary()))
    query = (
        select(blobs.c[PHOTO_KEY], blobs.c[PHOTO_DATA])
        .where(func.length(blobs.c[PHOTO_DATA]) > 0)
        .order_by(blobs.c[PHOTO_KEY])
    )
    # One photo at a time: a server-side cursor on PostgreSQL, so the photos never sit in
    # memory together.
    for key, data in conn.execution_options(stream_results=True, yield_per=1).execute(query):
        yield str(key), bytes(data)


def row_counts(conn: Connection, tables: Sequence[str]) -> dict[str, int]:
    return {
        name: int(conn.execute(select(func.count()).select_from(table(name))).scalar_one()) for name in tables
    }


# -- values ----------------------------------------------------------------------------------


def encode(kind: Kind, value: object) -> object:
    """A column value as the backup's JSON holds it."""
    if value is None:
        return None
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")  # type: ignore[call-overload]  # memoryview/bytes
    if kind in ("datetime", "date"):
        return value.isoformat()  # type: ignore[attr-defined]  # a datetime or date, by kind
    if kind == "bool":
        return bool(value)
    return value


def decode(kind: Kind, value: object) -> object:
    """The column value a JSON value from a backup stands for. Raises ValueError (saying what
    was expected, never the value) if it is not one of ``kind``."""
    if value is None:
        return None
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "str" and isinstance(value, str):
        return value
    if isinstance(value, str):
        try:
            if kind == "datetime":
                return datetime.fromisoformat(value)
            if kind == "date":
                return date.fromisoformat(value)
            if kind == "bytes":
                return base64.b64decode(value, validate=True)
            if kind == "json":
                parsed = json.loads(value)
                # JSON's own null, kept apart from SQL NULL (``None`` above).
                return JSON.NULL if parsed is None else parsed
        except (ValueError, binascii.Error):
            pass
    raise ValueError(f"expected a value of kind {kind}")


# -- writing ---------------------------------------------------------------------------------


def insert_rows(conn: Connection, t: TableShape, rows: Sequence[Mapping[str, object]]) -> None:
    """Insert decoded rows of ``t`` (in the caller's transaction)."""
    if rows:
        conn.execute(insert(_clause(t, _WRITE_TYPES)), list(rows))


def delete_all(conn: Connection, tables: Sequence[str]) -> None:
    """Empty ``tables`` (given parents first; emptied children first)."""
    for name in reversed(tables):
        conn.execute(delete(table(name)))


def reset_sequences(conn: Connection, tables: Sequence[TableShape]) -> None:
    """Move each PostgreSQL sequence behind an integer key past the largest id loaded, so the
    next row gets a fresh id (SQLite takes the largest rowid plus one by itself)."""
    if conn.dialect.name != "postgresql":
        return
    quote: Callable[[str], str] = conn.dialect.identifier_preparer.quote
    for t in tables:
        for c in t.columns:
            if not (c.primary_key and c.kind == "int"):
                continue
            seq = conn.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": quote(t.name), "c": c.name}
            ).scalar()
            if seq is None:
                continue
            col = quote(c.name)
            conn.execute(
                text(
                    f"SELECT setval(:seq, COALESCE(MAX({col}), 1), MAX({col}) IS NOT NULL)"
                    f" FROM {quote(t.name)}"
                ),
                {"seq": seq},
            )


# -- what the service uses -------------------------------------------------------------------


class Snapshot:
    """One moment of the database (``snapshot``), read table by table."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @property
    def database(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self._conn.dialect.name

    def revision(self) -> str | None:
        return revision(self._conn)

    def tables(self) -> list[TableShape]:
        return shapes(self._conn)

    def rows(self, t: TableShape, *, leave_out: Collection[str] = ()) -> Iterator[dict[str, object]]:
        return read_rows(self._conn, t, leave_out=leave_out)

    def photos(self) -> Iterator[tuple[str, bytes]]:
        return photo_files(self._conn)


@contextmanager
def taking(db: Database) -> Iterator[Snapshot]:
    """``snapshot``, for reading a whole backup."""
    with snapshot(db) as conn:
        yield Snapshot(conn)


@dataclass(frozen=True)
class Holdings:
    """What a database holds before a restore."""

    #: Its Alembic revision (None: no schema yet).
    revision: str | None
    #: The tables asked about that it has, parents first, and its sign-in tables.
    tables: tuple[str, ...]
    #: Rows in each of ``tables`` that has any.
    rows: Mapping[str, int]


def holdings(db: Database, names: Collection[str]) -> Holdings:
    with db.engine.connect() as conn:
        tables = (*(t.name for t in shapes(conn, only=names)), *session_tables(conn))
        held = {n: c for n, c in row_counts(conn, tables).items() if c}
        return Holdings(revision(conn), tables, held)


def schema_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return revision(conn)


def empty_tables(db: Database, tables: Sequence[str]) -> None:
    """Delete every row of ``tables`` (parents first), in one transaction. Plain deletes, so the
    triggers that keep derived tables (``DERIVED_TABLES``) follow."""
    with db.engine.begin() as conn:
        delete_all(conn, tables)


class Loader:
    """Rows going into the database in one transaction (``loading``)."""

    def __init__(self, conn: Connection, tables: list[TableShape]) -> None:
        self._conn = conn
        #: The tables asked for, as the database has them, parents first.
        self.tables = tables

    def insert(self, t: TableShape, rows: Sequence[Mapping[str, object]]) -> None:
        insert_rows(self._conn, t, rows)


@contextmanager
def loading(db: Database, names: Collection[str]) -> Iterator[Loader]:
    """One transaction to load the tables ``names`` in: committed, with PostgreSQL's sequences
    moved past the ids loaded, when the block ends; rolled back whole if it raises."""
    with db.engine.begin() as conn:
        loader = Loader(conn, shapes(conn, only=names))
        yield loader
        reset_sequences(conn, loader.tables)
