"""Every route of the app, from its own route table: who may call it.

A route declares its auth dependency (``herald.web.auth``); this walks ``create_app().routes``
(so a new route cannot be forgotten) and calls each one anonymously, then as each role: pages
answer 303 to /login and the API 401 without a session or token; a role the capability table
(``herald.accounts.CAPABILITIES``) does not allow gets 403; an allowed one is never refused.
Requests carry a valid CSRF token, so a 403 here is the role's and nothing else's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from herald.accounts import CAPABILITIES, Capability, Role
from herald.web import create_app
from herald.web.auth import route_auth
from tests.web import ADMIN, BASE_URL, MANAGER, PEOPLE, STAFF, add_channels, add_people, csrf_of, sign_in

#: Routes that are not API operations or pages of ours: the OpenAPI document (public: it holds
#: no data) and the static files.
NOT_OPERATIONS = {"/api/v1/openapi.json", "/static"}
ROLE_OF = {email: Role(role) for email, role in PEOPLE.items()}


def _operations(app: Any) -> list[tuple[str, str, str | None]]:
    """(method, path, auth) of every route, with path parameters filled in."""
    out: list[tuple[str, str, str | None]] = []
    # Routers are included lazily; their routes are reached through route contexts, which
    # carry the router's own dependencies too.
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount) or (isinstance(route, Route) and not isinstance(route, APIRoute)):
            assert route.path in NOT_OPERATIONS, (
                f"{route.path}: not an APIRoute, so its auth cannot be checked"
            )
            continue
        assert isinstance(route, APIRoute), route
        path = re.sub(r"\{[^}]+\}", "x-unknown", context.path_format or "")
        for method in sorted((context.methods or set()) - {"HEAD"}):
            out.append((method, path, route_auth(context)))
    return out


@pytest.fixture
def app(herald: Any) -> Any:
    add_channels(herald)
    add_people(herald)
    return create_app(herald)


@pytest.fixture
def clients(app: Any, herald: Any) -> Iterator[dict[str, tuple[TestClient, dict[str, str]]]]:
    """A signed-in browser per role (with its CSRF token), and a bearer token per role."""
    out: dict[str, tuple[TestClient, dict[str, str]]] = {}
    for email in PEOPLE:
        c = TestClient(app, base_url=BASE_URL, follow_redirects=False)
        sign_in(c, email)
        out[email] = (c, {"csrf_token": csrf_of(c.get("/", follow_redirects=True).text)})
        token = herald.create_token(email, name="route-table").token.reveal()
        bearer = TestClient(app, base_url=BASE_URL, follow_redirects=False)
        bearer.headers["Authorization"] = f"Bearer {token}"
        out[f"{email} token"] = (bearer, {})
    yield out
    for c, _ in out.values():
        c.close()


def test_every_route_declares_who_may_call_it(app: Any) -> None:
    missing = [f"{m} {p}" for m, p, auth in _operations(app) if auth is None]
    assert missing == [], "routes without an auth dependency (see herald.web.auth)"


def _call(client: TestClient, method: str, path: str, csrf: dict[str, str]) -> Any:
    if method == "GET":
        return client.get(path)
    headers = {"X-CSRF-Token": csrf["csrf_token"]} if csrf else {}
    if path.startswith("/api/"):
        return client.request(method, path, json={}, headers=headers)
    return client.request(method, path, data=csrf, headers=headers)


def _allowed(role: Role, auth: str, via: str) -> bool:
    if auth == "in_browser":
        return via == "session"
    if auth in ("public", "signed_in"):
        return True
    return Capability(auth.removeprefix("require_")) in CAPABILITIES[role]


def test_anonymous_callers_are_sent_to_sign_in_or_refused(app: Any) -> None:
    anonymous = TestClient(app, base_url=BASE_URL, follow_redirects=False)
    checked = 0
    for method, path, auth in _operations(app):
        if auth == "public":
            continue
        r = _call(anonymous, method, path, {})
        if path.startswith(("/api/", "/live/")):  # the live pages' polls answer as the API does
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.headers["www-authenticate"] == "Bearer"
        else:
            assert (r.status_code, r.headers.get("location")) == (303, "/login"), (method, path)
        checked += 1
    assert checked > 15


@pytest.mark.parametrize("email", [STAFF, MANAGER, ADMIN])
@pytest.mark.parametrize("via", ["session", "token"])
def test_each_role_is_allowed_or_refused_as_the_role_table_says(
    app: Any, clients: dict[str, tuple[TestClient, dict[str, str]]], email: str, via: str
) -> None:
    role = ROLE_OF[email]
    client, csrf = clients[email if via == "session" else f"{email} token"]
    refused, allowed = [], []
    for method, path, auth in _operations(app):
        assert auth is not None
        if path in ("/login", "/logout") or path.startswith("/login/"):
            continue  # signing in and out: their own tests (tests/web/test_sign_in.py)
        r = _call(client, method, path, csrf)
        if _allowed(role, auth, via):
            assert r.status_code not in (401, 403), (email, via, method, path, r.status_code, r.text[:300])
            assert not (r.status_code == 303 and r.headers.get("location") == "/login"), (method, path)
            allowed.append(path)
        else:
            assert r.status_code == 403, (email, via, method, path, r.status_code)
            refused.append(path)
    if role is Role.ADMIN and via == "session":
        assert refused == []
    else:
        assert refused, "a smaller role must be refused somewhere"
    assert allowed
