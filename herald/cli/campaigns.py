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
) -> None:
    """Create a campaign or change its settings."""
    try:
        c = service().set_campaign(
            name,
            late_tolerance_seconds=late_tolerance,
            require_alt_text=require_alt_text,
            protect_faces=protect_faces,
            timezone=timezone,
            requires_approval=require_approval,
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
        ],
    )


@app.command("purge-photos")
def purge_photos(
    days: Annotated[int | None, typer.Option("--days", help="default: HERALD_PHOTO_RETENTION_DAYS")] = None,
) -> None:
    """Drop the bytes of photos whose posts are all done and older than the retention."""
    n = service().purge_photos(
        older_than_days=days if days is not None else get_settings().photo_retention_days
    )
    typer.echo(f"purged {n} photos")
