"""``herald channel``: add, list and resume channels.

Credentials for ``channel add`` come from a file (``--credentials-file``), standard input
(``--credentials-stdin``) or a hidden prompt, none of which ``ps`` or the shell's history can
show; ``--credential KEY=VALUE`` still works but puts the secret on the command line.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
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
from herald.core.errors import HeraldError, InputError
from herald.core.i18n import _

CREDENTIAL_HELP = (
    "KEY=VALUE, repeatable. Unsafe on a shared machine: other users see it in `ps`, and it stays "
    "in your shell's history; prefer --credentials-file, --credentials-stdin or the prompt"
)
CREDENTIALS_FORMAT = "one KEY=VALUE per line (blank lines and # comments ignored) or a JSON object"
TokenExpires = Annotated[
    str | None,
    typer.Option(
        "--token-expires",
        help="when its access token expires: YYYY-MM-DD (UTC), an ISO 8601 time, or none "
        "(Meta's long-lived tokens last 60 days); alerts go out from 7 days before",
    ),
]


@channel_app.command("add")
def channel_add(
    name: Annotated[str, typer.Argument(help="A short name, e.g. korea-x")],
    platform: Annotated[str, typer.Option("--platform", help="x, mastodon, ...")],
    credential: Annotated[list[str], typer.Option("--credential", help=CREDENTIAL_HELP)] = [],  # noqa: B006
    credentials_file: Annotated[
        Path | None,
        typer.Option("--credentials-file", help=f"read credentials from this file: {CREDENTIALS_FORMAT}"),
    ] = None,
    credentials_stdin: Annotated[
        bool,
        typer.Option(
            "--credentials-stdin", help=f"read credentials from standard input: {CREDENTIALS_FORMAT}"
        ),
    ] = False,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="override the platform's API root")
    ] = None,
    option: Annotated[list[str], typer.Option("--option", help="KEY=VALUE channel option")] = [],  # noqa: B006
    tz: Annotated[
        str | None,
        typer.Option(
            "--tz", "--timezone", help="IANA time zone of its posting slots, e.g. Asia/Seoul (default UTC)"
        ),
    ] = None,
    token_expires: TokenExpires = None,
) -> None:
    """Add a channel. Credentials are encrypted at rest and never shown again. Any the platform
    needs that no option gave are asked for with hidden input when run in a terminal."""
    try:
        expires = _expiry(token_expires)
        creds = pairs(credential, "credential", secret=True)
        if credentials_file is not None:
            _merge(creds, _parse_credentials(_read_file(credentials_file), "credentials-file"))
        if credentials_stdin:
            _merge(creds, _parse_credentials(sys.stdin.read(), "credentials-stdin"))
        elif sys.stdin.isatty():
            _prompt_missing(platform, creds)
        opts = pairs(option, "option")
        herald = service()
        cid = herald.add_channel(name, platform, creds, base_url=base_url, options=opts, timezone=tz)
        if token_expires is not None:
            herald.set_token_expiry(name, expires)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(_("channel %(name)s (%(platform)s) added") % {"name": name, "platform": platform})
    typer.echo(str(cid))


@channel_app.command("set")
def channel_set(name: str, token_expires: TokenExpires = None) -> None:
    """Change a channel: when its access token expires (alerts go out from 7 days before)."""
    if token_expires is None:
        raise fail(_("nothing to change: give --token-expires"))
    try:
        service().set_token_expiry(name, _expiry(token_expires))
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(_("channel %(name)s: token expires %(when)s") % {"name": name, "when": token_expires})


def _expiry(value: str | None) -> datetime | None:
    from herald.service.alerts import parse_expiry  # lazy: start-up cost

    return None if value is None else parse_expiry(value)


@channel_app.command("list")
def channel_list(fmt: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """List channels (credential names only, never values)."""
    emit(
        [c.to_dict() for c in service().list_channels()],
        fmt,
        ["id", "name", "platform", "base_url", "paused", "credentials"],
    )


@channel_app.command("pause")
def channel_pause(
    name: str, reason: Annotated[str | None, typer.Option("--reason", help="why, for the log")] = None
) -> None:
    """Pause a channel: its queued posts are held at once and nothing of it goes out until
    `herald channel resume` (a try under way finishes)."""
    try:
        n = service().pause_channel(name, reason=reason)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(_("channel %(name)s paused; %(n)d queued deliveries held") % {"name": name, "n": n})


@channel_app.command("resume")
def channel_resume(
    name: str,
    reschedule: Annotated[
        str,
        typer.Option(
            "--reschedule",
            help="keep: held posts keep their time and go out late; next-slot: each moves to the "
            "channel's next free slot",
        ),
    ] = "keep",
) -> None:
    """Unpause a channel (after fixing its credentials, or a person's pause) and requeue its
    held posts."""
    try:
        n = service().resume_channel(name, reschedule=reschedule)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(_("channel %(name)s resumed; %(n)d held deliveries requeued") % {"name": name, "n": n})


def _read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
        raise InputError(
            "credentials-file", _("cannot read %(path)r: %(why)s") % {"path": str(path), "why": reason}
        ) from None


def _parse_credentials(text: str, source: str) -> dict[str, str]:
    """Credentials in ``text``: a JSON object of strings (or numbers), or KEY=VALUE lines.
    Raises InputError naming ``source`` and the line, never a value."""
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(source, _("not a valid JSON object (line %(n)d)") % {"n": e.lineno}) from None
        if not isinstance(data, dict):
            raise InputError(source, _("expected a JSON object of KEY: VALUE"))
        out: dict[str, str] = {}
        for key, value in data.items():
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise InputError(source, _("%(key)s: expected a string") % {"key": key})
            out[str(key).strip()] = str(value)
        return out
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise InputError(source, _("line %(n)d: expected KEY=VALUE") % {"n": n})
        if key.strip() in out:
            raise InputError(source, _("line %(n)d: %(key)s given twice") % {"n": n, "key": key.strip()})
        out[key.strip()] = value
    return out


def _merge(into: dict[str, str], more: dict[str, str]) -> None:
    """Add ``more`` to ``into``; a key given by two sources is an error, not a silent choice."""
    both = sorted(set(into) & set(more))
    if both:
        raise InputError("credential", _("given more than once: %(keys)s") % {"keys": ", ".join(both)})
    into.update(more)


def _prompt_missing(platform: str, creds: dict[str, str]) -> None:
    """Ask, with hidden input, for each credential ``platform`` needs that ``creds`` lacks (an
    unknown platform is left to the service to refuse)."""
    from herald.platforms import connector_class  # lazy: start-up cost

    try:
        needed = connector_class(platform).credential_keys
    except HeraldError:
        return
    for key in needed:
        if not creds.get(key, "").strip():
            creds[key] = typer.prompt(key, hide_input=True)
