"""``/audit``: who did what, newest first, a page at a time (an "older" link continues before
the last event shown), and ``/audit.csv``, every event the person may review as a download."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, StreamingResponse

from herald.accounts import Actor
from herald.service import AuditEntry, Herald
from herald.service.pages import Page
from herald.service.pages import audit_page as audit_events_page
from herald.web.auth import CanReview
from herald.web.deps import ServiceDep
from herald.web.exports import AUDIT_COLUMNS, audit_row, csv_response
from herald.web.templating import PagesDep

#: Events on one page of ``/audit``.
AUDIT_PAGE_ROWS = 100
#: Events read at a time while an export streams (the service's largest page).
EXPORT_PAGE_ROWS = 1000

router = APIRouter(tags=["audit"])


@dataclass(frozen=True)
class AuditRow:
    """An event as the page shows it: its detail as (key, text) pairs, keys sorted."""

    entry: AuditEntry
    detail: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditRow:
        return cls(entry, tuple((key, _text(value)) for key, value in sorted(entry.detail.items())))


def _text(value: object) -> str:
    """A detail value as text: strings as they are, lists as "a, b", anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _read(svc: Herald, actor: Actor, before_id: int | None, limit: int) -> Page[AuditEntry, int]:
    return audit_events_page(svc, after=before_id, limit=limit, actor=actor)


@router.get("/audit", response_class=HTMLResponse, name="audit_page")
def audit_page(
    actor: CanReview,
    svc: ServiceDep,
    pages: PagesDep,
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """The events the person may review, newest first; ``before_id`` continues before it."""
    page = _read(svc, actor, before_id, AUDIT_PAGE_ROWS)
    context = {
        "active": "audit",
        "events": [AuditRow.of(entry) for entry in page.items],
        "older": page.next,
        "continued": before_id is not None,
    }
    return pages.render("audit.html", context)


@router.get("/audit.csv", response_class=StreamingResponse, name="audit_csv")
def audit_csv(actor: CanReview, svc: ServiceDep) -> StreamingResponse:
    """Every event the person may review, newest first, as CSV."""
    first = _read(svc, actor, None, EXPORT_PAGE_ROWS)

    def rows() -> Iterator[list[object]]:
        page = first
        while True:
            yield from (audit_row(entry) for entry in page.items)
            if page.next is None:
                return
            page = _read(svc, actor, page.next, EXPORT_PAGE_ROWS)

    return csv_response("audit", AUDIT_COLUMNS, rows())
