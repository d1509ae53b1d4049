"""``/campaigns``: the campaigns and their settings (time zone, late tolerance, required alt
text, face protection), with a form to create or change one."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from herald.core.errors import InputError, NotFound
from herald.service import CampaignDefaults, CampaignInfo
from herald.web import panels
from herald.web.auth import CanAdminister, CanReview
from herald.web.deps import ServiceDep
from herald.web.flash import Note
from herald.web.forms import CampaignForm, CampaignFormDep
from herald.web.security import CsrfDep
from herald.web.templating import Pages, PagesDep, flash_redirect

router = APIRouter(tags=["campaigns"])


def _page(
    pages: Pages,
    rows: list[CampaignInfo],
    form: CampaignForm,
    defaults: CampaignDefaults,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "active": "campaigns",
        "campaigns": rows,
        "form": form,
        "errors": errors or {},
        "defaults": defaults,
    }
    return pages.render("campaigns.html", context, status_code=status_code)


@router.get("/campaigns", response_class=HTMLResponse, name="campaigns")
def campaigns(actor: CanAdminister, svc: ServiceDep, pages: PagesDep, edit: str = "") -> HTMLResponse:
    """The list, and the form: empty for a new campaign, or filled with ``edit``'s settings."""
    rows = svc.list_campaigns(actor=actor)
    current = next((row for row in rows if row.name == edit), None)
    defaults = svc.new_campaign_defaults()
    form = CampaignForm.of(current) if current else CampaignForm.new(edit, defaults)
    return _page(pages, rows, form, defaults)


@router.post("/campaigns", response_class=HTMLResponse, dependencies=[CsrfDep], name="campaigns_save")
def campaigns_save(
    request: Request, actor: CanAdminister, svc: ServiceDep, pages: PagesDep, form: CampaignFormDep
) -> Response:
    settings, errors = form.settings()
    if not errors:
        try:
            saved = svc.set_campaign(form.name.strip(), **settings, actor=actor)
        except InputError as e:
            errors = {e.field: e.message}
        else:
            return flash_redirect(request, Note("campaign", name=saved.name), "campaigns")
    rows = svc.list_campaigns(actor=actor)
    return _page(pages, rows, form, svc.new_campaign_defaults(), errors=errors, status_code=422)


@router.get("/campaigns/{name:path}", response_class=HTMLResponse, name="campaign_page")
def campaign_page(
    request: Request, actor: CanReview, svc: ServiceDep, pages: PagesDep, name: str, zone: str = ""
) -> HTMLResponse:
    """One campaign's page: its charts over the last 30 days, days counted in ``zone`` (else
    the zone the person chose, else the campaign's own). 404 for a campaign that does not exist
    or that the person may not review (the same answer: what is out of reach is not shown to
    exist)."""
    found = next((c for c in svc.list_campaigns(actor=actor) if c.name == name), None)
    if found is None:
        raise NotFound("campaign", f"unknown campaign {name!r}")
    context = {
        "active": "campaigns",
        "campaign": found,
        **panels.charts_context(
            svc, actor, request, zone=zone, campaign=name, campaign_zone=found.timezone, prefix="campaign"
        ),
        "chart_route": "campaign_page",
        "chart_params": {"name": name},
    }
    return pages.render("campaign.html", context)
