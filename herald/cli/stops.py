"""``herald stop`` / ``herald resume``: the emergency stop of a campaign or of everything, and
``herald campaign pause|resume NAME`` (the same, for one campaign)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from herald.cli.app import Format, app, campaign_app, fail, service
from herald.core.errors import HeraldError
from herald.core.i18n import _


def _stop(campaign: str | None, takedown_since: str | None, fmt: Format) -> None:
    from datetime import timedelta

    from scheduler.slots import parse_duration  # lazy: start-up cost

    try:
        since = (
            timedelta(seconds=parse_duration(takedown_since, "takedown-since", longest=30 * 86400))
            if takedown_since is not None
            else None
        )
        done = service().stop(campaign=campaign, takedown_since=since)
    except HeraldError as e:
        raise fail(str(e)) from None
    if Format(fmt) is Format.json:
        typer.echo(json.dumps(done.to_dict(), ensure_ascii=False))
        return
    if not done.in_flight:
        under_way = _("none under way")
    elif done.settled:
        under_way = _("%(n)d already under way finished") % {"n": done.in_flight}
    else:
        under_way = _("%(n)d already under way still finishing") % {"n": done.in_flight}
    how = f"herald campaign resume {campaign}" if campaign else "herald resume"
    typer.echo(
        _("stopped %(scope)s: %(held)d held, %(under_way)s; resume with `%(how)s`")
        % {"scope": done.scope, "held": done.held, "under_way": under_way, "how": how}
    )
    for post_id in done.taken_down:
        typer.echo(_("taking down %(post)s") % {"post": post_id})


def _resume(campaign: str | None, fmt: Format, reschedule: str = "keep") -> None:
    try:
        done = service().resume(campaign=campaign, reschedule=reschedule)
    except HeraldError as e:
        raise fail(str(e)) from None
    if Format(fmt) is Format.json:
        typer.echo(json.dumps(done.to_dict(), ensure_ascii=False))
    else:
        if done.reschedule == "next-slot":
            said = _(
                "resumed %(scope)s: %(n)d back on the queue, %(moved)d moved to their channel's"
                " next free slot"
            )
        else:
            said = _("resumed %(scope)s: %(n)d back on the queue")
        typer.echo(said % {"scope": done.scope, "n": done.released, "moved": done.moved})


Campaign = Annotated[str | None, typer.Option("--campaign", help="only this campaign (default: everything)")]
FormatOpt = Annotated[Format, typer.Option("--format")]
Reschedule = Annotated[
    str,
    typer.Option(
        "--reschedule",
        help="keep: held posts keep their time and go out late; next-slot: each moves to its "
        "channel's next free slot from now, in their order",
    ),
]


@app.command("stop")
def stop(
    campaign: Campaign = None,
    takedown_since: Annotated[
        str | None,
        typer.Option("--takedown-since", help="also take down what went out in the last 2h, 30m, ..."),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Emergency stop: nothing of the campaign (or of anything) is published after this returns,
    until `herald resume`. In the audit log."""
    _stop(campaign, takedown_since, fmt)


@app.command("resume")
def resume(campaign: Campaign = None, reschedule: Reschedule = "keep", fmt: FormatOpt = Format.table) -> None:
    """Undo an emergency stop: held posts keep their time and go out late, or (--reschedule
    next-slot) move to their channel's next free slot."""
    _resume(campaign, fmt, reschedule)


@campaign_app.command("pause")
def campaign_pause(name: str, fmt: FormatOpt = Format.table) -> None:
    """Pause a campaign: its posts are held (new ones too) until `herald campaign resume`."""
    _stop(name, None, fmt)


@campaign_app.command("resume")
def campaign_resume(name: str, reschedule: Reschedule = "keep", fmt: FormatOpt = Format.table) -> None:
    """Resume a paused campaign: held posts keep their time and go out late, or (--reschedule
    next-slot) move to their channel's next free slot."""
    _resume(name, fmt, reschedule)
