"""``/api/v1/users`` (installation-wide admins: everyone who may sign in, with their roles) and
``/api/v1/me`` (who the token or session is, and what it may act as)."""

from __future__ import annotations

from fastapi import APIRouter

from herald.service.identity import identity
from herald.service.pages import users_page
from herald.web.api.cursor import DEFAULT_PAGE, USERS, CursorParam, Limit
from herald.web.api.problems import ProblemRoute
from herald.web.api.schemas import MeOut, UserOut, UserPage
from herald.web.auth import CanAdminister, SignedInActor
from herald.web.deps import ServiceDep

router = APIRouter(route_class=ProblemRoute, tags=["users"])


@router.get("/users", response_model=UserPage)
def list_users(
    svc: ServiceDep, actor: CanAdminister, limit: Limit = DEFAULT_PAGE, cursor: CursorParam = None
) -> UserPage:
    """Everyone, by email, with their roles (never a password or a second factor's secret)."""
    page = users_page(svc, after=USERS.decode(cursor), limit=limit, actor=actor)
    return UserPage(items=[UserOut.of(u) for u in page.items], next_cursor=USERS.encode(page.next))


@router.get("/me", response_model=MeOut)
def me(svc: ServiceDep, actor: SignedInActor) -> MeOut:
    """The person behind the token (or session), the roles the request may act with, and the
    token's limits."""
    return MeOut.of(identity(svc, actor=actor))
