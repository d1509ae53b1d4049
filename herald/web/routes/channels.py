"""``/channels``: the installation's channels for its admins (issue 18). See each one (platform,
API root, paused or not, the token's known expiry), add one, and check one with its platform's
dry call.

Adding goes through the service, as ``herald channel add`` does: the same refusals, and the
credentials sealed at once (a web process holding only ``HERALD_WEB_KEYS`` can seal). A page
never carries a credential's value: a refused form comes back with every secret field empty
(typed again), and only the names of a channel's credentials are ever shown. Checking is
``herald doctor``'s check of that one channel (``service.doctor.check_channel``); it needs the
key that opens credentials, so where the process holds only the web keys the page says so.
The doctor's words are made in the request, in its language and with times in the viewer's
zone: SQL keeps a token's expiry as a time, never as a sentence.

The platform is chosen first (a plain GET form, no script), then its own credential fields
are offered: each secret as a password field, what only names the account (a chat id, a
handle) as plain text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from herald.accounts import Actor
from herald.core.errors import Conflict, InputError, NotFound
from herald.core.i18n import _
from herald.platforms import Connector, connector_class, platform_names
from herald.service import Herald
from herald.service.doctor import Check, check_channel, token_checks
from herald.web.auth import CanAdminister
from herald.web.deps import FormDep, ServiceDep
from herald.web.flash import Note
from herald.web.security import CsrfDep
from herald.web.templating import Pages, PagesDep, flash_redirect
from herald.web.zones import request_zone

router = APIRouter(tags=["channels"])

#: A credential's field in the add form is this prefix and its key (``credential_access_token``).
CREDENTIAL_FIELD = "credential_"
#: Options typed in the add form, one ``KEY=VALUE`` a line; more lines than this is a mistake.
MAX_OPTION_LINES = 50


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class CredentialField:
    """One credential the chosen platform needs: ``secret`` ones are password fields, never
    filled back in; the others (``identity_keys``) name the account and may be."""

    key: str
    secret: bool
    value: str = ""


@dataclass(frozen=True)
class ChannelForm:
    """What the add form was filled with. Secrets are never kept here: a refused form is shown
    with them empty."""

    platform: str = ""
    name: str = ""
    base_url: str = ""
    options: str = ""
    #: Identity credentials typed (by key); secrets are left out.
    identities: dict[str, str] = field(default_factory=dict)

    def fields(self, cls: type[Connector] | None) -> list[CredentialField]:
        if cls is None:
            return []
        return [
            CredentialField(
                k, k not in cls.identity_keys, self.identities.get(k, "") if k in cls.identity_keys else ""
            )
            for k in cls.credential_keys
        ]


def platform_of(platform: str) -> type[Connector] | None:
    """The connector of a platform the page offers, or None (nothing chosen, or not one of them)."""
    return connector_class(platform) if platform in platform_names() else None


def parse_options(text: str) -> dict[str, str]:
    """The options typed, one ``KEY=VALUE`` a line (blank lines skipped), as the CLI's
    ``--option`` takes them. Raises InputError naming ``options``."""
    out: dict[str, str] = {}
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_OPTION_LINES:
        raise InputError("options", _("at most %(n)d options") % {"n": MAX_OPTION_LINES})
    for n, line in enumerate(lines, 1):
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise InputError("options", _("line %(n)d: expected KEY=VALUE") % {"n": n})
        out[key.strip()] = value.strip()
    return out


def refusal_status(e: InputError) -> int:
    return 404 if isinstance(e, NotFound) else 409 if isinstance(e, Conflict) else 422


def _page(
    pages: Pages,
    svc: Herald,
    actor: Actor,
    *,
    add: ChannelForm | None = None,
    refused: tuple[str, InputError] | None = None,
    checked: Check | None = None,
    checked_name: str = "",
) -> HTMLResponse:
    """The list of channels, the add form for the chosen platform, and a check's verdict.
    ``refused``: which form a refusal belongs to ("add" or "check"), shown there."""
    add = add or ChannelForm()
    cls = platform_of(add.platform)
    context = {
        "active": "channels",
        "channels": svc.list_channels(),
        "tokens": token_checks(svc, zone=request_zone()[0]),
        "platforms": [(p, connector_class(p).title) for p in platform_names()],
        "defaults": {p: connector_class(p).default_base_url for p in platform_names()},
        "add": add,
        "chosen": cls,
        "credential_fields": add.fields(cls),
        "credential_prefix": CREDENTIAL_FIELD,
        "checked": checked,
        "checked_name": checked_name,
        "refused_form": refused[0] if refused else "",
        "errors": {refused[1].field: refused[1].message} if refused else {},
    }
    status = refusal_status(refused[1]) if refused else 200
    return pages.render("channels.html", context, status_code=status)


@router.get("/channels", response_class=HTMLResponse, name="channels")
def channels_page(actor: CanAdminister, svc: ServiceDep, pages: PagesDep, platform: str = "") -> HTMLResponse:
    """Every channel, and the add form (with ``platform``, its credential fields)."""
    return _page(
        pages, svc, actor, add=ChannelForm(platform=platform if platform in platform_names() else "")
    )


@router.post("/channels", response_class=HTMLResponse, dependencies=[CsrfDep], name="channels_add")
def channels_add(
    request: Request, actor: CanAdminister, svc: ServiceDep, pages: PagesDep, form: FormDep
) -> Response:
    """Add a channel: its credentials checked against what its platform needs and sealed (as
    ``herald channel add``). A refusal re-renders the form without any secret."""
    platform = form_text(form, "platform").strip()
    cls = platform_of(platform)
    typed = {
        k: form_text(form, CREDENTIAL_FIELD + k) for k in (cls.credential_keys if cls is not None else ())
    }
    filled = ChannelForm(
        platform=platform if cls is not None else "",
        name=form_text(form, "name").strip(),
        base_url=form_text(form, "base_url").strip(),
        options=form_text(form, "options"),
        identities={k: v.strip() for k, v in typed.items() if cls is not None and k in cls.identity_keys},
    )
    try:
        if cls is None:
            raise InputError("platform", _("choose one of the platforms offered"))
        added = svc.add_channel(
            filled.name,
            platform,
            typed,
            base_url=filled.base_url or None,
            options=parse_options(filled.options),
            actor=actor,
        )
    except InputError as e:
        return _page(pages, svc, actor, add=filled, refused=("add", e))
    name = next((c.name for c in svc.list_channels() if c.id == added), filled.name)
    return flash_redirect(request, Note("channel", name=name), "channels")


@router.post(
    "/channels/{name:path}/check", response_class=HTMLResponse, dependencies=[CsrfDep], name="channels_check"
)
def channels_check(name: str, actor: CanAdminister, svc: ServiceDep, pages: PagesDep) -> Response:
    """Check one channel's credentials with its platform's dry call (``herald doctor``'s check),
    and show the verdict. The name is a path (a channel's name may hold a slash; the page
    quotes the rest)."""
    try:
        verdict = check_channel(svc, name, actor=actor, zone=request_zone()[0])
    except InputError as e:
        return _page(pages, svc, actor, refused=("check", e), checked_name=name)
    return _page(pages, svc, actor, checked=verdict, checked_name=name)
