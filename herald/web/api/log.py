"""``/api/v1/log`` and ``/api/v1/stats``: the delivery log (one record per post and channel:
what went out where and when, or why not) and success rates per campaign and platform, both
within the campaigns the token may review (managers and admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from herald.service.pages import log_page, stats_page
from herald.web.api.cursor import DEFAULT_PAGE, LOG, STATS, CursorParam, Limit
from herald.web.api.problems import ProblemRoute
from herald.web.api.schemas import LogEntryOut, LogPage, StatsOut, StatsPage, Status
from herald.web.auth import CanReview
from herald.web.deps import ServiceDep

router = APIRouter(route_class=ProblemRoute, tags=["log"])


@router.get("/log", response_model=LogPage)
def delivery_log(
    svc: ServiceDep,
    actor: CanReview,
    campaign: str | None = None,
    channel: str | None = None,
    platform: str | None = None,
    status: Status | None = None,
    post_id: str | None = None,
    since: Annotated[
        str | None,
        Query(alias="from", description="Scheduled from this date (UTC) or ISO 8601 time on"),
    ] = None,
    until: Annotated[
        str | None,
        Query(alias="to", description="Scheduled up to this date (included) or before this ISO 8601 time"),
    ] = None,
    q: Annotated[str | None, Query(description="Words the delivery's text contains", max_length=200)] = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: CursorParam = None,
) -> LogPage:
    """Deliveries newest scheduled first, narrowed by each filter given. A page may hold fewer
    rows than ``limit`` (even none) and still give a ``next_cursor``, when the filters are rare
    together: the log was read as far as the cursor, and more may follow."""
    page = log_page(
        svc,
        campaign=campaign or None,
        channel=channel or None,
        platform=platform or None,
        status=status,
        post_id=post_id or None,
        since=since,
        until=until,
        text=q,
        after=LOG.decode(cursor),
        limit=limit,
        actor=actor,
    )
    return LogPage(items=[LogEntryOut.of(e) for e in page.items], next_cursor=LOG.encode(page.next))


@router.get("/stats", response_model=StatsPage)
def stats(
    svc: ServiceDep, actor: CanReview, limit: Limit = DEFAULT_PAGE, cursor: CursorParam = None
) -> StatsPage:
    """Per campaign (posts of none first) and platform: deliveries by state, and the success
    rate (published over published + failed + uncertain; null before any finished)."""
    page = stats_page(svc, after=STATS.decode(cursor), limit=limit, actor=actor)
    return StatsPage(items=[StatsOut.of(r) for r in page.items], next_cursor=STATS.encode(page.next))
