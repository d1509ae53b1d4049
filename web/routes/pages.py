"""HTML pages: the dashboard (health, upcoming posts, the delivery log) and the compose form."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from herald.errors import InputError

# Status names only, for the log filter and "can this still be cancelled?".
from herald.service import PENDING_STATES, STATUSES
from web.deps import ComposeDep, ComposeForm, CsrfDep, LogFiltersDep, PagesDep, ServiceDep, redirect_to

#: Most rows the dashboard shows; the JSON API and the CLI give the full log.
DASHBOARD_LOG_ROWS = 200
DASHBOARD_POSTS = 100

__all__ = ["PENDING_STATES", "router"]

router = APIRouter(tags=["pages"])


@router.get("/", response_class=HTMLResponse, name="dashboard")
def dashboard(
    svc: ServiceDep,
    pages: PagesDep,
    filters: LogFiltersDep,
    queued: str = "",
    cancelled: str = "",
    count: int = 0,
    late: int = 0,
) -> HTMLResponse:
    error: InputError | None = None
    try:
        rows = svc.delivery_log(
            campaign=filters.campaign,
            channel=filters.channel,
            status=filters.status,
            limit=DASHBOARD_LOG_ROWS,
        )
    except InputError as e:
        rows, error = [], e
    context = {
        "active": "dashboard",
        "health": svc.queue_health(),
        "posts": svc.list_posts(campaign=filters.campaign, limit=DASHBOARD_POSTS),
        "log": rows,
        "filters": filters,
        "channels": svc.list_channels(),
        "statuses": STATUSES,
        "queued": svc.delivery_log(post_id=queued) if queued else [],
        "cancelled": {"post_id": cancelled, "count": count, "late": late} if cancelled else None,
        "error": error,
    }
    return pages.render("dashboard.html", context, status_code=422 if error else 200)


@router.get("/compose", response_class=HTMLResponse, name="compose")
def compose(svc: ServiceDep, pages: PagesDep) -> HTMLResponse:
    context = {"active": "compose", "form": ComposeForm(), "channels": svc.list_channels(), "error": None}
    return pages.render("compose.html", context)


@router.post("/compose", response_class=HTMLResponse, dependencies=[CsrfDep], name="compose_submit")
def compose_submit(request: Request, svc: ServiceDep, pages: PagesDep, form: ComposeDep) -> Response:
    try:
        post_id = svc.add_post(form.to_request())
    except InputError as e:
        context = {"active": "compose", "form": form, "channels": svc.list_channels(), "error": e}
        return pages.render("compose.html", context, status_code=422)
    return redirect_to(request, "dashboard", queued=post_id)
