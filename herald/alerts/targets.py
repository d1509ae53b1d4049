"""Alert targets: which apprise URLs Herald accepts, and what of one may be shown.

An apprise URL is a secret (it carries passwords, bot tokens, webhook keys) and a capability:
apprise can also write to the desktop, the system bus or a local file, and some services read a
local file named in the URL (Telegram's ``?template=``). A person who may add a target must not
gain a way to read or write this machine's files, nor to reach the cloud's metadata endpoint
from inside the network. So a target is refused unless:

- its scheme is one of ``SCHEMES``: network services only (mail, webhooks, chat), never
  ``file://``, ``windows://``, ``dbus://``, ``syslog://`` or any other local one;
- no query parameter names a file (``template``, ``attach``, ``include``, ``config``) or has a
  value that looks like a path (``/etc/passwd``, ``~/x``, ``file:...``, ``..``);
- its host is not a link-local, unspecified or multicast address (169.254.169.254 is where
  clouds serve instance credentials) nor a known metadata host name;
- in production, it does not send in the clear (``mailto://``, ``json://``...) except to this
  machine (loopback), the same rule as a channel's base URL.

``shown`` is what lists print: the scheme and, where the host is an address and not a token
(Telegram's and Slack's "host" is a bot token), the host and port. Never the rest.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, unquote, urlsplit

from herald.core.errors import InputError
from herald.core.secret import MIN_REDACT_CHARS, Secret
from herald.core.text import CONTROL_IN_NAME

#: Longest target URL accepted (apprise's own URLs are far shorter).
MAX_URL_CHARS: Final = 2000
#: A path segment or query value this long, with a digit (or 20 characters long), is taken
#: for a token and redacted from logs.
TOKEN_MIN_CHARS: Final = 8


@dataclass(frozen=True)
class Scheme:
    #: The URL's host is a network address (False: apprise reads a token there).
    host_is_address: bool
    #: Sent encrypted (TLS) by apprise.
    encrypted: bool


#: The network services an alert may go to. Anything else (local notifications, files, the
#: system bus, custom plugins) is refused.
SCHEMES: Final[dict[str, Scheme]] = {
    # E-mail: SMTP (mailto: plain or STARTTLS as the server offers; mailtos: TLS).
    "mailto": Scheme(True, False),
    "mailtos": Scheme(True, True),
    # Webhooks: a JSON, XML or form POST to any URL.
    "json": Scheme(True, False),
    "jsons": Scheme(True, True),
    "xml": Scheme(True, False),
    "xmls": Scheme(True, True),
    "form": Scheme(True, False),
    "forms": Scheme(True, True),
    # Chat.
    "tgram": Scheme(False, True),
    "slack": Scheme(False, True),
    "matrix": Scheme(True, False),
    "matrixs": Scheme(True, True),
    "discord": Scheme(False, True),
    "msteams": Scheme(False, True),
    "mmost": Scheme(True, False),
    "mmosts": Scheme(True, True),
    "rocket": Scheme(True, False),
    "rockets": Scheme(True, True),
    "ntfy": Scheme(True, False),
    "ntfys": Scheme(True, True),
    "gotify": Scheme(True, False),
    "gotifys": Scheme(True, True),
    "signal": Scheme(True, False),
    "signals": Scheme(True, True),
    "pover": Scheme(False, True),
}

#: Query parameters that name a local file in some apprise service.
FILE_PARAMETERS: Final = frozenset({"template", "attach", "attachment", "include", "config", "path"})
#: Host names that serve a cloud instance's credentials.
METADATA_HOSTS: Final = frozenset({"metadata.google.internal", "metadata", "instance-data"})


@dataclass(frozen=True)
class TargetUrl:
    """A checked target URL: the secret itself, and what may be shown of it."""

    url: Secret
    shown: str


def check_target_url(url: str, *, production: bool) -> TargetUrl:
    """``url`` as a target, or InputError (field "url") naming what is wrong with it, never the
    URL itself (it holds secrets)."""
    url = url.strip()
    if not url:
        raise InputError("url", "an alert target URL is required (e.g. mailtos://user:pass@smtp.example.org)")
    if len(url) > MAX_URL_CHARS or CONTROL_IN_NAME.search(url) or any(ch.isspace() for ch in url):
        raise InputError(
            "url",
            f"an alert target URL is at most {MAX_URL_CHARS} characters, "
            "without spaces or control characters",
        )
    scheme_name, sep, _ = url.partition("://")
    scheme_name = scheme_name.lower()
    scheme = SCHEMES.get(scheme_name)
    if not sep or scheme is None:
        raise InputError(
            "url",
            f"alert targets may use only network services ({', '.join(sorted(SCHEMES))}); "
            f"{_named_scheme(scheme_name, sep)} is refused",
        )
    try:
        parts = urlsplit(url)
        # Where apprise reads a token as the "host" (Telegram's "123456:ABC-DEF"), it has no port.
        port = parts.port if scheme.host_is_address else None
    except ValueError:
        raise InputError("url", f"the {scheme_name}:// URL is malformed (its host or port)") from None
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower().lstrip(":+-") in FILE_PARAMETERS or _looks_like_path(value):
            raise InputError("url", f"alert target parameter {key!r} may not name a file on this machine")
    host = (parts.hostname or "").lower()
    if scheme.host_is_address:
        if not host:
            raise InputError("url", f"the {scheme_name}:// URL names no host")
        _check_host(host)
        if production and not scheme.encrypted and not _is_loopback(host):
            raise InputError(
                "url",
                f"{scheme_name}:// sends in the clear: use {scheme_name}s:// (TLS) for a host other "
                "than this machine",
            )
        shown = f"{scheme_name}://{host}" + (f":{port}" if port else "")
    else:
        shown = f"{scheme_name}://…"
    secret = Secret(url)
    secret_parts(secret)  # from here on, the log redaction knows its password and tokens
    return TargetUrl(secret, shown)


def secret_parts(url: Secret) -> list[Secret]:
    """The pieces of ``url`` that apprise may log on their own (a password, a token in the path,
    a query value), as Secrets, so that the log redaction knows them too."""
    raw = url.reveal()
    parts = urlsplit(raw)
    pieces = [raw, raw.partition("://")[2]]
    if parts.password:
        pieces.append(unquote(parts.password))
    if parts.username and not SCHEMES.get(parts.scheme.lower(), Scheme(True, True)).host_is_address:
        pieces.append(unquote(parts.username))
    if not SCHEMES.get(parts.scheme.lower(), Scheme(True, True)).host_is_address and parts.hostname:
        pieces.append(parts.hostname)
    # Path segments and query values are tokens when they look random (a plain word such as
    # "alerts" stays readable: redacting it would mangle every log line that says it).
    pieces += [p for p in (unquote(p) for p in parts.path.split("/")) if _looks_random(p)]
    pieces += [v for _, v in parse_qsl(parts.query, keep_blank_values=True) if _looks_random(v)]
    return [Secret(p) for p in pieces if len(p) >= MIN_REDACT_CHARS]


def _looks_random(value: str) -> bool:
    return len(value) >= TOKEN_MIN_CHARS and (any(c.isdigit() for c in value) or len(value) >= 20)


def _named_scheme(scheme: str, sep: str) -> str:
    if not sep:
        return "a URL without a scheme://"
    shown = scheme if scheme.isalnum() and len(scheme) <= 20 else "this scheme"
    return f"{shown}://"


def _looks_like_path(value: str) -> bool:
    v = unquote(value).strip().lower()
    return v.startswith(("/", "~", "\\", "file:")) or ".." in v


def _check_host(host: str) -> None:
    if host in METADATA_HOSTS:
        raise InputError("url", "alert targets may not point at a cloud metadata service")
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return
    if ip.is_link_local or ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        raise InputError(
            "url", "alert targets may not point at a link-local, unspecified or multicast address"
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
