"""``herald alert``: where alerts go (add, list, remove) and a test alert.

A target's URL holds a password or token: give it on standard input (``--url-stdin``) or at the
hidden prompt rather than as an argument, which ``ps`` and the shell's history show. It is
never printed back: lists show its scheme and host.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from herald.cli.app import Format, emit, fail, service
from herald.core.errors import HeraldError
from herald.core.i18n import _

alert_app = typer.Typer(
    help="Alerts: failed posts, tokens about to expire, stalled workers, to mail, webhooks, chat.",
    no_args_is_help=True,
)

Campaign = Annotated[
    str | None,
    typer.Option("--campaign", help="this campaign's alerts (default: installation-wide, every campaign's)"),
]


@alert_app.command("add")
def alert_add(
    url: Annotated[
        str | None,
        typer.Argument(
            help="an apprise URL (mailtos://user:pass@smtp.example.org?to=ops@example.org, "
            "jsons://hooks.example.org/path, tgram://BOT_TOKEN/CHAT_ID, slack://..., matrixs://...). "
            "Unsafe here on a shared machine; prefer --url-stdin or the prompt",
            show_default=False,
        ),
    ] = None,
    campaign: Campaign = None,
    url_stdin: Annotated[bool, typer.Option("--url-stdin", help="read the URL from standard input")] = False,
) -> None:
    """Add an alert target. Its URL is encrypted at rest and never shown again."""
    try:
        if url_stdin:
            url = sys.stdin.readline().strip()
        elif url is None:
            if not sys.stdin.isatty():
                raise fail(_("give the target URL as an argument, with --url-stdin, or at the prompt"))
            url = typer.prompt("apprise URL", hide_input=True)
        tid = service().add_alert_target(url, campaign=campaign)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(_("alert target %(id)s added") % {"id": tid})


@alert_app.command("list")
def alert_list(fmt: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """List alert targets (scheme and host only, never the URL)."""
    emit(
        [t.to_dict() for t in service().list_alert_targets()],
        fmt,
        ["id", "campaign", "shown", "created_by", "created_at"],
    )


@alert_app.command("remove")
def alert_remove(target_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Remove an alert target."""
    try:
        service().remove_alert_target(target_id)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(_("alert target %(id)s removed") % {"id": target_id})


@alert_app.command("test")
def alert_test(
    campaign: Campaign = None, fmt: Annotated[Format, typer.Option("--format")] = Format.table
) -> None:
    """Send a test alert now to where the campaign's (or the installation's) alerts go."""
    try:
        done = service().test_alert(campaign=campaign)
    except HeraldError as e:
        raise fail(str(e)) from None
    if Format(fmt) is Format.json:
        typer.echo(json.dumps(done.to_dict(), ensure_ascii=False))
        return
    if done.outcome == "unrouted":
        raise fail(_("no alert target: add one with `herald alert add`"), 1)
    if done.outcome == "queued":
        typer.echo(_("test alert %(id)s queued; the scheduler sends it") % {"id": done.alert_id})
        return
    for t in done.targets:
        why = f": {t['error']}" if t.get("error") else ""
        typer.echo(f"{t['id']} {t['shown']}: {t['outcome']}{why}")
    if done.outcome != "sent":
        raise typer.Exit(1)
