"""Page rendering: the Jinja environment (autoescaped), its filters, and ``Pages``, which
renders a page with the CSRF token its forms need."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from herald.accounts import Actor, Capability
from herald.core.i18n import (
    current_locale,
    format_number,
    format_percent,
    gettext,
    ngettext,
    npgettext,
    pgettext,
)
from herald.service import Herald
from herald.web.auth import capable, web_session
from herald.web.deps import ServiceDep
from herald.web.flash import Flash, Note
from herald.web.labels import term
from herald.web.security import CSRF_FIELD, session_token
from herald.web.zones import ZONE_NAMES, format_time, request_zone

TEMPLATES_DIR = Path(__file__).parent / "templates"

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
    """A rate from 0 to 1 as a whole percentage in the reader's locale ("87%")."""
    return format_percent(rate)


def _number(value: float | None) -> str:
    """A count or an amount, grouped the reader's way ("12,345")."""
    return "" if value is None else format_number(value)


def _element(tag: str, css_class: str = "") -> Any:  # Any: a template global taking any text
    """A template global wrapping (escaped) text in ``tag``, for a sentence whose words come
    from the catalog around a code name, a file name or a hint: ``_("Run %(c)s", c=code(x))``."""
    opening = f'<{tag} class="{css_class}">' if css_class else f"<{tag}>"

    def wrap(text: object) -> Markup:
        return Markup(opening + "%s" + f"</{tag}>") % text

    return wrap


@jinja2.pass_context
def _path_for(context: jinja2.runtime.Context, name: str, /, **params: str) -> str:
    """A path (not an absolute URL) for a route, so links keep working behind a proxy that
    rewrites the host or the scheme."""
    request: Request = context["request"]
    root: str = request.scope.get("root_path", "")
    return root + str(request.app.url_path_for(name, **params))


@functools.cache
def build_templates(pending_states: tuple[str, ...]) -> Jinja2Templates:
    """The one Jinja environment of this process: every app built here shares it and its
    compiled templates (nothing in it belongs to one app; the request carries the rest)."""
    # Autoescape on for every template: all of them are HTML, and post texts are user input.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # Every string meant for people is {{ _("...") }}, looked up in the request's locale.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True, pgettext=pgettext, npgettext=npgettext
    )
    env.globals["current_locale"] = current_locale
    env.globals["code"] = _element("code")
    env.globals["strong"] = _element("strong")
    env.globals["hint"] = _element("span", "hint")
    env.filters["utc"] = _utc
    # Times in the viewer's zone and language (``web.zones``); ``utc`` where a page shows UTC too.
    env.filters["datetime"] = format_time
    env.filters["number"] = _number
    env.filters["term"] = term
    env.filters["http_url"] = _http_url
    env.filters["percent"] = _percent
    env.filters["minutes"] = minutes
    env.globals["path_for"] = _path_for
    # One list of zones for every page (``web.zones``): all IANA names, UTC first.
    env.globals["time_zones"] = ZONE_NAMES
    # The zone this request's page shows times in, and where it comes from (the footer says so).
    env.globals["viewer_zone"] = request_zone
    # "Can this post still be cancelled?": some delivery is still pending.
    env.tests["pending"] = lambda post: any(s in pending_states for s in post.deliveries.values())
    return Jinja2Templates(env=env)


class Pages:
    """Renders a page for the request's person: their session's CSRF token for the page's forms,
    who they are (for the navigation), and the note the last action left (shown once)."""

    def __init__(self, request: Request, templates: Jinja2Templates, svc: Herald) -> None:
        self.request = request
        self.templates = templates
        self.svc = svc

    def render(
        self,
        name: str,
        context: dict[str, Any],  # Any: template variables of any kind (service rows, forms, errors)
        status_code: int = 200,
    ) -> HTMLResponse:
        info = web_session(self.request, self.svc)
        signed_in = info is not None and not info.pending_second_factor
        actor = info.actor if info is not None and signed_in else None
        flash: Flash = self.request.app.state.flash
        note = flash.peek(self.request) if signed_in else None
        response = self.templates.TemplateResponse(
            self.request,
            name,
            {
                "csrf_field": CSRF_FIELD,
                "csrf_token": session_token(info.csrf_secret) if info is not None else "",
                "actor": actor,
                "may": Abilities(actor),
                "note": note,
                **context,
            },
            status_code=status_code,
        )
        if note is not None:
            flash.clear(response, self.request)
        return response


@dataclass(frozen=True)
class Abilities:
    """What the navigation and buttons offer the person (the routes and the service check it
    again): ``may.review``, ``may.administer`` ..."""

    actor: Actor | None

    def __getattr__(self, name: str) -> bool:
        try:
            capability = Capability(name)
        except ValueError:
            raise AttributeError(name) from None
        return self.actor is not None and capable(self.actor, capability)


def redirect_to(request: Request, name: str, **query: str | int | list[str]) -> RedirectResponse:
    """303 See Other to a named route's path (after a POST, so a reload does not post again).
    A list value is repeated (``a=1&a=2``); an empty one is left out."""
    root: str = request.scope.get("root_path", "")
    path = root + str(request.app.url_path_for(name))
    query = {k: v for k, v in query.items() if v != []}
    return RedirectResponse(f"{path}?{urlencode(query, doseq=True)}" if query else path, status_code=303)


def get_pages(request: Request, svc: ServiceDep) -> Pages:
    templates: Jinja2Templates = request.app.state.templates
    return Pages(request, templates, svc)


def flash_redirect(
    request: Request, note: Note, name: str, **query: str | int | list[str]
) -> RedirectResponse:
    """``redirect_to``, leaving ``note`` for the next page (see ``web.flash``)."""
    response = redirect_to(request, name, **query)
    flash: Flash = request.app.state.flash
    flash.put(response, request, note)
    return response


PagesDep = Annotated[Pages, Depends(get_pages)]
