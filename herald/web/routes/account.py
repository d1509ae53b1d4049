"""``/account``: a person's own account, whatever their role. Their API tokens (make one, at most
their role, shown once on the page that made it and never again; revoke one), their password
(the current one is asked for first), the language Herald speaks to them (else their
browser's, ``web.locale``), and the time zone pages show times in (else their browser's, else
UTC: ``web.zones``; kept in this browser, the same choice as the calendar's).

Only a browser signed in with the password gets here: an API token cannot make more tokens or
change the password of the person it belongs to.

A new password ends every session of the person (the service's rule), this one included; the
browser that changed it gets a new session at once, the others must sign in again.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from herald.accounts import Actor, Role
from herald.accounts.passwords import check_password_rules
from herald.core.errors import Conflict, InputError, NotFound, NotSignedIn, TooManyAttempts
from herald.core.i18n import LOCALE_NAMES, _
from herald.service import CreatedToken, Herald
from herald.web.auth import SignedInBrowser, client_address, set_session_cookie, web_session
from herald.web.deps import FormDep, ServiceDep
from herald.web.flash import Note
from herald.web.security import CsrfDep
from herald.web.templating import Pages, PagesDep, flash_redirect
from herald.web.zones import ZONE_COOKIE, ZONE_NAMES, known_zone, remember_zone, zone_choice

router = APIRouter(tags=["account"])

#: The page's forms, as ``refused_form`` names the one a refusal belongs to.
TOKEN, PASSWORD, TOKENS, LANGUAGE, ZONE = "token", "password", "tokens", "language", "zone"


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _status(e: InputError) -> int:
    return 404 if isinstance(e, NotFound) else 409 if isinstance(e, Conflict) else 422


@dataclass(frozen=True)
class TokenForm:
    """What the new-token form was filled with."""

    name: str = ""
    role: str = ""
    campaigns: tuple[str, ...] = ()

    @classmethod
    def of(cls, form: FormData) -> TokenForm:
        campaigns = tuple(v for v in form.getlist("campaigns") if isinstance(v, str) and v)
        return cls(_text(form, "name").strip(), _text(form, "role").strip(), campaigns)


def roles_up_to(actor: Actor) -> list[str]:
    """The roles a token of the person may have: theirs at most (none: they hold no role)."""
    best = max(actor.roles.values(), key=lambda r: r.rank, default=None)
    return [] if best is None else [r.value for r in Role if r.rank <= best.rank]


def _page(
    pages: Pages,
    svc: Herald,
    actor: Actor,
    *,
    created: CreatedToken | None = None,
    token_form: TokenForm | None = None,
    refused: tuple[str, InputError] | None = None,
    password_changed: bool = False,
    status_code: int | None = None,
) -> HTMLResponse:
    roles = roles_up_to(actor)
    info = web_session(pages.request, svc)
    context = {
        "active": "account",
        # The person's own choice ("" for "as the browser asks"), and the choices, each named in
        # its own language.
        "locale": (info.locale if info is not None else None) or "",
        "locales": LOCALE_NAMES,
        # The zone the person chose in this browser ("" for automatic), and the choices.
        "zone_choice": known_zone(pages.request.cookies.get(ZONE_COOKIE)) or "",
        "zones": ZONE_NAMES,
        "tokens": svc.tokens_of(actor.email, actor=actor),
        "roles": roles,
        "campaigns": [c.name for c in svc.list_campaigns(actor=actor)],
        "token_form": token_form or TokenForm(role=roles[-1] if roles else ""),
        # The one time the token is ever shown: right after it was made.
        "created": created.token.reveal() if created else None,
        "created_info": created.info if created else None,
        "password_changed": password_changed,
        "refused_form": refused[0] if refused else "",
        "errors": {refused[1].field: refused[1].message} if refused else {},
    }
    status = status_code or (_status(refused[1]) if refused else 200)
    return pages.render("account.html", context, status_code=status)


@router.get("/account", response_class=HTMLResponse, name="account_page")
def account_page(actor: SignedInBrowser, svc: ServiceDep, pages: PagesDep) -> HTMLResponse:
    return _page(pages, svc, actor)


@router.post(
    "/account/tokens",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
    name="account_token_create",
)
def account_token_create(
    actor: SignedInBrowser, svc: ServiceDep, pages: PagesDep, form: FormDep
) -> HTMLResponse:
    """A new token, shown on this answer only (it is stored as a digest: nobody can show it
    again). The page is answered directly rather than redirected, so the token never travels
    in a cookie or a URL."""
    filled = TokenForm.of(form)
    try:
        created = svc.create_token(
            actor.email, name=filled.name, role=filled.role or None, campaigns=filled.campaigns, actor=actor
        )
    except InputError as e:
        return _page(pages, svc, actor, token_form=filled, refused=(TOKEN, e))
    return _page(pages, svc, actor, created=created)


@router.post(
    "/account/tokens/{token_id}/revoke",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
    name="account_token_revoke",
)
def account_token_revoke(
    request: Request, token_id: int, actor: SignedInBrowser, svc: ServiceDep, pages: PagesDep
) -> Response:
    """Revoke one of the person's own live tokens (an admin's other people's tokens are on
    ``/users``)."""
    token = next((t for t in svc.tokens_of(actor.email, actor=actor) if t.id == token_id), None)
    if token is None or token.revoked or not svc.revoke_token(token_id, actor=actor):
        refusal = NotFound("token", _("you have no live token %(id)s") % {"id": token_id})
        return _page(pages, svc, actor, refused=(TOKENS, refusal))
    return flash_redirect(request, Note("revoked", name=token.shown), "account_page")


@router.post(
    "/account/language",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
    name="account_language",
)
def account_language(
    request: Request, actor: SignedInBrowser, svc: ServiceDep, pages: PagesDep, form: FormDep
) -> Response:
    """The language Herald speaks to the person from the next page on: one it speaks, or blank
    for "as my browser asks"."""
    chosen = _text(form, "locale").strip()
    try:
        svc.set_locale(actor.email, chosen or None, actor=actor)
    except InputError as e:
        return _page(pages, svc, actor, refused=(LANGUAGE, e))
    return flash_redirect(request, Note("language", name=chosen), "account_page")


@router.post(
    "/account/zone",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
    name="account_zone",
)
def account_zone(
    request: Request, actor: SignedInBrowser, svc: ServiceDep, pages: PagesDep, form: FormDep
) -> Response:
    """The zone every page shows times in from the next page on, in this browser: an IANA
    name, or ``auto`` for "my browser's, else UTC". Kept in the same cookie as the calendar's
    choice (``web.zones.remember_zone``)."""
    try:
        chosen = zone_choice(_text(form, "tz"))
    except InputError as e:
        return _page(pages, svc, actor, refused=(ZONE, e))
    response = flash_redirect(request, Note("zone", name=chosen), "account_page")
    remember_zone(response, request, chosen)
    return response


@router.post(
    "/account/password",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
    name="account_password",
)
def account_password(
    request: Request, actor: SignedInBrowser, svc: ServiceDep, pages: PagesDep, form: FormDep
) -> HTMLResponse:
    """Change the person's password: the current one first (checked as signing in does, so
    wrong guesses count towards the same limits), then the new one twice. Every session of
    theirs ends; this browser continues in a new one."""
    new = _text(form, "password")
    try:
        if new != _text(form, "confirm"):
            raise InputError("confirm", _("the new password and its repetition differ"))
        problem = check_password_rules(new)
        if problem:
            raise InputError("password", problem)
        try:
            svc.check_password(actor.email, _text(form, "current_password"), address=client_address(request))
        except NotSignedIn:
            raise InputError("current_password", _("that is not your current password")) from None
        svc.set_password(actor.email, new, actor=actor)
    except TooManyAttempts as e:
        limited = InputError("current_password", str(e))
        response = _page(pages, svc, actor, refused=(PASSWORD, limited), status_code=429)
        response.headers["Retry-After"] = str(max(1, int(e.retry_after + 0.999)))
        return response
    except InputError as e:
        return _page(pages, svc, actor, refused=(PASSWORD, e))
    if actor.user_id is None:  # not so: ``browser_only`` lets only a person in
        raise NotSignedIn(_("sign in first"))
    sid, _csrf = svc.start_session(actor.user_id)
    # This request's session has just ended: the page is rendered for the new one (its CSRF
    # token), which ``web.auth.web_session`` reads from the request's state.
    request.state.web_session = svc.session(sid)
    response = _page(pages, svc, actor, password_changed=True)
    set_session_cookie(response, request, sid, int(svc.session_lifetime.total_seconds()))
    return response
