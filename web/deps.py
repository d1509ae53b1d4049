"""Named dependencies, so route signatures read plainly: the service, page rendering (with the
CSRF token), the submitted form, and the shapes that turn HTTP input into service requests.

Input shaping lives here rather than in the routes: a route takes a ready ``PostRequest`` or
``LogFilters``, calls the service and renders.
"""

import hashlib
import hmac
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import AwareDatetime, BaseModel, ConfigDict
from starlette.datastructures import FormData, UploadFile

from herald.errors import HeraldError, InputError
from herald.secret import Secret
from herald.service import MAX_PHOTOS_PER_POST, Herald, PhotoInput, PostRequest

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

#: Cookie holding the random CSRF session id; forms carry HMAC(key, session id).
CSRF_COOKIE = "herald_csrf"
CSRF_FIELD = "csrf_token"
#: Random bytes in a CSRF session id, and its length once URL-safe base64 encoded.
CSRF_SESSION_BYTES = 32
CSRF_SESSION_CHARS = 43
#: Labels the key derived from the settings' secret, so the CSRF key is never the
#: credential-encryption key itself.
CSRF_KEY_CONTEXT = b"herald/web/csrf/v1"

#: Form limits, enforced while parsing: the four photos, and generously many text fields
#: (one text variant per channel, alt texts, the rest of the form).
MAX_FORM_FILES = MAX_PHOTOS_PER_POST
MAX_FORM_FIELDS = 1000


class CsrfError(HeraldError):
    """A form was posted without a valid CSRF token (answered with 403)."""


# -- the service -------------------------------------------------------------------------------


class ServiceHolder:
    """The app's one ``Herald``: given, or built on first use (so importing the app or starting
    uvicorn does not touch the database or Redis)."""

    def __init__(self, service: Herald | None, factory: Callable[[], Herald]) -> None:
        self._service = service
        self._factory = factory
        self._lock = threading.Lock()

    def get(self) -> Herald:
        if self._service is None:
            with self._lock:
                if self._service is None:
                    self._service = self._factory()
        return self._service


def get_service(request: Request) -> Herald:
    holder: ServiceHolder = request.app.state.services
    return holder.get()


ServiceDep = Annotated[Herald, Depends(get_service)]


# -- CSRF --------------------------------------------------------------------------------------


class CsrfSigner:
    """Signed double-submit tokens: the cookie holds a random session id, each form holds
    HMAC(key, session id). A cross-site page can make the browser send the cookie but can
    neither read it nor compute the matching token without the key."""

    def __init__(self, secret: Callable[[], Secret]) -> None:
        self._secret = secret
        self._key: bytes | None = None

    def _derived_key(self) -> bytes:
        if self._key is None:
            root = self._secret().reveal().encode()
            self._key = hmac.new(root, CSRF_KEY_CONTEXT, hashlib.sha256).digest()
        return self._key

    @staticmethod
    def new_session() -> str:
        return secrets.token_urlsafe(CSRF_SESSION_BYTES)

    @staticmethod
    def well_formed(session: str | None) -> bool:
        """Could this cookie be one of ours? (If not, a new session is handed out.)"""
        return session is not None and CSRF_SESSION_CHARS == len(session) and session.isascii()

    def token(self, session: str) -> str:
        return hmac.new(self._derived_key(), session.encode(), hashlib.sha256).hexdigest()

    def valid(self, session: str | None, token: str | None) -> bool:
        if session is None or token is None or not self.well_formed(session):
            return False
        # Bytes, not str: compare_digest refuses non-ASCII str, and the token is user input.
        return hmac.compare_digest(self.token(session).encode(), token.encode())


def get_signer(request: Request) -> CsrfSigner:
    signer: CsrfSigner = request.app.state.csrf
    return signer


SignerDep = Annotated[CsrfSigner, Depends(get_signer)]


# -- pages -------------------------------------------------------------------------------------


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
    env.globals["path_for"] = _path_for
    env.globals["time_zones"] = TIME_ZONES
    # "Can this post still be cancelled?": some delivery is still pending.
    env.tests["pending"] = lambda post: any(s in pending_states for s in post["deliveries"].values())
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


def redirect_to(request: Request, name: str, **query: str | int) -> RedirectResponse:
    """303 See Other to a named route's path (after a POST, so a reload does not post again)."""
    root: str = request.scope.get("root_path", "")
    path = root + str(request.app.url_path_for(name))
    return RedirectResponse(f"{path}?{urlencode(query)}" if query else path, status_code=303)


def get_pages(request: Request, signer: SignerDep) -> Pages:
    templates: Jinja2Templates = request.app.state.templates
    return Pages(request, templates, signer)


PagesDep = Annotated[Pages, Depends(get_pages)]


# -- forms -------------------------------------------------------------------------------------


async def read_form(request: Request) -> AsyncIterator[FormData]:
    """The submitted form, parsed once per request with limits; its spooled files are closed
    after the response."""
    form = await request.form(max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS)
    try:
        yield form
    finally:
        await form.close()


FormDep = Annotated[FormData, Depends(read_form)]


def require_csrf(request: Request, form: FormDep, signer: SignerDep) -> None:
    """Refuse a form post whose token does not match its cookie."""
    token = form.get(CSRF_FIELD)
    if not isinstance(token, str) or not signer.valid(request.cookies.get(CSRF_COOKIE), token):
        raise CsrfError("this form has expired or did not come from Herald; reload the page and try again")


CsrfDep = Depends(require_csrf)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    # Browsers send textarea line breaks as CRLF; platforms count the CR as a character.
    return value.replace("\r\n", "\n") if isinstance(value, str) else ""


@dataclass(frozen=True)
class ComposeForm:
    """What a person typed on the compose page, kept as typed so the form can be shown again
    on error (files excepted: browsers never pre-fill a file input)."""

    text: str = ""
    channels: tuple[str, ...] = ()
    text_for: dict[str, str] = field(default_factory=dict)
    photos: tuple[PhotoInput, ...] = ()
    alt_texts: tuple[str, ...] = ("",) * MAX_PHOTOS_PER_POST
    at: str = ""
    tz: str = DEFAULT_TIME_ZONE
    now: bool = False
    campaign: str = ""

    def to_request(self) -> PostRequest:
        """The service request. Raises InputError for a missing or malformed time."""
        return PostRequest(
            channels=list(self.channels),
            text=self.text,
            text_for={k: v for k, v in self.text_for.items() if v.strip()},
            photos=list(self.photos),
            at=None if self.now else self._at(),
            campaign=self.campaign.strip() or None,
        )

    def _at(self) -> datetime:
        if not self.at.strip():
            raise InputError("at", "choose a date and time, or tick “Post now”")
        if self.tz not in TIME_ZONES:
            raise InputError("tz", f"unknown time zone {self.tz!r}; choose one from the list")
        try:
            local = datetime.fromisoformat(self.at.strip())
        except ValueError:
            raise InputError("at", f"{self.at!r} is not a date and time like 2025-06-01T09:30") from None
        if local.tzinfo is not None:
            raise InputError("at", "give the time without a zone offset and pick the zone from the list")
        return local.replace(tzinfo=ZoneInfo(self.tz))


async def compose_form(form: FormDep) -> ComposeForm:
    channels = tuple(v for v in form.getlist("channels") if isinstance(v, str) and v)
    text_for = {
        key.removeprefix("text_for."): _text(form, key) for key in form if key.startswith("text_for.")
    }
    photos: list[PhotoInput] = []
    alts: list[str] = []
    for i in range(1, MAX_PHOTOS_PER_POST + 1):
        alt = _text(form, f"alt{i}").strip()
        alts.append(alt)
        upload = form.get(f"photo{i}")
        # An empty file input still sends a part, with no file name and no bytes.
        if isinstance(upload, UploadFile) and upload.filename:
            data = await upload.read()
            photos.append(PhotoInput(data=data, filename=upload.filename, alt_text=alt))
    tz = _text(form, "tz") or DEFAULT_TIME_ZONE
    return ComposeForm(
        text=_text(form, "text"),
        channels=channels,
        text_for=text_for,
        photos=tuple(photos),
        alt_texts=tuple(alts),
        at=_text(form, "at"),
        tz=tz,
        now=form.get("now") is not None,
        campaign=_text(form, "campaign"),
    )


ComposeDep = Annotated[ComposeForm, Depends(compose_form)]


# -- JSON and query input ----------------------------------------------------------------------


class PostIn(BaseModel):
    """``POST /api/posts``: queue a post. Give ``at`` (ISO 8601 with a zone) or ``now: true``."""

    model_config = ConfigDict(extra="forbid")

    channels: list[str]
    text: str = ""
    text_for: dict[str, str] = {}
    at: AwareDatetime | None = None
    now: bool = False
    campaign: str | None = None
    # Declared only to refuse it with a clear message instead of "extra inputs not permitted".
    photos: list[Any] | None = None  # Any: whatever was sent; it is refused unread

    def to_request(self) -> PostRequest:
        """The service request. Raises InputError for photos or a missing/doubled time."""
        if self.photos is not None:
            raise InputError("photos", "photos are not accepted in JSON yet; use the compose page or the CLI")
        if self.now and self.at is not None:
            raise InputError("at", "give either at or now: true, not both")
        if not self.now and self.at is None:
            raise InputError(
                "at", "give at (ISO 8601 with a zone, e.g. 2025-06-01T09:30:00+09:00) or now: true"
            )
        return PostRequest(
            channels=self.channels,
            text=self.text,
            text_for=self.text_for,
            at=self.at,
            campaign=self.campaign or None,
        )


def json_post(body: PostIn) -> PostRequest:
    return body.to_request()


JsonPostDep = Annotated[PostRequest, Depends(json_post)]


@dataclass(frozen=True)
class LogFilters:
    """Delivery-log filters from the query string; a blank field means "any"."""

    campaign: str | None = None
    channel: str | None = None
    status: str | None = None


def log_filters(campaign: str = "", channel: str = "", status: str = "") -> LogFilters:
    return LogFilters(campaign.strip() or None, channel.strip() or None, status.strip() or None)


LogFiltersDep = Annotated[LogFilters, Depends(log_filters)]
