"""``/api/v1/audit``: who did what, newest first, within the campaigns the token may review
(managers); installation-wide events (channels, people, tokens) to admins."""

from __future__ import annotations

from fastapi import APIRouter

from herald.service.pages import audit_page
from herald.web.api.cursor import AUDIT, DEFAULT_PAGE, CursorParam, Limit
from herald.web.api.problems import ProblemRoute
from herald.web.api.schemas import AuditEntryOut, AuditPage
from herald.web.auth import CanReview
from herald.web.deps import ServiceDep

router = APIRouter(route_class=ProblemRoute, tags=["audit"])


@router.get("/audit", response_model=AuditPage)
def audit_log(
    svc: ServiceDep, actor: CanReview, limit: Limit = DEFAULT_PAGE, cursor: CursorParam = None
) -> AuditPage:
    """Events newest first."""
    page = audit_page(svc, after=AUDIT.decode(cursor), limit=limit, actor=actor)
    return AuditPage(items=[AuditEntryOut.of(e) for e in page.items], next_cursor=AUDIT.encode(page.next))
