"""``herald schedule``: a channel's posting slots, minimum gap and time zone."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from herald.cli.app import Format, emit, fail, service
from herald.core.errors import HeraldError

schedule_app = typer.Typer(
    help="Posting slots: the weekly local times a channel's posts go out at (--next-slot).",
    no_args_is_help=True,
)


@schedule_app.command("set")
def schedule_set(
    channel: str,
    slots: Annotated[
        str | None,
        typer.Option("--slots", help='weekly local times, e.g. "mon-fri 09:00,13:00; sat 10:00" ("": none)'),
    ] = None,
    min_gap: Annotated[
        str | None,
        typer.Option("--min-gap", help="no two posts of the channel closer than this, e.g. 30m, 2h"),
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option("--tz", "--timezone", help="IANA zone the slots are read in, e.g. Asia/Seoul"),
    ] = None,
) -> None:
    """Set a channel's posting slots (read in its time zone: 09:00 stays 09:00 local across
    daylight saving time), minimum gap or time zone. Posts already placed keep their times."""
    from scheduler.slots import parse_duration  # lazy: start-up cost

    try:
        gap = parse_duration(min_gap) if min_gap is not None else None
        info = service().set_schedule(channel, slots=slots, min_gap_seconds=gap, timezone=tz)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(f"channel {info.channel}: {info.slots_text or 'no slots'} ({info.timezone})")


@schedule_app.command("show")
def schedule_show(
    channel: str,
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
    upcoming: Annotated[
        int, typer.Option("--upcoming", min=0, max=500, help="how many next slots to list")
    ] = 10,
) -> None:
    """A channel's slots, and its next ones with whether each is free."""
    try:
        info = service().schedule(channel, upcoming=upcoming)
    except HeraldError as e:
        raise fail(str(e)) from None
    if Format(fmt) is Format.json:
        typer.echo(json.dumps(info.to_dict(), ensure_ascii=False, indent=2))
        return
    if Format(fmt) is Format.table:
        typer.echo(
            f"channel {info.channel} ({info.timezone}): {info.slots_text or 'no slots'}; "
            f"minimum gap {info.min_gap_seconds // 60} min"
        )
    emit([u.to_dict() for u in info.upcoming], fmt, ["local", "at", "free", "note"])
