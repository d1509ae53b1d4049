"""The ``herald`` command and its groups, and what every command shares: failing with a clear
message, the service layer, and output as a table, JSON or CSV.

Messages for people (``error: ...``, what a command did, a table's headers) are in the
language of ``HERALD_LANG``, else of ``LC_ALL``/``LC_MESSAGES``/``LANG`` (``ko_KR.UTF-8``: Korean).
Help texts stay English: Typer builds them when the modules are imported, before any option
is read, and they are mostly option names and syntax. JSON and CSV keep English field names,
and a row's values are data, printed as they are."""

from __future__ import annotations

import csv
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from typer.core import TyperCommand

from herald.cli.columns import header
from herald.core.errors import InputError
from herald.core.files import private_files
from herald.core.i18n import _, activate, locale_from_env
from herald.core.logs import setup_logging
from herald.core.settings import get_settings

app = typer.Typer(help="Herald: social media campaign scheduler.", no_args_is_help=True, add_completion=False)
channel_app = typer.Typer(help="Channels: one account on one platform.", no_args_is_help=True)
post_app = typer.Typer(help="Posts: queue, list, cancel.", no_args_is_help=True)
campaign_app = typer.Typer(help="Campaigns: settings shared by their posts.", no_args_is_help=True)
app.add_typer(channel_app, name="channel")
app.add_typer(post_app, name="post")
app.add_typer(campaign_app, name="campaign")

#: Exit code for bad input (the message names the problem; nothing was queued).
EXIT_BAD_INPUT = 2


class KeepArgs(TyperCommand):
    """Remembers the raw arguments so repeated options can be paired in the order given
    (each ``--alt`` belongs to the ``--photo`` before it)."""

    # Any: typer vendors its own click; its Context type is private.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta["raw_args"] = list(args)
        return super().parse_args(ctx, args)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    typer.echo(_("error: %(message)s") % {"message": message}, err=True)
    return typer.Exit(code)


def service() -> Any:
    from herald.runtime import service as build  # lazy: start-up cost

    return build()


class Format(StrEnum):
    """How a command prints rows: a table for people, JSON or CSV for scripts."""

    table = "table"
    json = "json"
    csv = "csv"


#: The width a table is laid out for when the output is not a terminal (no folding).
UNBOUNDED_WIDTH = 100_000
#: Spreadsheet programs run a cell starting with one of these as a formula: such cells are
#: prefixed with an apostrophe in CSV output.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def emit(rows: list[dict[str, Any]], fmt: Format | str, columns: list[str]) -> None:
    """Print ``rows``: JSON (every field), CSV (``columns``, formula cells neutralised) or a table
    (``columns``; cells are never cut, so a published link stays a working link, and Hangul and
    other wide characters are measured as two columns)."""
    fmt = Format(fmt)
    if fmt is Format.json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt is Format.csv:
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(columns)
        for r in rows:
            out.writerow([_csv_cell(r.get(c)) for c in columns])
    else:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for c in columns:
            table.add_column(header(c), overflow="fold")
        for r in rows:
            table.add_row(*(cell(r.get(c)) for c in columns))
        # Cells are data, never markup: a post text with "[bold]" or ":smile:" prints as written.
        # In a terminal long cells fold at its width; piped, nothing folds.
        width = None if sys.stdout.isatty() else UNBOUNDED_WIDTH
        Console(markup=False, emoji=False, highlight=False, width=width).print(table)


def cell(v: Any) -> str:  # Any: a row's value of any kind
    if v is None:
        return "-"
    if isinstance(v, dict):
        return ",".join(f"{k}:{x}" for k, x in v.items())
    return str(v).replace("\n", " ")


def _csv_cell(v: Any) -> str:  # Any: as above
    text = "" if v is None else cell(v)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@app.callback()
def _main(ctx: typer.Context) -> None:
    ctx.call_on_close(activate(locale_from_env(os.environ)))
    private_files()
    try:
        s = get_settings()
    except ValidationError:
        # A HERALD_* value that does not parse: `herald doctor` names it; any other command
        # meets the same error when it reads the settings itself.
        setup_logging("WARNING", "text")
        return
    setup_logging(s.log_level if os.environ.get("HERALD_LOG_LEVEL") else "WARNING", s.log_format)


def pairs(items: list[str], what: str, *, secret: bool = False) -> dict[str, str]:
    """``KEY=VALUE`` items as a dict. ``secret``: the values are credentials, so a refusal never
    quotes an item (one given without its key is the secret itself)."""
    out: dict[str, str] = {}
    for n, item in enumerate(items, 1):
        key, sep, value = item.partition("=")
        if (not sep or not key.strip()) and secret:
            raise InputError(what, _("item %(n)d: expected KEY=VALUE (the value is not shown)") % {"n": n})
        if not sep or not key.strip():
            raise InputError(what, _("expected KEY=VALUE, got %(item)r") % {"item": item.split("=")[0]})
        out[key.strip()] = value
    return out


def read_photo(path: Path) -> bytes:
    try:
        if not path.is_file():
            raise InputError("photo", _("%(name)r is not a file") % {"name": path.name})
        return path.read_bytes()
    except OSError as e:
        raise InputError(
            "photo", _("cannot read %(name)r: %(why)s") % {"name": path.name, "why": e.strerror}
        ) from None
