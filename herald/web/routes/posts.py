"""Posts: queue one (JSON), list them (JSON); from the dashboard's buttons (form posts with
CSRF), cancel one, take one down, retry or release a delivery, or record an uncertain one as
published. Each action redirects to the dashboard with a note of what it did."""

import pydantic
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, TypeAdapter

from herald.core.errors import InputError
from herald.service import PostSummary
from herald.web.deps import ServiceDep
from herald.web.forms import DeliveryActionDep, JsonPostDep
from herald.web.security import CsrfDep
from herald.web.templating import Pages, PagesDep, redirect_to

router = APIRouter(tags=["posts"])


@pydantic.dataclasses.dataclass(frozen=True)
class PostOut(PostSummary):
    """A post, with the status of its delivery on each channel (channel name → status)."""


_POSTS = TypeAdapter(list[PostOut])


class PostCreated(BaseModel):
    id: str


@router.get("/api/posts", response_model=list[PostOut])
def list_posts(svc: ServiceDep, campaign: str = "", limit: int = Query(200, ge=1, le=1000)) -> list[PostOut]:
    posts = svc.list_posts(campaign=campaign.strip() or None, limit=limit)
    return _POSTS.validate_python([post.to_dict() for post in posts])


@router.post("/api/posts", status_code=201, response_model=PostCreated)
def create_post(svc: ServiceDep, req: JsonPostDep) -> PostCreated:
    return PostCreated(id=svc.add_post(req))


@router.post("/posts/{post_id}/cancel", dependencies=[CsrfDep], name="cancel_post")
def cancel_post(post_id: str, request: Request, svc: ServiceDep, pages: PagesDep) -> Response:
    try:
        result = svc.cancel_post(post_id)
    except InputError as e:
        return pages.render("error.html", {"title": "Not cancelled", "message": e.message}, status_code=404)
    return redirect_to(
        request, "dashboard", cancelled=post_id, count=len(result.cancelled), late=len(result.too_late)
    )


def _refused(pages: Pages, title: str, e: InputError) -> Response:
    """A manager's action the service refused (unknown post, nothing in that state any more)."""
    return pages.render("error.html", {"title": title, "message": e.message}, status_code=422)


@router.post("/posts/{post_id}/takedown", dependencies=[CsrfDep], name="takedown_post")
def takedown_post(
    post_id: str, request: Request, svc: ServiceDep, pages: PagesDep, form: DeliveryActionDep
) -> Response:
    """First the question ("Take this post down from every channel?") with what will happen on
    each channel; then, with ``confirm=yes``, the takedown (every channel, or only the row's)."""
    if not form.confirmed:
        rows = svc.delivery_log(post_id=post_id)
        if not rows:
            return pages.render(
                "error.html", {"title": "Not taken down", "message": f"unknown post {post_id!r}"}, 404
            )
        return pages.render(
            "takedown.html", {"post_id": post_id, "rows": rows, "channel": form.channel, "active": ""}
        )
    try:
        result = svc.takedown(post_id, channel=form.channel if form.only_channel else None)
    except InputError as e:
        return _refused(pages, "Not taken down", e)
    return redirect_to(
        request,
        "dashboard",
        done="takedown",
        post=post_id,
        deleting=list(result.deleting),
        cancelled_on=list(result.cancelled),
        after_publish=list(result.after_publish),
        cannot_delete=list(result.cannot_delete),
    )


@router.post("/posts/{post_id}/retry", dependencies=[CsrfDep], name="retry_delivery")
def retry_delivery(
    post_id: str, request: Request, svc: ServiceDep, pages: PagesDep, form: DeliveryActionDep
) -> Response:
    """Send a failed or uncertain delivery again (for an uncertain one, after a person checked
    that the post is not on the platform)."""
    try:
        ids = svc.requeue(post_id, channel=form.channel, what="retry")
    except InputError as e:
        return _refused(pages, "Not retried", e)
    return redirect_to(
        request,
        "dashboard",
        done="retry",
        post=post_id,
        on=[form.channel] if form.channel else [],
        count=len(ids),
    )


@router.post("/posts/{post_id}/release", dependencies=[CsrfDep], name="release_delivery")
def release_delivery(
    post_id: str, request: Request, svc: ServiceDep, pages: PagesDep, form: DeliveryActionDep
) -> Response:
    """Send a held delivery now (a missed window or a paused channel that a person checked)."""
    try:
        ids = svc.requeue(post_id, channel=form.channel, what="release")
    except InputError as e:
        return _refused(pages, "Not released", e)
    return redirect_to(
        request,
        "dashboard",
        done="release",
        post=post_id,
        on=[form.channel] if form.channel else [],
        count=len(ids),
    )


@router.post("/posts/{post_id}/confirm", dependencies=[CsrfDep], name="confirm_published")
def confirm_published(
    post_id: str, request: Request, svc: ServiceDep, pages: PagesDep, form: DeliveryActionDep
) -> Response:
    """A person found the uncertain post on the platform: record it as published (with its URL
    if they give one)."""
    if form.channel is None:
        return _refused(pages, "Not confirmed", InputError("channel", "say which channel the post is on"))
    try:
        svc.confirm_published(post_id, form.channel, url=form.url)
    except InputError as e:
        return _refused(pages, "Not confirmed", e)
    return redirect_to(request, "dashboard", done="confirm", post=post_id, on=[form.channel])
