"""``herald log``, ``herald stats`` and ``herald check``: what went out, how well, and whether a
draft fits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from herald.cli.app import (
    Format,
    app,
    emit,
    fail,
    read_photo,
    service,
)
from herald.core.errors import HeraldError


@app.command("log")
def delivery_log(
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
    campaign: Annotated[str | None, typer.Option("--campaign")] = None,
    channel: Annotated[str | None, typer.Option("--channel")] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
) -> None:
    """The delivery log: one record per (post, channel)."""
    try:
        rows = service().delivery_log(campaign=campaign, channel=channel, status=status)
    except HeraldError as e:
        raise fail(str(e)) from None
    emit(
        [r.to_dict() for r in rows],
        fmt,
        [
            "post_id",
            "channel",
            "platform",
            "status",
            "scheduled_at",
            "published_at",
            "attempts",
            "remote_url",
            "error",
        ],
    )


@app.command()
def stats(fmt: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """Success rates per campaign and platform."""
    rows = service().stats()
    emit(
        [r.to_dict() for r in rows],
        fmt,
        ["campaign", "platform", "published", "failed", "uncertain", "queued", "success_rate"],
    )


@app.command()
def check(
    channel: Annotated[list[str], typer.Option("--channel", help="a channel to check against")] = [],  # noqa: B006
    platform: Annotated[list[str], typer.Option("--platform", help="a platform to check against")] = [],  # noqa: B006
    text: Annotated[str, typer.Option("--text")] = "",
    photo: Annotated[list[Path], typer.Option("--photo")] = [],  # noqa: B006
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """Does this draft fit each channel or platform? Queues nothing; exit 1 if any does not fit."""
    from herald.service import PhotoInput  # lazy: start-up cost

    try:
        rows = service().check(
            channel, text, [PhotoInput(read_photo(p), p.name) for p in photo], platforms=platform
        )
    except HeraldError as e:
        raise fail(str(e)) from None
    emit(
        [r.to_dict() for r in rows],
        fmt,
        ["channel", "platform", "fits", "count", "limit", "unit", "problems"],
    )
    if not all(r.fits for r in rows):
        raise typer.Exit(1)
