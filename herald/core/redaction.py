"""Redaction: what a log event, a log message or an exception's text loses before anyone reads it.

A secret reaches a log line in one of three shapes, and each has its rule here:

1. **a value under a key that names a secret** (``{"access_token": ...}``, ``password=...``,
   ``Authorization: ...``, ``'Set-Cookie': ...``): the value becomes the mask, whatever it is,
   in event dicts, nested dicts and lists, header mappings, and inside text written as JSON,
   as a Python ``repr``, as a query string or form body, or as an HTTP header line.
   ``SECRET_WORDS`` and ``SECRET_NAMES`` are the one list of such keys;
2. **a credential written in its own syntax**: ``Bearer <token>``, ``Basic <base64 of
   user:password>``, a URL's ``user:password@``, a Telegram Bot API path ``/bot<token>/``;
3. **a value this process knows to be secret** (``herald.core.secret.known_secrets``: every
   ``Secret`` it has made, so every channel credential it decrypted), wherever it shows up.

``scrub`` applies 2, 3 and the text forms of 1 to a string; ``redact_value`` walks any value;
``redact_event`` is the structlog processor (``herald.core.logs`` puts it last before
rendering, after exceptions are formatted, so tracebacks are scrubbed too).

Masking is deliberately greedy: a log line that loses a harmless word to the mask costs a
reader a moment, a token that survives costs a campaign its account.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Mapping
from email.message import Message
from typing import Any, Final

from herald.core.secret import MASK, Secret, known_count, known_secrets

#: Words that make a key name a secret's: a key is secret when any of its words (split at
#: ``_``, ``-``, ``.``, spaces and camelCase humps, compared in lower case) is one of these.
SECRET_WORDS: Final = frozenset(
    {
        "auth",
        "authorization",
        "bearer",
        "cookie",
        "cookies",
        "credential",
        "credentials",
        "csrf",
        "xsrf",
        "jwt",
        "apikey",
        "passphrase",
        "passwd",
        "password",
        "passwords",
        "secret",
        "secrets",
        "session",
        "sessionid",
        "signature",
        "token",
        "tokens",
    }
)
#: Names that are secret though none of their words is alone ("key" alone is not: idempotency
#: and dedup keys are not secrets): a key is secret when these words appear in it in a row.
SECRET_NAMES: Final = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("app", "key"),
        ("client", "key"),
        ("consumer", "key"),
        ("encryption", "key"),
        ("private", "key"),
        ("signing", "key"),
        ("web", "keys"),
    }
)
#: Header names whose value runs to the end of the line when written as ``Name: value``
#: (besides any hyphenated secret name such as ``X-Api-Key``): their values hold spaces.
_HEADER_WORDS: Final = frozenset({"authorization", "cookie"})
#: How deep ``redact_value`` walks nested containers; anything deeper is scrubbed as text.
MAX_DEPTH: Final = 12

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def key_words(name: str) -> tuple[str, ...]:
    """The words of a key name, lower case: ``"X-Api-Key"`` → ``("x", "api", "key")``,
    ``"accessJwt"`` → ``("access", "jwt")``."""
    return tuple(w.lower() for w in _WORD.findall(name))


@functools.lru_cache(maxsize=4096)  # a process logs the same few dozen keys again and again
def is_secret_key(name: str) -> bool:
    """Does a value under ``name`` hold a secret (``SECRET_WORDS``, ``SECRET_NAMES``)?"""
    words = key_words(name)
    if any(w in SECRET_WORDS for w in words):
        return True
    return any(words[i : i + len(n)] == n for n in SECRET_NAMES for i in range(len(words) - len(n) + 1))


# -- text ----------------------------------------------------------------------------------------

#: ``"key": "value"`` / ``'key': 'value'`` / ``"key": 123`` (JSON, a dict's repr) and
#: ``('Cookie', 'value')`` (a list of header pairs).
_QUOTED_PAIR = re.compile(
    r"""(?P<kq>["'])(?P<key>[^"'\s]{1,80})(?P=kq)(?P<sep>\s*[:=,]\s*)"""
    r"""(?:(?P<vq>["'])(?P<value>(?:\\.|(?!(?P=vq)).)*)(?P=vq)|(?P<bare>[^\s,;}\])]+))"""
)
#: ``Name: `` before a value (an HTTP header as text); the value runs to the end of the line.
_HEADER_NAME = re.compile(r"(?P<key>(?<![\w-])[A-Za-z][A-Za-z0-9-]{0,79})[ \t]*:[ \t]*(?=[^\s])")
_LINE_END = re.compile(r"[\r\n]")
#: ``key=value`` in query strings, form bodies, cookie strings and key=value log text.
_PLAIN_PAIR = re.compile(
    r"""(?P<key>(?<![\w.\-\[\]])[A-Za-z_][A-Za-z0-9_.\-\[\]]{0,79})(?P<sep>=)"""
    r"""(?P<value>"[^"]*"|'[^']*'|[^\s&;,'")}\]]+)"""
)
#: ``Bearer <token68>``, not a challenge's parameters (``Bearer realm="herald"``, RFC 6750).
_BEARER = re.compile(
    r"(?i)\b(?P<scheme>bearer)(?P<sep>\s+)(?!(?:realm|scope|error|error_description|error_uri)\s*=)"
    r"(?P<value>[A-Za-z0-9\-._~+/]+=*)(?![A-Za-z0-9\-._~+/=])"
)
#: ``Basic <base64>``; masked only when it decodes to ``user:password`` (the English word
#: "basic" followed by a word is no credential).
_BASIC = re.compile(
    r"(?i)\b(?P<scheme>basic)(?P<sep>\s+)(?P<value>[A-Za-z0-9+/]{4,}={0,2})(?![A-Za-z0-9+/=])"
)
#: ``scheme://user:password@host``: database, Redis and apprise URLs.
_USERINFO = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^:/?#@\s]*):(?P<value>[^@/?#\s]+)@"
)
#: The Telegram Bot API puts the bot token in the path: ``/bot123456:ABC-DEF.../sendMessage``.
_BOT_PATH = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")


def _quoted_pair(m: re.Match[str]) -> str:
    if not is_secret_key(m["key"]) or (m["value"] == "" and m["bare"] is None):
        return m[0]
    kq, vq = m["kq"], m["vq"] or ""
    return f"{kq}{m['key']}{kq}{m['sep']}{vq}{MASK}{vq}"


def _is_secret_header(name: str) -> bool:
    """Is ``name`` a header whose value is a secret? Stricter than ``is_secret_key``, because
    the mask runs to the end of the line: the name must be shaped like a header ("Password:
    must be 12 characters" is a message) and end in a secret word ("X-Auth-Token", "Set-Cookie",
    "X-Api-Key"; not "token-revoked: ...", an alert's kind)."""
    words = key_words(name)
    if not words or ("-" not in name and words[-1] not in _HEADER_WORDS):
        return False
    return words[-1] in SECRET_WORDS or any(words[-len(n) :] == n for n in SECRET_NAMES)


def _header_lines(text: str) -> str:
    """Each ``Name: value`` whose name is a secret header's, with the value (to the end of its
    line: a cookie or an Authorization value holds spaces) masked."""
    out: list[str] = []
    pos = 0
    for m in _HEADER_NAME.finditer(text):
        if m.start() < pos or not _is_secret_header(m["key"]):
            continue
        end = _LINE_END.search(text, m.end())
        out.append(text[pos : m.end()] + MASK)
        pos = end.start() if end else len(text)
    out.append(text[pos:])
    return "".join(out)


def _plain_pair(m: re.Match[str]) -> str:
    if not is_secret_key(m["key"]):
        return m[0]
    return f"{m['key']}{m['sep']}{MASK}"


def _basic(m: re.Match[str]) -> str:
    value = m["value"]
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return m[0]
    if b":" not in decoded:
        return m[0]
    return f"{m['scheme']}{m['sep']}{MASK}"


# The known values, longest first (a value inside a longer one must not leave the rest), and how
# many there were when the tuple was made.
_by_length: tuple[int, tuple[str, ...]] = (0, ())


def _known_longest_first() -> tuple[str, ...]:
    global _by_length
    count = known_count()
    if count != _by_length[0]:
        _by_length = (count, tuple(sorted(known_secrets(), key=len, reverse=True)))
    return _by_length[1]


def scrub(text: str) -> str:
    """``text`` without any secret it shows: known secret values first (a pattern must not cut
    one in two and leave a piece), then the written forms of secrets (module docstring)."""
    for value in _known_longest_first():
        if value in text:
            text = text.replace(value, MASK)
    # Each pattern only where the text has what it needs (most log text has little of it):
    # a substring test costs a fraction of a regular expression's scan.
    if "'" in text or '"' in text:
        text = _QUOTED_PAIR.sub(_quoted_pair, text)
    if ":" in text:
        text = _header_lines(text)
    if "=" in text:
        text = _PLAIN_PAIR.sub(_plain_pair, text)
    lower = text.lower()
    if "bearer" in lower:
        text = _BEARER.sub(lambda m: f"{m['scheme']}{m['sep']}{MASK}", text)
    if "basic" in lower:
        text = _BASIC.sub(_basic, text)
    if "://" in text:
        text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    if "/bot" in text:
        text = _BOT_PATH.sub("/bot" + MASK, text)
    return text


# -- values --------------------------------------------------------------------------------------


def _masked(value: Any) -> Any:  # Any: whatever sat under a secret key
    # None, "" and booleans stay: they say whether something is there, which is no secret.
    return (
        value if value is None or isinstance(value, bool) or (isinstance(value, str) and not value) else MASK
    )


def _text_of(value: object) -> str:
    try:
        if isinstance(value, BaseException):
            return f"{type(value).__name__}: {value}"
        if isinstance(value, bytes | bytearray):
            return bytes(value).decode("utf-8", "replace")
        return str(value)
    except Exception:  # a broken __str__ must not break logging
        return f"<unprintable {type(value).__name__}>"


def redact_mapping(mapping: Mapping[Any, Any], depth: int = 0) -> dict[Any, Any]:
    """A copy of ``mapping`` with values under secret keys masked and every other value
    redacted (``redact_value``); string keys are scrubbed too (a token can be a key)."""
    out: dict[Any, Any] = {}
    for key, value in mapping.items():
        name = key if isinstance(key, str) else _text_of(key)
        if is_secret_key(name):
            out[scrub(name) if isinstance(key, str) else key] = _masked(value)
        else:
            out[scrub(key) if isinstance(key, str) else key] = redact_value(value, depth + 1)
    return out


def redact_value(value: Any, depth: int = 0) -> Any:  # Any: anything a log event carries
    """``value`` with every secret masked: strings scrubbed, mappings (header mappings, an
    ``email.message.Message`` too) and sequences walked, numbers and booleans kept, and
    anything else turned into its scrubbed text (what a renderer would print of it anyway)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Secret):
        return MASK
    if depth >= MAX_DEPTH:
        return scrub(_text_of(value))
    if isinstance(value, Mapping):
        return redact_mapping(value, depth)
    if isinstance(value, Message):
        return redact_mapping(dict(value.items()), depth)
    if isinstance(value, list | tuple | set | frozenset):
        items = [redact_value(v, depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    return scrub(_text_of(value))


#: Keys structlog's ``ProcessorFormatter`` needs untouched (removed before rendering anyway),
#: and ``exc_info``, which ``format_exc_info`` turns into text ahead of this processor.
_PASSED: Final = frozenset({"_record", "_from_structlog", "exc_info"})


def redact_event(_logger: Any, _method: str, event_dict: Any) -> Any:  # Any: structlog's types
    """The structlog processor: ``event_dict`` with every secret masked (``redact_value``).
    Runs after exceptions are rendered to text, right before the renderer."""
    passed = {k: event_dict[k] for k in _PASSED if k in event_dict}
    clean = redact_mapping({k: v for k, v in event_dict.items() if k not in _PASSED})
    clean.update(passed)
    return clean
