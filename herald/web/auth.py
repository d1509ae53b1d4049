"""Who is asking: the actor behind a request, from a bearer token or the session cookie, and the
dependencies a route declares to say who may call it.

Every route must declare one of them (``tests/web/test_route_table.py`` walks the app's route
table): ``Public`` (sign-in, health, static files, the public photo URLs), ``signed_in`` (any
person, whatever their role), or ``require(capability)`` (a role that allows it somewhere; the
service checks the campaign of what is touched). Without a valid session or token: 401 for the
API, 303 to ``/login`` for pages (the app's handler for ``NotSignedIn``); with one but without
the role: 403 (``AccessDenied``).

Named aliases make route signatures read plainly: ``actor: CanDraft``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.responses import Response

from herald.accounts import Actor, Capability
from herald.core.errors import AccessDenied, NotSignedIn
from herald.core.i18n import _
from herald.service import WebSessionInfo
from herald.web.deps import ServiceDep

#: The cookie holding a signed-in browser's session id (the database keeps its digest).
SESSION_COOKIE = "herald_session"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def web_session(request: Request, svc: ServiceDep) -> WebSessionInfo | None:
    """The request's session, signed in or waiting for its second factor (looked up once per
    request), or None."""
    if hasattr(request.state, "web_session"):
        found: WebSessionInfo | None = request.state.web_session
        return found
    sid = request.cookies.get(SESSION_COOKIE)
    info = svc.session(sid) if sid else None
    request.state.web_session = info
    return info


def current_actor(request: Request, svc: ServiceDep) -> Actor:
    """The actor behind the request: a bearer token first, else a signed-in session whose
    second factor (if any) is done. Raises ``NotSignedIn``."""
    token = bearer_token(request)
    if token is not None:
        actor = svc.token_actor(token)
        if actor is None:
            raise NotSignedIn(_("the API token is unknown or revoked"))
        request.state.via_token = True
        return actor
    info = web_session(request, svc)
    if info is None or info.pending_second_factor:
        raise NotSignedIn(_("sign in first"))
    request.state.via_token = False
    return info.actor


ActorDep = Annotated[Actor, Depends(current_actor)]


def via_token(request: Request) -> bool:
    """The request was authenticated by a bearer token (not by the session cookie)."""
    return bool(getattr(request.state, "via_token", False))


def public() -> None:
    """Declares a route open to anyone (sign-in, health, static files, public photo URLs)."""


Public = Depends(public)


def signed_in(actor: ActorDep) -> Actor:
    """Any signed-in person, whatever their role."""
    return actor


def capable(actor: Actor, capability: Capability) -> bool:
    """Does the actor's role allow ``capability`` somewhere (in some campaign, or everywhere)?"""
    if actor.system:
        return True
    # Where a role is held, and where a token narrowed to campaigns may act (an
    # installation-wide role reaches those through ``EVERYWHERE``).
    places = set(actor.roles)
    if actor.scope is not None and actor.scope.campaigns is not None:
        places |= actor.scope.campaigns
    return any(actor.can(capability, c) for c in places)


def require(capability: Capability) -> Callable[..., Actor]:
    """A dependency: a signed-in actor whose role allows ``capability`` in some campaign (or
    everywhere). Which campaign a request touches is the service's to check."""

    def dependency(actor: ActorDep) -> Actor:
        if capable(actor, capability):
            return actor
        raise AccessDenied(
            _("this needs a role that allows %(capability)s") % {"capability": capability.value}
        )

    dependency.__name__ = f"require_{capability.value}"
    return dependency


SignedInActor = Annotated[Actor, Depends(signed_in)]


def in_browser(request: Request, actor: SignedInActor) -> Actor:
    """Declares a route for a person signed in with their password (their own account: its
    password and tokens), never a bearer token: a token cannot make more tokens."""
    if via_token(request) or actor.user_id is None:
        raise AccessDenied(
            _("an account is managed from a browser signed in with its password, not with a token")
        )
    return actor


SignedInBrowser = Annotated[Actor, Depends(in_browser)]
CanDraft = Annotated[Actor, Depends(require(Capability.DRAFT))]
CanApprove = Annotated[Actor, Depends(require(Capability.APPROVE))]
CanAct = Annotated[Actor, Depends(require(Capability.ACT))]
CanReview = Annotated[Actor, Depends(require(Capability.REVIEW))]
CanAdminister = Annotated[Actor, Depends(require(Capability.ADMINISTER))]
CanView = Annotated[Actor, Depends(require(Capability.VIEW))]


#: The names of the auth dependencies, as ``route_auth`` reports them.
AUTH_NAMES = frozenset({"public", "signed_in", "in_browser", *(f"require_{c.value}" for c in Capability)})


def route_auth(route: Any) -> str | None:  # Any: a Starlette route
    """Which auth dependency a route declares ("public", "signed_in", "require_<capability>"),
    or None if it declares none (a bug the route-table test catches)."""
    dependant = getattr(route, "dependant", None)
    stack = list(getattr(dependant, "dependencies", []))
    found: set[str] = set()
    while stack:
        d = stack.pop()
        name = getattr(d.call, "__name__", "")
        if name in AUTH_NAMES:
            found.add(str(name))
        stack.extend(d.dependencies)
    # The narrowest declaration wins (``in_browser`` is built on ``signed_in``).
    for name in ("in_browser", *sorted(n for n in found if n.startswith("require_")), "signed_in", "public"):
        if name in found:
            return name
    return None


# -- the request and its session cookie --------------------------------------------------------


def is_https(request: Request) -> bool:
    """Did the client use https (as a trusted proxy says, see ``web.proxies``)?"""
    return request.url.scheme == "https"


def client_address(request: Request) -> str:
    """The client's address (a trusted proxy's ``X-Forwarded-For`` already applied)."""
    return request.client.host if request.client else "unknown"


def session_key(request: Request) -> str:
    """A stable, non-secret name for the request's session (or bearer token): the SHA-256 of
    its id, as the database keeps it."""
    secret = request.cookies.get(SESSION_COOKIE) or bearer_token(request) or ""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def set_session_cookie(response: Response, request: Request, sid: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        sid,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=is_https(request), path="/")
