"""Engines, sessions and migrations.

SQLite gets WAL, a busy timeout and foreign keys so that the scheduler, workers and web can
share one file; PostgreSQL is used as is. ``migrate()`` runs Alembic to head.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from herald.core.files import FILE_MODE, private_file, private_folder

#: SQLite waits this long for a lock held by another process before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000

_MIGRATIONS = Path(__file__).parent / "migrations"

#: Execution option marking a read-only session (``Database.read``).
READ_ONLY_OPTION = "herald_read_only"

#: PostgreSQL connections a process keeps when nothing says how many threads use the database
#: (the web app: FastAPI runs each request in a thread pool, most of them waiting on something
#: else than SQL).
DEFAULT_POOL_SIZE = 10


def pool_size_for(threads: int) -> int:
    """Connections a process needs when ``threads`` of its threads use the database at once:
    one each, and one for its background duties (a worker's heartbeat and watchdog, the
    scheduler's companions). More would only hold server slots: PostgreSQL's default is 100
    connections for every process of every machine."""
    return max(1, threads) + 1


def make_engine(url: str, *, pool_size: int | None = None) -> Engine:
    """An engine for ``url``. ``pool_size``: PostgreSQL connections kept open (the pool may
    open as many again for a moment's burst, then closes them); SQLite has no server to size for."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            # The database holds sealed credentials and people's hashes: its folder and file
            # are the installation's own (herald.core.files), whatever umask we were given.
            folder = Path(u.database).parent
            if not folder.exists():
                private_folder(folder)
            Path(u.database).touch(mode=FILE_MODE, exist_ok=True)
            private_file(Path(u.database))
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:  # Any: DB-API connection objects are untyped
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        # pysqlite's default transaction handling defers BEGIN until the first write, which lets
        # two writers both read-then-write; BEGIN IMMEDIATE takes the write lock up front. A
        # session opened with ``Database.read()`` only reads: a plain BEGIN (a WAL snapshot) does
        # not wait for, nor hold up, the one writer.
        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:  # Any: SQLAlchemy's event signature
            read_only = conn.get_execution_options().get(READ_ONLY_OPTION, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        @event.listens_for(engine, "connect", insert=True)
        def _no_autobegin(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        return engine
    size = pool_size or DEFAULT_POOL_SIZE
    return create_engine(url, pool_pre_ping=True, pool_size=size, max_overflow=size)


class Database:
    """An engine plus its session factory."""

    def __init__(self, url: str, *, pool_size: int | None = None) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.readers = sessionmaker(
            self.engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.sessions() as s, s.begin():
            yield s

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads only (one consistent snapshot): on SQLite it neither waits for
        nor holds up the writer. Writing through it is a bug (it could fail with "database is
        locked" instead of waiting its turn)."""
        with self.readers() as s, s.begin():
            yield s

    def answers(self) -> bool:
        """Does the database answer a trivial query now? (Health checks: never raises.)"""
        try:
            with self.read() as s:
                s.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def migrate(self) -> None:
        migrate(self.url, self.engine)

    def revision(self) -> str | None:
        """The Alembic revision the schema is at; None for a database never migrated. Only
        reads (on SQLite it takes no write lock). Raises SQLAlchemyError if it cannot connect."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.execution_options(**{READ_ONLY_OPTION: True}).connect() as conn:
            current: str | None = MigrationContext.configure(conn).get_current_revision()
            return current

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Any:  # Any: alembic.config.Config (alembic ships no strict types)
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, engine: Engine | None = None) -> None:
    """Bring the schema to the newest revision."""
    from alembic import command

    cfg = alembic_config(url)
    if engine is not None:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    else:
        command.upgrade(cfg, "head")


def revisions() -> list[str]:
    """Every revision this Herald's migrations know, oldest first: the last is the head."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(""))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


@dataclass(frozen=True)
class Location:
    """Where a database URL points, as messages may show it: never with its password."""

    #: "sqlite", "postgresql", ...
    backend: str
    #: The URL with its password masked.
    shown: str
    #: The SQLite database's file (None for a server, or SQLite in memory).
    sqlite_file: Path | None
    #: The server's host (None for SQLite).
    host: str | None


def location(url: str) -> Location:
    """Where ``url`` points, without connecting. Raises ``sqlalchemy.exc.ArgumentError`` for a
    string that is not a database URL."""
    u = make_url(url)
    backend = u.get_backend_name()
    file = Path(u.database) if backend == "sqlite" and u.database not in (None, "", ":memory:") else None
    return Location(backend, u.render_as_string(hide_password=True), file, u.host)
