"""Secrets that identify: API tokens (shown once, stored as a SHA-256 digest) and web session
ids (the same: the cookie holds the id, the database its digest)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

#: Every API token starts with this, so scanners and people can tell what leaked.
API_TOKEN_PREFIX = "hrd_"
#: Random bytes in a token or session id (256 bits).
TOKEN_BYTES = 32
#: How much of a token is kept in clear to tell a person's tokens apart.
SHOWN_CHARS = 8


def new_api_token() -> tuple[str, str, str]:
    """A new token: (the token, its digest to store, the prefix a person sees)."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token), token[: len(API_TOKEN_PREFIX) + SHOWN_CHARS]


def new_session_id() -> tuple[str, str]:
    """A new session id: (the id for the cookie, its digest to store)."""
    sid = secrets.token_urlsafe(TOKEN_BYTES)
    return sid, hash_token(sid)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
