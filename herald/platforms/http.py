"""HTTP helpers shared by connectors: one place that turns ``requests`` outcomes into Herald's
error tree, reads rate-limit headers and keeps credentials out of messages.

The rule every connector follows, spelled once here:

- a status of 401 is ``AuthError``; 403 is ``PermanentError`` (``AuthError`` when the platform
  says a scope or app permission is missing); 429 is ``RetryableError`` with ``retry_after``;
- 5xx is ``UncertainError`` on a *create* call (the post may exist) and ``RetryableError``
  elsewhere (an upload or a read changes nothing that can be seen);
- a connection that was never made (refused, DNS, connect timeout, TLS handshake) is
  ``RetryableError`` everywhere: nothing was sent;
- a read timeout or a dropped connection is ``UncertainError`` on a create call and
  ``RetryableError`` elsewhere;
- any other non-2xx is ``PermanentError`` carrying the platform's own message.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

import requests
import requests.auth
import urllib3.exceptions

from herald.core.errors import (
    AuthError,
    PermanentError,
    PlatformError,
    RetryableError,
    UncertainError,
)
from herald.core.secret import MASK, Secret

#: Longest platform message kept in an error, characters; bodies can be whole HTML pages.
MAX_DETAIL_CHARS = 300
#: Control characters (line breaks included) in a server's message.
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")

#: Words in a 403 message that mean the token lacks a right, not that the post was refused.
_AUTH_403_MARKERS = ("scope", "app permissions")

#: Credentials shorter than this are not masked: replacing "a" in every message would make
#: messages unreadable and such a value is no secret anyway.
_MIN_MASKED_LEN = 4


# -- masking -------------------------------------------------------------------------------


def revealed(credentials: Mapping[str, Secret]) -> list[str]:
    """Every credential value, for ``mask``. The only reason to reveal them all at once."""
    return [secret.reveal() for secret in credentials.values()]


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of every credential value replaced by the mask."""
    for value in sorted(secrets, key=len, reverse=True):
        if len(value) >= _MIN_MASKED_LEN:
            text = text.replace(value, MASK)
    return text


# -- JSON bodies ---------------------------------------------------------------------------


def json_object(value: object) -> dict[str, object]:
    """``value`` if it is a JSON object, else an empty one (a platform sent something odd)."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return {}


def response_json(response: requests.Response) -> dict[str, object]:
    """The response body as a JSON object; empty when the body is not JSON or not an object."""
    try:
        return json_object(response.json())
    except ValueError:
        return {}


def string_at(obj: object, *path: str) -> str | None:
    """The string (or integer, as a string) found by following ``path`` through nested JSON
    objects, or ``None``. Platform ids are strings on the wire but some fakes send numbers."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    if isinstance(obj, bool):
        return None
    if isinstance(obj, str | int):
        return str(obj)
    return None


def platform_message(response: requests.Response) -> str:
    """The platform's own explanation of a failed call, from the shapes the connectors meet:
    Mastodon's ``{"error", "error_description"}``, Bluesky's XRPC ``{"error", "message"}``,
    LinkedIn's Rest.li ``{"message"}``, Telegram's ``{"description"}``, X's
    ``{"errors": [{"message"}]}`` and RFC 7807 ``{"detail", "title"}``. Falls back to the HTTP
    reason phrase."""
    body = response_json(response)
    parts: list[str] = []
    for key in ("error", "error_description", "message", "description"):
        value = body.get(key)
        if isinstance(value, str) and value:
            parts.append(value)
    errors = body.get("errors")
    if isinstance(errors, list):
        for item in errors:
            message = string_at(item, "message")
            if message:
                parts.append(message)
    if not parts:
        for key in ("detail", "title"):
            value = body.get(key)
            if isinstance(value, str) and value:
                parts.append(value)
                break
    text = "; ".join(dict.fromkeys(parts)) or response.reason or f"HTTP {response.status_code}"
    return excerpt(text)


def excerpt(text: str) -> str:
    """What a server said, as the log keeps it: one line (control characters become spaces),
    at most ``MAX_DETAIL_CHARS``. Pages escape it; a hostile server gets no more room."""
    flat = CONTROLS.sub(" ", text).strip()
    return flat if len(flat) <= MAX_DETAIL_CHARS else flat[: MAX_DETAIL_CHARS - 1] + "…"


# -- rate limits ---------------------------------------------------------------------------

#: A reset value below this (2001-09-09 as Unix seconds) is a delay, not a moment: no window
#: lasts 31 years, and no reset lies in 2001.
_EPOCH_FLOOR = 1_000_000_000.0


def _epoch_of(value: str) -> float | None:
    """A reset header as Unix seconds: X sends epoch seconds, Mastodon an ISO 8601 time with
    microseconds (``2026-11-25T12:05:00.000000Z``)."""
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _retry_after_header(value: str, now: float) -> float | None:
    """RFC 9110 ``Retry-After``: delay seconds or an HTTP date."""
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment.timestamp() - now


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait before the next try (never negative), or ``None`` if no header says.

    Read in this order: ``Retry-After`` (neither platform documents it, but a proxy may send
    it); X's 24-hour caps (``x-user-limit-24hour-*``, ``x-app-limit-24hour-*``) when their
    ``remaining`` is ``0`` — the short window's reset would come too early; X's
    ``x-rate-limit-reset`` (epoch seconds); Mastodon's ``X-RateLimit-Reset`` (ISO 8601);
    Bluesky's ``ratelimit-reset`` (epoch seconds, although the IETF draft it follows says
    delay seconds: a value below ``_EPOCH_FLOOR`` is read as a delay).
    """
    now = time.time() if now is None else now
    headers = {name.lower(): value for name, value in headers.items()}  # any mapping, any case
    wait: float | None = None
    if "retry-after" in headers:
        wait = _retry_after_header(headers["retry-after"], now)
    if wait is None:
        resets = [
            _epoch_of(headers.get(f"x-{who}-limit-24hour-reset", ""))
            for who in ("user", "app")
            if headers.get(f"x-{who}-limit-24hour-remaining", "").strip() == "0"
        ]
        known = [r for r in resets if r is not None]
        if known:
            wait = max(known) - now
    if wait is None:
        for name in ("x-rate-limit-reset", "x-ratelimit-reset"):
            reset = _epoch_of(headers.get(name, ""))
            if reset is not None:
                wait = reset - now
                break
    if wait is None:
        reset = _epoch_of(headers.get("ratelimit-reset", ""))
        if reset is not None:
            wait = reset if reset < _EPOCH_FLOOR else reset - now
    return None if wait is None else max(0.0, wait)


# -- statuses and transport failures -------------------------------------------------------


def error_for_status(
    platform: str, response: requests.Response, *, create: bool, secrets: Iterable[str] = ()
) -> PlatformError:
    """The Herald error for a non-2xx ``response``; ``create`` says whether the call would have
    made the post (so that a 5xx leaves its outcome unknown)."""
    status = response.status_code
    detail = mask(platform_message(response), secrets)
    if status == 401:
        return AuthError(platform, detail, status=status)
    if status == 403:
        if any(marker in detail.lower() for marker in _AUTH_403_MARKERS):
            return AuthError(platform, detail, status=status)
        return PermanentError(platform, detail, status=status)
    if status == 429:
        return RetryableError(
            platform, detail, status=status, retry_after=retry_after_seconds(response.headers)
        )
    if status == 408:
        # The server gave up waiting for our request before it had all of it: nothing applied.
        return RetryableError(platform, detail, status=status)
    if status >= 500:
        if create:
            return UncertainError(platform, f"{detail} (the post may exist)", status=status)
        return RetryableError(platform, detail, status=status)
    return PermanentError(platform, detail, status=status)


def nothing_sent(exc: BaseException) -> bool:
    """True when the request certainly never reached the server: the connection was refused,
    the name did not resolve, the connect or TLS handshake timed out or failed."""
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
        return True
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        # NewConnectionError (refused) and NameResolutionError subclass ConnectTimeoutError.
        if isinstance(current, urllib3.exceptions.ConnectTimeoutError):
            return True
        if isinstance(current, urllib3.exceptions.MaxRetryError) and current.reason is not None:
            stack.append(current.reason)
        stack.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)
    return False


def error_for_transport(
    platform: str, exc: requests.RequestException, *, create: bool, secrets: Iterable[str] = ()
) -> PlatformError:
    """The Herald error for a call that got no HTTP answer."""
    kind = type(exc).__name__
    if nothing_sent(exc):
        return RetryableError(platform, mask(f"could not connect ({kind}): {exc}", secrets))
    if create:
        return UncertainError(
            platform, f"no answer to the create call ({kind}); the post may exist: reconcile first"
        )
    return RetryableError(platform, mask(f"no answer ({kind}): {exc}", secrets))


#: Turns the shared mapping's error into a platform-specific one, seeing the whole response
#: (error names in the body, rate-limit parameters...). Returns ``error`` when it has nothing to add.
Refine = Callable[[requests.Response, PlatformError], PlatformError]


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    platform: str,
    create: bool,
    timeout: tuple[float, float],
    secrets: Iterable[str] = (),
    params: Mapping[str, str] | None = None,
    json: object = None,
    data: Mapping[str, str] | None = None,
    files: Mapping[str, tuple[str, bytes, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    auth: requests.auth.AuthBase | None = None,
    content: bytes | None = None,
    refine: Refine | None = None,
) -> requests.Response:
    """One call through ``session``: the 2xx response, or the Herald error for anything else.

    ``create`` marks the call that makes the post (see the module docstring); ``secrets`` are
    the credential values to mask in messages. ``content`` is a raw body (an upload of image
    bytes; give its ``Content-Type`` in ``headers``), exclusive with ``data``. ``refine`` lets
    a connector sharpen the error for a non-2xx answer (it is not called for transport errors).
    """
    if content is not None and data is not None:
        raise ValueError("send takes data or content, not both")
    try:
        response = session.request(
            method,
            url,
            params=params,
            json=json,
            data=content if content is not None else data,
            files=files,
            headers=headers,
            auth=auth,
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise error_for_transport(platform, exc, create=create, secrets=secrets) from exc
    if not 200 <= response.status_code < 300:
        error = error_for_status(platform, response, create=create, secrets=secrets)
        if refine is not None:
            error = refine(response, error)
        raise error
    return response
