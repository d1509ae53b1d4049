"""``herald campaign`` and ``herald purge-photos``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from herald.cli.app import (
    Format,
    app,
    campaign_app,
    emit,
    fail,
    service,
)
from herald.core.errors import HeraldError
from herald.core.i18n import _, ngettext
from herald.core.settings import get_settings


@campaign_app.command("set")
def campaign_set(
    name: str,
    late_tolerance: Annotated[
        int | None, typer.Option("--late-tolerance", help="seconds late before a post is held (0: never)")
    ] = None,
    require_alt_text: Annotated[
        bool | None,
        typer.Option(
            "--require-alt-text/--no-require-alt-text",
            help="a new campaign: HERALD_CAMPAIGN_REQUIRE_ALT_TEXT (required)",
        ),
    ] = None,
    protect_faces: Annotated[
        str | None,
        typer.Option(
            "--protect-faces",
            help="blur, pixelate, review (a post whose photos show faces waits for a manager) or off; "
            "a new campaign: HERALD_CAMPAIGN_PROTECT_FACES (review)",
        ),
    ] = None,
    timezone: Annotated[
        str | None, typer.Option("--tz", "--timezone", help="IANA time zone, e.g. Asia/Seoul (new: UTC)")
    ] = None,
    require_approval: Annotated[
        bool | None,
        typer.Option("--require-approval/--no-require-approval", help="staff's posts wait for a manager"),
    ] = None,
    starts: Annotated[
        str | None,
        typer.Option("--starts", help='first day or time, local: 2027-01-01 or 2027-01-01T09:00 ("": open)'),
    ] = None,
    ends: Annotated[
        str | None,
        typer.Option(
            "--ends", help='end, local: 2027-03-31 (that day included) or 2027-03-31T18:00 ("": open)'
        ),
    ] = None,
    hashtags: Annotated[
        str | None, typer.Option("--hashtags", help='appended to every post: "#통일 #Unification" ("": none)')
    ] = None,
    utm: Annotated[
        bool | None,
        typer.Option("--utm/--no-utm", help="add utm_source (platform), utm_medium, utm_campaign to links"),
    ] = None,
) -> None:
    """Create a campaign or change its settings. Nothing outside its date range is queued."""
    try:
        c = service().set_campaign(
            name,
            late_tolerance_seconds=late_tolerance,
            require_alt_text=require_alt_text,
            protect_faces=protect_faces,
            timezone=timezone,
            requires_approval=require_approval,
            starts=starts,
            ends=ends,
            hashtags=hashtags,
            utm=utm,
        )
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(json.dumps(c.to_dict(), ensure_ascii=False))


@campaign_app.command("list")
def campaign_list(fmt: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """List campaigns and their settings."""
    emit(
        [c.to_dict() for c in service().list_campaigns()],
        fmt,
        [
            "name",
            "timezone",
            "late_tolerance_seconds",
            "require_alt_text",
            "protect_faces",
            "requires_approval",
            "paused",
            "starts_local",
            "ends_local",
            "hashtags",
            "utm",
        ],
    )


@campaign_app.command("show")
def campaign_show(name: str) -> None:
    """A campaign's settings and blackout windows, as JSON."""
    try:
        c = service().show_campaign(name)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(json.dumps(c.to_dict(), ensure_ascii=False, indent=2))


blackout_app = typer.Typer(
    help="Blackout windows: local-time windows when nothing of a campaign goes out.", no_args_is_help=True
)
campaign_app.add_typer(blackout_app, name="blackout")


@blackout_app.command("add")
def blackout_add(
    name: str,
    start: Annotated[str, typer.Option("--from", help="local start: 2027-06-06T00:00 (or a date)")],
    end: Annotated[str, typer.Option("--to", help="local end: 2027-06-07T00:00 (a date: that day included)")],
    mode: Annotated[
        str, typer.Option("--mode", help="wait (go out at the end, in order) or hold (held for a person)")
    ] = "wait",
    label: Annotated[str, typer.Option("--label", help='e.g. "Memorial Day"')] = "",
) -> None:
    """Add a blackout window (managers, admins). Posts already queued inside it move to its end
    or are held now. In the audit log."""
    try:
        b = service().add_blackout(name, starts=start, ends=end, mode=mode, label=label)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(json.dumps(b.to_dict(), ensure_ascii=False))


@blackout_app.command("list")
def blackout_list(name: str, fmt: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """A campaign's blackout windows, in its time zone."""
    try:
        rows = service().list_blackouts(name)
    except HeraldError as e:
        raise fail(str(e)) from None
    emit([b.to_dict() for b in rows], fmt, ["id", "label", "mode", "starts_local", "ends_local"])


@blackout_app.command("remove")
def blackout_remove(name: str, blackout_id: int) -> None:
    """Remove a blackout window (posts it moved keep their time; those it held stay held)."""
    try:
        b = service().remove_blackout(name, blackout_id)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(
        _("removed blackout %(id)s of %(campaign)s (%(start)s to %(end)s)")
        % {"id": b.id, "campaign": name, "start": b.starts_local, "end": b.ends_local}
    )


@app.command("purge-photos")
def purge_photos(
    days: Annotated[int | None, typer.Option("--days", help="default: HERALD_PHOTO_RETENTION_DAYS")] = None,
) -> None:
    """Drop the bytes of photos whose posts are all done and older than the retention."""
    n = service().purge_photos(
        older_than_days=days if days is not None else get_settings().photo_retention_days
    )
    typer.echo(ngettext("purged %(n)d photo", "purged %(n)d photos", n) % {"n": n})
