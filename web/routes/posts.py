"""Posts: queue one (JSON), list them (JSON), cancel one (form post from the dashboard)."""

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from herald.errors import InputError
from web.deps import CsrfDep, JsonPostDep, PagesDep, ServiceDep, redirect_to

router = APIRouter(tags=["posts"])


class PostOut(BaseModel):
    id: str
    text: str
    campaign: str | None
    scheduled_at: str | None
    photos: int
    #: Channel name → delivery status.
    deliveries: dict[str, str]


class PostCreated(BaseModel):
    id: str


@router.get("/api/posts", response_model=list[PostOut])
def list_posts(
    svc: ServiceDep, campaign: str = "", limit: int = Query(200, ge=1, le=1000)
) -> list[dict[str, Any]]:  # Any: the service's row dicts; response_model picks the public fields
    return svc.list_posts(campaign=campaign.strip() or None, limit=limit)


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
        request, "dashboard", cancelled=post_id, count=len(result["cancelled"]), late=len(result["too_late"])
    )
