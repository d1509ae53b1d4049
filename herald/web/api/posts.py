"""``/api/v1/posts``: the posts one may see, a page at a time; one post; queueing one (JSON, or
a multipart form with photos). In a campaign that requires approval, a post by someone who may
not approve there waits as ``pending`` for a manager."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from herald.service.pages import post_summary, posts_page
from herald.web.api.cursor import DEFAULT_PAGE, POSTS, CursorParam, Limit
from herald.web.api.problems import NOT_FOUND, ProblemRoute
from herald.web.api.schemas import Approval, PostOut, PostPage
from herald.web.api.submission import REQUEST_BODY, SubmittedPost
from herald.web.auth import CanDraft, CanView
from herald.web.deps import ServiceDep
from herald.web.security import CsrfHeaderDep

router = APIRouter(route_class=ProblemRoute, tags=["posts"])

#: A post's id in a path.
PostId = Annotated[str, Path(min_length=1, max_length=64, description="The post's id")]


@router.get("/posts", response_model=PostPage)
def list_posts(
    svc: ServiceDep,
    actor: CanView,
    campaign: str | None = None,
    approval: Approval | None = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: CursorParam = None,
) -> PostPage:
    """The posts the token may see (of ``campaign``, in ``approval`` state, if given), newest
    scheduled first, each with the state of its delivery on every channel."""
    page = posts_page(
        svc,
        campaign=campaign or None,
        approval=approval,
        after=POSTS.decode(cursor),
        limit=limit,
        actor=actor,
    )
    return PostPage(items=[PostOut.of(p) for p in page.items], next_cursor=POSTS.encode(page.next))


@router.post(
    "/posts",
    status_code=201,
    response_model=PostOut,
    dependencies=[CsrfHeaderDep],
    openapi_extra={"requestBody": REQUEST_BODY},
)
def add_post(
    actor: CanDraft, req: SubmittedPost, svc: ServiceDep, request: Request, response: Response
) -> PostOut:
    """Queue a post: every check first (channels, time, photos, each platform's text rules),
    nothing queued unless all pass (422 names each problem). Photos go in a multipart form.
    With ``repeat``, one post per occurrence; the answer is the first (with its ``series_id``)."""
    post_id = svc.add_posts([req], actor=actor)[0]
    response.headers["Location"] = str(request.url_for("api_v1_post", post_id=post_id))
    return PostOut.of(post_summary(svc, post_id, actor=actor))


@router.get("/posts/{post_id}", response_model=PostOut, responses=NOT_FOUND, name="api_v1_post")
def get_post(post_id: PostId, svc: ServiceDep, actor: CanView) -> PostOut:
    """One post, with the state of its delivery on every channel. 404 for a post that does not
    exist or is not the token's to see."""
    return PostOut.of(post_summary(svc, post_id, actor=actor))
