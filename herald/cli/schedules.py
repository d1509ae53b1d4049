"""``herald schedule``: a channel's posting slots, minimum gap and time zone; its queue, reordered
or shuffled."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from herald.cli.app import Format, emit, fail, service
from herald.core.errors import HeraldError
from herald.core.i18n import _

if TYPE_CHECKING:
    from herald.service.answers import QueueReordered

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
    typer.echo(
        _("channel %(channel)s: %(slots)s (%(zone)s)")
        % {"channel": info.channel, "slots": info.slots_text or _("no slots"), "zone": info.timezone}
    )


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
            _("channel %(channel)s (%(zone)s): %(slots)s; minimum gap %(minutes)d min")
            % {
                "channel": info.channel,
                "zone": info.timezone,
                "slots": info.slots_text or _("no slots"),
                "minutes": info.min_gap_seconds // 60,
            }
        )
    emit([u.to_dict() for u in info.upcoming], fmt, ["local", "at", "free", "note"])


def _queue_rows(entries: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{**e, "position": e["position"] or "-", "note": e["note"] or ""} for e in entries]


QUEUE_COLUMNS = ["position", "local", "post_id", "campaign", "state", "note", "text"]


@schedule_app.command("queue")
def schedule_queue(
    channel: str,
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="how many to list")] = 50,
) -> None:
    """What is still to go out on a channel, by time, in its zone. POSITION numbers the posts
    that `schedule reorder` and `schedule shuffle` move; "-" marks one that stays at its time
    (NOTE says why: being published, held, waiting for approval, a time of its own)."""
    try:
        q = service().queue_of(channel, limit=limit)
    except HeraldError as e:
        raise fail(str(e)) from None
    if Format(fmt) is Format.json:
        typer.echo(json.dumps(q.to_dict(), ensure_ascii=False, indent=2))
        return
    if Format(fmt) is Format.table:
        typer.echo(
            _("channel %(channel)s (%(zone)s): %(n)d to go out")
            % {"channel": q.channel, "zone": q.timezone, "n": len(q.entries)}
        )
    emit(_queue_rows([e.to_dict() for e in q.entries]), fmt, QUEUE_COLUMNS)


def _changed(answer: QueueReordered, fmt: Format) -> None:
    if Format(fmt) is Format.json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    for m in answer.moved:
        typer.echo(
            _("moved %(post)s: %(was)s -> %(at)s (%(local)s)")
            % {"post": m.post_id, "was": m.was, "at": m.at, "local": m.local}
        )
    typer.echo(
        _("%(n)d moved on %(channel)s") % {"n": len(answer.moved), "channel": answer.channel}, err=True
    )
    for k in answer.kept:
        typer.echo(
            _("kept %(post)s at %(local)s: %(why)s") % {"post": k.post_id, "local": k.local, "why": k.note},
            err=True,
        )


@schedule_app.command("reorder")
def schedule_reorder(
    channel: str,
    post_id: str,
    to: Annotated[int, typer.Option("--to", help="its new place in the channel's queue (1: next)")],
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """Move a post to place N in a channel's queue; the posts between shift by one. The
    channel's times stay the same (and so its slots and minimum gap): the posts trade them.
    Only this channel's copy of the post moves; posts being published, held, waiting for
    approval or at a time of their own stay where they are."""
    try:
        answer = service().reorder(channel, post_id, to)
    except HeraldError as e:
        raise fail(str(e)) from None
    _changed(answer, fmt)


@schedule_app.command("shuffle")
def schedule_shuffle(
    channel: str,
    seed: Annotated[
        int | None, typer.Option("--seed", help="the same order again for the same queue")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """Give a channel's movable posts its same times in a random order."""
    try:
        answer = service().shuffle(channel, seed=seed)
    except HeraldError as e:
        raise fail(str(e)) from None
    _changed(answer, fmt)
