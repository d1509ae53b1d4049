"""``/log``: the delivery log as managers read it (filters, who wrote and who approved each
post, a page at a time with an "older" link), and ``/log.csv``, the same rows as a download."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, StreamingResponse

from herald.accounts import Actor
from herald.core.errors import InputError
from herald.service import STATUSES, Herald, LogEntry
from herald.service.pages import DeliveryKey, Page
from herald.service.pages import log_page as delivery_log_page
from herald.web.api.cursor import LOG
from herald.web.auth import CanReview
from herald.web.deps import ServiceDep
from herald.web.exports import LOG_COLUMNS, csv_response, log_row
from herald.web.forms import LogFilters, LogFiltersDep
from herald.web.templating import PagesDep

#: Rows on one page of ``/log``; "older" continues after the last one.
LOG_PAGE_ROWS = 100
#: Rows read at a time while an export streams.
EXPORT_PAGE_ROWS = 1000

router = APIRouter(tags=["log"])


def _read(
    svc: Herald, actor: Actor, filters: LogFilters, after: DeliveryKey | None, limit: int
) -> Page[LogEntry, DeliveryKey]:
    return delivery_log_page(
        svc,
        campaign=filters.campaign,
        channel=filters.channel,
        status=filters.status,
        after=after,
        limit=limit,
        actor=actor,
    )


def _query(filters: LogFilters) -> dict[str, str]:
    """The filters given, as a query string's fields (for the "older" and export links)."""
    given = {"campaign": filters.campaign, "channel": filters.channel, "status": filters.status}
    return {name: value for name, value in given.items() if value}


@router.get("/log", response_class=HTMLResponse, name="log_page")
def log_page(
    actor: CanReview, svc: ServiceDep, pages: PagesDep, filters: LogFiltersDep, after: str = ""
) -> HTMLResponse:
    """A page of the delivery log, newest scheduled first; ``after`` (a cursor from the "older"
    link) continues after the last row of the page before. A bad filter or cursor is shown on
    the page (422)."""
    error: InputError | None = None
    rows: tuple[LogEntry, ...] = ()
    older: str | None = None
    try:
        page = _read(svc, actor, filters, LOG.decode(after), LOG_PAGE_ROWS)
        rows, older = page.items, LOG.encode(page.next)
    except InputError as e:
        error = e
    context = {
        "active": "log",
        "log": rows,
        "filters": filters,
        "query": _query(filters),
        "older": older,
        "continued": bool(after),
        "channels": svc.list_channels(),
        "campaigns": [c.name for c in svc.list_campaigns(actor=actor)],
        "statuses": STATUSES,
        "error": error,
    }
    return pages.render("log.html", context, status_code=422 if error else 200)


@router.get("/log.csv", response_class=StreamingResponse, name="log_csv")
def log_csv(actor: CanReview, svc: ServiceDep, filters: LogFiltersDep) -> StreamingResponse:
    """Every row of the log the filters select (that the person may review), as CSV. A bad
    filter is refused before anything is sent (InputError, 422)."""
    first = _read(svc, actor, filters, None, EXPORT_PAGE_ROWS)

    def rows() -> Iterator[list[object]]:
        page = first
        while True:
            for entry in page.items:
                yield log_row(entry)
            if page.next is None:
                return
            page = _read(svc, actor, filters, page.next, EXPORT_PAGE_ROWS)

    return csv_response("log", LOG_COLUMNS, rows())
