"""Core of the platform simulator: HTTP server, ledger, faults, control API.

One ``Simulator`` serves every platform from one port; each platform is mounted under its own
path prefix (``/mastodon/...``, ``/x/...``) by a ``Platform`` subclass living in
``simulator/<platform>.py`` and registered with ``register_platform``. The core owns the state
that all platforms share (accounts, the ledger of accepted posts, uploaded media, deletions,
faults, the request log) behind one lock; platform modules keep their own protocol state
(idempotency keys, nonces, chunked uploads) behind the same lock.

Fault semantics (``Fault.kind``):

- ``error``: answer ``status`` with the platform's own error body; the request is not applied.
- ``rate_limit``: answer 429 with the platform's rate-limit headers and body; not applied.
- ``slow``: sleep ``delay`` seconds, then handle the request normally.
- ``drop``: close the connection without answering; not applied.
- ``commit_then_drop``: apply the request (a post lands in the ledger), then close the
  connection without answering: the "sent but no answer" case a connector must reconcile.

Posting limits (``herald.simulator.limits``): every accepted post is counted against its
platform's documented limits per account (and per bot or app where those share one); a post
over one is answered 429 and recorded (``rate_violations``, ``/_sim/rate-violations``).

The control API (``/_sim/...``, JSON) exposes the same operations over HTTP for tests whose
workers run in other processes and for the sandbox; ``SimulatorClient`` wraps it.
"""

from __future__ import annotations

import hashlib
import html
import importlib
import io
import json
import logging
import math
import random
import re
import socket
import socketserver
import threading
import time
import unicodedata
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from functools import cached_property
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Literal, TypeVar, get_args

from PIL import Image, UnidentifiedImageError

from herald.simulator.limits import Over, PostCounter, PostLimit, RateViolation, exempt, scope_keys

logger = logging.getLogger(__name__)

#: Platform modules every Simulator mounts. Adding a platform = a module ``simulator/<name>.py``
#: whose ``Platform`` subclass is decorated with ``register_platform``, plus its name here.
BUILTIN_PLATFORMS: tuple[str, ...] = (
    "mastodon",
    "x",
    "bluesky",
    "telegram",
    "facebook",
    "instagram",
    "linkedin",
    "threads",
)

#: Largest request body accepted, bytes. Above every platform's photo limit (Mastodon 16 MiB)
#: with room for multipart framing, low enough that a runaway client cannot exhaust memory.
MAX_BODY_BYTES = 64 * 1024 * 1024

#: Requests remembered for ``requests_seen``; a benchmark of 10,000 posts with photos stays
#: well inside, and a long-running sandbox does not grow without bound.
REQUEST_LOG_LIMIT = 200_000

#: Pending connections the listening socket queues. Benchmarks open many client threads at
#: once; the stdlib default of 5 makes the kernel refuse connections under that burst.
LISTEN_BACKLOG = 1024

#: Idle keep-alive connections are closed after this many seconds so a long-running sandbox
#: does not keep one thread per abandoned client forever.
IDLE_CONNECTION_SECONDS = 120.0

#: Accounts registered by ``python -m simulator --sandbox``: the "sandbox" channel of
#: ``make run`` points Herald at these, so a newcomer can publish without any real account.
SANDBOX_ACCOUNTS: tuple[Mapping[str, str], ...] = (
    {
        "platform": "mastodon",
        "username": "herald_sandbox",
        "access_token": "sandbox-mastodon-token",
    },
    {
        "platform": "x",
        "username": "herald_sandbox",
        "api_key": "sandbox-x-key",
        "api_secret": "sandbox-x-secret",
        "access_token": "sandbox-x-token",
        "access_token_secret": "sandbox-x-token-secret",
    },
    {
        "platform": "bluesky",
        "username": "herald_sandbox",
        "handle": "herald-sandbox.bsky.social",
        "app_password": "sand-box0-blue-sky0",
    },
    {
        "platform": "telegram",
        "username": "herald_sandbox",
        "bot_token": "700000001:SANDBOX-telegram-bot-token-0000000",
        "chat_id": "@herald_sandbox",
    },
    {
        "platform": "facebook",
        "username": "herald_sandbox",
        "page_id": "100000000000001",
        "page_access_token": "sandbox-facebook-page-token",
    },
    {
        "platform": "instagram",
        "username": "herald_sandbox",
        "ig_user_id": "17841400000000001",
        "access_token": "sandbox-instagram-token",
    },
    {
        "platform": "linkedin",
        "username": "herald_sandbox",
        "organization_urn": "urn:li:organization:10000001",
        "access_token": "sandbox-linkedin-token",
    },
    {
        "platform": "threads",
        "username": "herald_sandbox",
        "threads_user_id": "10000000000000001",
        "access_token": "sandbox-threads-token",
    },
)

FaultKind = Literal["error", "rate_limit", "slow", "drop", "commit_then_drop"]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))


# --------------------------------------------------------------------------------------------
# Public value types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerMedia:
    """One photo attached to an accepted post, as the platform received it (bytes via
    ``Simulator.media_bytes``)."""

    media_id: str
    mime_type: str
    alt_text: str
    size: int
    sha256: str
    width: int
    height: int
    has_exif: bool
    has_gps: bool
    has_xmp: bool


@dataclass(frozen=True)
class LedgerEntry:
    """One post the platform accepted. Deletions are tracked apart (``Simulator.deleted``) so
    that entries stay immutable."""

    platform: str
    account: str
    remote_id: str
    url: str
    text: str
    media: tuple[LedgerMedia, ...]
    idempotency_key: str | None
    received_at: float
    #: Platform-specific facts about the post (Bluesky facets, Telegram parse mode and message
    #: ids, Instagram/Threads container ids...), JSON values only so the control API round-trips
    #: it. Left out of the hash: a mapping is not hashable.
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Fault:
    """A fault to inject into matching platform requests (see the module docstring)."""

    kind: FaultKind
    platform: str | None = None
    #: Substring matched against the platform path, e.g. ``"/2/tweets"``.
    path: str | None = None
    method: str | None = None
    #: Matching requests it hits; ``None`` = unlimited.
    count: int | None = 1
    #: Hit each matching request with this probability; ``count`` still caps the hits.
    probability: float | None = None
    status: int = 503
    #: For ``rate_limit``: seconds until the window resets, sent in the platform's headers.
    reset_in: float = 2.0
    #: For ``slow``: seconds to sleep before answering.
    delay: float = 0.0
    #: Matching requests let through untouched before the fault starts hitting (e.g. 2: the
    #: third post of a thread is the first one hit).
    after: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {sorted(FAULT_KINDS)}")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be >= 1 or None")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within 0..1")
        if not 100 <= self.status <= 599:
            raise ValueError("status must be an HTTP status code")
        if self.delay < 0 or self.reset_in < 0:
            raise ValueError("delay and reset_in must be >= 0")
        if self.after < 0:
            raise ValueError("after must be >= 0")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """Build from a JSON object; unknown keys are an error so typos do not go unnoticed."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class RequestRecord:
    """One platform request as the simulator saw it. ``status`` is 0 when no answer was sent
    (``drop`` and ``commit_then_drop`` faults); ``fault`` names the fault that hit it."""

    platform: str
    method: str
    path: str
    status: int
    time: float
    fault: str | None = None
    #: The file names of a multipart body's file parts, as the client sent them.
    file_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Account:
    platform: str
    username: str
    id: str
    credentials: Mapping[str, str]


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------

_FORMAT_MIME = {
    "JPEG": "image/jpeg",
    # Phone cameras write multi-picture JPEGs, which Pillow reports as MPO.
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "HEIF": "image/heic",
    "AVIF": "image/avif",
}

_XMP_START = b"<x:xmpmeta"
_XMP_END = b"</x:xmpmeta>"
_EXIF_GPS_IFD = 0x8825
_TIFF_XMP_TAG = 700


class InvalidImage(ValueError):
    """The bytes are not a decodable image of a known type."""


@dataclass(frozen=True)
class ImageInfo:
    mime_type: str
    width: int
    height: int
    size: int
    sha256: str
    has_exif: bool
    has_gps: bool
    has_xmp: bool


def _xmp_packet(im: Image.Image, data: bytes) -> bytes | None:
    for key in ("xmp", "XML:com.adobe.xmp"):
        value = im.info.get(key)
        if value:
            return value.encode("utf-8", "replace") if isinstance(value, str) else bytes(value)
    tags = getattr(im, "tag_v2", None)
    if tags is not None and _TIFF_XMP_TAG in tags:
        value = tags[_TIFF_XMP_TAG]
        return value.encode("utf-8", "replace") if isinstance(value, str) else bytes(value)
    # Formats or Pillow versions that do not surface XMP in ``info``: the packet is plain XML
    # embedded in the file, so a byte search finds it.
    start = data.find(_XMP_START)
    if start < 0:
        return None
    end = data.find(_XMP_END, start)
    return data[start : end + len(_XMP_END)] if end >= 0 else data[start:]


def inspect_image(data: bytes) -> ImageInfo:
    """Decode ``data`` and report its type, size and metadata.

    Raises ``InvalidImage`` if Pillow cannot identify or fully decode it (a truncated file is
    invalid, as on the real platforms whose processing fails on it).
    """
    try:
        with Image.open(io.BytesIO(data)) as im:
            mime = _FORMAT_MIME.get(im.format or "")
            width, height = im.size
            exif = im.getexif()
            raw_exif = bool(im.info.get("exif"))
            if im.format in ("JPEG", "MPO"):
                # Decode at 1/8 scale: still walks every entropy-coded segment (so truncation is
                # caught) at a fraction of the cost, which matters when benchmarks upload
                # thousands of photos.
                im.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            im.load()
            if not exif:
                # PNG keeps eXIf after the image data: only visible once loaded.
                exif = im.getexif()
            xmp = _xmp_packet(im, data)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidImage(f"not a decodable image: {exc}") from exc
    if mime is None:
        raise InvalidImage("unsupported image format")
    has_gps = _EXIF_GPS_IFD in exif or (xmp is not None and b"GPS" in xmp)
    return ImageInfo(
        mime_type=mime,
        width=width,
        height=height,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        has_exif=raw_exif or len(exif) > 0,
        has_gps=has_gps,
        has_xmp=xmp is not None,
    )


@dataclass
class StoredMedia:
    """An uploaded photo. Mutable: alt text can change and processing completes after upload."""

    platform: str
    media_id: str
    owner_id: str
    data: bytes
    info: ImageInfo
    created_at: float
    alt_text: str = ""
    focus: tuple[float, float] = (0.0, 0.0)
    #: Status polls that still answer "processing" before the media becomes usable.
    pending_polls: int = 0
    #: The post this media was attached to, for platforms where media is single-use.
    attached_to: str | None = None

    @property
    def processed(self) -> bool:
        return self.pending_polls <= 0

    def ledger_media(self) -> LedgerMedia:
        info = self.info
        return LedgerMedia(
            media_id=self.media_id,
            mime_type=info.mime_type,
            alt_text=self.alt_text,
            size=info.size,
            sha256=info.sha256,
            width=info.width,
            height=info.height,
            has_exif=info.has_exif,
            has_gps=info.has_gps,
            has_xmp=info.has_xmp,
        )


# --------------------------------------------------------------------------------------------
# Text counting shared by platforms
# --------------------------------------------------------------------------------------------

# Only http(s) URLs count as links on Mastodon (its extractor runs without protocol-less URLs);
# X also shortens bare domains, which this simulator does not model. URLs stop at whitespace
# and at non-ASCII, as the platforms' extractors stop at characters invalid in a URL.
_URL_RE = re.compile(r"https?://[!#-;=?-~]+", re.IGNORECASE)
_URL_TRAILING = ".,:;!?'\"*"
_ZWJ = 0x200D
_KEYCAP = 0x20E3
_VS16 = 0xFE0F


def find_urls(text: str) -> list[tuple[int, int]]:
    """Spans of http(s) URLs in ``text``, without trailing punctuation (a sentence's final
    period is not part of its link) or an unbalanced closing parenthesis."""
    spans: list[tuple[int, int]] = []
    for match in _URL_RE.finditer(text):
        start, end = match.span()
        while end > start:
            last = text[end - 1]
            if last in _URL_TRAILING:
                end -= 1
            elif last == ")" and text.count("(", start, end) < text.count(")", start, end):
                end -= 1
            else:
                break
        if text.find("://", start, end) + 3 < end:
            spans.append((start, end))
    return spans


def _is_regional_indicator(cp: int) -> bool:
    return 0x1F1E6 <= cp <= 0x1F1FF


def _extends_cluster(ch: str, cp: int) -> bool:
    """Whether ``ch`` belongs to the grapheme cluster before it (approximation of UAX #29)."""
    if cp < 0x300:
        return False
    if (
        cp == _ZWJ
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0xE0100 <= cp <= 0xE01EF  # variation selectors supplement
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # tag characters (subdivision flags)
        or 0x1160 <= cp <= 0x11FF  # Hangul medial vowels and final consonants
        or 0xD7B0 <= cp <= 0xD7FF
    ):
        return True
    return unicodedata.combining(ch) != 0 or unicodedata.category(ch) in ("Mn", "Me", "Mc")


def grapheme_clusters(text: str) -> list[str]:
    """Split ``text`` into approximate grapheme clusters: combining marks, variation selectors,
    emoji modifiers and ZWJ sequences join the previous cluster, regional indicators pair up,
    CR LF is one cluster."""
    clusters: list[str] = []
    current = ""
    joiner = False
    regional = 0
    for ch in text:
        cp = ord(ch)
        if current and (
            joiner
            or (ch == "\n" and current == "\r")
            or (_is_regional_indicator(cp) and regional % 2 == 1 and len(current) == regional)
            or _extends_cluster(ch, cp)
        ):
            current += ch
        else:
            if current:
                clusters.append(current)
            current = ch
            regional = 0
        if _is_regional_indicator(cp):
            regional += 1
        joiner = cp == _ZWJ
    if current:
        clusters.append(current)
    return clusters


def grapheme_length(text: str) -> int:
    if text.isascii():
        # ASCII has no combining characters; only CR LF pairs collapse.
        return len(text) - text.count("\r\n")
    return len(grapheme_clusters(text))


def is_emoji_sequence(cluster: str) -> bool:
    """Whether a multi-code-point cluster is an emoji sequence: a pictograph with modifiers or
    ZWJ partners, a flag, a keycap, or a character with the emoji presentation selector."""
    if len(cluster) < 2:
        return False
    if 0x1F000 <= ord(cluster[0]) <= 0x1FAFF:
        return True
    return any(
        cp in (_VS16, _KEYCAP) or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F
        for cp in map(ord, cluster)
    )


# --------------------------------------------------------------------------------------------
# HTTP plumbing shared by platforms
# --------------------------------------------------------------------------------------------

JSON_TYPE = "application/json; charset=utf-8"


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


def json_response(
    status: int,
    payload: Any,  # Any: any JSON-serialisable value
    *,
    content_type: str = JSON_TYPE,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, content_type, dict(headers or {}))


def html_response(status: int, page: str) -> Response:
    return Response(status, page.encode("utf-8"), "text/html; charset=utf-8")


class HttpError(Exception):
    """Raised by a handler to answer with ``response`` (an error in the platform's own shape)."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"HTTP {response.status}")
        self.response = response


class BadBody(ValueError):
    """The request body cannot be parsed as its Content-Type says."""


@dataclass(frozen=True)
class FormPart:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


class Form:
    """Fields of a urlencoded or multipart body, in order, repeated names kept."""

    def __init__(self, parts: Iterable[FormPart] = ()) -> None:
        self.parts = list(parts)

    def part(self, name: str) -> FormPart | None:
        return next((p for p in self.parts if p.name == name), None)

    def get(self, name: str) -> str | None:
        found = self.part(name)
        return None if found is None else found.text

    def getlist(self, name: str) -> list[str]:
        return [p.text for p in self.parts if p.name == name]

    def __contains__(self, name: object) -> bool:
        return any(p.name == name for p in self.parts)

    def names(self) -> set[str]:
        return {p.name for p in self.parts}


_HEADER_PARSER = BytesHeaderParser(policy=policy.HTTP)


def parse_multipart(body: bytes, boundary: str) -> Form:
    """Split a multipart/form-data body. Part bodies are sliced, not decoded, so photos of
    several MiB cost one copy; part headers go through the stdlib header parser."""
    delimiter = b"--" + boundary.encode("latin-1")
    position = body.find(delimiter)
    if not boundary or position < 0:
        raise BadBody("multipart body without its boundary")
    position += len(delimiter)
    parts: list[FormPart] = []
    while not body.startswith(b"--", position):
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            raise BadBody("truncated multipart body")
        start = line_end + 2
        end = body.find(b"\r\n" + delimiter, start)
        if end < 0:
            raise BadBody("multipart body without a closing boundary")
        raw = body[start:end]
        if raw.startswith(b"\r\n"):
            head, data = b"", raw[2:]
        else:
            split = raw.find(b"\r\n\r\n")
            if split < 0:
                raise BadBody("multipart part without a header end")
            head, data = raw[:split], raw[split + 4 :]
        headers = _HEADER_PARSER.parsebytes(head + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise BadBody("multipart part without a name")
        filename = headers.get_filename()
        content_type = headers.get_content_type() if "content-type" in headers else None
        parts.append(FormPart(name, data, filename, content_type))
        position = end + 2 + len(delimiter)
    return Form(parts)


def _file_names(request: Request) -> tuple[str, ...]:
    """The file names a multipart request carried (none for other bodies, or a broken one)."""
    if request.content_type != "multipart/form-data":
        return ()
    try:
        return tuple(p.filename for p in request.form.parts if p.filename is not None)
    except BadBody:
        return ()


@dataclass
class Request:
    """One platform request. ``path`` is the platform path (prefix removed, no query);
    ``raw_path`` is the path exactly as requested (with prefix), for signature checks."""

    method: str
    path: str
    raw_path: str
    query_string: str
    headers: Message
    body: bytes
    host: str
    params: dict[str, str] = field(default_factory=dict)
    account: Account | None = None

    @cached_property
    def query_pairs(self) -> list[tuple[str, str]]:
        return urllib.parse.parse_qsl(self.query_string, keep_blank_values=True)

    def query(self, name: str) -> str | None:
        return next((v for k, v in self.query_pairs if k == name), None)

    @property
    def content_type(self) -> str:
        value = self.headers.get("Content-Type")
        return value.split(";", 1)[0].strip().lower() if value else ""

    def json(self) -> Any:  # Any: whatever JSON the client sent
        if not self.body:
            raise BadBody("empty body")
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadBody(f"invalid JSON: {exc}") from exc

    def form_pairs(self) -> list[tuple[str, str]]:
        try:
            return urllib.parse.parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError as exc:
            raise BadBody("urlencoded body is not UTF-8") from exc

    @cached_property
    def form(self) -> Form:
        """The body as form fields (urlencoded or multipart); empty for other types.
        Raises ``BadBody`` on a malformed body."""
        ctype = self.content_type
        if ctype == "application/x-www-form-urlencoded":
            return Form(FormPart(k, v.encode("utf-8")) for k, v in self.form_pairs())
        if ctype == "multipart/form-data":
            boundary = self.headers.get_param("boundary", header="content-type")
            if not isinstance(boundary, str):
                raise BadBody("multipart body without a boundary parameter")
            return parse_multipart(self.body, boundary)
        return Form()


RouteHandler = Callable[[Request], Response]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: RouteHandler
    public: bool


def _compile_route(template: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(regex + r"\Z")


def iso_utc(timestamp: float, *, digits: int = 3) -> str:
    """``2026-11-25T12:00:00.000Z`` (``digits`` fractional digits: 3 or 6)."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    fraction = f"{moment.microsecond:06d}"[:digits]
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z"


class Platform(ABC):
    """One simulated platform, mounted at ``/{name}``. Subclasses declare routes in
    ``setup_routes`` and answer errors in the platform's own shapes."""

    name: ClassVar[str]
    #: Notional rate-limit bucket reported in headers on every response.
    rate_limit: ClassVar[int] = 300
    rate_window_seconds: ClassVar[float] = 900.0
    #: Credentials ``Simulator.add_account`` requires for this platform.
    required_credentials: ClassVar[tuple[str, ...]] = ()
    #: Snowflake-style ids: ((ms - epoch) << shift) + sequence, unique and increasing.
    id_epoch_ms: ClassVar[int] = 0
    id_shift: ClassVar[int] = 16
    #: The platform's documented posting limits, counted by ``count_post`` (``limits``).
    post_limits: ClassVar[tuple[PostLimit, ...]] = ()

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._static: dict[tuple[str, str], _Route] = {}
        self._dynamic: list[_Route] = []
        self._windows: dict[str, tuple[float, int]] = {}
        self.setup_routes()

    # -- routing -----------------------------------------------------------------------------

    def route(self, method: str, template: str, handler: RouteHandler, *, public: bool = False) -> None:
        """Register ``handler`` for ``method`` and a path template with ``{name}`` segments.
        Non-public routes authenticate first (``authenticate`` sets ``request.account``)."""
        route = _Route(method, _compile_route(template), handler, public)
        if "{" in template:
            self._dynamic.append(route)
        else:
            self._static[(method, template)] = route

    def _match(self, request: Request) -> _Route | None:
        route = self._static.get((request.method, request.path))
        if route is not None:
            return route
        for candidate in self._dynamic:
            if candidate.method != request.method:
                continue
            match = candidate.pattern.match(request.path)
            if match:
                request.params = match.groupdict()
                return candidate
        return None

    def dispatch(self, request: Request) -> Response:
        try:
            route = self._match(request)
            if route is None:
                return self.not_found(request)
            if not route.public:
                request.account = self.authenticate(request)
            return route.handler(request)
        except HttpError as exc:
            return exc.response
        except Exception:
            logger.exception("simulator handler failed", extra={"platform": self.name, "path": request.path})
            return self.error_response(500)

    # -- what each platform provides -----------------------------------------------------------

    @abstractmethod
    def setup_routes(self) -> None: ...

    @abstractmethod
    def authenticate(self, request: Request) -> Account:
        """Return the request's account or raise ``HttpError`` with the platform's 401."""

    @abstractmethod
    def not_found(self, request: Request) -> Response: ...

    @abstractmethod
    def error_response(self, status: int) -> Response:
        """The platform's own error answer for an HTTP status (used by ``error`` faults)."""

    @abstractmethod
    def rate_limit_headers(self, limit: int, remaining: int, reset_at: float) -> dict[str, str]: ...

    @abstractmethod
    def rate_limited_body(self) -> Response:
        """The platform's 429 answer without headers."""

    def index_accounts(self, accounts: list[Account]) -> None:  # noqa: B027  (optional hook)
        """Rebuild credential indexes after an account was added or changed."""

    def reset(self) -> None:
        """Forget protocol state (idempotency, nonces, uploads, posts); accounts stay."""
        self._windows.clear()

    # -- shared behaviour ---------------------------------------------------------------------

    def validate_credentials(self, credentials: Mapping[str, str]) -> None:
        missing = [name for name in self.required_credentials if not credentials.get(name)]
        if missing:
            raise ValueError(f"{self.name} account needs credentials: {', '.join(missing)}")

    def rate_limited_response(self, reset_in: float) -> Response:
        response = self.rate_limited_body()
        response.headers.update(self.rate_limit_headers(self.rate_limit, 0, time.time() + reset_in))
        return response

    def decorate(self, request: Request, response: Response) -> None:
        """Add rate-limit headers from a notional bucket per account. The bucket is never
        enforced (``rate_limit`` faults and the posting limits of ``count_post`` answer 429,
        with headers of their own): when it would run dry a new window starts, so a connector
        that waits on ``remaining == 0`` is not stalled by a benchmark."""
        key = request.account.id if request.account is not None else "anonymous"
        now = time.time()
        with self.sim.lock:
            start, used = self._windows.get(key, (now, 0))
            if now >= start + self.rate_window_seconds or used >= self.rate_limit - 1:
                start, used = now, 0
            used += 1
            self._windows[key] = (start, used)
        for name, value in self.rate_limit_headers(
            self.rate_limit, self.rate_limit - used, start + self.rate_window_seconds
        ).items():
            response.headers.setdefault(name, value)

    def public_url(self, path: str) -> str:
        return f"{self.sim.base_url}/{self.name}{path}"

    # -- posting limits ---------------------------------------------------------------------

    def count_post(self, account: Account, *, cost: int = 1, now: float | None = None) -> None:
        """Count a post (``cost`` units: messages of an album, points of a write) against the
        platform's posting limits. Call it under ``sim.lock``, after every other check and just
        before the post is committed, so that a refused post is not counted and two concurrent
        ones cannot both take the last unit. Past a limit the post is recorded as a
        ``RateViolation``; with ``sim.enforce_post_limits`` (the default) this raises
        ``HttpError`` with the platform's 429 and nothing is committed."""
        if not self.post_limits or exempt(account.credentials):
            return
        now = time.time() if now is None else now
        counter = self.sim.post_counter
        keys = scope_keys(account.id, account.credentials, self.post_limits)
        with self.sim.lock:
            over = counter.over(self.name, self.post_limits, keys, cost, now)
            enforce = bool(self.sim.enforce_post_limits)
            if over is not None:
                limit = over.limit
                counter.note(
                    RateViolation(
                        platform=self.name,
                        account=account.username,
                        limit=limit.name,
                        posts=limit.posts,
                        window_seconds=limit.window_seconds,
                        used=over.used,
                        cost=cost,
                        at=now,
                        refused=enforce,
                    )
                )
                logger.info(
                    "simulator posting limit exceeded",
                    extra={"platform": self.name, "account": account.username, "limit": limit.name},
                )
                if enforce:
                    raise HttpError(self.post_limit_response(over, now))
            counter.take(self.name, self.post_limits, keys, cost, now)

    def post_limit_response(self, over: Over, now: float) -> Response:
        """The 429 for a post over ``over.limit``: the platform's rate-limited answer with its
        headers describing that limit (none used, reset when the window has room)."""
        response = self.rate_limited_response(max(0.0, over.reset_at - now))
        response.headers.update(self.rate_limit_headers(over.limit.posts, 0, over.reset_at))
        return response


_P = TypeVar("_P", bound=type[Platform])
_PLATFORM_CLASSES: dict[str, type[Platform]] = {}


def register_platform(cls: _P) -> _P:
    """Class decorator: make a ``Platform`` subclass mountable by its ``name``."""
    _PLATFORM_CLASSES[cls.name] = cls
    return cls


# --------------------------------------------------------------------------------------------
# The HTTP server
# --------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # stop() must not wait for clients that keep idle keep-alive connections open.
    block_on_close = False
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, a DNS lookup that can stall start().
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:  # Any: socketserver's types
        # The stdlib prints tracebacks to stderr; route them through logging instead.
        logger.exception("simulator connection failed", extra={"client": str(client_address)})

    def close_connections(self) -> None:
        with self.connections_lock:
            open_connections = list(self.connections)
        for conn in open_connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the client: nothing left to release


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "HeraldSimulator/1.0"
    # Answers go out in one write, but a client's request may not: without TCP_NODELAY, Nagle
    # plus delayed ACKs can add ~40 ms to a keep-alive exchange.
    disable_nagle_algorithm = True
    timeout = IDLE_CONNECTION_SECONDS
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (stdlib signature)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers carry nothing the platforms use
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise BadBody("request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY_BYTES:
            raise BadBody("request body too large")
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        sim = self.server.simulator
        try:
            body = self._read_body()
        except (BadBody, ValueError):
            self.close_connection = True
            self._send(json_response(413, {"error": "request body too large or malformed"}))
            return
        raw_path, _, query_string = self.path.partition("?")
        if raw_path == "/_sim" or raw_path.startswith("/_sim/"):
            self._send(sim._control(self.command, raw_path, query_string, body))
            return
        name, _, rest = raw_path[1:].partition("/")
        platform = sim._platforms.get(name)
        if platform is None:
            self._send(json_response(404, {"error": f"no platform mounted at /{name}"}))
            return
        request = Request(
            method=self.command,
            path=urllib.parse.unquote("/" + rest),
            raw_path=raw_path,
            query_string=query_string,
            headers=self.headers,
            body=body,
            host=self.headers.get("Host", ""),
        )
        response = sim._serve(platform, request)
        if response is None:
            # Drop: no status line at all, the client sees the connection close.
            self.close_connection = True
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        # Status line, headers and body go out in one write: one syscall per answer instead of
        # two, which is most of the per-request cost left once the platform work is small.
        head = [
            f"{self.protocol_version} {response.status} {phrase(response.status)}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
        ]
        head.extend(f"{name}: {value}" for name, value in response.headers.items())
        head.append(f"Content-Type: {response.content_type}")
        head.append(f"Content-Length: {len(response.body)}")
        if self.close_connection:
            head.append("Connection: close")
        self.log_request(response.status)
        try:
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its read timeout fired during a slow fault): nothing to answer.
            logger.debug("client went away before the answer", extra={"path": self.path})
            self.close_connection = True


# --------------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------------


@dataclass
class _ArmedFault:
    fault: Fault
    remaining: int | None
    #: Matching requests still to let through (``Fault.after``).
    passes: int = 0


class Simulator:
    """A local stand-in for social platforms. See the module docstring.

    ``mastodon_async_media`` / ``x_async_media``: when N > 0, uploads answer "processing" and
    the platform's media status endpoint reports processing for the first N polls.
    ``instagram_processing_polls`` / ``threads_processing_polls``: a new container answers
    ``IN_PROGRESS`` to its first N status reads, then ``FINISHED``.
    ``instagram_publish_limit`` / ``threads_publish_limit``: API-published posts per account per
    rolling 24 h (``threads_reply_limit``: Threads replies, counted apart).
    ``bluesky_access_jwt_seconds``: life of a Bluesky access JWT.
    ``bluesky_blob_max_bytes``: the image blob cap enforced at createRecord.
    ``enforce_post_limits``: 1 (default) answers 429 to a post over its platform's posting
    limits, as the platform does; 0 accepts it. Either way it is recorded (``rate_violations``,
    ``herald.simulator.limits``).
    ``random`` drives probabilistic faults; seed it for reproducible runs.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, platforms: Iterable[str] = BUILTIN_PLATFORMS
    ) -> None:
        self.host = host
        self.port = port
        # One lock around all shared state; re-entrant so platform code holding it can call
        # back into core helpers.
        self.lock = threading.RLock()
        self.random = random.Random()
        self.mastodon_async_media = 0
        self.x_async_media = 0
        self.instagram_processing_polls = 0
        self.threads_processing_polls = 0
        #: Instagram's documented quota today (it was 25, then 50).
        self.instagram_publish_limit = 100
        self.threads_publish_limit = 250
        #: Threads replies count apart: 1,000 per profile per moving 24 h.
        self.threads_reply_limit = 1000
        #: Access JWTs live ~2 h on bsky.social.
        self.bluesky_access_jwt_seconds = 7200
        #: The lexicon said 1,000,000 until April 2026 and 2,000,000 since; strict by default.
        self.bluesky_blob_max_bytes = 1_000_000
        #: Refuse posts over the platforms' posting limits (1) or only record them (0).
        self.enforce_post_limits = 1
        self.post_counter = PostCounter()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._accounts: dict[str, dict[str, Account]] = {}
        self._ledger: list[LedgerEntry] = []
        self._deleted: dict[str, set[str]] = {}
        self._media: dict[tuple[str, str], StoredMedia] = {}
        self._faults: list[_ArmedFault] = []
        self._requests: deque[RequestRecord] = deque(maxlen=REQUEST_LOG_LIMIT)
        self._last_ids: dict[str, int] = {}
        self._platforms: dict[str, Platform] = {}
        for name in platforms:
            importlib.import_module(f"herald.simulator.{name}")
            self._platforms[name] = _PLATFORM_CLASSES[name](self)
            self._accounts[name] = {}
            self._deleted[name] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Simulator:
        """Bind and serve in a background daemon thread; returns self."""
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), self)
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"simulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("simulator listening", extra={"url": self.base_url})
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        # Keep-alive clients would otherwise keep talking to a stopped simulator.
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None and self.port == 0:
            raise RuntimeError("simulator not started: the port is chosen by start()")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    def url_for(self, platform: str) -> str:
        self._platform(platform)
        return f"{self.base_url}/{platform}"

    @property
    def platforms(self) -> list[str]:
        return list(self._platforms)

    def _platform(self, name: str) -> Platform:
        try:
            return self._platforms[name]
        except KeyError:
            raise ValueError(f"unknown platform {name!r}; mounted: {', '.join(self._platforms)}") from None

    # -- accounts ----------------------------------------------------------------------------

    def add_account(self, platform: str, *, username: str, **credentials: str) -> None:
        """Register (or update the credentials of) an account.

        mastodon: ``access_token``; x: ``api_key``, ``api_secret``, ``access_token``,
        ``access_token_secret`` (optional ``bearer_token`` for OAuth 2.0 user context);
        bluesky: ``handle``, ``app_password``; telegram: ``bot_token``, ``chat_id``; facebook:
        ``page_id``, ``page_access_token``; instagram: ``ig_user_id``, ``access_token``;
        linkedin: ``organization_urn``, ``access_token``; threads: ``threads_user_id``,
        ``access_token``. Token platforms also take ``expires_at`` (epoch seconds, as a string):
        see each platform module. Raises ``ValueError`` for an unknown platform or missing
        credentials.
        """
        plat = self._platform(platform)
        if not username:
            raise ValueError("username is required")
        plat.validate_credentials(credentials)
        with self.lock:
            accounts = self._accounts[platform]
            existing = accounts.get(username)
            account_id = existing.id if existing is not None else self.new_id(platform)
            accounts[username] = Account(platform, username, account_id, dict(credentials))
            plat.index_accounts(list(accounts.values()))

    def add_accounts(self, accounts: Iterable[Mapping[str, str]]) -> None:
        """Register accounts given as ``{"platform", "username", **credentials}`` mappings."""
        for spec in accounts:
            data = dict(spec)
            platform = data.pop("platform")
            username = data.pop("username")
            self.add_account(platform, username=username, **data)

    def accounts(self, platform: str) -> list[Account]:
        with self.lock:
            return list(self._accounts[platform].values())

    def account_by_id(self, platform: str, account_id: str) -> Account | None:
        with self.lock:
            return next((a for a in self._accounts[platform].values() if a.id == account_id), None)

    # -- ledger, media, deletions ------------------------------------------------------------

    def ledger(self, platform: str | None = None) -> list[LedgerEntry]:
        """Accepted posts, oldest first (deleted ones included; see ``deleted``)."""
        if platform is not None:
            self._platform(platform)
        with self.lock:
            return [e for e in self._ledger if platform is None or e.platform == platform]

    def deleted(self, platform: str) -> set[str]:
        """Remote ids of posts deleted through the platform API."""
        self._platform(platform)
        with self.lock:
            return set(self._deleted[platform])

    def media_bytes(self, platform: str, media_id: str) -> bytes:
        """The bytes of an upload exactly as received. Raises ``KeyError`` if unknown."""
        with self.lock:
            return self._media[(platform, media_id)].data

    def requests_seen(self, platform: str | None = None) -> list[RequestRecord]:
        with self.lock:
            return [r for r in self._requests if platform is None or r.platform == platform]

    def rate_violations(self, platform: str | None = None) -> list[RateViolation]:
        """Posts that went over their platform's posting limits since the last ``reset``,
        oldest first: refused with a 429, or accepted when ``enforce_post_limits`` is 0."""
        if platform is not None:
            self._platform(platform)
        with self.lock:
            return self.post_counter.violations(platform)

    # -- faults ------------------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        if fault.platform is not None:
            self._platform(fault.platform)
        with self.lock:
            self._faults.append(_ArmedFault(fault, fault.count, fault.after))

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def faults(self) -> list[Fault]:
        """Faults still armed."""
        with self.lock:
            return [a.fault for a in self._faults]

    def reset(self) -> None:
        """Forget posts, deletions, faults, media, the request log, the posting-limit windows
        and violations, and every platform's protocol memory (idempotency keys, duplicate texts,
        nonces, uploads); keep accounts."""
        with self.lock:
            self._ledger.clear()
            self.post_counter.clear()
            for ids in self._deleted.values():
                ids.clear()
            self._media.clear()
            self._faults.clear()
            self._requests.clear()
            for plat in self._platforms.values():
                plat.reset()

    # -- helpers for platform modules --------------------------------------------------------

    def new_id(self, platform: str) -> str:
        """A new snowflake-style id (digits), increasing and unique per platform, never
        reused even across ``reset``."""
        plat = self._platforms[platform]
        with self.lock:
            candidate = (int(time.time() * 1000) - plat.id_epoch_ms) << plat.id_shift
            value = max(candidate, self._last_ids.get(platform, 0) + 1)
            self._last_ids[platform] = value
        return str(value)

    def commit(self, entry: LedgerEntry) -> None:
        with self.lock:
            self._ledger.append(entry)

    def mark_deleted(self, platform: str, remote_id: str) -> None:
        with self.lock:
            self._deleted[platform].add(remote_id)

    def is_deleted(self, platform: str, remote_id: str) -> bool:
        with self.lock:
            return remote_id in self._deleted[platform]

    def store_media(self, media: StoredMedia) -> None:
        with self.lock:
            self._media[(media.platform, media.media_id)] = media

    def get_media(self, platform: str, media_id: str) -> StoredMedia | None:
        with self.lock:
            return self._media.get((platform, media_id))

    # -- request handling --------------------------------------------------------------------

    def _take_fault(self, platform: str, method: str, path: str) -> Fault | None:
        if not self._faults:
            return None
        with self.lock:
            for armed in self._faults:
                fault = armed.fault
                if (
                    (fault.platform is not None and fault.platform != platform)
                    or (fault.method is not None and fault.method.upper() != method)
                    or (fault.path is not None and fault.path not in path)
                ):
                    continue
                if armed.passes > 0:
                    armed.passes -= 1
                    continue
                if fault.probability is not None and self.random.random() >= fault.probability:
                    continue
                if armed.remaining is not None:
                    armed.remaining -= 1
                    if armed.remaining <= 0:
                        self._faults.remove(armed)
                return fault
        return None

    def _serve(self, platform: Platform, request: Request) -> Response | None:
        """Answer one platform request, applying faults; ``None`` means close without answer."""
        fault = self._take_fault(platform.name, request.method, request.path)
        kind = fault.kind if fault is not None else None
        response: Response | None
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        if fault is not None and fault.kind == "drop":
            response = None
        elif fault is not None and fault.kind == "error":
            response = platform.error_response(fault.status)
        elif fault is not None and fault.kind == "rate_limit":
            response = platform.rate_limited_response(fault.reset_in)
        else:
            response = platform.dispatch(request)
        if response is not None:
            platform.decorate(request, response)
        answered = response is not None and kind != "commit_then_drop"
        record = RequestRecord(
            platform=platform.name,
            method=request.method,
            path=request.path,
            status=response.status if answered and response is not None else 0,
            time=time.time(),
            fault=kind,
            file_names=_file_names(request),
        )
        with self.lock:
            self._requests.append(record)
        if kind is not None:
            logger.info(
                "simulator fault",
                extra={"platform": platform.name, "path": request.path, "fault": kind},
            )
        return response if answered else None

    # -- control API -------------------------------------------------------------------------

    def _control(self, method: str, path: str, query_string: str, body: bytes) -> Response:
        sub = path[len("/_sim") :].rstrip("/") or "/"
        query = dict(urllib.parse.parse_qsl(query_string))
        try:
            if method == "GET" and sub == "/":
                return html_response(200, self._feed_page())
            if method == "GET" and sub == "/health":
                return json_response(200, {"status": "ok", "platforms": self.platforms})
            if method == "GET" and sub == "/ledger":
                entries = self.ledger(query.get("platform"))
                with self.lock:
                    payload = [
                        {**asdict(e), "deleted": e.remote_id in self._deleted[e.platform]} for e in entries
                    ]
                return json_response(200, payload)
            if method == "GET" and sub.startswith("/media/"):
                _, _, platform, media_id = sub.split("/", 3)
                media = self.get_media(platform, media_id)
                if media is None:
                    return json_response(404, {"error": "unknown media"})
                return Response(200, media.data, media.info.mime_type)
            if method == "GET" and sub == "/deleted":
                return json_response(200, sorted(self.deleted(query["platform"])))
            if method == "GET" and sub == "/requests":
                return json_response(200, [asdict(r) for r in self.requests_seen(query.get("platform"))])
            if method == "GET" and sub == "/rate-violations":
                return json_response(200, [asdict(v) for v in self.rate_violations(query.get("platform"))])
            if method == "POST" and sub == "/accounts":
                data = _json_object(body)
                platform, username = data.pop("platform"), data.pop("username")
                if not all(isinstance(v, str) for v in (platform, username, *data.values())):
                    raise ValueError("account fields must be strings")
                self.add_account(platform, username=username, **data)
                return json_response(201, {"platform": platform, "username": username})
            if method == "GET" and sub == "/faults":
                return json_response(200, [asdict(f) for f in self.faults()])
            if method == "POST" and sub == "/faults":
                fault = Fault.from_json(_json_object(body))
                self.inject(fault)
                return json_response(201, asdict(fault))
            if method == "DELETE" and sub == "/faults":
                self.clear_faults()
                return json_response(200, {"cleared": True})
            if method == "POST" and sub == "/reset":
                self.reset()
                return json_response(200, {"reset": True})
            if sub == "/settings" and method in ("GET", "POST"):
                if method == "POST":
                    self._apply_settings(_json_object(body))
                return json_response(200, self._settings())
        except (ValueError, KeyError, TypeError) as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(404, {"error": f"no control endpoint {method} {path}"})

    def _settings(self) -> dict[str, int]:
        return {
            "mastodon_async_media": self.mastodon_async_media,
            "x_async_media": self.x_async_media,
            "instagram_processing_polls": self.instagram_processing_polls,
            "threads_processing_polls": self.threads_processing_polls,
            "instagram_publish_limit": self.instagram_publish_limit,
            "threads_publish_limit": self.threads_publish_limit,
            "threads_reply_limit": self.threads_reply_limit,
            "bluesky_access_jwt_seconds": self.bluesky_access_jwt_seconds,
            "bluesky_blob_max_bytes": self.bluesky_blob_max_bytes,
            "enforce_post_limits": self.enforce_post_limits,
        }

    def _apply_settings(self, data: Mapping[str, Any]) -> None:
        for name, value in data.items():
            if name not in self._settings() or not isinstance(value, int) or value < 0:
                raise ValueError(f"bad setting {name}={value!r}")
            setattr(self, name, value)

    def _feed_page(self) -> str:
        """The sandbox feed: every accepted post, newest first, with photo thumbnails."""
        with self.lock:
            entries = list(reversed(self._ledger))
            deleted = {(p, i) for p, ids in self._deleted.items() for i in ids}
        rows = []
        for entry in entries:
            photos = "".join(
                f'<img src="/_sim/media/{html.escape(entry.platform)}/{html.escape(m.media_id)}" '
                f'alt="{html.escape(m.alt_text)}" title="{html.escape(m.alt_text)}">'
                for m in entry.media
            )
            gone = " deleted" if (entry.platform, entry.remote_id) in deleted else ""
            rows.append(
                f'<article class="post{gone}"><header><b>{html.escape(entry.platform)}</b> · '
                f"@{html.escape(entry.account)} · "
                f"<time>{html.escape(iso_utc(entry.received_at))}</time> · "
                f'<a href="{html.escape(entry.url)}">{html.escape(entry.remote_id)}</a>'
                f"{' · deleted' if gone else ''}</header>"
                f"<p>{html.escape(entry.text)}</p><div>{photos}</div></article>"
            )
        body = "\n".join(rows) or "<p>No posts yet.</p>"
        return (
            "<!doctype html><html><head><meta charset='utf-8'>"
            "<meta http-equiv='refresh' content='5'><title>Herald sandbox feed</title>"
            "<style>body{font-family:sans-serif;max-width:46em;margin:2em auto}"
            ".post{border:1px solid #ccc;border-radius:6px;padding:.5em 1em;margin:1em 0}"
            ".post p{white-space:pre-wrap}.deleted{opacity:.5}"
            "img{max-width:160px;max-height:160px;margin-right:.5em}</style></head>"
            f"<body><h1>Herald sandbox feed</h1>{body}</body></html>"
        )


def _json_object(body: bytes) -> dict[str, Any]:  # Any: JSON values
    try:
        data = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def ceil_epoch(timestamp: float) -> int:
    """Epoch seconds rounded up, so a client waiting until then is never early."""
    return math.ceil(timestamp)


# --------------------------------------------------------------------------------------------
# Client for the control API (tests whose workers run in other processes)
# --------------------------------------------------------------------------------------------


class SimulatorClient:
    """The ``Simulator`` inspection API over HTTP, for a simulator in another process."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, payload: Any = None) -> bytes:  # Any: JSON value
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(f"{self.base_url}/_sim{path}", data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=self.timeout) as answer:
            body: bytes = answer.read()
            return body

    def url_for(self, platform: str) -> str:
        return f"{self.base_url}/{platform}"

    def health(self) -> dict[str, Any]:  # Any: JSON values
        result: dict[str, Any] = json.loads(self._call("GET", "/health"))
        return result

    def add_account(self, platform: str, *, username: str, **credentials: str) -> None:
        self._call("POST", "/accounts", {"platform": platform, "username": username, **credentials})

    def ledger(self, platform: str | None = None) -> list[LedgerEntry]:
        suffix = "" if platform is None else "?" + urllib.parse.urlencode({"platform": platform})
        entries = []
        for item in json.loads(self._call("GET", "/ledger" + suffix)):
            item.pop("deleted", None)
            item["media"] = tuple(LedgerMedia(**m) for m in item["media"])
            entries.append(LedgerEntry(**item))
        return entries

    def deleted(self, platform: str) -> set[str]:
        query = urllib.parse.urlencode({"platform": platform})
        return set(json.loads(self._call("GET", "/deleted?" + query)))

    def media_bytes(self, platform: str, media_id: str) -> bytes:
        return self._call("GET", f"/media/{platform}/{media_id}")

    def requests_seen(self, platform: str | None = None) -> list[RequestRecord]:
        suffix = "" if platform is None else "?" + urllib.parse.urlencode({"platform": platform})
        return [RequestRecord(**r) for r in json.loads(self._call("GET", "/requests" + suffix))]

    def rate_violations(self, platform: str | None = None) -> list[RateViolation]:
        suffix = "" if platform is None else "?" + urllib.parse.urlencode({"platform": platform})
        return [RateViolation(**v) for v in json.loads(self._call("GET", "/rate-violations" + suffix))]

    def inject(self, fault: Fault) -> None:
        self._call("POST", "/faults", asdict(fault))

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def reset(self) -> None:
        self._call("POST", "/reset", {})

    def configure(self, **settings: int) -> None:
        """Set integer settings (``mastodon_async_media``, ``instagram_processing_polls``... see
        ``Simulator``) on the remote simulator."""
        self._call("POST", "/settings", settings)
