"""``/api/v1/campaigns``: the campaigns one may see, with their settings; making one and
changing its settings (an admin: of the campaign, or installation-wide for a new one)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from herald.core.errors import Conflict, NotFound
from herald.service.pages import campaigns_page
from herald.web.api.cursor import CAMPAIGNS, DEFAULT_PAGE, CursorParam, Limit
from herald.web.api.problems import CONFLICT, NOT_FOUND, ProblemRoute
from herald.web.api.schemas import MAX_CAMPAIGN_CHARS, CampaignChange, CampaignIn, CampaignOut, CampaignPage
from herald.web.auth import CanAdminister, CanView
from herald.web.deps import ServiceDep
from herald.web.security import CsrfHeaderDep

CampaignName = Annotated[
    str, Path(min_length=1, max_length=MAX_CAMPAIGN_CHARS, description="The campaign's name")
]

router = APIRouter(route_class=ProblemRoute, tags=["campaigns"])


@router.get("/campaigns", response_model=CampaignPage)
def list_campaigns(
    svc: ServiceDep, actor: CanView, limit: Limit = DEFAULT_PAGE, cursor: CursorParam = None
) -> CampaignPage:
    """The campaigns the token may see, by name."""
    page = campaigns_page(svc, after=CAMPAIGNS.decode(cursor), limit=limit, actor=actor)
    return CampaignPage(
        items=[CampaignOut.of(c) for c in page.items], next_cursor=CAMPAIGNS.encode(page.next)
    )


@router.post(
    "/campaigns",
    status_code=201,
    response_model=CampaignOut,
    responses=CONFLICT,
    dependencies=[CsrfHeaderDep],
)
def add_campaign(body: CampaignIn, svc: ServiceDep, actor: CanAdminister) -> CampaignOut:
    """Make a campaign (an installation-wide admin); settings left out get the defaults. 409
    when one of that name exists."""
    # Campaigns are never deleted, so a name seen here stays taken; two makers racing both
    # succeed, the second changing the settings the first gave.
    if any(c.name == body.name for c in svc.list_campaigns(actor=actor)):
        raise Conflict("name", f"a campaign named {body.name!r} already exists")
    return CampaignOut.of(svc.set_campaign(body.name, **body.model_dump(exclude={"name"}), actor=actor))


@router.patch(
    "/campaigns/{name}",
    response_model=CampaignOut,
    responses=NOT_FOUND,
    dependencies=[CsrfHeaderDep],
)
def change_campaign(
    name: CampaignName, body: CampaignChange, svc: ServiceDep, actor: CanAdminister
) -> CampaignOut:
    """Change a campaign's settings (an admin of it): those given; the rest stay as they are."""
    if not any(c.name == name for c in svc.list_campaigns(actor=actor)):
        raise NotFound("campaign", f"unknown campaign {name!r}")
    return CampaignOut.of(svc.set_campaign(name, **body.model_dump(), actor=actor))
