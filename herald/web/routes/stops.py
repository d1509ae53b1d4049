"""``/stop``: the emergency stop button. A page lists the campaigns the person may stop (its
managers; installation-wide managers and admins also stop everything); the button asks first,
saying what will happen (with an optional "take down what went out in the last N hours"), and
only a second POST with ``confirm=yes`` stops; the answer shows what was held, what was in
flight and what was taken down. Resume is a button of its own, shown while paused. Every POST
carries the session's CSRF token; the service checks the role again (``Stops.stop``)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from herald.accounts import Capability
from herald.core.errors import AccessDenied, InputError
from herald.core.i18n import _
from herald.web.auth import CanAct
from herald.web.deps import FormDep, ServiceDep
from herald.web.security import CsrfDep
from herald.web.templating import PagesDep

router = APIRouter(tags=["stop"])

#: The longest look back a takedown after a stop may ask for (a week), in hours.
MAX_TAKEDOWN_HOURS = 7 * 24


def _scope(form: FormDep) -> str | None:
    """The campaign named by the form, or None for everything. Raises InputError when the form
    says neither."""
    scope, campaign = form.get("scope"), form.get("campaign")
    if scope == "everything":
        return None
    if scope == "campaign" and isinstance(campaign, str) and campaign.strip():
        return campaign.strip()
    raise InputError("scope", _("say what to stop: a campaign (with its name) or everything"))


def _takedown_hours(form: FormDep) -> float | None:
    raw = form.get("takedown_hours")
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        hours = float(raw)
    except ValueError:
        raise InputError(
            "takedown_hours", _("%(value)r is not a number of hours") % {"value": raw[:40]}
        ) from None
    if not 0 < hours <= MAX_TAKEDOWN_HOURS:
        raise InputError(
            "takedown_hours",
            _("take down what went out in the last 1 to %(max)d hours") % {"max": MAX_TAKEDOWN_HOURS},
        )
    return hours


@router.get("/stop", response_class=HTMLResponse, name="stops")
def stops(actor: CanAct, svc: ServiceDep, pages: PagesDep) -> HTMLResponse:
    """What the person may stop or resume, each with its state."""
    return pages.render("stops.html", {"active": "stops", "stoppable": svc.stoppable(actor=actor)})


@router.post("/stop", response_class=HTMLResponse, dependencies=[CsrfDep], name="stop")
def stop(actor: CanAct, svc: ServiceDep, pages: PagesDep, form: FormDep) -> Response:
    """First the question, saying what a stop does; then, with ``confirm=yes``, the stop."""
    campaign = _scope(form)
    hours = _takedown_hours(form)
    if campaign is None and not actor.can(Capability.ACT, None):
        # Refused before the question: the person could not confirm it anyway.
        raise AccessDenied(_("an emergency stop of everything needs the manager role everywhere"))
    if form.get("confirm") != "yes":
        return pages.render("stop_confirm.html", {"active": "stops", "campaign": campaign, "hours": hours})
    done = svc.stop(campaign=campaign, takedown_since=timedelta(hours=hours) if hours else None, actor=actor)
    return pages.render("stop_done.html", {"active": "stops", "stopped": done, "resumed": None})


@router.post("/resume", response_class=HTMLResponse, dependencies=[CsrfDep], name="resume")
def resume(actor: CanAct, svc: ServiceDep, pages: PagesDep, form: FormDep) -> Response:
    """Undo a stop: what it held goes back on the queue (posts keep their time, late)."""
    done = svc.resume(campaign=_scope(form), actor=actor)
    return pages.render("stop_done.html", {"active": "stops", "stopped": None, "resumed": done})
