"""``herald``: the command line. Every command goes through the service layer; none publishes.

Imports marked "lazy: start-up cost" stay inside the commands that use them: the service layer
brings OpenCV, Pillow and SQLAlchemy (about a second), so `herald --help` and `herald log` do not
pay for what `herald post add` needs."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from herald.core.errors import HeraldError, InputError
from herald.core.logs import setup_logging
from herald.core.settings import get_settings
from herald.core.times import parse_time

log = logging.getLogger(__name__)

app = typer.Typer(help="Herald: social media campaign scheduler.", no_args_is_help=True, add_completion=False)
channel_app = typer.Typer(help="Channels: one account on one platform.", no_args_is_help=True)
post_app = typer.Typer(help="Posts: queue, list, cancel.", no_args_is_help=True)
campaign_app = typer.Typer(help="Campaigns: settings shared by their posts.", no_args_is_help=True)
app.add_typer(channel_app, name="channel")
app.add_typer(post_app, name="post")
app.add_typer(campaign_app, name="campaign")

#: Exit code for bad input (the message names the problem; nothing was queued).
EXIT_BAD_INPUT = 2


class _KeepArgs(TyperCommand):
    """Remembers the raw arguments so repeated options can be paired in the order given
    (each ``--alt`` belongs to the ``--photo`` before it)."""

    # Any: typer vendors its own click; its Context type is private.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta["raw_args"] = list(args)
        return super().parse_args(ctx, args)


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _service() -> Any:
    from herald.runtime import service  # lazy: start-up cost

    return service()


def _emit(rows: list[dict[str, Any]], fmt: str, columns: list[str]) -> None:
    if fmt == "json":
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    widths = {c: max([len(c)] + [len(_cell(r.get(c))) for r in rows]) for c in columns}
    widths = {c: min(w, 60) for c, w in widths.items()}
    typer.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        typer.echo("  ".join(_cell(r.get(c))[: widths[c]].ljust(widths[c]) for c in columns))


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, dict):
        return ",".join(f"{k}:{x}" for k, x in v.items())
    return str(v).replace("\n", " ")


@app.callback()
def _main() -> None:
    s = get_settings()
    setup_logging(s.log_level if os.environ.get("HERALD_LOG_LEVEL") else "WARNING", s.log_format)


# -- setup -------------------------------------------------------------------------------------


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from herald.store.db import Database  # lazy: start-up cost

    Database(get_settings().sqlalchemy_url).migrate()
    typer.echo("database is at the newest schema")


# -- channels ----------------------------------------------------------------------------------


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
        creds = _pairs(credential, "credential")
        opts = _pairs(option, "option")
        cid = _service().add_channel(name, platform, creds, base_url=base_url, options=opts)
    except HeraldError as e:
        raise _fail(str(e)) from None
    typer.echo(f"channel {name} ({platform}) added")
    typer.echo(str(cid))


@channel_app.command("list")
def channel_list(fmt: Annotated[str, typer.Option("--format")] = "table") -> None:
    """List channels (credential names only, never values)."""
    _emit(_service().list_channels(), fmt, ["id", "name", "platform", "base_url", "paused", "credentials"])


@channel_app.command("resume")
def channel_resume(name: str) -> None:
    """Unpause a channel (after fixing its credentials) and requeue its held posts."""
    try:
        n = _service().resume_channel(name)
    except HeraldError as e:
        raise _fail(str(e)) from None
    typer.echo(f"channel {name} resumed; {n} held deliveries requeued")


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(what, f"expected KEY=VALUE, got {item.split('=')[0]!r}")
        out[key.strip()] = value
    return out


# -- posts -------------------------------------------------------------------------------------


@post_app.command("add", cls=_KeepArgs)
def post_add(
    ctx: typer.Context,
    channel: Annotated[list[str], typer.Option("--channel", help="channel name, repeatable")],
    text: Annotated[str, typer.Option("--text", help="the post's text")] = "",
    text_for: Annotated[list[str], typer.Option("--text-for", help="NAME=TEXT for one channel")] = [],  # noqa: B006
    photo: Annotated[list[Path], typer.Option("--photo", help="photo file, repeatable (≤ 4)")] = [],  # noqa: B006
    alt: Annotated[list[str], typer.Option("--alt", help="alt text for the --photo before it")] = [],  # noqa: B006
    at: Annotated[str | None, typer.Option("--at", help="ISO 8601 time, e.g. 2026-12-01T09:00+09:00")] = None,
    now: Annotated[bool, typer.Option("--now", help="publish as soon as possible")] = False,
    campaign: Annotated[str | None, typer.Option("--campaign")] = None,
    language: Annotated[str | None, typer.Option("--language", help="ISO 639-1, e.g. ko")] = None,
    protect_faces: Annotated[
        str | None, typer.Option("--protect-faces", help="blur or pixelate every face in the photos")
    ] = None,
) -> None:
    """Queue a post. Prints the new post id as the last line."""
    from herald.service import PhotoInput, PostRequest  # lazy: start-up cost

    try:
        if at is None and not now:
            raise InputError("at", "give --at TIME or --now")
        if at is not None and now:
            raise InputError("at", "give either --at or --now, not both")
        when = parse_time(at) if at is not None else None
        alts = _pair_alts(ctx.meta.get("raw_args", []), len(photo), alt)
        photos = [
            PhotoInput(data=_read_photo(p), filename=p.name, alt_text=a, protect_faces=protect_faces)
            for p, a in zip(photo, alts, strict=True)
        ]
        req = PostRequest(
            channels=channel,
            text=text,
            text_for=_pairs(text_for, "text-for"),
            photos=photos,
            at=when,
            campaign=campaign,
            language=language,
        )
        post_id = _service().add_post(req)
    except HeraldError as e:
        raise _fail(str(e)) from None
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
        outcome = import_posts(_service(), read_csv(path), dry_run=dry_run)
    except HeraldError as e:
        raise _fail(str(e)) from None
    if outcome.problems:
        raise _fail(
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


def _read_photo(path: Path) -> bytes:
    try:
        if not path.is_file():
            raise InputError("photo", f"{path.name!r} is not a file")
        return path.read_bytes()
    except OSError as e:
        raise InputError("photo", f"cannot read {path.name!r}: {e.strerror}") from None


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
    fmt: Annotated[str, typer.Option("--format")] = "table",
    campaign: Annotated[str | None, typer.Option("--campaign")] = None,
) -> None:
    """List posts with the state of each delivery."""
    _emit(
        _service().list_posts(campaign=campaign),
        fmt,
        ["id", "scheduled_at", "campaign", "deliveries", "text"],
    )


@post_app.command("cancel")
def post_cancel(post_id: str) -> None:
    """Cancel whatever of a post has not gone out yet."""
    try:
        res = _service().cancel_post(post_id)
    except HeraldError as e:
        raise _fail(str(e)) from None
    typer.echo(f"cancelled {len(res['cancelled'])} deliveries")
    if res["too_late"]:
        typer.echo(f"{len(res['too_late'])} already publishing or done; see `herald log --format table`")


@post_app.command("takedown")
def post_takedown(post_id: str, channel: Annotated[str | None, typer.Option("--channel")] = None) -> None:
    """Pull a post: delete it wherever it was published (or from one channel), cancel the rest."""
    try:
        res = _service().takedown(post_id, channel=channel)
    except HeraldError as e:
        raise _fail(str(e)) from None
    for key, label in (
        ("deleting", "being deleted from"),
        ("after_publish", "will be deleted right after publishing on"),
        ("cancelled", "cancelled on"),
        ("cannot_delete", "CANNOT be deleted through the API of"),
    ):
        if res.get(key):
            typer.echo(f"{label}: {', '.join(res[key])}")
    if res.get("cannot_delete"):
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
        _service().confirm_published(post_id, channel, url=url)
    except HeraldError as e:
        raise _fail(str(e)) from None
    typer.echo(f"{post_id} on {channel} recorded as published")


def _requeue(post_id: str, channel: str | None, what: str) -> None:
    try:
        ids = _service().requeue(post_id, channel=channel, what=what)
    except HeraldError as e:
        raise _fail(str(e)) from None
    typer.echo(f"{len(ids)} deliveries queued to go out now")


@campaign_app.command("set")
def campaign_set(
    name: str,
    late_tolerance: Annotated[
        int | None, typer.Option("--late-tolerance", help="seconds late before a post is held (0: never)")
    ] = None,
    require_alt_text: Annotated[bool | None, typer.Option("--require-alt-text/--no-require-alt-text")] = None,
    protect_faces: Annotated[
        str | None, typer.Option("--protect-faces", help="blur, pixelate or off")
    ] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", help="e.g. Asia/Seoul")] = None,
) -> None:
    """Create a campaign or change its settings."""
    try:
        c = _service().set_campaign(
            name,
            late_tolerance_seconds=late_tolerance,
            require_alt_text=require_alt_text,
            protect_faces=protect_faces,
            timezone=timezone,
        )
    except HeraldError as e:
        raise _fail(str(e)) from None
    typer.echo(json.dumps(c, ensure_ascii=False))


@campaign_app.command("list")
def campaign_list(fmt: Annotated[str, typer.Option("--format")] = "table") -> None:
    """List campaigns and their settings."""
    _emit(
        _service().list_campaigns(),
        fmt,
        ["name", "timezone", "late_tolerance_seconds", "require_alt_text", "protect_faces"],
    )


@app.command("purge-photos")
def purge_photos(
    days: Annotated[int | None, typer.Option("--days", help="default: HERALD_PHOTO_RETENTION_DAYS")] = None,
) -> None:
    """Drop the bytes of photos whose posts are all done and older than the retention."""
    n = _service().purge_photos(
        older_than_days=days if days is not None else get_settings().photo_retention_days
    )
    typer.echo(f"purged {n} photos")


# -- log and stats -----------------------------------------------------------------------------


@app.command("log")
def delivery_log(
    fmt: Annotated[str, typer.Option("--format")] = "table",
    campaign: Annotated[str | None, typer.Option("--campaign")] = None,
    channel: Annotated[str | None, typer.Option("--channel")] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
) -> None:
    """The delivery log: one record per (post, channel)."""
    try:
        rows = _service().delivery_log(campaign=campaign, channel=channel, status=status)
    except HeraldError as e:
        raise _fail(str(e)) from None
    _emit(
        rows,
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
def stats(fmt: Annotated[str, typer.Option("--format")] = "table") -> None:
    """Success rates per campaign and platform."""
    rows = _service().stats()
    _emit(rows, fmt, ["campaign", "platform", "published", "failed", "uncertain", "queued", "success_rate"])


@app.command()
def check(
    channel: Annotated[list[str], typer.Option("--channel", help="a channel to check against")] = [],  # noqa: B006
    platform: Annotated[list[str], typer.Option("--platform", help="a platform to check against")] = [],  # noqa: B006
    text: Annotated[str, typer.Option("--text")] = "",
    photo: Annotated[list[Path], typer.Option("--photo")] = [],  # noqa: B006
    fmt: Annotated[str, typer.Option("--format")] = "table",
) -> None:
    """Does this draft fit each channel or platform? Queues nothing; exit 1 if any does not fit."""
    from herald.service import PhotoInput  # lazy: start-up cost

    try:
        rows = _service().check(
            channel, text, [PhotoInput(_read_photo(p), p.name) for p in photo], platforms=platform
        )
    except HeraldError as e:
        raise _fail(str(e)) from None
    _emit(rows, fmt, ["channel", "platform", "fits", "count", "limit", "unit", "problems"])
    if not all(r["fits"] for r in rows):
        raise typer.Exit(1)


# -- processes ---------------------------------------------------------------------------------


#: Exit status of a worker that stopped without being asked to (EX_SOFTWARE).
EXIT_UNASKED = 70


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option("--concurrency", "-c")] = None,
    pool: Annotated[str, typer.Option("--pool", "-P", help="prefork or threads")] = "prefork",
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="node name (default herald-PID@HOST)")
    ] = None,
) -> None:
    """Run a Celery worker that publishes due deliveries.

    It rides out Redis outages of any length. It ends only when asked (SIGTERM, SIGINT): any
    other end is logged as an error and exits non-zero (the watchdog's, for a deaf consumer,
    with 75), so that a supervisor (herald up, compose, systemd) starts a fresh one."""
    from celery.bin.celery import celery as celery_command  # lazy: start-up cost
    from celery.signals import worker_shutting_down  # lazy: start-up cost

    from content_queue.keys import HANDOVER_QUEUE  # lazy: start-up cost

    s = get_settings()
    setup_logging(s.log_level, s.log_format)
    asked: list[str] = []

    def _asked(sig: str | None = None, **_: Any) -> None:
        asked.append(str(sig))

    worker_shutting_down.connect(_asked, weak=False)
    # Celery's own command line, as `celery -A tasks worker` runs it, but keeping its exit
    # status: app.worker_main() and app.start() drop it, which made a failed worker exit 0.
    status = celery_command.main(
        args=[
            "-A",
            "tasks",
            "worker",
            "--loglevel",
            s.log_level,
            "-c",
            str(concurrency or s.worker_concurrency),
            "-P",
            pool,
            "-Q",
            HANDOVER_QUEUE,
            "--without-gossip",
            "--without-mingle",
            "-n",
            name or f"herald-{os.getpid()}@%h",
        ],
        prog_name="herald worker",
        standalone_mode=False,
    )
    status = int(status or 0)
    if not asked:
        log.error(
            "worker stopped without being asked to (Celery's exit status %d; the lines above say "
            "why); exiting with %d so that its supervisor starts a fresh one",
            status,
            status or EXIT_UNASKED,
        )
        sys.exit(status or EXIT_UNASKED)
    log.info("worker stopped (%s)", ", ".join(asked))
    sys.exit(status)


@app.command()
def scheduler() -> None:
    """Run the dispatcher: claim due deliveries and hand them to the workers."""
    from tasks.handover import build_dispatcher  # lazy: start-up cost

    s = get_settings()
    setup_logging(s.log_level, s.log_format)
    d = build_dispatcher()
    _stop_on_signals(d.stop)
    d.run()


def _stop_on_signals(stop: Any) -> None:
    def handler(signum: int, _frame: Any) -> None:
        log.info("received signal %d; stopping", signum)
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@app.command()
def web(
    host: Annotated[str | None, typer.Option("--host")] = None,
    port: Annotated[int | None, typer.Option("--port")] = None,
) -> None:
    """Run the web app."""
    import uvicorn

    s = get_settings()
    setup_logging(s.log_level, s.log_format)
    uvicorn.run(
        "herald.web.app:create_app",
        factory=True,
        host=host or s.web_host,
        port=port or s.web_port,
        log_level="warning",
    )


@app.command()
def up(
    sandbox: Annotated[
        bool, typer.Option("--sandbox/--no-sandbox", help="run the local platform sandbox")
    ] = True,
    port: Annotated[int | None, typer.Option("--port")] = None,
) -> None:
    """Everything in one, in the foreground: embedded Redis (unless HERALD_REDIS_URL is set),
    database migration, the sandbox, the scheduler, a worker and the web app."""
    from herald.up import run_all  # lazy: start-up cost

    s = get_settings()
    setup_logging(s.log_level, s.log_format)
    sys.exit(run_all(sandbox=sandbox, port=port))


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    threading.current_thread().name = "herald"
    main()
