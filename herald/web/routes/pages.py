"""HTML pages: the dashboard (health, upcoming posts, the delivery log with managers' actions,
statistics) and the compose form (check, queue, face-protection preview and confirmation)."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from herald.accounts import Actor, Capability
from herald.core.errors import AccessDenied, InputError
from herald.core.i18n import _
from herald.core.languages import MAX_LANGUAGE_CHARS
from herald.media import MAX_CREDIT_CHARS

# Status names only, for the log filter and "can this still be cancelled?".
from herald.service import PENDING_STATES, STATUSES, Herald, LogEntry
from herald.service.log import log_query
from herald.web import panels
from herald.web.auth import CanDraft, CanView, capable
from herald.web.deps import FormDep, ServiceDep
from herald.web.drafts import DraftStore
from herald.web.flash import Note
from herald.web.forms import (
    DRAFT_FIELD,
    FACE_CHOICES,
    LANGUAGE_SUGGESTIONS,
    ActionDep,
    ComposeDep,
    ComposeForm,
    DraftsDep,
    LogFiltersDep,
    counted_form,
    draft_owner,
    keep_draft,
)
from herald.web.preview import WHEN_FIELDS, preview_photos, when_rows
from herald.web.security import CsrfDep
from herald.web.templating import Pages, PagesDep, flash_redirect
from herald.web.views import CheckRow, campaign_faces, check_draft, problems_by_channel, stats_rows
from herald.web.zones import ZONE_NAMES, cookie_zone

#: Most rows the dashboard shows; the JSON API and the CLI give the full log.
DASHBOARD_LOG_ROWS = 200
DASHBOARD_POSTS = 100

__all__ = ["PENDING_STATES", "router"]

router = APIRouter(tags=["pages"])


@router.get("/", response_class=HTMLResponse, name="dashboard")
def dashboard(
    request: Request,
    actor: CanView,
    svc: ServiceDep,
    pages: PagesDep,
    filters: LogFiltersDep,
    zone: str = "",
    upcoming_after: str = "",
) -> HTMLResponse:
    """What the person may see: health, posts waiting for approval (or sent back to them), what
    goes out next (a page at a time after ``upcoming_after``) and what is paused, and for
    managers the delivery log with its actions, the charts (days in ``zone``) and the
    statistics. The panels are ``web.panels``'s, as their live fragments render them."""
    error: InputError | None = None
    reviewer = capable(actor, Capability.REVIEW)
    rows: tuple[LogEntry, ...] = ()
    if reviewer:
        try:
            # One page of the log (``Herald.log_page``: bounded however long the log is); the
            # log page goes on from there.
            query = log_query(campaign=filters.campaign, channel=filters.channel, status=filters.status)
            rows = svc.log_page(query, limit=DASHBOARD_LOG_ROWS, actor=actor).items
        except InputError as e:
            error = e
    context = {
        "active": "dashboard",
        **panels.health_context(svc),
        **panels.upcoming_context(svc, actor, campaign=filters.campaign, after=upcoming_after),
        **(panels.charts_context(svc, actor, request, zone=zone) if reviewer else {}),
        "chart_route": "dashboard",
        "chart_params": {},
        "pending": svc.list_posts(approval="pending", limit=DASHBOARD_POSTS, actor=actor),
        "returned": svc.list_posts(approval="returned", limit=DASHBOARD_POSTS, actor=actor),
        "log": rows,
        "reviewer": reviewer,
        "filters": filters,
        "channels": svc.list_channels(),
        "campaigns": [c.name for c in svc.list_campaigns(actor=actor)],
        "statuses": STATUSES,
        "stats": stats_rows(svc.stats(actor=actor)) if reviewer else [],
        "error": error,
    }
    return pages.render("dashboard.html", context, status_code=422 if error else 200)


def compose_page(
    pages: Pages,
    svc: Herald,
    actor: Actor,
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
        "campaigns": [c.name for c in svc.list_campaigns(actor=actor)],
        "face_choices": FACE_CHOICES,
        "max_credit": MAX_CREDIT_CHARS,
        "max_language": MAX_LANGUAGE_CHARS,
        "language_tags": LANGUAGE_SUGGESTIONS,
        "zones": ZONE_NAMES,
        "when_fields": WHEN_FIELDS,
        "error": error,
        "problems": problems_by_channel(error),
        "checks": checks,
        "draft": draft,
    }
    return pages.render("compose.html", context, status_code=status_code)


def refusal(e: InputError | AccessDenied) -> InputError:
    """A refusal as the form shows it: a role that does not reach the campaign named is a
    problem with the campaign field, shown with everything typed kept."""
    return e if isinstance(e, InputError) else InputError("campaign", str(e))


def _status(e: InputError | AccessDenied) -> int:
    return 403 if isinstance(e, AccessDenied) else 422


def _queued(request: Request, svc: Herald, actor: Actor, post_id: str) -> Response:
    """To the dashboard, with a note: queued on which channels, or submitted for approval."""
    found = svc.list_posts(post_id=post_id, limit=1, actor=actor)
    pending = bool(found) and found[0].approval == "pending"
    channels = tuple(found[0].deliveries) if found else ()
    note = Note("submitted" if pending else "queued", post_id=post_id, on=channels)
    return flash_redirect(request, note, "dashboard")


def _preview(
    pages: Pages,
    svc: Herald,
    actor: Actor,
    drafts: DraftStore[ComposeForm],
    form: ComposeForm,
    faces: str | None,
) -> HTMLResponse:
    """The preview: the post as queueing would make it, after every check queueing makes (the
    campaign's rules such as alt text, the time, the slots, each channel's parts: ``plan_post``,
    so a post shown here is not refused on confirm for a rule the preview skipped), and each
    photo as it will be stored. Kept as a draft until the person confirms it."""
    plan = svc.plan_post(form.to_request(faces), actor=actor)
    previews = preview_photos(form, faces)
    # Kept with the campaign's choice made explicit: what is confirmed is what was shown.
    resolved = form.resolved(faces)
    token = drafts.put(draft_owner(actor), resolved, resolved.kept_bytes)
    if token is None:
        raise InputError(
            "photo", _("this post is too large to keep for a preview; send fewer photos at once")
        )
    context = {
        "active": "compose",
        "form": resolved,
        "previews": previews,
        "faces_shown": any(p.mode for p in previews),
        "plan": plan,
        "when": when_rows(plan),
        "threaded": any(len(c.parts) > 1 for c in plan.channels),
        "channels": {c.name: c.platform for c in svc.list_channels()},
        "draft": token,
    }
    return pages.render("preview.html", context)


@router.get("/compose", response_class=HTMLResponse, name="compose")
def compose(request: Request, actor: CanDraft, svc: ServiceDep, pages: PagesDep) -> HTMLResponse:
    """A blank form, its time zone the viewer's own (the calendar's cookies: their choice,
    else their browser's, else UTC); once a campaign or channels are chosen, theirs wins
    unless the person picked a zone (``forms.compose_form``)."""
    tz, source = cookie_zone(request.cookies)
    return compose_page(pages, svc, actor, ComposeForm(tz=tz, tz_from=source))


@router.post("/compose", response_class=HTMLResponse, dependencies=[CsrfDep], name="compose_submit")
def compose_submit(
    request: Request,
    actor: CanDraft,
    svc: ServiceDep,
    pages: PagesDep,
    drafts: DraftsDep,
    form: ComposeDep,
    action: ActionDep,
) -> Response:
    """ "Check": the draft against each ticked channel (with its parts), nothing queued.
    "Preview": when and how it goes out (``_preview``), queued only when the person confirms
    it (``compose_confirm``). "Queue post": queued at once, unless faces are to be protected in
    a photo: then the preview first."""
    owner = draft_owner(actor)
    try:
        if action == "check":
            checks = check_draft(svc, form)
            return compose_page(pages, svc, actor, form, checks=checks, draft=keep_draft(owner, drafts, form))
        faces = campaign_faces(svc, actor, form.campaign)
        if action == "preview" or any(choice.mode for choice in form.faces(faces)):
            return _preview(pages, svc, actor, drafts, form, faces)
        post_id = svc.add_post(form.to_request(faces), actor=actor)
    except (InputError, AccessDenied) as e:
        draft = keep_draft(owner, drafts, form)
        return compose_page(pages, svc, actor, form, error=refusal(e), draft=draft, status_code=_status(e))
    return _queued(request, svc, actor, post_id)


@router.post("/compose/count", dependencies=[CsrfDep], name="compose_count")
def compose_count(actor: CanDraft, svc: ServiceDep, submitted: FormDep) -> JSONResponse:
    """The live counter (``static/counter.js``, as the person types): each ticked channel's
    count, limit and unit for the text it gets, from the same check as the "Check" button
    (``views.check_draft``: the platform's own counting). ``fits`` is about the length only;
    the other rules (photos, alt text) are the check's and the preview's. Nothing is stored.
    A refused input answers 422 with the field and why, as JSON."""
    try:
        form = counted_form(submitted)
        rows = check_draft(svc, form) if form.channels else []
    except InputError as e:
        return JSONResponse({"field": e.field, "detail": e.message}, status_code=422)
    counts = [
        {
            "channel": row.channel,
            "platform": row.platform,
            "count": row.count,
            "limit": row.limit,
            "unit": row.unit,
            "fits": row.count <= row.limit,
            "own_text": row.own_text,
        }
        for row in rows
    ]
    return JSONResponse({"channels": counts}, headers={"Cache-Control": "no-store"})


@router.post("/compose/confirm", response_class=HTMLResponse, dependencies=[CsrfDep], name="compose_confirm")
def compose_confirm(
    request: Request,
    actor: CanDraft,
    svc: ServiceDep,
    pages: PagesDep,
    drafts: DraftsDep,
    submitted: FormDep,
    action: ActionDep,
) -> Response:
    """The preview's buttons. "Confirm and queue" queues the draft kept on the server (the
    photos exactly as previewed; nothing of them comes from this form) and forgets it, so a
    second click queues nothing. "Back to edit" shows the compose form with the draft."""
    session = owner = draft_owner(actor)
    token = submitted.get(DRAFT_FIELD)
    token = token if isinstance(token, str) else None
    if action == "edit":
        draft = drafts.get(session, token)
        if draft is not None:
            return compose_page(pages, svc, actor, draft, draft=token)
    else:
        draft = drafts.take(session, token)
        if draft is not None:
            try:
                post_id = svc.add_post(draft.to_request(), actor=actor)
            except (InputError, AccessDenied) as e:
                kept = keep_draft(owner, drafts, draft)
                return compose_page(
                    pages, svc, actor, draft, error=refusal(e), draft=kept, status_code=_status(e)
                )
            drafts.finish(session, token, post_id)
            return _queued(request, svc, actor, post_id)
        queued = drafts.finished(session, token)
        if queued is not None:  # a second click on "Confirm and queue": already done
            return _queued(request, svc, actor, queued)
    expired = InputError(
        "draft",
        _(
            "this preview has expired (previews are kept for %(minutes)d minutes, and not across a"
            " restart of Herald); nothing was queued from it. Compose the post again."
        )
        % {"minutes": drafts.ttl_seconds // 60},
    )
    return compose_page(pages, svc, actor, ComposeForm(), error=expired, status_code=422)
