"""Opaque cursors for the API's keyset pages.

A cursor is the key of the last row of a page (``herald.service.pages``), as JSON, behind a
check sum, in URL-safe base64 without padding: clients pass it back as they got it and never
read it. Each list has its own kind, so a cursor of one list is refused by another. A cursor
that does not decode, fails its check sum or holds the wrong shape is refused with an
``InputError`` naming ``cursor`` (422), never a server error.

The check sum catches a cursor cut or garbled on the way; it is not a signature and need not
be one: a cursor is only a position, and what a page may show is decided by the actor's reach
whatever the position.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Query

from herald.core.errors import InputError
from herald.service.pages import DeliveryKey, PostKey, StatsKey

#: The longest cursor accepted (every real one is far shorter).
MAX_CURSOR_CHARS = 512
#: Bytes of SHA-256 in front of the JSON.
CHECK_BYTES = 6
#: Longest text in a key (a post id, a channel or campaign name, an email address).
MAX_KEY_CHARS = 400

K = TypeVar("K")
#: A key as JSON holds it.
Json = str | int | bool | None


class Cursor(Generic[K]):
    """The cursors of one list: ``encode`` a page's last key, ``decode`` what a client sent."""

    def __init__(self, kind: str, dump: Callable[[K], list[Json]], load: Callable[[list[object]], K]) -> None:
        self.kind = kind
        self._dump = dump
        self._load = load

    def encode(self, key: K | None) -> str | None:
        """The cursor of the page after ``key`` (None: there is no next page)."""
        if key is None:
            return None
        raw = json.dumps([self.kind, self._dump(key)], separators=(",", ":"), ensure_ascii=True).encode()
        data = hashlib.sha256(raw).digest()[:CHECK_BYTES] + raw
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    def decode(self, cursor: str | None) -> K | None:
        """The key a cursor holds (None: no cursor, the first page). Raises InputError naming
        ``cursor`` for anything that is not a cursor of this list."""
        if cursor is None or cursor == "":
            return None
        try:
            if len(cursor) > MAX_CURSOR_CHARS:
                raise ValueError("too long")
            padded = cursor.encode("ascii") + b"=" * (-len(cursor) % 4)
            data = base64.b64decode(padded, altchars=b"-_", validate=True)
            check, raw = data[:CHECK_BYTES], data[CHECK_BYTES:]
            if hashlib.sha256(raw).digest()[:CHECK_BYTES] != check:
                raise ValueError("check sum")
            kind, values = json.loads(raw)
            if kind != self.kind or not isinstance(values, list):
                raise ValueError("another list's cursor")
            return self._load(values)
        except (ValueError, TypeError, binascii.Error):
            # ValueError covers bad base64, bad UTF-8 and bad JSON (their errors subclass it).
            raise InputError(
                "cursor", "not a cursor of this list: pass next_cursor back as it was given"
            ) from None


def _text(value: object) -> str:
    if not isinstance(value, str) or len(value) > MAX_KEY_CHARS:
        raise ValueError("not a key's text")
    return value


def _int(value: object) -> int:
    # bool is an int to Python, not to a key.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("not a key's number")
    return value


def _time(value: object) -> datetime:
    """A naive UTC time as the store keeps it."""
    at = datetime.fromisoformat(_text(value))
    if at.tzinfo is not None:
        raise ValueError("a key's time has no zone")
    return at


def _one(load: Callable[[object], K]) -> Callable[[list[object]], K]:
    def unpack(values: list[object]) -> K:
        (value,) = values
        return load(value)

    return unpack


def _post_key(values: list[object]) -> PostKey:
    at, post_id = values
    return PostKey(_time(at), _text(post_id))


def _delivery_key(values: list[object]) -> DeliveryKey:
    at, delivery_id = values
    return DeliveryKey(_time(at), _int(delivery_id))


def _stats_key(values: list[object]) -> StatsKey:
    has_campaign, campaign, platform = values
    if not isinstance(has_campaign, bool):
        raise ValueError("not a key's flag")
    return (has_campaign, _text(campaign), _text(platform))


POSTS = Cursor[PostKey]("posts", lambda k: [k.scheduled_at.isoformat(), k.post_id], _post_key)
LOG = Cursor[DeliveryKey]("log", lambda k: [k.scheduled_at.isoformat(), k.delivery_id], _delivery_key)
CHANNELS = Cursor[str]("channels", lambda k: [k], _one(_text))
CAMPAIGNS = Cursor[str]("campaigns", lambda k: [k], _one(_text))
USERS = Cursor[str]("users", lambda k: [k], _one(_text))
STATS = Cursor[StatsKey]("stats", lambda k: list(k), _stats_key)
AUDIT = Cursor[int]("audit", lambda k: [k], _one(_int))


# -- the query parameters every list takes -----------------------------------------------------

#: Rows per page: the default, and the most one page may ask for.
DEFAULT_PAGE = 50
MAX_PAGE = 500

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows per page")]
CursorParam = Annotated[
    str | None,
    Query(description="next_cursor of the page before, as given (none: the first page)"),
]
