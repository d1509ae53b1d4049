"""What every request goes through before routing, outermost first: security headers on every
answer, the Host header checked against ``HERALD_ALLOWED_HOSTS``, and the body size limited
(by its Content-Length at once, and while it streams in).

Each is a plain ASGI middleware, so it also covers static files, 404s and the app's errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from herald.core.errors import HeraldError

#: Scripts only as files of the app itself (the calendar's, the live pages', the import's
#: progress, the browser's zone; never inline, never from elsewhere), styles and images from the app itself
#: (previews are ``data:`` images), never framed, forms only to the app.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: Sent with every response.
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: Pages show what a person may see: never kept by a browser's or a proxy's cache. Static
#: files keep their own caching.
NO_STORE = "no-store"
STATIC_PREFIX = "/static/"


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` (and ``Cache-Control: no-store`` outside ``/static``, unless
    the response set its own) to every HTTP response, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith(STATIC_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if not static and "cache-control" not in headers:
                    headers["Cache-Control"] = NO_STORE
            await send(message)

        await self.app(scope, receive, send_with_headers)


# -- allowed hosts -----------------------------------------------------------------------------


def host_name(header: str) -> str:
    """The host of a Host header, lower-case, without its port (``[::1]:8600`` → ``[::1]``)."""
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        return header[: end + 1] if end > 0 else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """As Django reads ``ALLOWED_HOSTS``: an exact name, ``.example.org`` for the domain and
    every subdomain, or ``*`` for any."""
    if not host:
        return False
    for pattern in patterns:
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith(".") and (host.endswith(pattern) or host == pattern[1:]):
            return True
    return False


class AllowedHosts:
    """Answers 400 to a request whose Host header is not allowed, before routing: links and
    redirects are built from it, and DNS rebinding depends on the app answering any name."""

    def __init__(self, app: ASGIApp, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = tuple(h.strip().lower() for h in hosts if h.strip())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = host_name(Headers(scope=scope).get("host", ""))
            if not host_allowed(host, self.hosts):
                if scope["type"] == "http":
                    response = PlainTextResponse("Bad Request: this host name is not served here", 400)
                    await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# -- body size ---------------------------------------------------------------------------------


class BodyTooLarge(HeraldError):
    """A request body went over its limit while it was being read (answered with 413)."""


class BodyLimit:
    """Refuses a body over the limit of its path with 413: at once when its Content-Length says
    so, and while it streams in otherwise (the app never gets the rest). ``limits`` maps a path
    to its limit; other paths get ``default``."""

    def __init__(self, app: ASGIApp, limits: Mapping[str, int], default: int) -> None:
        self.app = app
        self.limits = dict(limits)
        self.default = default

    def limit_for(self, path: str) -> int:
        return self.limits.get(path.rstrip("/") or "/", self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await PlainTextResponse("Bad Request: Content-Length is not a number", 400)(
                    scope, receive, send
                )
                return
            if int(declared) > limit:
                await _too_large(limit)(scope, receive, send)
                return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(f"the request body is larger than {limit} bytes")
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # whatever the app made of the cut body, the answer is 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await _too_large(limit)(scope, receive, send)


def _too_large(limit: int) -> PlainTextResponse:
    return PlainTextResponse(
        f"Request body too large: at most {limit // (1024 * 1024)} MiB here",
        413,
        headers={"Connection": "close"},
    )
