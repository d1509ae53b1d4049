"""``/api/v1/channels``: the channels (names, platforms, which credentials are set: never their
values), adding one (an admin), resuming a paused one, and a channel's posting slots (read by
anyone who may view, set by an admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from herald.service.pages import channels_page
from herald.web.api.cursor import CHANNELS, DEFAULT_PAGE, CursorParam, Limit
from herald.web.api.problems import CONFLICT, NOT_FOUND, ProblemRoute
from herald.web.api.schemas import ChannelIn, ChannelOut, ChannelPage, Resumed, ScheduleIn, ScheduleOut
from herald.web.auth import CanAdminister, CanView
from herald.web.deps import ServiceDep
from herald.web.security import CsrfHeaderDep

router = APIRouter(route_class=ProblemRoute, tags=["channels"])

#: A channel's name in a path.
ChannelName = Annotated[str, Path(min_length=1, max_length=200, description="The channel's name")]


@router.get("/channels", response_model=ChannelPage)
def list_channels(
    svc: ServiceDep, actor: CanView, limit: Limit = DEFAULT_PAGE, cursor: CursorParam = None
) -> ChannelPage:
    """Every channel, by name."""
    page = channels_page(svc, after=CHANNELS.decode(cursor), limit=limit)
    return ChannelPage(items=[ChannelOut.of(c) for c in page.items], next_cursor=CHANNELS.encode(page.next))


@router.post(
    "/channels",
    status_code=201,
    response_model=ChannelOut,
    responses=CONFLICT,
    dependencies=[CsrfHeaderDep],
)
def add_channel(body: ChannelIn, svc: ServiceDep, actor: CanAdminister) -> ChannelOut:
    """Add a channel (an installation-wide admin). Its credentials are checked against what the
    platform needs and sealed; no answer ever shows them. 409 when the name is taken."""
    channel_id = svc.add_channel(
        body.name,
        body.platform,
        body.credentials,
        base_url=body.base_url,
        options=body.options,
        actor=actor,
    )
    return ChannelOut.of(next(c for c in svc.list_channels() if c.id == channel_id))


@router.post(
    "/channels/{name}/resume",
    response_model=Resumed,
    responses=NOT_FOUND,
    dependencies=[CsrfHeaderDep],
)
def resume_channel(name: str, svc: ServiceDep, actor: CanAdminister) -> Resumed:
    """Unpause a channel (an installation-wide admin); its held deliveries go back on the queue."""
    return Resumed(released=svc.resume_channel(name, actor=actor))


@router.get("/channels/{name}/schedule", response_model=ScheduleOut, responses=NOT_FOUND)
def get_schedule(name: ChannelName, svc: ServiceDep, actor: CanView) -> ScheduleOut:
    """A channel's posting slots (wall-clock times in its zone), minimum gap and zone, and its
    next slots, each with whether it is free."""
    return ScheduleOut.of(svc.schedule(name, actor=actor))


@router.put(
    "/channels/{name}/schedule",
    response_model=ScheduleOut,
    responses=NOT_FOUND,
    dependencies=[CsrfHeaderDep],
)
def set_schedule(name: ChannelName, body: ScheduleIn, svc: ServiceDep, actor: CanAdminister) -> ScheduleOut:
    """Set a channel's slots (``"mon-fri 09:00,13:00; sat 10:00"``, read in its zone: 09:00
    stays 09:00 local across daylight saving time), minimum gap or zone (an installation-wide
    admin, as ``herald schedule set``). Posts already placed keep their times."""
    return ScheduleOut.of(
        svc.set_schedule(
            name, slots=body.slots, min_gap_seconds=body.min_gap_seconds, timezone=body.timezone, actor=actor
        )
    )
