"""``herald post``: queue (one or a CSV file), list, cancel, take down, retry, confirm."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from herald.cli.app import (
    Format,
    KeepArgs,
    emit,
    fail,
    pairs,
    post_app,
    read_photo,
    service,
)
from herald.core.errors import HeraldError, InputError
from herald.core.times import parse_time


@post_app.command("add", cls=KeepArgs)
def post_add(
    ctx: typer.Context,
    channel: Annotated[list[str], typer.Option("--channel", help="channel name, repeatable")],
    text: Annotated[str, typer.Option("--text", help="the post's text")] = "",
    text_for: Annotated[list[str], typer.Option("--text-for", help="NAME=TEXT for one channel")] = [],  # noqa: B006
    photo: Annotated[list[Path], typer.Option("--photo", help="photo file, repeatable (≤ 4)")] = [],  # noqa: B006
    alt: Annotated[list[str], typer.Option("--alt", help="alt text for the --photo before it")] = [],  # noqa: B006
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="ISO 8601 time, e.g. 2026-12-01T09:00+09:00; without an offset, a local time in "
            "--tz, else the campaign's zone, else UTC",
        ),
    ] = None,
    now: Annotated[bool, typer.Option("--now", help="publish as soon as possible")] = False,
    next_slot: Annotated[
        bool, typer.Option("--next-slot", help="the earliest free posting slot common to the channels")
    ] = False,
    after: Annotated[
        str | None, typer.Option("--after", help="with --next-slot: at or after this ISO 8601 instant")
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option("--tz", "--timezone", help="IANA zone a local --at is read in, e.g. Asia/Seoul"),
    ] = None,
    fold: Annotated[
        str | None,
        typer.Option("--fold", help="a local --at that happens twice (clocks fall back): first or second"),
    ] = None,
    shift_gap: Annotated[
        bool,
        typer.Option(
            "--shift-gap", help="a local --at that does not exist (clocks spring forward): move it forward"
        ),
    ] = False,
    campaign: Annotated[str | None, typer.Option("--campaign")] = None,
    language: Annotated[str | None, typer.Option("--language", help="ISO 639-1, e.g. ko")] = None,
    protect_faces: Annotated[
        str | None, typer.Option("--protect-faces", help="blur or pixelate every face in the photos")
    ] = None,
) -> None:
    """Queue a post. Prints the new post id as the last line."""
    from herald.service import PhotoInput, PostRequest  # lazy: start-up cost

    try:
        chosen = [
            name
            for name, given in (("--at", at is not None), ("--now", now), ("--next-slot", next_slot))
            if given
        ]
        if not chosen:
            raise InputError("at", "give --at TIME, --now or --next-slot")
        if len(chosen) > 1:
            raise InputError("at", f"give one of --at, --now and --next-slot, not {' and '.join(chosen)}")
        if after is not None and not next_slot:
            raise InputError("after", "--after goes with --next-slot")
        if fold is not None and fold not in ("first", "second"):
            raise InputError("fold", "--fold is first or second")
        when = parse_time(at, local=True) if at is not None else None
        instant, local = (when, None) if when is None or when.tzinfo is not None else (None, when)
        alts = _pair_alts(ctx.meta.get("raw_args", []), len(photo), alt)
        photos = [
            PhotoInput(data=read_photo(p), filename=p.name, alt_text=a, protect_faces=protect_faces)
            for p, a in zip(photo, alts, strict=True)
        ]
        req = PostRequest(
            channels=channel,
            text=text,
            text_for=pairs(text_for, "text-for"),
            photos=photos,
            at=instant,
            local_at=local,
            campaign=campaign,
            language=language,
            tz=tz,
            fold=None if fold is None else ("first", "second").index(fold),
            gap="forward" if shift_gap else "refuse",
            next_slot=next_slot,
            after=parse_time(after, field="after") if after is not None else None,
        )
        post_id = service().add_post(req)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(post_id)


@post_app.command("import")
def post_import(
    path: Annotated[
        Path, typer.Argument(help="CSV file: channels, at, text, text:NAME, photo1-4, alt1-4, ...")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check every row, queue nothing")] = False,
) -> None:
    """Queue every post of a CSV file, or none: each row is checked first, and every problem is
    reported with its line number. Prints the new post ids, one per line."""
    from herald.importing import import_posts, read_csv  # lazy: start-up cost

    try:
        outcome = import_posts(service(), read_csv(path), dry_run=dry_run)
    except HeraldError as e:
        raise fail(str(e)) from None
    if outcome.problems:
        raise fail(
            f"{path.name}: {len(outcome.problems)} problem(s), nothing queued:\n"
            + "\n".join(f"  {p}" for p in outcome.problems)
        )
    if dry_run:
        typer.echo(f"{outcome.rows} posts would be queued", err=True)
        return
    ids = outcome.post_ids
    for i in ids:
        typer.echo(i)
    typer.echo(f"{len(ids)} posts queued from {path.name}", err=True)


def _pair_alts(raw: list[str], n_photos: int, alts: list[str]) -> list[str]:
    """Give each photo the ``--alt`` that follows it (before the next ``--photo``)."""
    if not raw:
        return (alts + [""] * n_photos)[:n_photos] if len(alts) <= n_photos else _too_many_alts()
    out: list[str] = []
    i = 0
    while i < len(raw):
        tok = raw[i]
        name, eq, val = tok.partition("=")
        if name == "--photo":
            out.append("")
            i += 1 if eq else 2
            continue
        if name == "--alt":
            value = val if eq else (raw[i + 1] if i + 1 < len(raw) else "")
            if not out or out[-1] != "":
                if not out:
                    raise InputError("alt", "--alt must follow the --photo it describes")
                raise InputError("alt", "two --alt for one --photo")
            out[-1] = value
            i += 1 if eq else 2
            continue
        i += 1
    if len(out) != n_photos:  # options given in a form we did not parse: fall back to order
        return (alts + [""] * n_photos)[:n_photos]
    return out


def _too_many_alts() -> list[str]:
    raise InputError("alt", "more --alt than --photo")


@post_app.command("list")
def post_list(
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
    campaign: Annotated[str | None, typer.Option("--campaign")] = None,
) -> None:
    """List posts with the state of each delivery."""
    emit(
        [p.to_dict() for p in service().list_posts(campaign=campaign)],
        fmt,
        ["id", "scheduled_at", "campaign", "deliveries", "text"],
    )


@post_app.command("cancel")
def post_cancel(post_id: str) -> None:
    """Cancel whatever of a post has not gone out yet."""
    try:
        res = service().cancel_post(post_id)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(f"cancelled {len(res.cancelled)} deliveries")
    if res.too_late:
        typer.echo(f"{len(res.too_late)} already publishing or done; see `herald log --format table`")


@post_app.command("takedown")
def post_takedown(post_id: str, channel: Annotated[str | None, typer.Option("--channel")] = None) -> None:
    """Pull a post: delete it wherever it was published (or from one channel), cancel the rest."""
    try:
        res = service().takedown(post_id, channel=channel)
    except HeraldError as e:
        raise fail(str(e)) from None
    for names, label in (
        (res.deleting, "being deleted from"),
        (res.after_publish, "will be deleted right after publishing on"),
        (res.cancelled, "cancelled on"),
        (res.cannot_delete, "CANNOT be deleted through the API of"),
    ):
        if names:
            typer.echo(f"{label}: {', '.join(names)}")
    if res.cannot_delete:
        raise typer.Exit(1)


@post_app.command("release")
def post_release(post_id: str, channel: Annotated[str | None, typer.Option("--channel")] = None) -> None:
    """Send held deliveries now (a missed window, a channel that was paused)."""
    _requeue(post_id, channel, "release")


@post_app.command("retry")
def post_retry(post_id: str, channel: Annotated[str | None, typer.Option("--channel")] = None) -> None:
    """Send failed or uncertain deliveries again (check the platform first for uncertain ones)."""
    _requeue(post_id, channel, "retry")


@post_app.command("confirm")
def post_confirm(
    post_id: str,
    channel: Annotated[str, typer.Option("--channel")],
    url: Annotated[str | None, typer.Option("--url", help="the post's address on the platform")] = None,
) -> None:
    """Record an uncertain delivery as published (you found it on the platform)."""
    try:
        service().confirm_published(post_id, channel, url=url)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(f"{post_id} on {channel} recorded as published")


def _requeue(post_id: str, channel: str | None, what: str) -> None:
    try:
        ids = service().requeue(post_id, channel=channel, what=what)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(f"{len(ids)} deliveries queued to go out now")
