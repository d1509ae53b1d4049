"""``herald log``, ``herald stats`` and ``herald check``: what went out, how well, and whether a
draft fits.

``herald log`` pages through the delivery log as the web page and the API do
(``Herald.log_page``): ``--limit`` rows (1,000 unless told), then the cursor to go on from
(``--after``) on standard error, or ``--all`` of them, a page at a time. Its CSV has the web
export's columns and cells (``web.exports``); its JSON is the list of records it always was;
its table never cuts a cell (a published link stays a working link) and measures Hangul as two
columns (Rich).
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from herald.cli.app import (
    Format,
    app,
    emit,
    fail,
    read_photo,
    service,
)
from herald.core.errors import HeraldError
from herald.core.i18n import _

#: Rows printed unless ``--limit`` or ``--all`` says otherwise (what ``herald log`` always gave).
DEFAULT_LIMIT = 1000
#: Rows read per page (the store's most).
PAGE_ROWS = 1000
#: The table's columns (JSON has every field; CSV the web export's).
TABLE_COLUMNS = [
    "post_id",
    "channel",
    "platform",
    "status",
    "scheduled_at",
    "published_at",
    "attempts",
    "remote_url",
    "error",
]


@app.command("log")
def delivery_log(
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
    campaign: Annotated[str | None, typer.Option("--campaign")] = None,
    channel: Annotated[str | None, typer.Option("--channel")] = None,
    platform: Annotated[str | None, typer.Option("--platform")] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
    since: Annotated[
        str | None, typer.Option("--from", help="scheduled from this date or time (UTC unless it says)")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--to", help="scheduled up to this date (included) or time (UTC unless it says)"),
    ] = None,
    search: Annotated[str | None, typer.Option("--search", help="the text contains these words")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="rows to print")] = DEFAULT_LIMIT,
    after: Annotated[
        str | None, typer.Option("--after", help="go on from this cursor (printed after a page)")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="every row, however many, a page at a time")] = False,
) -> None:
    """The delivery log: one record per (post, channel), newest scheduled first."""
    from herald.service.log import log_query  # lazy: start-up cost
    from herald.web.api.cursor import LOG

    svc = service()
    try:
        query = log_query(
            campaign=campaign,
            channel=channel,
            platform=platform,
            status=status,
            since=since,
            until=until,
            text=search,
        )
        start = LOG.decode(after)
    except HeraldError as e:
        raise fail(str(e)) from None
    rest: list[Any] = []  # the key to go on from, when the rows stopped short of the end

    def rows() -> Iterator[dict[str, Any]]:
        key, left = start, None if every else limit
        while True:
            page = svc.log_page(query, after=key, limit=PAGE_ROWS if left is None else min(PAGE_ROWS, left))
            yield from (entry.to_dict() for entry in page.items)
            if page.next is None:
                return
            key = page.next
            if left is not None:
                left -= len(page.items)
                if left <= 0:
                    rest.append(key)
                    return

    _print(rows(), fmt, every)
    if rest:
        typer.echo(_("more rows: go on with --after %(cursor)s") % {"cursor": LOG.encode(rest[0])}, err=True)


def _print(rows: Iterator[dict[str, Any]], fmt: Format, every: bool) -> None:
    """Rows as they come: JSON as one list (the text ``json.dumps(rows, indent=2)`` makes,
    written a record at a time), CSV as the web export writes it, a table per page of rows."""
    if fmt is Format.json:
        first = True
        for row in rows:
            item = textwrap.indent(json.dumps(row, ensure_ascii=False, indent=2), "  ")
            sys.stdout.write(("[\n" if first else ",\n") + item)
            first = False
        sys.stdout.write("[]\n" if first else "\n]\n")
    elif fmt is Format.csv:
        from herald.web.exports import LOG_COLUMNS, csv_lines  # lazy: start-up cost

        records = ([row[c] for c in LOG_COLUMNS] for row in rows)
        for line in csv_lines(LOG_COLUMNS, records, bom=False):
            sys.stdout.write(line)
    else:
        page: list[dict[str, Any]] = []
        for row in rows:
            page.append(row)
            if every and len(page) == PAGE_ROWS:
                emit(page, fmt, TABLE_COLUMNS)
                page = []
        if page or not every:
            emit(page, fmt, TABLE_COLUMNS)
    sys.stdout.flush()


@app.command()
def stats(fmt: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """Success rates per campaign and platform."""
    rows = service().stats()
    emit(
        [r.to_dict() for r in rows],
        fmt,
        ["campaign", "platform", "published", "failed", "uncertain", "queued", "success_rate"],
    )


@app.command()
def check(
    channel: Annotated[list[str], typer.Option("--channel", help="a channel to check against")] = [],  # noqa: B006
    platform: Annotated[list[str], typer.Option("--platform", help="a platform to check against")] = [],  # noqa: B006
    text: Annotated[str, typer.Option("--text")] = "",
    photo: Annotated[list[Path], typer.Option("--photo")] = [],  # noqa: B006
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """Does this draft fit each channel or platform? Queues nothing; exit 1 if any does not fit."""
    from herald.service import PhotoInput  # lazy: start-up cost

    try:
        rows = service().check(
            channel, text, [PhotoInput(read_photo(p), p.name) for p in photo], platforms=platform
        )
    except HeraldError as e:
        raise fail(str(e)) from None
    emit(
        [r.to_dict() for r in rows],
        fmt,
        ["channel", "platform", "fits", "count", "limit", "unit", "problems"],
    )
    if not all(r.fits for r in rows):
        raise typer.Exit(1)
