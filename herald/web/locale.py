"""The language a request is answered in: the signed-in person's own choice (their account
page), else the browser's ``Accept-Language``, else English.

``RequestLocale`` is a plain ASGI middleware, so the locale holds for everything the request
runs: its route, the service's messages (an ``InputError`` is worded when it is raised), the
error handlers and the page. The session behind the cookie is looked up once and kept on the
request (``web.auth.web_session``), so the route does not look it up again. A bearer token's
requests (scripts calling the API) follow ``Accept-Language`` alone: API field names and codes
stay English whatever it says, only the ``detail`` sentences are translated.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from herald.core.i18n import DEFAULT_LOCALE, known, negotiate, use_locale
from herald.web.auth import SESSION_COOKIE, web_session

log = logging.getLogger(__name__)

#: Paths answered without a person's language: static files say nothing.
STATIC_PREFIX = "/static/"


def request_locale(request: Request) -> str:
    """The locale for ``request`` (see the module's docstring). Looks the session up: call it
    off the event loop."""
    if request.cookies.get(SESSION_COOKIE):
        try:
            info = web_session(request, request.app.state.services.get())
        except Exception as e:  # the database is down, say: the route reports it; /healthz must answer
            log.debug("no session for the request's language: %s", type(e).__name__)
            info = None
        chosen = known(info.locale) if info is not None and not info.pending_second_factor else None
        if chosen:
            return chosen
    return negotiate(request.headers.get("accept-language")) or DEFAULT_LOCALE


class RequestLocale:
    """Sets the request's locale (``herald.core.i18n.use_locale``) around the rest of the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(STATIC_PREFIX):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if request.cookies.get(SESSION_COOKIE):
            locale = await run_in_threadpool(request_locale, request)
        else:
            locale = request_locale(request)
        with use_locale(locale):
            await self.app(scope, receive, send)
