"""``/users``: the people of the installation and their roles per campaign, for its admins.
Add a person (with the first password the admin chose), change a role, set a new password,
see a person's API tokens and revoke one.

The service checks the role again (listing or changing people needs an installation-wide
admin: anyone else gets the 403 page). Pages never carry a password hash, a second factor's
secret or a token: only a token's first characters, made to tell tokens apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from herald.accounts import Actor, Role
from herald.core.errors import Conflict, InputError, NotFound
from herald.core.i18n import _
from herald.service import Herald, TokenInfo, UserInfo
from herald.web.auth import CanAdminister
from herald.web.deps import FormDep, ServiceDep
from herald.web.flash import Note
from herald.web.security import CsrfDep
from herald.web.templating import Pages, PagesDep, flash_redirect

router = APIRouter(tags=["users"])

#: The page's forms, as ``form`` names the one a refusal belongs to.
ADD, ROLE, PASSWORD, TOKENS = "add", "role", "password", "tokens"


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def form_campaigns(form: FormData) -> tuple[str, ...]:
    """The campaigns ticked (none: everywhere)."""
    return tuple(v for v in form.getlist("campaigns") if isinstance(v, str) and v)


def refusal_status(e: InputError) -> int:
    return 404 if isinstance(e, NotFound) else 409 if isinstance(e, Conflict) else 422


@dataclass(frozen=True)
class PersonForm:
    """What the add and role forms were filled with (never a password: it is typed again)."""

    email: str = ""
    role: str = Role.STAFF.value
    campaigns: tuple[str, ...] = ()

    @classmethod
    def of(cls, form: FormData) -> PersonForm:
        return cls(form_text(form, "email").strip(), form_text(form, "role"), form_campaigns(form))


def _page(
    pages: Pages,
    svc: Herald,
    actor: Actor,
    *,
    person: str = "",
    add: PersonForm | None = None,
    change: PersonForm | None = None,
    refused: tuple[str, InputError] | None = None,
) -> HTMLResponse:
    """The list of people, the add form, and the forms of ``person`` if one is chosen.
    ``refused``: which form a refusal belongs to, shown there with its field named."""
    people = svc.list_users(actor=actor)
    wanted = person.strip().lower()
    chosen = next((p for p in people if p.email == wanted), None)
    tokens: list[TokenInfo] = svc.tokens_of(chosen.email, actor=actor) if chosen else []
    context = {
        "active": "users",
        "people": people,
        "person": chosen,
        "unknown_person": person if person and chosen is None else "",
        "tokens": tokens,
        "roles": [r.value for r in Role],
        "campaigns": [c.name for c in svc.list_campaigns(actor=actor)],
        "add": add or PersonForm(),
        "change": change or _current(chosen),
        "refused_form": refused[0] if refused else "",
        "errors": {refused[1].field: refused[1].message} if refused else {},
    }
    status = refusal_status(refused[1]) if refused else 404 if context["unknown_person"] else 200
    return pages.render("users.html", context, status_code=status)


def _current(person: UserInfo | None) -> PersonForm:
    """The role form filled with the person's installation-wide role, if they hold one."""
    if person is None:
        return PersonForm()
    everywhere = next((role for campaign, role in person.roles if campaign is None), None)
    return PersonForm(person.email, everywhere or Role.STAFF.value)


@router.get("/users", response_class=HTMLResponse, name="users_page")
def users_page(actor: CanAdminister, svc: ServiceDep, pages: PagesDep, person: str = "") -> HTMLResponse:
    """Everyone, and with ``person`` (an email) that person's role, password and tokens."""
    return _page(pages, svc, actor, person=person)


@router.post("/users", response_class=HTMLResponse, dependencies=[CsrfDep], name="users_add")
def users_add(
    request: Request, actor: CanAdminister, svc: ServiceDep, pages: PagesDep, form: FormDep
) -> Response:
    """A new person with a role in the ticked campaigns (none: everywhere) and the password the
    admin typed (to be handed over, and changed by the person on their account page)."""
    filled = PersonForm.of(form)
    try:
        added = svc.add_user(
            filled.email, form_text(form, "password"), filled.role, filled.campaigns, actor=actor
        )
    except InputError as e:
        return _page(pages, svc, actor, add=filled, refused=(ADD, e))
    return flash_redirect(request, Note("user", name=added.email), "users_page", person=added.email)


@router.post("/users/role", response_class=HTMLResponse, dependencies=[CsrfDep], name="users_role")
def users_role(
    request: Request, actor: CanAdminister, svc: ServiceDep, pages: PagesDep, form: FormDep
) -> Response:
    """Give the person a role in the ticked campaigns (none: everywhere), replacing the role
    they held there; their other campaigns keep theirs."""
    filled = PersonForm.of(form)
    try:
        changed = svc.set_role(filled.email, filled.role, filled.campaigns, actor=actor)
    except InputError as e:
        return _page(pages, svc, actor, person=filled.email, change=filled, refused=(ROLE, e))
    return flash_redirect(request, Note("role", name=changed.email), "users_page", person=changed.email)


@router.post("/users/password", response_class=HTMLResponse, dependencies=[CsrfDep], name="users_password")
def users_password(
    request: Request, actor: CanAdminister, svc: ServiceDep, pages: PagesDep, form: FormDep
) -> Response:
    """A new password for the person; every session of theirs ends."""
    email = form_text(form, "email").strip().lower()
    try:
        svc.set_password(email, form_text(form, "password"), actor=actor)
    except InputError as e:
        return _page(pages, svc, actor, person=email, refused=(PASSWORD, e))
    return flash_redirect(request, Note("password", name=email), "users_page", person=email)


@router.post(
    "/users/tokens/{token_id}/revoke",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
    name="users_token_revoke",
)
def users_token_revoke(
    request: Request, token_id: int, actor: CanAdminister, svc: ServiceDep, pages: PagesDep, form: FormDep
) -> Response:
    """Revoke one of the person's tokens (the person the page shows: a token of anyone else is
    refused, so a stale page cannot revoke the wrong one)."""
    email = form_text(form, "email").strip().lower()
    try:
        held = {t.id: t for t in svc.tokens_of(email, actor=actor)}
        token = held.get(token_id)
        if token is None or token.revoked:
            raise NotFound(
                "token", _("%(email)s has no live token %(id)s") % {"email": email, "id": token_id}
            )
        if not svc.revoke_token(token_id, actor=actor):
            raise NotFound("token", _("token %(token)s… is already revoked") % {"token": token.shown})
    except InputError as e:
        return _page(pages, svc, actor, person=email, refused=(TOKENS, e))
    return flash_redirect(request, Note("revoked", name=token.shown), "users_page", person=email)
