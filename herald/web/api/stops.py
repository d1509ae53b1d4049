"""``/api/v1/stop`` and ``/api/v1/resume``: the emergency stop of a campaign (its managers) or
of everything (installation-wide managers and admins), and resuming it. 404: no such campaign.
Nothing in the stop's reach is claimed after it answers."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Body

from herald.web.api.problems import NOT_FOUND, ProblemRoute
from herald.web.api.schemas import ResumedOut, ResumeIn, StopIn, StoppedOut
from herald.web.auth import CanAct
from herald.web.deps import ServiceDep
from herald.web.security import CsrfHeaderDep

router = APIRouter(route_class=ProblemRoute, tags=["stop"], dependencies=[CsrfHeaderDep])


@router.post("/stop", response_model=StoppedOut, responses=NOT_FOUND)
def stop(svc: ServiceDep, actor: CanAct, body: Annotated[StopIn | None, Body()] = None) -> StoppedOut:
    """Emergency stop: every queued post of the campaign (or of everything) is held, new ones
    too, until ``/resume``; with ``takedown_since_seconds``, what went out lately is taken down."""
    seconds = body.takedown_since_seconds if body else None
    since = timedelta(seconds=seconds) if seconds else None
    done = svc.stop(campaign=body.campaign if body else None, takedown_since=since, actor=actor)
    return StoppedOut.model_validate(done.to_dict())


@router.post("/resume", response_model=ResumedOut, responses=NOT_FOUND)
def resume(svc: ServiceDep, actor: CanAct, body: Annotated[ResumeIn | None, Body()] = None) -> ResumedOut:
    """Undo a stop: what it held goes back on the queue; posts keep their time and go out late
    (``reschedule`` "keep"), or move to their channel's next free slot ("next-slot")."""
    done = svc.resume(
        campaign=body.campaign if body else None, reschedule=body.reschedule if body else "keep", actor=actor
    )
    return ResumedOut.model_validate(done.to_dict())
