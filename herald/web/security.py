"""Cross-site request forgery: every state-changing request carries a token a cross-site page
cannot know.

- Signed in: the token is HMAC(the session's ``csrf_secret``, a fixed label). Forms carry it in
  ``csrf_token``; JSON calls authenticated by the session cookie send it in ``X-CSRF-Token``.
  A call with a bearer token needs none: a browser never adds that header by itself.
- Before signing in (the sign-in form): a pre-session token. A short-lived cookie holds a
  random value with its expiry, signed with a key derived from the settings' secret; the form
  holds HMAC(key, that value). A cross-site page can neither read the cookie nor compute the
  token, so a login post it forges (to sign a victim in as the attacker) is refused.

The session cookie is also ``SameSite=Lax``; the tokens do not rely on it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from herald.core.errors import HeraldError
from herald.core.i18n import _
from herald.web.auth import ActorDep, is_https, via_token, web_session
from herald.web.deps import FormDep, ServiceDep
from herald.web.drafts import derive_key

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: The sign-in form's pre-session cookie, and how long a sign-in form stays usable.
LOGIN_COOKIE = "herald_login"
LOGIN_FORM_SECONDS = 30 * 60
#: Random bytes in a pre-session value.
LOGIN_NONCE_BYTES = 32
#: Labels: the key for pre-session tokens (derived from the settings' secret, so it is never the
#: credential-encryption key), and what a session's token is an HMAC of.
LOGIN_KEY_CONTEXT = b"herald/web/login-csrf/v1"
SESSION_TOKEN_LABEL = b"herald/web/csrf/session/v1"
#: Methods that change nothing and need no token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfError(HeraldError):
    """A state-changing request came without a valid CSRF token (answered with 403)."""


def session_token(csrf_secret: str) -> str:
    """The token of a session's forms and JSON calls."""
    return hmac.new(csrf_secret.encode(), SESSION_TOKEN_LABEL, hashlib.sha256).hexdigest()


def token_matches(expected: str, given: object) -> bool:
    # Bytes, not str: compare_digest refuses non-ASCII str, and the token is user input.
    return (
        isinstance(given, str) and given.isascii() and hmac.compare_digest(expected.encode(), given.encode())
    )


class LoginCsrf:
    """Pre-session tokens for the sign-in form: ``<value>.<expiry>.<signature>`` in a cookie,
    HMAC(key, value) in the form."""

    def __init__(self, web_key: Callable[[], bytes], *, clock: Callable[[], float] = time.time) -> None:
        self._web_key = web_key
        self._key: bytes | None = None
        self._clock = clock

    def _sign(self, message: str) -> str:
        if self._key is None:
            self._key = derive_key(self._web_key(), LOGIN_KEY_CONTEXT)
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()

    def new_cookie(self) -> str:
        value = secrets.token_urlsafe(LOGIN_NONCE_BYTES)
        expires = int(self._clock()) + LOGIN_FORM_SECONDS
        return f"{value}.{expires}.{self._sign(f'cookie/{value}.{expires}')}"

    def value_of(self, cookie: str | None) -> str | None:
        """The random value of a cookie we signed that has not expired, else None."""
        if not cookie or not cookie.isascii() or cookie.count(".") != 2:
            return None
        value, expires, sig = cookie.split(".")
        if not expires.isdigit() or int(expires) < self._clock():
            return None
        if not token_matches(self._sign(f"cookie/{value}.{expires}"), sig):
            return None
        return value

    def token(self, value: str) -> str:
        return self._sign(f"form/{value}")

    def valid(self, cookie: str | None, token: object) -> bool:
        value = self.value_of(cookie)
        return value is not None and token_matches(self.token(value), token)

    def form(self, request: Request) -> tuple[str, str | None]:
        """The token for a sign-in form, and the cookie to set (None: the browser's is good)."""
        cookie = request.cookies.get(LOGIN_COOKIE)
        value = self.value_of(cookie)
        if value is not None:
            return self.token(value), None
        cookie = self.new_cookie()
        return self.token(cookie.split(".")[0]), cookie

    @staticmethod
    def set_cookie(response: Response, request: Request, cookie: str) -> None:
        response.set_cookie(
            LOGIN_COOKIE,
            cookie,
            max_age=LOGIN_FORM_SECONDS,
            httponly=True,
            samesite="strict",
            secure=is_https(request),
            path="/",
        )


def get_login_csrf(request: Request) -> LoginCsrf:
    signer: LoginCsrf = request.app.state.login_csrf
    return signer


LoginCsrfDep = Annotated[LoginCsrf, Depends(get_login_csrf)]


def _check_session_token(request: Request, svc: ServiceDep, given: object) -> None:
    info = web_session(request, svc)
    if info is None or not token_matches(session_token(info.csrf_secret), given):
        raise CsrfError(_("this form has expired or did not come from Herald; reload the page and try again"))


def require_csrf(request: Request, actor: ActorDep, form: FormDep, svc: ServiceDep) -> None:
    """A signed-in person's form post: its token must be their session's. (The actor comes
    first, so that a request without a session is sent to sign in rather than refused.)"""
    if not via_token(request):
        _check_session_token(request, svc, form.get(CSRF_FIELD))


def require_csrf_header(request: Request, actor: ActorDep, svc: ServiceDep) -> None:
    """A JSON call that changes something, authenticated by the session cookie: its
    ``X-CSRF-Token`` header must be the session's token."""
    if request.method not in SAFE_METHODS and not via_token(request):
        _check_session_token(request, svc, request.headers.get(CSRF_HEADER))


def require_session_csrf(request: Request, form: FormDep, svc: ServiceDep) -> None:
    """A form of a session that may still wait for its second factor (the code step, sign
    out): its token must be that session's."""
    _check_session_token(request, svc, form.get(CSRF_FIELD))


def require_login_csrf(request: Request, form: FormDep, signer: LoginCsrfDep) -> None:
    """The sign-in form: its token must match the pre-session cookie."""
    if not signer.valid(request.cookies.get(LOGIN_COOKIE), form.get(CSRF_FIELD)):
        raise CsrfError(
            _("this sign-in form has expired or did not come from Herald; reload it and try again")
        )


CsrfDep = Depends(require_csrf)
CsrfHeaderDep = Depends(require_csrf_header)
SessionCsrfDep = Depends(require_session_csrf)
LoginCsrfCheck = Depends(require_login_csrf)
