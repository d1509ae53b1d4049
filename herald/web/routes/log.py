"""``/log``: the delivery log as managers read it, however long it grows, and ``/log.csv``,
the same rows as a download.

The filters (campaign, channel, platform, status, a range of scheduled dates, words of the
text) are the query string of a GET form, so a filtered log is a link to share. Its dates are
whole days in the viewer's zone, as the page shows times (``local_bound``; the export selects
the same rows, its cells in UTC as ever); the API and the command line read them in UTC.

A page holds ``LOG_PAGE_ROWS`` rows; "Older" and "Newer" continue from the key of its last or
first row (``Herald.log_page``: no row is skipped or shown twice when posts are queued
meanwhile, and a deep page costs what the first does). Each row says what the platform's error means in plain
words (the platform's own message beside it), and how late the post went out.

``/log.csv`` streams every row the filters select, a page of ``EXPORT_PAGE_ROWS`` at a time
(memory stays flat for a million rows), every cell neutralised against formula injection
(``web.exports``). A bad filter is refused before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, StreamingResponse

from herald.core.errors import InputError
from herald.core.i18n import _, ngettext
from herald.service import STATUSES, LogEntry
from herald.service.log import LogPage, LogQuery, log_query, log_time, plain_error
from herald.service.pages import DeliveryKey
from herald.web.api.cursor import LOG
from herald.web.auth import CanReview
from herald.web.deps import ServiceDep
from herald.web.exports import LOG_COLUMNS, csv_response, log_row
from herald.web.templating import PagesDep
from herald.web.zones import request_zone

#: Rows on one page of ``/log``.
LOG_PAGE_ROWS = 100
#: Rows read at a time while an export streams.
EXPORT_PAGE_ROWS = 1000
#: Within this many seconds of its time (either way), a post went out on time.
ON_TIME_SECONDS = 60

router = APIRouter(tags=["log"])


@dataclass(frozen=True)
class LogForm:
    """The filters as typed, kept for the form and for the links of the page (names as in the
    address: ``from``, ``to``, ``q``)."""

    campaign: str = ""
    channel: str = ""
    platform: str = ""
    status: str = ""
    since: str = ""
    until: str = ""
    q: str = ""

    def query(self, zone: str) -> LogQuery:
        """The filters, checked, dates read in ``zone`` (the viewer's: ``local_bound``).
        Raises InputError naming the bad one."""
        return log_query(
            campaign=self.campaign,
            channel=self.channel,
            platform=self.platform,
            status=self.status,
            since=local_bound("from", self.since, zone),
            until=local_bound("to", self.until, zone, end=True),
            text=self.q,
        )

    def fields(self) -> dict[str, str]:
        """The filters given, as the query string's fields (for the page and export links)."""
        names = {"since": "from", "until": "to"}
        return {names.get(k, k): v for k, v in asdict(self).items() if v}


def local_bound(name: str, value: str, zone: str, *, end: bool = False) -> datetime | None:
    """A ``from`` or ``to`` filter as the page means it: a date is a whole day in ``zone`` (a
    known IANA name: the viewer's), from its local midnight (``end``: to the next day's, so a
    day of a DST change is 23 or 25 hours); a time without an offset is ``zone``'s wall clock;
    one with an offset is that instant. Read by the service's own ``log_time`` (what it
    accepts, this accepts); blank is None. Raises InputError naming ``name``."""
    try:
        at = log_time(name, value, end=end)
    except InputError:
        raise InputError(
            name,
            _("not a date or time: write it as 2026-05-01 or 2026-05-01T09:30 (in %(zone)s)")
            % {"zone": zone},
        ) from None
    if at is None:
        return None
    # ``log_time`` has read it as ``fromisoformat`` does: an offset was given, or it is local.
    typed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return at.replace(tzinfo=UTC if typed.tzinfo is not None else ZoneInfo(zone))


def log_form(
    campaign: str = "",
    channel: str = "",
    platform: str = "",
    status: str = "",
    since: Annotated[str, Query(alias="from")] = "",
    until: Annotated[str, Query(alias="to")] = "",
    q: str = "",
) -> LogForm:
    return LogForm(
        campaign.strip(),
        channel.strip(),
        platform.strip(),
        status.strip(),
        since.strip(),
        until.strip(),
        q.strip(),
    )


LogFormDep = Annotated[LogForm, Depends(log_form)]


@dataclass(frozen=True)
class LogLine:
    """A row of the page: the delivery, its error in plain words, and how late it went out."""

    entry: LogEntry
    #: What the platform's error means (None: no error, or nothing plainer than its own words).
    meaning: str | None
    lateness: str | None


def lateness_words(seconds: float | None) -> str | None:
    """How late a post went out, as a person says it ("on time", "4 min late", "2 h 5 min
    late", "3 days late"); None before it went out."""
    if seconds is None:
        return None
    if abs(seconds) < ON_TIME_SECONDS:
        return _("on time")
    if seconds < 0:
        return _("early")
    minutes = int(seconds // 60)
    if minutes < 60:
        return _("%(n)d min late") % {"n": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("%(h)d h %(m)d min late") % {"h": hours, "m": minutes}
    days = hours // 24
    return ngettext("%(num)d day late", "%(num)d days late", days) % {"num": days}


def _cursors(after: str, before: str) -> tuple[DeliveryKey | None, DeliveryKey | None]:
    """The page's position: at most one of ``after`` and ``before`` (each a cursor of this
    list, as a link of the page gave it)."""
    if after and before:
        raise InputError("cursor", _("give a page's after or before, not both"))
    return LOG.decode(after), LOG.decode(before)


@router.get("/log", response_class=HTMLResponse, name="log_page")
def log_page(
    actor: CanReview, svc: ServiceDep, pages: PagesDep, form: LogFormDep, after: str = "", before: str = ""
) -> HTMLResponse:
    """A page of the delivery log, newest scheduled first: from after the cursor ``after``
    (older rows) or before ``before`` (newer ones), else the newest. A bad filter or cursor is
    shown on the page (422)."""
    error: InputError | None = None
    page = LogPage((), None)
    try:
        older_than, newer_than = _cursors(after, before)
        page = svc.log_page(
            form.query(request_zone()[0]),
            after=older_than,
            before=newer_than,
            limit=LOG_PAGE_ROWS,
            count=True,
            actor=actor,
        )
    except InputError as e:
        error = e
    channels = svc.list_channels()
    context = {
        "active": "log",
        "lines": [LogLine(e, plain_error(e.error), lateness_words(e.lateness_seconds)) for e in page.items],
        "filters": form,
        "query": form.fields(),
        "older": LOG.encode(page.next),
        "newer": LOG.encode(page.newer),
        "partial": page.partial,
        "total": page.total,
        "continued": bool(after or before),
        "channels": channels,
        "platforms": sorted({c.platform for c in channels}),
        "campaigns": [c.name for c in svc.list_campaigns(actor=actor)],
        "statuses": STATUSES,
        "error": error,
    }
    return pages.render("log.html", context, status_code=422 if error else 200)


@router.get("/log.csv", response_class=StreamingResponse, name="log_csv")
def log_csv(actor: CanReview, svc: ServiceDep, form: LogFormDep) -> StreamingResponse:
    """Every row of the log the filters select (that the person may review), as CSV, read a
    page at a time as it is sent. A bad filter is refused before anything is sent (422)."""
    query = form.query(request_zone()[0])
    first = svc.log_page(query, limit=EXPORT_PAGE_ROWS, actor=actor)

    def rows() -> Iterator[list[object]]:
        for entry in first.items:
            yield log_row(entry)
        if first.next is not None:
            for entry in svc.walk_log(query, after=first.next, page_rows=EXPORT_PAGE_ROWS, actor=actor):
                yield log_row(entry)

    return csv_response("log", LOG_COLUMNS, rows())
