"""HTML pages: the dashboard (health, upcoming posts, the delivery log with managers' actions,
statistics) and the compose form (check, queue, face-protection preview and confirmation)."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from herald.core.errors import InputError

# Status names only, for the log filter and "can this still be cancelled?".
from herald.service import PENDING_STATES, STATUSES, Herald
from herald.web.deps import FormDep, ServiceDep
from herald.web.forms import (
    DRAFT_FIELD,
    FACE_CHOICES,
    ActionDep,
    ComposeDep,
    ComposeForm,
    DraftsDep,
    LogFiltersDep,
    keep_draft,
)
from herald.web.preview import preview_photos
from herald.web.security import CSRF_COOKIE, CsrfDep
from herald.web.templating import Pages, PagesDep, redirect_to
from herald.web.views import CheckRow, NoteDep, campaign_faces, check_draft, problems_by_channel, stats_rows

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
    note: NoteDep,
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
        "note": note,
        "stats": stats_rows(svc.stats()),
        "error": error,
    }
    return pages.render("dashboard.html", context, status_code=422 if error else 200)


def compose_page(
    pages: Pages,
    svc: Herald,
    form: ComposeForm,
    *,
    error: InputError | None = None,
    checks: list[CheckRow] | None = None,
    draft: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The compose form, filled with ``form``; its photos kept under ``draft`` if given."""
    context = {
        "active": "compose",
        "form": form,
        "channels": svc.list_channels(),
        "campaigns": [c.name for c in svc.list_campaigns()],
        "face_choices": FACE_CHOICES,
        "error": error,
        "problems": problems_by_channel(error),
        "checks": checks,
        "draft": draft,
    }
    return pages.render("compose.html", context, status_code=status_code)


def _misfit(rows: list[CheckRow]) -> InputError | None:
    """The channels a draft does not fit, as the error ``add_post`` would give."""
    bad = [(row, problem) for row in rows if not row.fits for problem in row.problems]
    if not bad:
        return None
    return InputError(
        "post",
        "; ".join(f"{row.channel}: {problem}" for row, problem in bad),
        details=[
            {"channel": row.channel, "platform": row.platform, "message": problem} for row, problem in bad
        ],
    )


@router.get("/compose", response_class=HTMLResponse, name="compose")
def compose(svc: ServiceDep, pages: PagesDep) -> HTMLResponse:
    return compose_page(pages, svc, ComposeForm())


@router.post("/compose", response_class=HTMLResponse, dependencies=[CsrfDep], name="compose_submit")
def compose_submit(
    request: Request,
    svc: ServiceDep,
    pages: PagesDep,
    drafts: DraftsDep,
    form: ComposeDep,
    action: ActionDep,
) -> Response:
    """ "Check": the draft against each ticked channel, nothing queued. "Queue post": queued at
    once, unless faces are to be protected in a photo: then the preview page, and the post is
    queued only when a person confirms it (``compose_confirm``)."""
    try:
        if action == "check":
            checks = check_draft(svc, form)
            return compose_page(pages, svc, form, checks=checks, draft=keep_draft(request, drafts, form))
        faces = campaign_faces(svc, form.campaign)
        if any(choice.mode for choice in form.faces(faces)):
            form.to_request(faces)  # the time and the photos' choices, before any pixel work
            misfit = _misfit(check_draft(svc, form))
            if misfit is not None:
                raise misfit
            previews = preview_photos(form, faces)
            # Kept with the campaign's choice made explicit: what is confirmed is what was shown.
            resolved = form.resolved(faces)
            token = keep_draft(request, drafts, resolved)
            if token is None:
                raise InputError(
                    "photo", "these photos are too large to keep for a preview; send fewer at once"
                )
            context = {
                "active": "compose",
                "form": resolved,
                "previews": previews,
                "channels": {c.name: c.platform for c in svc.list_channels()},
                "draft": token,
            }
            return pages.render("preview.html", context)
        post_id = svc.add_post(form.to_request(faces))
    except InputError as e:
        draft = keep_draft(request, drafts, form)
        return compose_page(pages, svc, form, error=e, draft=draft, status_code=422)
    return redirect_to(request, "dashboard", queued=post_id)


@router.post("/compose/confirm", response_class=HTMLResponse, dependencies=[CsrfDep], name="compose_confirm")
def compose_confirm(
    request: Request,
    svc: ServiceDep,
    pages: PagesDep,
    drafts: DraftsDep,
    submitted: FormDep,
    action: ActionDep,
) -> Response:
    """The preview's buttons. "Confirm and queue" queues the draft kept on the server (the
    photos exactly as previewed; nothing of them comes from this form) and forgets it, so a
    second click queues nothing. "Back to edit" shows the compose form with the draft."""
    session = request.cookies.get(CSRF_COOKIE)
    token = submitted.get(DRAFT_FIELD)
    token = token if isinstance(token, str) else None
    if action == "edit":
        draft = drafts.get(session, token)
        if draft is not None:
            return compose_page(pages, svc, draft, draft=token)
    else:
        draft = drafts.take(session, token)
        if draft is not None:
            try:
                post_id = svc.add_post(draft.to_request())
            except InputError as e:
                kept = keep_draft(request, drafts, draft)
                return compose_page(pages, svc, draft, error=e, draft=kept, status_code=422)
            drafts.finish(session, token, post_id)
            return redirect_to(request, "dashboard", queued=post_id)
        queued = drafts.finished(session, token)
        if queued is not None:  # a second click on "Confirm and queue": already done
            return redirect_to(request, "dashboard", queued=queued)
    expired = InputError(
        "draft",
        f"this preview has expired (previews are kept for {drafts.ttl_seconds // 60:.0f} minutes, "
        "and not across a restart of Herald); nothing was queued from it. Compose the post again.",
    )
    return compose_page(pages, svc, ComposeForm(), error=expired, status_code=422)
