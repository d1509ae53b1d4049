"""Cross-site request forgery: a random session id in a cookie, and forms that carry an HMAC
of it under a key derived from the settings' secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from herald.core.errors import HeraldError
from herald.core.secret import Secret
from herald.web.deps import FormDep
from herald.web.drafts import derive_key

#: Cookie holding the random CSRF session id; forms carry HMAC(key, session id).
CSRF_COOKIE = "herald_csrf"
CSRF_FIELD = "csrf_token"
#: Random bytes in a CSRF session id, and its length once URL-safe base64 encoded.
CSRF_SESSION_BYTES = 32
CSRF_SESSION_CHARS = 43
#: Labels the key derived from the settings' secret, so the CSRF key is never the
#: credential-encryption key itself.
CSRF_KEY_CONTEXT = b"herald/web/csrf/v1"


class CsrfError(HeraldError):
    """A form was posted without a valid CSRF token (answered with 403)."""


class CsrfSigner:
    """Signed double-submit tokens: the cookie holds a random session id, each form holds
    HMAC(key, session id). A cross-site page can make the browser send the cookie but can
    neither read it nor compute the matching token without the key."""

    def __init__(self, secret: Callable[[], Secret]) -> None:
        self._secret = secret
        self._key: bytes | None = None

    def _derived_key(self) -> bytes:
        if self._key is None:
            self._key = derive_key(self._secret(), CSRF_KEY_CONTEXT)
        return self._key

    @staticmethod
    def new_session() -> str:
        return secrets.token_urlsafe(CSRF_SESSION_BYTES)

    @staticmethod
    def well_formed(session: str | None) -> bool:
        """Could this cookie be one of ours? (If not, a new session is handed out.)"""
        return session is not None and CSRF_SESSION_CHARS == len(session) and session.isascii()

    def token(self, session: str) -> str:
        return hmac.new(self._derived_key(), session.encode(), hashlib.sha256).hexdigest()

    def valid(self, session: str | None, token: str | None) -> bool:
        if session is None or token is None or not self.well_formed(session):
            return False
        # Bytes, not str: compare_digest refuses non-ASCII str, and the token is user input.
        return hmac.compare_digest(self.token(session).encode(), token.encode())


def get_signer(request: Request) -> CsrfSigner:
    signer: CsrfSigner = request.app.state.csrf
    return signer


SignerDep = Annotated[CsrfSigner, Depends(get_signer)]


def require_csrf(request: Request, form: FormDep, signer: SignerDep) -> None:
    """Refuse a form post whose token does not match its cookie."""
    token = form.get(CSRF_FIELD)
    if not isinstance(token, str) or not signer.valid(request.cookies.get(CSRF_COOKIE), token):
        raise CsrfError("this form has expired or did not come from Herald; reload the page and try again")


CsrfDep = Depends(require_csrf)
