"""Page rendering: the Jinja environment (autoescaped), its filters, and ``Pages``, which
renders a page with the CSRF token its forms need."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from herald.web.security import CSRF_COOKIE, CSRF_FIELD, CsrfSigner, SignerDep

TEMPLATES_DIR = Path(__file__).parent / "templates"

#: Time zones offered for "when" on the compose form; UTC first, it is the default.
TIME_ZONES = (
    "UTC",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Australia/Sydney",
)
DEFAULT_TIME_ZONE = "UTC"


def minutes(seconds: int | None) -> str:
    """Seconds shown as minutes, without a trailing ".0"."""
    if seconds is None:
        return ""
    return f"{seconds / 60:g}"


def _utc(value: str | None) -> str:
    """An ISO UTC time from the service, shown to the second (the service keeps microseconds)."""
    if not value:
        return "—"
    return datetime.fromisoformat(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _http_url(value: str | None) -> str | None:
    """Only http(s) links are rendered: a ``javascript:`` URL from a platform must not be one."""
    if value and value.startswith(("https://", "http://")):
        return value
    return None


def _percent(rate: float) -> str:
    """A rate from 0 to 1 as a whole percentage ("87%")."""
    return f"{rate:.0%}"


@jinja2.pass_context
def _path_for(context: jinja2.runtime.Context, name: str, /, **params: str) -> str:
    """A path (not an absolute URL) for a route, so links keep working behind a proxy that
    rewrites the host or the scheme."""
    request: Request = context["request"]
    root: str = request.scope.get("root_path", "")
    return root + str(request.app.url_path_for(name, **params))


def build_templates(pending_states: tuple[str, ...]) -> Jinja2Templates:
    # Autoescape on for every template: all of them are HTML, and post texts are user input.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["utc"] = _utc
    env.filters["http_url"] = _http_url
    env.filters["percent"] = _percent
    env.filters["minutes"] = minutes
    env.globals["path_for"] = _path_for
    env.globals["time_zones"] = TIME_ZONES
    # "Can this post still be cancelled?": some delivery is still pending.
    env.tests["pending"] = lambda post: any(s in pending_states for s in post.deliveries.values())
    return Jinja2Templates(env=env)


class Pages:
    """Renders a page, with a CSRF token for its forms (and the cookie the token is bound to)."""

    def __init__(self, request: Request, templates: Jinja2Templates, signer: CsrfSigner) -> None:
        self.request = request
        self.templates = templates
        self.signer = signer

    def render(
        self,
        name: str,
        context: dict[str, Any],  # Any: template variables of any kind (service rows, forms, errors)
        status_code: int = 200,
    ) -> HTMLResponse:
        session = self.request.cookies.get(CSRF_COOKIE)
        fresh = not self.signer.well_formed(session)
        if fresh or session is None:
            session = self.signer.new_session()
        response = self.templates.TemplateResponse(
            self.request,
            name,
            {"csrf_field": CSRF_FIELD, "csrf_token": self.signer.token(session), **context},
            status_code=status_code,
        )
        if fresh:
            response.set_cookie(
                CSRF_COOKIE,
                session,
                httponly=True,
                samesite="strict",
                secure=self.request.url.scheme == "https",
                path="/",
            )
        return response


def redirect_to(request: Request, name: str, **query: str | int | list[str]) -> RedirectResponse:
    """303 See Other to a named route's path (after a POST, so a reload does not post again).
    A list value is repeated (``a=1&a=2``); an empty one is left out."""
    root: str = request.scope.get("root_path", "")
    path = root + str(request.app.url_path_for(name))
    query = {k: v for k, v in query.items() if v != []}
    return RedirectResponse(f"{path}?{urlencode(query, doseq=True)}" if query else path, status_code=303)


def get_pages(request: Request, signer: SignerDep) -> Pages:
    templates: Jinja2Templates = request.app.state.templates
    return Pages(request, templates, signer)


PagesDep = Annotated[Pages, Depends(get_pages)]
