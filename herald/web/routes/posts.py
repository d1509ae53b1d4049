"""A post's actions from the dashboard's buttons (form posts with CSRF): approve it or send it
back, resubmit it, cancel it, take it down, retry or release a delivery, or record an uncertain
one as published. Each redirects to the dashboard with a note of what it did (``web.flash``).
The JSON API has the same actions under ``/api/v1``."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from herald.core.errors import InputError
from herald.core.i18n import _
from herald.web.auth import CanAct, CanApprove, CanDraft
from herald.web.deps import FormDep, ServiceDep
from herald.web.flash import Note
from herald.web.forms import DeliveryActionDep
from herald.web.security import CsrfDep
from herald.web.templating import Pages, PagesDep, flash_redirect

router = APIRouter(tags=["posts"])

#: The longest note a manager can send back with a post (the service holds the same limit).
MAX_NOTE_FORM_CHARS = 2000


def _refused(pages: Pages, title: str, e: InputError) -> Response:
    """An action the service refused (unknown post, nothing in that state any more)."""
    return pages.render("error.html", {"title": title, "message": e.message}, status_code=422)


@router.post("/posts/{post_id}/approve", dependencies=[CsrfDep], name="approve_post")
def approve_post(
    post_id: str, request: Request, actor: CanApprove, svc: ServiceDep, pages: PagesDep
) -> Response:
    """A manager approves a post waiting for it: its deliveries are queued."""
    try:
        svc.approve_post(post_id, actor=actor)
    except InputError as e:
        return _refused(pages, _("Not approved"), e)
    return flash_redirect(request, Note("approved", post_id=post_id), "dashboard")


@router.post("/posts/{post_id}/return", dependencies=[CsrfDep], name="return_post")
def return_post(
    post_id: str, request: Request, actor: CanApprove, svc: ServiceDep, pages: PagesDep, form: FormDep
) -> Response:
    """A manager sends a post back to its author with a note saying why."""
    note = form.get("note")
    try:
        svc.return_post(post_id, note[:MAX_NOTE_FORM_CHARS] if isinstance(note, str) else "", actor=actor)
    except InputError as e:
        return _refused(pages, _("Not sent back"), e)
    return flash_redirect(request, Note("returned", post_id=post_id), "dashboard")


@router.post("/posts/{post_id}/resubmit", dependencies=[CsrfDep], name="resubmit_post")
def resubmit_post(
    post_id: str, request: Request, actor: CanDraft, svc: ServiceDep, pages: PagesDep
) -> Response:
    """Staff submit a post that was sent back for approval again."""
    try:
        svc.resubmit_post(post_id, actor=actor)
    except InputError as e:
        return _refused(pages, _("Not resubmitted"), e)
    return flash_redirect(request, Note("resubmitted", post_id=post_id), "dashboard")


@router.post("/posts/{post_id}/cancel", dependencies=[CsrfDep], name="cancel_post")
def cancel_post(post_id: str, request: Request, actor: CanAct, svc: ServiceDep, pages: PagesDep) -> Response:
    try:
        result = svc.cancel_post(post_id, actor=actor)
    except InputError as e:
        return pages.render(
            "error.html", {"title": _("Not cancelled"), "message": e.message}, status_code=404
        )
    note = Note("cancelled", post_id=post_id, count=len(result.cancelled), late=len(result.too_late))
    return flash_redirect(request, note, "dashboard")


@router.post("/posts/{post_id}/takedown", dependencies=[CsrfDep], name="takedown_post")
def takedown_post(
    post_id: str, request: Request, actor: CanAct, svc: ServiceDep, pages: PagesDep, form: DeliveryActionDep
) -> Response:
    """First the question ("Take this post down from every channel?") with what will happen on
    each channel; then, with ``confirm=yes``, the takedown (every channel, or only the row's)."""
    if not form.confirmed:
        rows = svc.delivery_log(post_id=post_id, actor=actor)
        if not rows:
            return pages.render(
                "error.html",
                {"title": _("Not taken down"), "message": _("unknown post %(post)r") % {"post": post_id}},
                404,
            )
        return pages.render(
            "takedown.html", {"post_id": post_id, "rows": rows, "channel": form.channel, "active": ""}
        )
    try:
        result = svc.takedown(post_id, channel=form.channel if form.only_channel else None, actor=actor)
    except InputError as e:
        return _refused(pages, _("Not taken down"), e)
    note = Note(
        "takedown",
        post_id=post_id,
        deleting=tuple(result.deleting),
        cancelled=tuple(result.cancelled),
        after_publish=tuple(result.after_publish),
        cannot_delete=tuple(result.cannot_delete),
    )
    return flash_redirect(request, note, "dashboard")


def _requeue(
    what: str,
    title: str,
    post_id: str,
    request: Request,
    actor: CanAct,
    svc: ServiceDep,
    pages: Pages,
    channel: str | None,
) -> Response:
    try:
        ids = svc.requeue(post_id, channel=channel, what=what, actor=actor)
    except InputError as e:
        return _refused(pages, title, e)
    note = Note(what, post_id=post_id, on=(channel,) if channel else (), count=len(ids))
    return flash_redirect(request, note, "dashboard")


@router.post("/posts/{post_id}/retry", dependencies=[CsrfDep], name="retry_delivery")
def retry_delivery(
    post_id: str, request: Request, actor: CanAct, svc: ServiceDep, pages: PagesDep, form: DeliveryActionDep
) -> Response:
    """Send a failed or uncertain delivery again (for an uncertain one, after a person checked
    that the post is not on the platform)."""
    return _requeue("retry", _("Not retried"), post_id, request, actor, svc, pages, form.channel)


@router.post("/posts/{post_id}/release", dependencies=[CsrfDep], name="release_delivery")
def release_delivery(
    post_id: str, request: Request, actor: CanAct, svc: ServiceDep, pages: PagesDep, form: DeliveryActionDep
) -> Response:
    """Send a held delivery now (a missed window or a paused channel that a person checked)."""
    return _requeue("release", _("Not released"), post_id, request, actor, svc, pages, form.channel)


@router.post("/posts/{post_id}/confirm", dependencies=[CsrfDep], name="confirm_published")
def confirm_published(
    post_id: str, request: Request, actor: CanAct, svc: ServiceDep, pages: PagesDep, form: DeliveryActionDep
) -> Response:
    """A person found the uncertain post on the platform: record it as published (with its URL
    if they give one)."""
    if form.channel is None:
        return _refused(
            pages, _("Not confirmed"), InputError("channel", _("say which channel the post is on"))
        )
    try:
        svc.confirm_published(post_id, form.channel, url=form.url, actor=actor)
    except InputError as e:
        return _refused(pages, _("Not confirmed"), e)
    return flash_redirect(request, Note("confirm", post_id=post_id, on=(form.channel,)), "dashboard")
