"""Signing in and out: the password form, the second-factor step (and its first setup where
admins must have one), sign-out. A new session id at every step that grants more (the one a
browser came with is never promoted), so a planted cookie cannot become a signed-in session.

Failures say the same thing for an unknown email and a wrong password; the service counts
them per account and per address and answers 429 over its limits.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from herald.core.errors import NotSignedIn, TooManyAttempts
from herald.core.i18n import _
from herald.service import Herald
from herald.web.auth import (
    SESSION_COOKIE,
    clear_session_cookie,
    client_address,
    public,
    set_session_cookie,
    web_session,
)
from herald.web.deps import FormDep, ServiceDep
from herald.web.security import LoginCsrf, LoginCsrfCheck, LoginCsrfDep, SessionCsrfDep
from herald.web.templating import PagesDep

router = APIRouter(tags=["session"], dependencies=[Depends(public)])

#: Longest email and password accepted in the form (anything longer is not an account of ours,
#: and hashing megabytes of "password" would be work an attacker chooses).
MAX_EMAIL_CHARS = 254
MAX_PASSWORD_CHARS = 1024


def _text(form: FormDep, name: str, limit: int) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _login_page(
    request: Request,
    pages: PagesDep,
    signer: LoginCsrf,
    *,
    email: str = "",
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    token, cookie = signer.form(request)
    response = pages.render(
        "login.html",
        {"title": _("Sign in"), "email": email, "error": error, "login_token": token, "active": ""},
        status_code=status,
    )
    if cookie is not None:
        signer.set_cookie(response, request, cookie)
    return response


def _start(request: Request, svc: Herald, user_id: int, *, pending: bool, to: str) -> RedirectResponse:
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        svc.end_session(old)
    sid, _csrf = svc.start_session(user_id, pending_second_factor=pending)
    response = RedirectResponse(str(request.app.url_path_for(to)), status_code=303)
    lifetime = int(svc.session_lifetime.total_seconds())
    set_session_cookie(response, request, sid, lifetime)
    return response


@router.get("/login", response_class=HTMLResponse, name="login")
def login_form(request: Request, svc: ServiceDep, pages: PagesDep, signer: LoginCsrfDep) -> Response:
    info = web_session(request, svc)
    if info is not None and not info.pending_second_factor:
        return RedirectResponse(str(request.app.url_path_for("dashboard")), status_code=303)
    return _login_page(request, pages, signer)


@router.post("/login", response_class=HTMLResponse, dependencies=[LoginCsrfCheck], name="login_submit")
def login_submit(
    request: Request, svc: ServiceDep, pages: PagesDep, signer: LoginCsrfDep, form: FormDep
) -> Response:
    email = _text(form, "email", MAX_EMAIL_CHARS).strip()
    password = _text(form, "password", MAX_PASSWORD_CHARS)
    try:
        signed = svc.sign_in(email, password, address=client_address(request))
    except TooManyAttempts as e:
        response = _login_page(request, pages, signer, email=email, error=str(e), status=429)
        response.headers["Retry-After"] = str(max(1, int(e.retry_after + 0.999)))
        return response
    except NotSignedIn:
        return _login_page(
            request, pages, signer, email=email, error=_("Wrong email or password."), status=401
        )
    if signed.second_factor:
        return _start(request, svc, signed.user_id, pending=True, to="second_factor")
    if svc.needs_second_factor_setup(signed.user_id):
        return _start(request, svc, signed.user_id, pending=True, to="second_factor_setup")
    return _start(request, svc, signed.user_id, pending=False, to="dashboard")


def _pending(request: Request, svc: Herald) -> tuple[int, str]:
    """The user id and email of a session waiting for its second factor."""
    info = web_session(request, svc)
    if info is None or not info.pending_second_factor or info.actor.user_id is None:
        raise NotSignedIn(_("sign in first"))
    return info.actor.user_id, info.actor.email


def _code_page(
    pages: PagesDep, *, setup: tuple[str, str] | None = None, error: str = "", status: int = 200
) -> HTMLResponse:
    uri, sealed = setup or ("", "")
    context = {"title": _("Second factor"), "setup_uri": uri, "sealed": sealed, "error": error, "active": ""}
    return pages.render("second_factor.html", context, status_code=status)


@router.get("/login/code", response_class=HTMLResponse, name="second_factor")
def second_factor(request: Request, svc: ServiceDep, pages: PagesDep) -> Response:
    _pending(request, svc)
    return _code_page(pages)


@router.get("/login/setup", response_class=HTMLResponse, name="second_factor_setup")
def second_factor_setup(request: Request, svc: ServiceDep, pages: PagesDep) -> Response:
    """Admins where a second factor is required, on their first sign-in: a new secret to put
    in an authenticator app, then a code from it. Nothing is stored until the code is right."""
    user_id, _email = _pending(request, svc)
    if not svc.needs_second_factor_setup(user_id):
        return RedirectResponse(str(request.app.url_path_for("second_factor")), status_code=303)
    return _code_page(pages, setup=svc.second_factor_candidate(user_id))


@router.post(
    "/login/code", response_class=HTMLResponse, dependencies=[SessionCsrfDep], name="second_factor_submit"
)
def second_factor_submit(request: Request, svc: ServiceDep, pages: PagesDep, form: FormDep) -> Response:
    user_id, _email = _pending(request, svc)
    code = _text(form, "code", 16).replace(" ", "")
    sealed = _text(form, "sealed", 4096)
    setup = svc.needs_second_factor_setup(user_id)
    if setup and not sealed:
        return RedirectResponse(str(request.app.url_path_for("second_factor_setup")), status_code=303)
    try:
        if setup:
            svc.confirm_second_factor(user_id, sealed, code, address=client_address(request))
        else:
            svc.check_second_factor(user_id, code, address=client_address(request))
    except TooManyAttempts as e:
        return _code_page(pages, error=str(e), status=429)
    except NotSignedIn as e:
        again = svc.second_factor_candidate(user_id) if setup else None
        return _code_page(pages, setup=again, error=f"{str(e).capitalize()}.", status=401)
    return _start(request, svc, user_id, pending=False, to="dashboard")


@router.post("/logout", dependencies=[SessionCsrfDep], name="logout")
def logout(request: Request, svc: ServiceDep) -> Response:
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        svc.end_session(sid)
    response = RedirectResponse(str(request.app.url_path_for("login")), status_code=303)
    clear_session_cookie(response, request)
    return response
