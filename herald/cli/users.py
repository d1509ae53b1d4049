"""``herald user`` and ``herald token``: people, their roles and their API tokens.

Passwords are read from standard input (one line), never from the command line, where ``ps``
and the shell's history would show them.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from herald.cli.app import Format, emit, fail, service
from herald.core.errors import HeraldError
from herald.core.i18n import _

user_app = typer.Typer(help="People: who may sign in, and their role per campaign.", no_args_is_help=True)
token_app = typer.Typer(help="Personal API tokens.", no_args_is_help=True)

ROLE_HELP = "staff, manager or admin"


def _password_from_stdin() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise fail(_("give the password on standard input (one line)"))
    return password


@user_app.command("add")
def user_add(
    email: str,
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)],
    campaign: Annotated[
        list[str],
        typer.Option("--campaign", help="a campaign the role holds in, repeatable (none: everywhere)"),
    ] = [],  # noqa: B006
) -> None:
    """Add a person with a role. The password is read from standard input (one line)."""
    password = _password_from_stdin()
    try:
        info = service().add_user(email, password, role, campaign)
    except HeraldError as e:
        raise fail(str(e)) from None
    where = ", ".join(campaign) or _("every campaign")
    typer.echo(
        _("%(email)s added as %(role)s in %(where)s") % {"email": info.email, "role": role, "where": where}
    )


@user_app.command("role")
def user_role(
    email: str,
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)],
    campaign: Annotated[list[str], typer.Option("--campaign", help="repeatable (none: everywhere)")] = [],  # noqa: B006
) -> None:
    """Give a person a role in campaigns (or everywhere)."""
    try:
        service().set_role(email, role, campaign)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(
        _("%(email)s: %(role)s in %(where)s")
        % {"email": email, "role": role, "where": ", ".join(campaign) or _("every campaign")}
    )


@user_app.command("password")
def user_password(email: str) -> None:
    """Set a new password (read from standard input); the person's sessions end."""
    password = _password_from_stdin()
    try:
        service().set_password(email, password)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(_("%(email)s: password changed") % {"email": email})


@user_app.command("second-factor")
def user_second_factor(email: str) -> None:
    """Turn on a second factor (TOTP) and print the otpauth:// URI for an authenticator app."""
    try:
        uri = service().enable_second_factor(email)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(uri)


@user_app.command("list")
def user_list(fmt: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """Everyone who may sign in, with their roles."""
    rows = []
    for u in service().list_users():
        row = u.to_dict()
        if fmt is Format.table:
            row["roles"] = ", ".join(f"{r['role']}@{r['campaign'] or '*'}" for r in row["roles"])
        rows.append(row)
    emit(rows, fmt, ["email", "roles", "second_factor", "disabled", "last_login_at"])


@token_app.command("create")
def token_create(
    email: str,
    name: Annotated[str, typer.Option("--name", help="what the token is for")] = "api",
    role: Annotated[
        str | None, typer.Option("--role", help="at most this role (default: the person's)")
    ] = None,
    campaign: Annotated[list[str], typer.Option("--campaign", help="only these campaigns, repeatable")] = [],  # noqa: B006
) -> None:
    """Make an API token. It is printed once, as the last line; keep it: it is not stored."""
    try:
        made = service().create_token(email, name=name, role=role, campaigns=campaign)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(
        _("token %(token)s… for %(email)s (%(role)s); shown once:")
        % {"token": made.info.shown, "email": email, "role": made.info.role},
        err=True,
    )
    typer.echo(made.token.reveal())


@token_app.command("list")
def token_list(email: str, fmt: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """A person's tokens (never the tokens themselves)."""
    try:
        rows = [t.to_dict() for t in service().tokens_of(email)]
    except HeraldError as e:
        raise fail(str(e)) from None
    emit(rows, fmt, ["id", "name", "shown", "role", "campaigns", "created_at", "last_used_at", "revoked"])


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke a token (by its id from ``herald token list``)."""
    if not service().revoke_token(token_id):
        raise fail(_("no live token with id %(id)s") % {"id": token_id})
    typer.echo(_("token %(id)s revoked") % {"id": token_id})
