"""Status messages after an action ("Queued.", "Takedown requested."), shown once on the next
page: only what the server itself put there, never text from the query string.

A note travels with the redirect in a cookie the server signs, bound to the session it was made
for (HMAC over the session's digest and the note, under a key derived from the settings'
secret), and is dropped when shown. A link someone crafts can carry no note, and a note cannot
be moved to another session. Every field is rendered through autoescaped templates.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from herald.web.auth import is_https, session_key
from herald.web.drafts import derive_key
from herald.web.security import token_matches

FLASH_COOKIE = "herald_flash"
FLASH_KEY_CONTEXT = b"herald/web/flash/v1"
#: A note is for the very next page; a browser that never comes back drops it soon.
FLASH_SECONDS = 5 * 60
#: The notes there are (``Note.action``).
ACTIONS = (
    "queued",
    "submitted",
    "cancelled",
    "takedown",
    "retry",
    "release",
    "confirm",
    "approved",
    "returned",
    "resubmitted",
    "campaign",
    "channel",
    "resumed",
    "user",
    "role",
    "revoked",
    "password",
    "moved",
    "language",
    "zone",
)


@dataclass(frozen=True)
class Note:
    """What an action did. Which fields mean something depends on ``action``."""

    action: str
    post_id: str = ""
    #: Channel names acted on (queued, retry, release, confirm).
    on: tuple[str, ...] = ()
    count: int = 0
    #: Deliveries too late to cancel.
    late: int = 0
    #: Takedown outcomes, by channel name.
    deleting: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()
    after_publish: tuple[str, ...] = ()
    cannot_delete: tuple[str, ...] = ()
    #: A campaign, channel or person's name (for "moved": the new time, as the page showed it).
    name: str = ""

    def encode(self) -> str:
        raw = json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Note | None:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            data = json.loads(raw)
        except (binascii.Error, ValueError):
            return None
        if not isinstance(data, dict) or data.get("action") not in ACTIONS:
            return None
        kinds = {f.name: f.type for f in fields(cls)}
        out: dict[str, object] = {}
        for name, value_ in data.items():
            if name not in kinds:
                return None
            out[name] = tuple(str(v) for v in value_) if isinstance(value_, list) else value_
        return cls(**out)  # type: ignore[arg-type]  # fields checked by name; we signed them


class Flash:
    """Puts a note in a signed cookie for the session, and takes it back out."""

    def __init__(self, web_key: Callable[[], bytes]) -> None:
        self._web_key = web_key
        self._key: bytes | None = None

    def _sign(self, session: str, payload: str) -> str:
        if self._key is None:
            self._key = derive_key(self._web_key(), FLASH_KEY_CONTEXT)
        return hmac.new(self._key, f"{session}.{payload}".encode(), hashlib.sha256).hexdigest()

    def put(self, response: Response, request: Request, note: Note) -> None:
        payload = note.encode()
        response.set_cookie(
            FLASH_COOKIE,
            f"{payload}.{self._sign(session_key(request), payload)}",
            max_age=FLASH_SECONDS,
            httponly=True,
            samesite="lax",
            secure=is_https(request),
            path="/",
        )

    def peek(self, request: Request) -> Note | None:
        """The note for this session, if the request carries one we signed."""
        cookie = request.cookies.get(FLASH_COOKIE)
        if not cookie or not cookie.isascii():
            return None
        payload, _, sig = cookie.rpartition(".")
        if not payload or not token_matches(self._sign(session_key(request), payload), sig):
            return None
        return Note.decode(payload)

    @staticmethod
    def clear(response: Response, request: Request) -> None:
        response.delete_cookie(
            FLASH_COOKIE, httponly=True, samesite="lax", secure=is_https(request), path="/"
        )


def get_flash(request: Request) -> Flash:
    flash: Flash = request.app.state.flash
    return flash


FlashDep = Annotated[Flash, Depends(get_flash)]
