"""Who is asking: the actor behind a request, from a bearer token or the session cookie, and the
dependencies a route declares to say who may call it.

Every route must declare one of them (a test walks the app's route table): ``Public`` (sign-in,
health, static files, the public photo URLs), ``SignedIn`` (any person, whatever their role),
or ``require(capability)`` (a role that allows it somewhere; the service checks the campaign of
what is touched). Without a valid session or token: 401 for the API, 303 to ``/login`` for
pages (``NotSignedIn`` is turned into either by the app's handler).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from herald.accounts import Actor, Capability
from herald.core.errors import AccessDenied, NotSignedIn
from herald.service import WebSessionInfo
from herald.web.deps import ServiceDep

#: The cookie holding a signed-in browser's session id (the database keeps its digest).
SESSION_COOKIE = "herald_session"
#: The request state attribute marking which auth dependency a route declared.
AUTH_MARK = "herald_auth"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def web_session(request: Request, svc: ServiceDep) -> WebSessionInfo | None:
    """The request's session (looked up once per request), or None."""
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
            raise NotSignedIn("the API token is unknown or revoked")
        request.state.via_token = True
        return actor
    info = web_session(request, svc)
    if info is None or info.pending_second_factor:
        raise NotSignedIn("sign in first")
    request.state.via_token = False
    return info.actor


ActorDep = Annotated[Actor, Depends(current_actor)]


def public() -> None:
    """Declares a route open to anyone (sign-in, health, static files, public photo URLs)."""


Public = Depends(public)


def signed_in(actor: ActorDep) -> Actor:
    """Any signed-in person, whatever their role."""
    return actor


def require(capability: Capability) -> Callable[..., Actor]:
    """A dependency: a signed-in actor whose role allows ``capability`` in some campaign (or
    everywhere). Which campaign a request touches is the service's to check."""

    def dependency(actor: ActorDep) -> Actor:
        if actor.system or any(capability in _caps(actor, c) for c in actor.roles):
            return actor
        raise AccessDenied(f"this needs a role that allows {capability.value}")

    dependency.__name__ = f"require_{capability.value}"
    dependency.capability = capability  # type: ignore[attr-defined]  # read by the route-table test
    return dependency


def _caps(actor: Actor, campaign_id: int | None) -> set[Capability]:
    return {c for c in Capability if actor.can(c, campaign_id)}


def route_auth(route: Any) -> str | None:  # Any: a Starlette route
    """Which auth dependency a route declares ("public", "signed_in", "require_<capability>"),
    or None if it declares none (a bug the route-table test catches)."""
    dependant = getattr(route, "dependant", None)
    stack = list(getattr(dependant, "dependencies", []))
    while stack:
        d = stack.pop()
        name = getattr(d.call, "__name__", "")
        if name in ("public", "signed_in") or name.startswith("require_"):
            return str(name)
        stack.extend(d.dependencies)
    return None
