"""The web app: FastAPI routes and Jinja templates over the service layer.

It only queues; it never calls a platform. Nothing is fetched at run time (no CDN, no JS
framework): one stylesheet from ``web/static``, served by the app, and small scripts of its
own beside it (the calendar's, the live pages', the import's progress, the browser's time
zone; each page works without them). FastAPI's interactive docs
are off for that reason (they load scripts from a CDN); the API's schema is at
``/api/v1/openapi.json``.

Every request passes, outermost first: the security headers, the Host check
(``HERALD_ALLOWED_HOSTS``), a trusted proxy's forwarding headers, and the body-size limit of
its path. Every route then declares who may call it (``web.auth``); errors become an HTML page
for pages and problem details (``web.api.problems``) under ``/api/`` and ``/live/``. Inside
those, the request's language is set (``web.locale``): pages and the API's ``detail`` sentences are in it;
and the viewer's time zone (``web.zones``): pages show times in it (the API stays in UTC).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from herald.core.errors import AccessDenied, Conflict, InputError, NotFound, NotSignedIn, TooManyAttempts
from herald.core.i18n import _
from herald.core.settings import Settings, get_settings
from herald.media.limits import MAX_PHOTO_BYTES
from herald.runtime import service
from herald.service import MAX_PHOTOS_PER_POST, Herald
from herald.web import api
from herald.web.api.document import openapi_document
from herald.web.api.problems import FieldProblem, problem
from herald.web.deps import ServiceHolder
from herald.web.drafts import DraftStore
from herald.web.flash import Flash
from herald.web.forms import ComposeForm
from herald.web.locale import RequestLocale
from herald.web.middleware import AllowedHosts, BodyLimit, BodyTooLarge, SecurityHeaders
from herald.web.proxies import ProxyHeaders, TrustedProxies, parse_networks
from herald.web.routes import (
    account,
    audit,
    calendar,
    campaigns,
    channels,
    health,
    imports,
    live,
    log,
    media,
    pages,
    posts,
    session,
    stops,
    users,
)
from herald.web.security import CsrfError, LoginCsrf
from herald.web.templating import build_templates, get_pages
from herald.web.zones import RequestZone

STATIC_DIR = Path(__file__).parent / "static"
OPENAPI_URL = f"{api.API_PREFIX}/openapi.json"

#: Request bodies: most are a form or a JSON document; a post may carry four photos; an import
#: a CSV file and its photos. Over the limit is 413 before the body is read whole.
KIB = 1024
MIB = 1024 * KIB
DEFAULT_BODY_LIMIT = 1 * MIB
POST_BODY_LIMIT = MAX_PHOTOS_PER_POST * MAX_PHOTO_BYTES + 1 * MIB
IMPORT_BODY_LIMIT = 512 * MIB
BODY_LIMITS = {
    "/compose": POST_BODY_LIMIT,
    f"{api.API_PREFIX}/posts": POST_BODY_LIMIT,
    "/import": IMPORT_BODY_LIMIT,
}


def _build_service() -> Herald:
    return service()


def _field(loc: tuple[int | str, ...]) -> str:
    # FastAPI prefixes the location with where the value came from ("body", "query").
    if not loc:
        return "request"
    return ".".join(str(p) for p in loc[1:]) or str(loc[0])


def _is_api(request: Request) -> bool:
    """The API, and the live pages' polls (``routes.live``): answered with problem details (401,
    not the sign-in page, when the session has ended)."""
    return request.url.path.startswith(("/api/", live.LIVE_PREFIX))


def _web_key() -> bytes:
    """The current web key: signs flash notes, sign-in forms and drafts (``herald.core.keyring``)."""
    return get_settings().keyring().web[0]


def create_app(service: Herald | None = None, *, settings: Settings | None = None) -> FastAPI:
    """The app over ``service``; without one, a ``Herald`` is built from the settings on the
    first request that needs it."""
    settings = settings or get_settings()
    app = FastAPI(
        title="Herald",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url=OPENAPI_URL,
    )
    app.state.services = ServiceHolder(service, _build_service)
    app.state.login_csrf = LoginCsrf(_web_key)
    app.state.flash = Flash(_web_key)
    # Compose drafts (kept photos, face previews awaiting confirmation): in this process's
    # memory, for a few minutes, each person's their own; see web/drafts.py.
    app.state.drafts = DraftStore[ComposeForm](_web_key)
    app.state.templates = build_templates(pages.PENDING_STATES)

    # Added innermost first: the last one added sees the request first.
    app.add_middleware(RequestZone)
    app.add_middleware(RequestLocale)
    app.add_middleware(BodyLimit, limits=BODY_LIMITS, default=DEFAULT_BODY_LIMIT)
    app.add_middleware(ProxyHeaders, proxies=TrustedProxies(parse_networks(settings.trusted_proxies)))
    app.add_middleware(AllowedHosts, hosts=settings.allowed_hosts.split(","))
    app.add_middleware(SecurityHeaders)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (
        session,
        pages,
        posts,
        campaigns,
        stops,
        imports,
        log,
        audit,
        calendar,
        users,
        channels,
        account,
        health,
        media,
        live,
    ):
        app.include_router(module.router)
    app.include_router(api.router)
    # The document describes the API alone (the HTML pages and forms are not part of it).
    app.openapi = openapi_document  # type: ignore[method-assign]
    _install_error_handlers(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    def page(request: Request, title: str, message: str, status: int) -> HTMLResponse:
        pages_ = get_pages(request, app.state.services.get())
        return pages_.render("error.html", {"title": title, "message": message}, status_code=status)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if _is_api(request):
            return problem(401, str(exc), headers={"WWW-Authenticate": "Bearer"})
        return RedirectResponse(str(request.app.url_path_for("login")), status_code=303)

    @app.exception_handler(AccessDenied)
    async def access_denied(request: Request, exc: AccessDenied) -> Response:
        if _is_api(request):
            return problem(403, str(exc))
        return page(request, _("Not allowed"), str(exc), 403)

    @app.exception_handler(CsrfError)
    async def csrf_error(request: Request, exc: CsrfError) -> Response:
        if _is_api(request):
            return problem(403, str(exc))
        return page(request, _("Form expired"), str(exc), 403)

    @app.exception_handler(TooManyAttempts)
    async def too_many(request: Request, exc: TooManyAttempts) -> Response:
        headers = {"Retry-After": str(max(1, int(exc.retry_after + 0.999)))}
        return problem(429, str(exc), headers=headers)

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> Response:
        status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 422
        if _is_api(request):
            errors = [FieldProblem(field=exc.field, message=exc.message)]
            # A post that does not fit: one problem per channel (and field) it does not fit.
            errors += [
                FieldProblem(
                    field=".".join(str(d[k]) for k in ("channel", "field") if d.get(k)) or exc.field,
                    message=str(d.get("message", "")),
                )
                for d in exc.details
                if d.get("message")
            ]
            return problem(status, exc.message, errors=errors)
        return page(request, _("Not done"), exc.message, status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            FieldProblem(field=_field(tuple(e.get("loc", ()))), message=str(e.get("msg", "invalid")))
            for e in exc.errors()
        ] or [FieldProblem(field="request", message=_("invalid request"))]
        if _is_api(request):
            return problem(422, "; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
        return page(request, _("Not done"), "; ".join(f"{e.field}: {e.message}" for e in errors), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """An unknown path or a wrong method: problem details under ``/api/``, the error page
        elsewhere."""
        headers = dict(exc.headers or {})
        if _is_api(request):
            return problem(exc.status_code, str(exc.detail), headers=headers)
        title = _("Not found") if exc.status_code == 404 else _("Not done")
        response = page(request, title, str(exc.detail), exc.status_code)
        response.headers.update(headers)
        return response

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge) -> Response:
        return problem(413, str(exc))
