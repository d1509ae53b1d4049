"""The web app: FastAPI routes and Jinja templates over the service layer.

It only queues; it never calls a platform. Nothing is fetched at run time (no CDN, no JS
framework): one stylesheet from ``web/static``, served by the app. FastAPI's interactive docs
are off for that reason (they load scripts from a CDN); the schema is at
``/api/openapi.json``.
"""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from herald.core.errors import InputError
from herald.core.settings import get_settings
from herald.runtime import service
from herald.service import Herald
from herald.web.deps import ServiceHolder
from herald.web.drafts import DraftStore
from herald.web.forms import ComposeForm
from herald.web.routes import campaigns, channels, health, imports, log, media, pages, posts
from herald.web.security import CsrfError, CsrfSigner
from herald.web.templating import Pages, build_templates

STATIC_DIR = Path(__file__).parent / "static"

#: Sent with every response. No inline scripts or styles anywhere, so the policy can be strict.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every HTTP response, static files and errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _build_service() -> Herald:
    return service()


def _error(loc: tuple[int | str, ...]) -> str:
    # FastAPI prefixes the location with where the value came from ("body", "query").
    if not loc:
        return "request"
    return ".".join(str(p) for p in loc[1:]) or str(loc[0])


def create_app(service: Herald | None = None) -> FastAPI:
    """The app over ``service``; without one, a ``Herald`` is built from the settings on the
    first request that needs it."""
    app = FastAPI(
        title="Herald",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.services = ServiceHolder(service, _build_service)
    app.state.csrf = CsrfSigner(lambda: get_settings().secret())
    # Compose drafts (kept photos, face previews awaiting confirmation): in this process's
    # memory, for a few minutes; see web/drafts.py.
    app.state.drafts = DraftStore[ComposeForm](lambda: get_settings().secret())
    app.state.templates = build_templates(pages.PENDING_STATES)

    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (pages, posts, campaigns, imports, log, channels, health, media):
        app.include_router(module.router)

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"error": {"field": exc.field, "message": exc.message}}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        return JSONResponse(
            {"error": {"field": _error(tuple(first.get("loc", ()))), "message": str(first.get("msg"))}},
            status_code=422,
        )

    @app.exception_handler(CsrfError)
    async def csrf_error(request: Request, exc: CsrfError) -> HTMLResponse:
        page = Pages(request, app.state.templates, app.state.csrf)
        return page.render("error.html", {"title": "Form expired", "message": str(exc)}, status_code=403)

    return app
