"""``herald keys``: the web app's share of the keys, and rotating the key that seals channel
credentials and second-factor secrets.

``herald keys web`` prints ``HERALD_WEB_KEYS``, which the web app gets instead of
``HERALD_SECRET_KEY`` (``herald.core.keyring``): it seals credentials and cannot open them.

Rotation without downtime (every process keeps reading what either key sealed):

1. give every process the new key as ``HERALD_SECRET_KEY`` and the old one as
   ``HERALD_SECRET_KEY_PREVIOUS``, give the web app ``herald keys web`` printed with both, and
   restart them;
2. run ``herald keys rotate``: each value is re-sealed under the new key, one transaction each;
3. remove ``HERALD_SECRET_KEY_PREVIOUS``, print the web app's keys again, and restart again.

Or, the other way round: ``herald keys rotate --new-key-file PATH`` (or ``HERALD_NEW_SECRET_KEY``)
re-seals under the key in that file, read with the current one; processes that are to keep
working meanwhile need the new key as their ``HERALD_SECRET_KEY_PREVIOUS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from herald.cli.app import fail, service
from herald.core.errors import HeraldError, InputError
from herald.core.i18n import _
from herald.core.keyring import Keyring
from herald.core.secret import Secret
from herald.core.settings import checked_secret_key, get_settings

keys_app = typer.Typer(
    help="Keys: the web app's share of them, and rotating the key that seals credentials.",
    no_args_is_help=True,
)

#: Exit status when some values could not be opened with any key given (the rest were re-sealed).
EXIT_UNREADABLE = 1


@keys_app.command("rotate")
def keys_rotate(
    new_key_file: Annotated[
        Path | None,
        typer.Option(
            "--new-key-file",
            help="re-seal under the key in this file (default: HERALD_NEW_SECRET_KEY, "
            "else HERALD_SECRET_KEY, opening what HERALD_SECRET_KEY_PREVIOUS sealed)",
        ),
    ] = None,
) -> None:
    """Re-seal every channel credential and second-factor secret under the new key. Safe to run
    while Herald runs, and to run again."""
    try:
        settings = get_settings()
        current, previous = settings.secret(), settings.previous_secrets()
        new = _new_key(new_key_file, settings.new_secret_key)
        keyring = (
            Keyring.from_masters(new, (current, *previous))
            if new
            else Keyring.from_masters(current, previous)
        )
        done = service().reseal_secrets(keyring)
    except HeraldError as e:
        raise fail(str(e)) from None
    typer.echo(
        _("%(done)d re-sealed under the new key, %(already)d already were")
        % {"done": done.resealed, "already": done.already_current}
    )
    if done.unreadable:
        typer.echo(
            _("error: no key given opens %(names)s; left as they were")
            % {"names": ", ".join(done.unreadable)},
            err=True,
        )
        raise typer.Exit(EXIT_UNREADABLE)
    if new is None and not previous and not done.resealed:
        typer.echo(
            _(
                "nothing to do: set the new key as HERALD_SECRET_KEY and the old one as "
                "HERALD_SECRET_KEY_PREVIOUS, or give --new-key-file"
            )
        )


@keys_app.command("web")
def keys_web() -> None:
    """Print the web app's keys, for its HERALD_WEB_KEYS (instead of HERALD_SECRET_KEY): with
    them it seals channel credentials and signs its pages, and can open no credential. Made from
    HERALD_SECRET_KEY (and HERALD_SECRET_KEY_PREVIOUS during a rotation); print it again after
    either changes."""
    try:
        keyring = get_settings().keyring()
    except HeraldError as e:
        raise fail(str(e)) from None
    if not keyring.opens_credentials:
        raise fail(_("herald keys web needs HERALD_SECRET_KEY, not HERALD_WEB_KEYS"))
    typer.echo(keyring.web_keys())


def _new_key(path: Path | None, from_env: str) -> Secret | None:
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            raise InputError("new-key-file", _("cannot read %(path)r") % {"path": str(path)}) from None
        return checked_secret_key(text, "--new-key-file")
    if from_env:
        return checked_secret_key(from_env, "HERALD_NEW_SECRET_KEY")
    return None
