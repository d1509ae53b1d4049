"""``herald doctor``: can this installation publish? The checks are the service layer's
(``herald.service.doctor``); this prints them, as a table for people or JSON for scripts, and
exits 1 when one fails, so that a deployment script or a cron job can stop on it."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from herald.cli.app import Format, app, emit
from herald.core.i18n import _

#: Exit status when a check fails; warnings alone exit 0.
EXIT_FAILED = 1
#: The table's columns, in order.
COLUMNS = ["status", "name", "detail", "hint"]


@app.command()
def doctor(
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv")] = Format.table,
    channels: Annotated[
        bool,
        typer.Option(
            "--channels/--no-channels",
            help="check every channel's credentials with its platform's dry call (Bluesky allows "
            "30 logins per 5 minutes)",
        ),
    ] = True,
) -> None:
    """Check configuration, Redis (noeviction, AOF, memory), the clock against Redis's, the
    database and its schema, free disk for photos, the workers and the scheduler, and every
    channel's credentials and token expiry. Changes nothing. Exits 1 when a check fails
    (warnings alone: 0); never prints a secret."""
    from herald.service.doctor import diagnose  # lazy: start-up cost

    result = diagnose(channels=channels)
    if fmt is Format.json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        emit([c.to_dict() for c in result.checks], fmt, COLUMNS)
        if fmt is Format.table:
            typer.echo(_("%(fail)d failed, %(warn)d warnings, %(ok)d ok, %(skip)d skipped") % result.counts())
    raise typer.Exit(EXIT_FAILED if result.failed else 0)
