"""``herald channel``: add, list and resume channels."""

from __future__ import annotations

from typing import Annotated

import typer

from herald.cli.app import (
    Format,
    channel_app,
    emit,
    fail,
    pairs,
    service,
)
from herald.core.errors import HeraldError


@channel_app.command("add")
def channel_add(
    name: Annotated[str, typer.Argument(help="A short name, e.g. korea-x")],
    platform: Annotated[str, typer.Option("--platform", help="x, mastodon, ...")],
    credential: Annotated[list[str], typer.Option("--credential", help="KEY=VALUE, repeatable")] = [],  # noqa: B006
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="override the platform's API root")
    ] = None,
    option: Annotated[list[str], typer.Option("--option", help="KEY=VALUE channel option")] = [],  # noqa: B006
) -> None:
    """Add a channel. Credentials are encrypted at rest and never shown again."""
    try:
        creds = pairs(credential, "credential")
        opts = pairs(option, "option")
        cid = service().add_channel(name, platform, creds, base_url=base_url, options=opts)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(f"channel {name} ({platform}) added")
    typer.echo(str(cid))


@channel_app.command("list")
def channel_list(fmt: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """List channels (credential names only, never values)."""
    emit(
        [c.to_dict() for c in service().list_channels()],
        fmt,
        ["id", "name", "platform", "base_url", "paused", "credentials"],
    )


@channel_app.command("resume")
def channel_resume(name: str) -> None:
    """Unpause a channel (after fixing its credentials) and requeue its held posts."""
    try:
        n = service().resume_channel(name)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(f"channel {name} resumed; {n} held deliveries requeued")
