"""CSV exports (the delivery log, the audit log): their columns, every cell neutralised against
formula injection, written with the csv module and streamed a page at a time.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and some
treat a leading tab or carriage return the same way); post texts, platform error messages and
channel or campaign names are all text someone else chose. OWASP's "CSV Injection" advice is
followed for every cell of every export: such a cell gets a leading single quote, which makes
the spreadsheet show it as text. ``csv.reader`` reads the quote back as part of the cell.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

from fastapi.responses import StreamingResponse

from herald.service import AuditEntry, LogEntry

#: The first characters that make a spreadsheet treat a cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A UTF-8 byte order mark first: Excel reads a CSV without one in the system's legacy code
#: page, which garbles Korean (and any non-ASCII) text.
BOM = "\ufeff"
MEDIA_TYPE = "text/csv; charset=utf-8"

#: The delivery log's columns, in order (``log_row`` gives a row).
LOG_COLUMNS = (
    "post_id",
    "delivery_id",
    "campaign",
    "channel",
    "platform",
    "status",
    "text",
    "scheduled_at",
    "due_at",
    "published_at",
    "lateness_seconds",
    "attempts",
    "remote_id",
    "remote_url",
    "error",
    "created_by",
    "approval",
    "approved_by",
    "approved_at",
)
#: The audit log's columns, in order (``audit_row`` gives a row).
AUDIT_COLUMNS = ("id", "at", "actor", "action", "target_type", "target_id", "campaign", "detail")


def neutralise(value: object) -> str:
    """A cell as text that no spreadsheet runs: None is empty; text starting with a formula
    character gets a leading ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def log_row(entry: LogEntry) -> list[object]:
    """One delivery as ``LOG_COLUMNS``."""
    return [
        entry.post_id,
        entry.delivery_id,
        entry.campaign,
        entry.channel,
        entry.platform,
        entry.status,
        entry.text,
        entry.scheduled_at,
        entry.due_at,
        entry.published_at,
        entry.lateness_seconds,
        entry.attempts,
        entry.remote_id,
        entry.remote_url,
        entry.error,
        entry.created_by,
        entry.approval,
        entry.approved_by,
        entry.approved_at,
    ]


def audit_row(entry: AuditEntry) -> list[object]:
    """One audit event as ``AUDIT_COLUMNS``; its detail as JSON (keys sorted)."""
    detail = json.dumps(dict(entry.detail), ensure_ascii=False, sort_keys=True) if entry.detail else ""
    return [
        entry.id,
        entry.at,
        entry.actor,
        entry.action,
        entry.target_type,
        entry.target_id,
        entry.campaign,
        detail,
    ]


def csv_lines(columns: Sequence[str], rows: Iterable[Sequence[object]], *, bom: bool = True) -> Iterator[str]:
    """The BOM (for a download: see ``BOM``; ``herald log`` writes none) and header, then each
    row as one CSV record, every cell neutralised. Rows are read one at a time as the lines
    are taken: an export of a million holds one page of them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def record(cells: Sequence[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([neutralise(cell) for cell in cells])
        return buffer.getvalue()

    yield (BOM if bom else "") + record(columns)
    for row in rows:
        yield record(row)


def file_name(kind: str, now: datetime | None = None) -> str:
    """``herald-<kind>-YYYYMMDD.csv`` (UTC date): a fixed name, never built from input."""
    return f"herald-{kind}-{(now or datetime.now(UTC)):%Y%m%d}.csv"


def csv_response(kind: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> StreamingResponse:
    """A download of ``rows`` under ``columns``, named for ``kind`` ("log", "audit") and today."""
    return StreamingResponse(
        csv_lines(columns, rows),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{file_name(kind)}"'},
    )


__all__ = [
    "AUDIT_COLUMNS",
    "FORMULA_STARTS",
    "LOG_COLUMNS",
    "audit_row",
    "csv_lines",
    "csv_response",
    "file_name",
    "log_row",
    "neutralise",
]
