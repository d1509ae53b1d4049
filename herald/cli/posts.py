"""``herald post``: queue (one or a CSV file), list, cancel, take down, retry, confirm."""

from __future__ import annotations

import json
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
from herald.core.i18n import _
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
    each_channel: Annotated[
        bool,
        typer.Option(
            "--each-channel",
            help="with --next-slot: each channel's own next free slot, not one common to all",
        ),
    ] = False,
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
    thread: Annotated[
        bool,
        typer.Option(
            "--thread",
            help="a text too long for one post goes out as a thread (X, Bluesky, Mastodon, Threads) "
            "or a post and its first comment (Facebook, Instagram, LinkedIn); a line of --- "
            "chooses where the parts break",
        ),
    ] = False,
    first_comment: Annotated[
        str | None,
        typer.Option("--first-comment", help="a first comment under the post (a last reply on threads)"),
    ] = None,
    repeat: Annotated[
        str | None,
        typer.Option(
            "--repeat",
            help='an RFC 5545 RRULE with an end, e.g. "FREQ=WEEKLY;BYDAY=MO;COUNT=4": one post per '
            "occurrence from --at (the first), on the wall clock of --tz, else the campaign's zone",
        ),
    ] = None,
    campaign: Annotated[str | None, typer.Option("--campaign")] = None,
    language: Annotated[str | None, typer.Option("--language", help="ISO 639-1, e.g. ko")] = None,
    language_for: Annotated[
        list[str], typer.Option("--language-for", help="NAME=LANG for one channel, e.g. seoul=ko")
    ] = [],  # noqa: B006
    protect_faces: Annotated[
        str | None, typer.Option("--protect-faces", help="blur or pixelate every face in the photos")
    ] = None,
) -> None:
    """Queue a post. Prints the new post id as the last line (with --repeat: every
    occurrence's id, one per line, in order)."""
    from herald.service import PhotoInput, PostRequest  # lazy: start-up cost

    try:
        chosen = [
            name
            for name, given in (("--at", at is not None), ("--now", now), ("--next-slot", next_slot))
            if given
        ]
        if not chosen:
            raise InputError("at", _("give --at TIME, --now or --next-slot"))
        if len(chosen) > 1:
            raise InputError(
                "at",
                _("give one of --at, --now and --next-slot, not %(both)s") % {"both": " and ".join(chosen)},
            )
        if after is not None and not next_slot:
            raise InputError("after", _("--after goes with --next-slot"))
        if fold is not None and fold not in ("first", "second"):
            raise InputError("fold", _("--fold is first or second"))
        if repeat is not None and at is None:
            raise InputError(
                "repeat",
                _("--repeat needs --at (the first occurrence), not %(given)s") % {"given": chosen[0]},
            )
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
            languages=pairs(language_for, "language-for"),
            tz=tz,
            fold=None if fold is None else ("first", "second").index(fold),
            gap="forward" if shift_gap else "refuse",
            next_slot=next_slot,
            after=parse_time(after, field="after") if after is not None else None,
            slot_each=each_channel,
            thread=thread,
            first_comment=first_comment,
            repeat=repeat,
        )
        post_ids = service().add_posts([req])  # one id, or one per occurrence of --repeat
    except HeraldError as e:
        raise fail(str(e)) from None
    for post_id in post_ids:
        typer.echo(post_id)


@post_app.command("import")
def post_import(
    path: Annotated[
        Path, typer.Argument(help="CSV file: channels, at, text, text:NAME, photo1-4, alt1-4, ...")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check every row, queue nothing")] = False,
    encoding: Annotated[
        str,
        typer.Option(
            "--encoding",
            help="auto (UTF-8 with or without BOM, UTF-16 with BOM, else CP949), utf-8, cp949 "
            "(= euc-kr, Korean Excel) or utf-16",
        ),
    ] = "auto",
    campaign: Annotated[
        str | None,
        typer.Option("--campaign", help="rows without a campaign go to this one (and use its time zone)"),
    ] = None,
) -> None:
    """Queue every post of a CSV file, or none: each row is checked first, and every problem is
    reported with its line number. Prints the new post ids, one per line (one per occurrence of
    a row with a repeat rule)."""
    from herald.importing import import_posts, read_csv  # lazy: start-up cost

    try:
        outcome = import_posts(
            service(), read_csv(path, encoding=encoding, campaign=campaign), dry_run=dry_run
        )
    except HeraldError as e:
        raise fail(str(e)) from None
    if outcome.problems:
        raise fail(
            _("%(file)s: %(n)d problem(s), nothing queued:") % {"file": path.name, "n": len(outcome.problems)}
            + "".join(f"\n  {p}" for p in outcome.problems)
        )
    if dry_run:
        typer.echo(_("%(n)d posts would be queued") % {"n": outcome.rows}, err=True)
        return
    ids = outcome.post_ids
    for i in ids:
        typer.echo(i)
    typer.echo(_("%(n)d posts queued from %(file)s") % {"n": len(ids), "file": path.name}, err=True)


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
def post_cancel(
    post_id: str,
    following: Annotated[
        bool,
        typer.Option(
            "--following",
            help="an occurrence of a recurring post: cancel it and every later one of its series",
        ),
    ] = False,
) -> None:
    """Cancel whatever of a post has not gone out yet (with --following: of this occurrence
    and every later one; what was published stays)."""
    try:
        if following:
            series = service().cancel_following(post_id)
            typer.echo(_("%(n)d occurrence(s) of the series, from this one") % {"n": len(series.posts)})
            cancelled, too_late = series.cancelled, series.too_late
        else:
            res = service().cancel_post(post_id)
            cancelled, too_late = res.cancelled, res.too_late
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(_("cancelled %(n)d deliveries") % {"n": len(cancelled)})
    if too_late:
        typer.echo(
            _("%(n)d already publishing or done; see `herald log --format table`") % {"n": len(too_late)}
        )


@post_app.command("edit")
def post_edit(
    post_id: str,
    text: Annotated[str | None, typer.Option("--text", help="the new text, for every channel")] = None,
    text_for: Annotated[list[str], typer.Option("--text-for", help="NAME=TEXT for one channel")] = [],  # noqa: B006
    language_for: Annotated[
        list[str],
        typer.Option("--language-for", help="NAME=LANG: one channel's own language (NAME=: the post's)"),
    ] = [],  # noqa: B006
    following: Annotated[
        bool,
        typer.Option(
            "--following",
            help="an occurrence of a recurring post: edit it and every later one of its series",
        ),
    ] = False,
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """Change the text of a post that has not gone out yet, or a channel's language (with
    --following: of this occurrence and every later one). The same checks as queueing; times,
    photos and channels stay."""
    try:
        done = service().edit_post(
            post_id,
            text=text,
            text_for=pairs(text_for, "text-for"),
            language_for=pairs(language_for, "language-for"),
            following=following,
        )
    except HeraldError as e:
        raise fail(str(e)) from None
    if fmt is Format.json:
        typer.echo(json.dumps(done.to_dict(), ensure_ascii=False, indent=2))
        return
    typer.echo(
        _("edited %(posts)d post(s), %(deliveries)d deliveries")
        % {"posts": len(done.posts), "deliveries": len(done.deliveries)}
    )
    if done.too_late:
        typer.echo(_("%(n)d already publishing or done: they keep the old text") % {"n": len(done.too_late)})


@post_app.command("takedown")
def post_takedown(post_id: str, channel: Annotated[str | None, typer.Option("--channel")] = None) -> None:
    """Pull a post: delete it wherever it was published (or from one channel), cancel the rest."""
    try:
        res = service().takedown(post_id, channel=channel)
    except HeraldError as e:
        raise fail(str(e)) from None
    for names, label in (
        (res.deleting, _("being deleted from: %(channels)s")),
        (res.after_publish, _("will be deleted right after publishing on: %(channels)s")),
        (res.cancelled, _("cancelled on: %(channels)s")),
        (res.cannot_delete, _("CANNOT be deleted through the API of: %(channels)s")),
    ):
        if names:
            typer.echo(label % {"channels": ", ".join(names)})
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
    typer.echo(_("%(post)s on %(channel)s recorded as published") % {"post": post_id, "channel": channel})


def _requeue(post_id: str, channel: str | None, what: str) -> None:
    try:
        ids = service().requeue(post_id, channel=channel, what=what)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(_("%(n)d deliveries queued to go out now") % {"n": len(ids)})


@post_app.command("publish-now")
def post_publish_now(post_id: str) -> None:
    """Publish a queued (or scheduled-later) post now: its queued deliveries become due now.
    Refused for posts published, cancelled, held or waiting for approval, and during a blackout
    window. In the audit log."""
    try:
        done = service().publish_now(post_id)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(
        _("%(post)s due now on %(channels)s") % {"post": post_id, "channels": ", ".join(done.channels)}
    )


@post_app.command("duplicate")
def post_duplicate(
    post_id: str,
    channel: Annotated[list[str], typer.Option("--channel", help="a channel to post it to (repeatable)")],
    at: Annotated[
        str | None, typer.Option("--at", help="ISO 8601; without an offset, local to --tz or the campaign")
    ] = None,
    now: Annotated[bool, typer.Option("--now", help="publish as soon as possible")] = False,
    next_slot: Annotated[
        bool, typer.Option("--next-slot", help="the next free slot of its channels")
    ] = False,
    tz: Annotated[
        str | None, typer.Option("--tz", "--timezone", help="IANA zone a local --at is read in")
    ] = None,
) -> None:
    """A new post with the same text, photos, alt text and campaign for other channels, queued
    with every check (each platform its own renditions). Prints the new post id."""
    try:
        chosen = [
            name
            for name, given in (("--at", at is not None), ("--now", now), ("--next-slot", next_slot))
            if given
        ]
        if len(chosen) > 1:
            raise InputError(
                "at",
                _("give one of --at, --now and --next-slot, not %(both)s") % {"both": " and ".join(chosen)},
            )
        when = parse_time(at, local=True) if at is not None else None
        instant, local = (when, None) if when is None or when.tzinfo is not None else (None, when)
        new_id = service().duplicate_post(
            post_id, channel, at=instant, local_at=local, tz=tz, next_slot=next_slot
        )
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(new_id)
