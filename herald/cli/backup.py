"""``herald backup FILE`` and ``herald restore FILE``: the whole installation in one archive,
taken while Herald runs, and loaded back into an empty database (``herald.service.backup``).

Neither needs the secret key for the data: credentials travel sealed as they were. A restore
rebuilds the content queue with the queue key when this process has one (``HERALD_SECRET_KEY``
or ``HERALD_WEB_KEYS``); otherwise the scheduler rebuilds it when it starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from herald.cli.app import Format, app, emit, fail
from herald.core.errors import ConfigError, HeraldError
from herald.core.i18n import _, format_datetime, format_number
from herald.core.settings import Settings, get_settings, redis_url

if TYPE_CHECKING:
    from herald.core.keyring import Keyring
    from herald.service.backup import BackupInfo

File = Annotated[Path, typer.Argument(help="the backup archive (a zip file)")]
FormatOpt = Annotated[Format, typer.Option("--format")]


@app.command("backup")
def backup(
    file: File,
    force: Annotated[bool, typer.Option("--force", help="replace FILE if it exists")] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Back up the database, sealed credentials and stored photos to FILE (mode 0600), from one
    consistent snapshot, while Herald runs. Needs no secret key."""
    from herald.service.backup import Backups  # lazy: start-up cost
    from herald.store.db import Database

    try:
        info = Backups(Database(get_settings().sqlalchemy_url)).back_up(file, force=force)
    except HeraldError as e:
        raise fail(str(e)) from None
    if _print_structured(info, fmt):
        return
    typer.echo(
        _(
            "backed up %(rows)d rows of %(tables)d tables and %(photos)d photos (%(size)s) at schema "
            "revision %(revision)s to %(file)s"
        )
        % {
            "rows": info.rows,
            "tables": len(info.tables),
            "photos": info.photos,
            "size": _mb(info.size),
            "revision": info.revision,
            "file": info.file,
        }
    )


@app.command("restore")
def restore(
    file: File,
    force: Annotated[
        bool, typer.Option("--force", help="replace everything the database holds (default: refuse)")
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="only check the archive (names, manifest, every hash); write nothing"),
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Restore a backup into an empty database (stop Herald first), then rebuild the content
    queue from it: what was waiting goes out, nothing published goes out again. The archive is
    checked whole before anything is written."""
    from content_queue import ContentQueue  # lazy: start-up cost
    from herald.service.backup import Backups, describe_rows, open_backup
    from herald.store.db import Database

    settings = get_settings()
    try:
        with open_backup(file) as archive:
            if check:
                info = archive.info
                if not _print_structured(info, fmt):
                    typer.echo(
                        _(
                            "%(file)s is whole: %(rows)d rows of %(tables)d tables and %(photos)d "
                            "photos, taken %(at)s on %(database)s by Herald %(version)s at schema "
                            "revision %(revision)s"
                        )
                        % {
                            "file": info.file,
                            "rows": info.rows,
                            "tables": len(info.tables),
                            "photos": info.photos,
                            "at": _when(info.created_at),
                            "database": info.database,
                            "version": info.herald_version,
                            "revision": info.revision,
                        }
                    )
                return
            keyring = _keyring(settings)
            queue = ContentQueue.from_url(redis_url(settings), keyring=keyring)
            done = Backups(Database(settings.sqlalchemy_url), queue, keyring).restore(archive, force=force)
    except HeraldError as e:
        raise fail(str(e)) from None
    if Format(fmt) is Format.json:
        typer.echo(_json(done.to_dict()))
        return
    b = done.backup
    typer.echo(
        _(
            "restored %(rows)d rows of %(tables)d tables and %(photos)d photos from %(file)s (taken "
            "%(at)s on %(database)s); the schema is at revision %(revision)s"
        )
        % {
            "rows": b.rows,
            "tables": len(b.tables),
            "photos": b.photos,
            "file": b.file,
            "at": _when(b.created_at),
            "database": b.database,
            "revision": done.revision,
        }
    )
    if done.replaced:
        typer.echo(
            _("replaced what the database held: %(what)s")
            % {"what": describe_rows({t.table: t.rows for t in done.replaced})}
        )
    if done.queued is None:
        typer.echo(_("the scheduler rebuilds the content queue when it starts"))
    else:
        typer.echo(_("content queue rebuilt: %(n)d deliveries waiting") % {"n": done.queued})
    if done.foreign_credentials:
        typer.echo(
            _(
                "warning: sealed to a key this installation does not have, so they will not open: "
                "%(names)s. Set HERALD_SECRET_KEY to the key of the installation the backup came from."
            )
            % {"names": ", ".join(done.foreign_credentials)},
            err=True,
        )


def _keyring(settings: Settings) -> Keyring | None:
    """The keys for sealing the rebuilt queue, if this process is given any: a restore goes on
    without them (the scheduler rebuilds the queue with its own)."""
    try:
        return settings.keyring()
    except ConfigError:
        return None


def _print_structured(info: BackupInfo, fmt: Format) -> bool:
    """Print ``info`` as JSON, or its tables as CSV; False for the table format (the caller
    prints its sentence)."""
    fmt = Format(fmt)
    if fmt is Format.json:
        typer.echo(_json(info.to_dict()))
        return True
    if fmt is Format.csv:
        emit([t.to_dict() for t in info.tables], fmt, ["table", "rows"])
        return True
    return False


def _json(d: dict[str, object]) -> str:
    import json

    return json.dumps(d, ensure_ascii=False, indent=2)


def _when(created_at: str) -> str:
    """When a backup was taken, the reader's way; as the manifest says it if that is not an ISO
    time (the manifest only promises a string)."""
    try:
        return format_datetime(created_at)
    except ValueError:
        return created_at


def _mb(n: int) -> str:
    """An archive's size in megabytes, written the reader's way."""
    return f"{format_number(round(n / 1_000_000, 1))} MB"
