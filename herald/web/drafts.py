"""Drafts kept on the server for a few minutes, so a person does not lose what the browser
cannot keep: uploaded photos after a Check or a refused form (browsers never pre-fill a file
input), and the exact photos shown on the face-protection preview until they are confirmed.

A draft lives in this process's memory (``DraftStore`` in the app's state), keyed by a random
id, and belongs to the person who made it (``owner``: their user id). The form carries
``<id>.<HMAC(key, owner + id)>``: only its owner can use it, and a guessed or altered token
finds nothing. Drafts expire after ``DRAFT_TTL_SECONDS`` and are bounded in number and bytes,
per person and in all: a new draft pushes out only its owner's oldest ones, never another
person's; when the store is full of other people's drafts, it is not kept (the form says so). With several
web worker processes a draft is only found by the process that made it; Herald's web app is
one process (``herald up``), and a draft not found is answered with "choose the photos again",
never by queueing without them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

#: How long a draft is kept after its last save: long enough to look at a preview, fetch a
#: colleague and confirm, short enough that photos do not sit in memory for long.
DRAFT_TTL_SECONDS = 15 * 60
#: Most drafts kept at once, and most photo bytes they may hold together (four photos of
#: ``media.MAX_PHOTO_BYTES`` are 120 MiB; this keeps a few such drafts, many ordinary ones).
MAX_DRAFTS = 200
MAX_DRAFT_BYTES = 384 * 1024 * 1024
#: What one person's drafts may hold: one draft of four of the largest photos and a few more.
MAX_DRAFTS_PER_OWNER = 10
MAX_OWNER_BYTES = 160 * 1024 * 1024
#: Random bytes in a draft id.
DRAFT_ID_BYTES = 32
#: Labels the key derived from the settings' secret for signing draft tokens (not the CSRF
#: key, not the credential-encryption key).
DRAFT_KEY_CONTEXT = b"herald/web/draft/v1"

T = TypeVar("T")


def derive_key(web_key: bytes, context: bytes) -> bytes:
    """A key for one purpose, derived from the web key (``herald.core.keyring``)."""
    return hmac.new(web_key, context, hashlib.sha256).digest()


@dataclass
class _Entry(Generic[T]):
    session: str
    value: T
    size: int
    expires: float


class DraftStore(Generic[T]):
    """Values kept for a browser session for a few minutes. Thread-safe (sync routes run in a
    thread pool)."""

    def __init__(
        self,
        web_key: Callable[[], bytes],
        *,
        ttl_seconds: float = DRAFT_TTL_SECONDS,
        max_drafts: int = MAX_DRAFTS,
        max_bytes: int = MAX_DRAFT_BYTES,
        max_per_owner: int = MAX_DRAFTS_PER_OWNER,
        max_owner_bytes: int = MAX_OWNER_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._web_key = web_key
        self._key: bytes | None = None
        self.ttl_seconds = ttl_seconds
        self._max_drafts = max_drafts
        self._max_bytes = max_bytes
        self._max_per_owner = max_per_owner
        self._max_owner_bytes = max_owner_bytes
        self._clock = clock
        self._lock = threading.Lock()
        # Insertion order is age order: the first entries are the oldest.
        self._entries: dict[str, _Entry[T]] = {}
        # Taken drafts: id -> (session, result, expiry).
        self._done: dict[str, tuple[str, str, float]] = {}

    def _sign(self, session: str, draft_id: str) -> str:
        if self._key is None:
            self._key = derive_key(self._web_key(), DRAFT_KEY_CONTEXT)
        return hmac.new(self._key, f"{session}.{draft_id}".encode(), hashlib.sha256).hexdigest()

    def _id(self, session: str | None, token: str | None) -> str | None:
        """The draft id in ``token`` if its signature matches ``session``."""
        if not session or not token or not token.isascii():
            return None
        draft_id, _, sig = token.partition(".")
        if not draft_id or not hmac.compare_digest(self._sign(session, draft_id).encode(), sig.encode()):
            return None
        return draft_id

    def _expire(self, now: float) -> None:
        for key in [k for k, e in self._entries.items() if e.expires <= now]:
            del self._entries[key]

    def put(self, session: str, value: T, size: int) -> str | None:
        """Keep ``value`` (holding ``size`` bytes) for its owner ``session``; the token for its
        form, or ``None`` if it cannot be kept (too large, or the store is full of other
        people's drafts)."""
        if size > min(self._max_bytes, self._max_owner_bytes):
            return None
        draft_id = secrets.token_urlsafe(DRAFT_ID_BYTES)
        now = self._clock()
        with self._lock:
            self._expire(now)
            mine = [k for k, e in self._entries.items() if e.session == session]
            my_bytes = sum(self._entries[k].size for k in mine)
            total = sum(e.size for e in self._entries.values())
            # Make room from the owner's own oldest drafts only.
            while mine and (
                len(mine) + 1 > self._max_per_owner
                or my_bytes + size > self._max_owner_bytes
                or len(self._entries) + 1 > self._max_drafts
                or total + size > self._max_bytes
            ):
                gone = self._entries.pop(mine.pop(0)).size
                my_bytes -= gone
                total -= gone
            if len(self._entries) + 1 > self._max_drafts or total + size > self._max_bytes:
                return None
            self._entries[draft_id] = _Entry(session, value, size, now + self.ttl_seconds)
        return f"{draft_id}.{self._sign(session, draft_id)}"

    def get(self, session: str | None, token: str | None) -> T | None:
        """The value kept under ``token`` for ``session``; ``None`` if unknown, expired, or
        signed for another session."""
        draft_id = self._id(session, token)
        if draft_id is None:
            return None
        with self._lock:
            self._expire(self._clock())
            entry = self._entries.get(draft_id)
            if entry is None or entry.session != session:
                return None
            return entry.value

    def take(self, session: str | None, token: str | None) -> T | None:
        """Like ``get``, and forgets the draft: a second submit of the same token finds nothing
        (a double click on "Confirm and queue" queues once)."""
        draft_id = self._id(session, token)
        if draft_id is None:
            return None
        with self._lock:
            self._expire(self._clock())
            entry = self._entries.get(draft_id)
            if entry is None or entry.session != session:
                return None
            del self._entries[draft_id]
            return entry.value

    def finish(self, session: str | None, token: str | None, result: str) -> None:
        """Remember what a taken draft became (a post id) for as long as a draft is kept, so
        a repeated submit can be answered with it instead of an error."""
        draft_id = self._id(session, token)
        if draft_id is None or session is None:
            return
        now = self._clock()
        with self._lock:
            self._done = {k: v for k, v in self._done.items() if v[2] > now}
            self._done[draft_id] = (session, result, now + self.ttl_seconds)
            while len(self._done) > self._max_drafts:
                del self._done[next(iter(self._done))]

    def finished(self, session: str | None, token: str | None) -> str | None:
        """The result ``finish`` recorded for this token, if it is still remembered."""
        draft_id = self._id(session, token)
        if draft_id is None:
            return None
        with self._lock:
            done = self._done.get(draft_id)
        if done is None or done[0] != session or done[2] <= self._clock():
            return None
        return done[1]

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._entries)
