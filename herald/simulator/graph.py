"""Meta Graph API plumbing shared by the Facebook Page, Instagram and Threads simulators.

Follows shared/platforms.md §5, §6 and §8 where all three agree:

- Paths may carry a version prefix (``/v21.0/...``, ``/v1.0/...``) or none; it is stripped
  before routing, and ``requests_seen`` records the unversioned path.
- The access token comes as ``access_token`` in the query, the form or the JSON body, or as
  ``Authorization: Bearer <token>`` (also ``OAuth <token>``).
- Errors are ``{"error": {"message", "type", "code", "error_subcode"?, "error_user_title"?,
  "error_user_msg"?, "is_transient", "fbtrace_id"}}``, almost always HTTP 400.
- Throttling never answers 429: a ``rate_limit`` fault answers HTTP 400 with the platform's
  throttle code (``throttle_code``) and usage headers at 100 % with
  ``estimated_time_to_regain_access`` in minutes.
- Every answer carries ``X-App-Usage``; answers to a known token also carry
  ``X-Business-Use-Case-Usage`` keyed by the account's node id (page, IG user, Threads user).

Expiring a token: register (or re-register) the account with ``expires_at`` (epoch seconds,
as a string); once it has passed, calls answer code 190 subcode 463. ``password_changed="1"``
answers 190 subcode 460 (session invalidated). Re-register without them to revive the token.

``fetch_url`` is the loopback-only downloader that Instagram, Threads, Facebook (``url``) and
Telegram (photo by URL) use to fetch "public" image URLs: the simulator must never reach the
network, so any host but 127.0.0.0/8, ``localhost`` and ``::1`` is refused, proxies from the
environment are ignored and each redirect is checked again.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import re
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from abc import abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.client import HTTPMessage
from typing import Any, ClassVar

from herald.simulator.server import (
    Account,
    BadBody,
    FormPart,
    HttpError,
    Platform,
    Request,
    Response,
    Simulator,
    json_response,
)

logger = logging.getLogger(__name__)

#: Seconds a fetch of an image URL may take before it counts as a download timeout.
FETCH_TIMEOUT_SECONDS = 10.0
#: Redirects followed when fetching an image URL.
FETCH_MAX_REDIRECTS = 5
#: Items per page of an edge (``/{page-id}/feed``...) unless ``limit`` says otherwise.
EDGE_DEFAULT_LIMIT = 25
EDGE_MAX_LIMIT = 100
#: Header through which ``rate_limited_response`` hands the regain delay to ``decorate``;
#: never sent to clients.
_REGAIN_HEADER = "X-Simulator-Regain-Minutes"
_VERSION_PREFIX = re.compile(r"/v\d+(?:\.\d+)?(?=/|\Z)")
_TRUTHY = ("1", "true", "t", "on", "yes")
_PHRASES = {
    400: (100, "Invalid parameter"),
    401: (190, "Invalid OAuth access token - Cannot parse access token"),
    403: (10, "(#10) Application does not have permission for this action"),
    404: (803, "(#803) Some of the aliases you requested do not exist"),
    429: (4, "(#4) Application request limit reached"),
    500: (1, "An unknown error has occurred."),
}


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def fbtrace_id() -> str:
    """An opaque trace id like the ones Meta sends for support requests."""
    return secrets.token_urlsafe(17)[:23]


def error_payload(
    message: str,
    code: int,
    *,
    subcode: int | None = None,
    type_: str = "OAuthException",
    user_title: str | None = None,
    user_msg: str | None = None,
    transient: bool = False,
) -> dict[str, Any]:  # Any: JSON values
    error: dict[str, Any] = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["is_transient"] = transient
    if user_title is not None:
        error["error_user_title"] = user_title
    if user_msg is not None:
        error["error_user_msg"] = user_msg
    error["fbtrace_id"] = fbtrace_id()
    return {"error": error}


def graph_error(
    message: str,
    code: int,
    *,
    status: int = 400,
    subcode: int | None = None,
    type_: str = "OAuthException",
    user_title: str | None = None,
    user_msg: str | None = None,
    transient: bool = False,
) -> HttpError:
    payload = error_payload(
        message,
        code,
        subcode=subcode,
        type_=type_,
        user_title=user_title,
        user_msg=user_msg,
        transient=transient,
    )
    headers = {}
    if code in (104, 190):
        # Graph repeats token failures in WWW-Authenticate.
        kind = "invalid_token" if code == 190 else "invalid_request"
        headers["WWW-Authenticate"] = f'OAuth "Facebook Platform" "{kind}" "{message}"'
    return HttpError(json_response(status, payload, headers=headers))


def invalid_parameter(message: str, *, subcode: int | None = None, user_msg: str | None = None) -> HttpError:
    """Code 100, the generic "bad parameter" answer."""
    return graph_error(message, 100, subcode=subcode, user_msg=user_msg)


def unsupported_request(method: str, node: str) -> HttpError:
    """What Graph answers for an id that does not exist or that the token may not see."""
    verb = {"GET": "get", "POST": "post", "DELETE": "delete"}.get(method, method.lower())
    return graph_error(
        f"Unsupported {verb} request. Object with ID '{node}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api",
        100,
        subcode=33,
        type_="GraphMethodException",
    )


# --------------------------------------------------------------------------------------------
# Request helpers
# --------------------------------------------------------------------------------------------


def graph_params(request: Request) -> dict[str, Any]:  # Any: strings, or JSON values
    """Parameters as Graph merges them: query string, then urlencoded/multipart fields (file
    parts excluded), then a JSON object body. Raises code 100 on an unreadable body."""
    params: dict[str, Any] = dict(request.query_pairs)
    if request.content_type == "application/json" and request.body:
        try:
            data = request.json()
        except BadBody as exc:
            raise invalid_parameter(f"(#100) Invalid JSON body: {exc}") from None
        if not isinstance(data, dict):
            raise invalid_parameter("(#100) The JSON body must be an object")
        params.update(data)
        return params
    try:
        parts = request.form.parts
    except BadBody as exc:
        raise invalid_parameter(f"(#100) Malformed request body: {exc}") from None
    for part in parts:
        if part.filename is None:
            params[part.name] = part.text
    return params


def file_part(request: Request, name: str) -> FormPart | None:
    """The multipart file part ``name`` (a part with a filename, or any part of that name)."""
    try:
        return request.form.part(name) if request.content_type == "multipart/form-data" else None
    except BadBody:
        return None


def truthy(value: Any) -> bool:  # Any: a form string or a JSON value
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in _TRUTHY


def as_text(value: Any) -> str | None:  # Any: a form string or a JSON value
    """A parameter as a string (numbers as their decimal text), ``None`` when absent."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def requested_fields(params: Mapping[str, Any]) -> list[str] | None:  # Any: see graph_params
    """Top-level names in ``fields=a,b{c},d`` (nested selections are ignored)."""
    raw = as_text(params.get("fields"))
    if not raw:
        return None
    names, depth, current = [], 0, ""
    for ch in raw:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            names.append(current.strip())
            current = ""
        elif depth == 0:
            current += ch
    names.append(current.strip())
    return [n for n in names if n]


def pick(
    node: Mapping[str, Any], fields: list[str] | None, default: Iterable[str] = ()
) -> dict[str, Any]:  # Any: JSON values
    """The node restricted to the requested fields (or ``default``); ``id`` always comes along
    and unknown or empty fields are left out, as Graph does."""
    wanted = fields if fields is not None else list(default)
    result: dict[str, Any] = {}
    for name in wanted:
        if name in node and node[name] is not None:
            result[name] = node[name]
    result["id"] = node["id"]
    return result


def edge_page(
    request: Request, params: Mapping[str, Any], items: list[dict[str, Any]], base_url: str
) -> dict[str, Any]:  # Any: JSON values
    """One page of an edge listing with Graph's ``paging.cursors`` and ``next`` link."""
    raw_limit = as_text(params.get("limit"))
    try:
        limit = int(raw_limit) if raw_limit else EDGE_DEFAULT_LIMIT
    except ValueError:
        raise invalid_parameter("(#100) Param limit must be an integer") from None
    limit = max(1, min(limit, EDGE_MAX_LIMIT))
    after = as_text(params.get("after"))
    start = 0
    if after:
        ids = [item["id"] for item in items]
        try:
            start = ids.index(_uncursor(after)) + 1
        except ValueError:
            start = len(items)
    page = items[start : start + limit]
    payload: dict[str, Any] = {"data": page}
    if page:
        paging: dict[str, Any] = {
            "cursors": {"before": _cursor(page[0]["id"]), "after": _cursor(page[-1]["id"])}
        }
        if start + limit < len(items):
            query = dict(request.query_pairs)
            query.pop("access_token", None)  # Graph keeps it; the simulator does not echo secrets
            query["after"] = _cursor(page[-1]["id"])
            paging["next"] = f"{base_url}{request.raw_path}?{urllib.parse.urlencode(query)}"
        payload["paging"] = paging
    return payload


def _cursor(value: str) -> str:
    return urllib.parse.quote(value.encode().hex())


def _uncursor(value: str) -> str:
    try:
        return bytes.fromhex(value).decode()
    except (ValueError, UnicodeDecodeError):
        return ""


def graph_time(timestamp: float) -> str:
    """``2026-11-25T12:00:00+0000``, the format of Graph's ``created_time``/``timestamp``."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def parse_expiry(platform: str, credentials: Mapping[str, str]) -> float | None:
    """The ``expires_at`` credential as epoch seconds, ``None`` when unset. Raises ``ValueError``
    when it is not a number (``validate_credentials`` calls this before an account is stored)."""
    raw = credentials.get("expires_at")
    if raw in (None, ""):
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{platform} expires_at must be epoch seconds, got {raw!r}") from None


def token_expiry(account: Account) -> float | None:
    """The account's ``expires_at`` credential as epoch seconds, ``None`` when unset."""
    return parse_expiry(account.platform, account.credentials)


#: Characters of Instagram and Threads shortcodes, a base-64 spelling of the media id.
_SHORTCODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def media_shortcode(media_id: str) -> str:
    value = int(media_id)
    chars = []
    while value:
        value, digit = divmod(value, 64)
        chars.append(_SHORTCODE_ALPHABET[digit])
    return "".join(reversed(chars)) or "A"


def count_hashtags(text: str) -> int:
    return len(re.findall(r"(?<![\w&])#\w+", text))


def count_mentions(text: str) -> int:
    return len(re.findall(r"(?<![\w@])@[\w.]+", text))


# --------------------------------------------------------------------------------------------
# Fetching "public" image URLs, loopback only
# --------------------------------------------------------------------------------------------


class FetchFailed(Exception):
    """The URL could not be fetched; ``timed_out`` tells a timeout from a refusal."""

    def __init__(self, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.timed_out = timed_out


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str
    #: More bytes were available than the cap allowed: ``data`` is cut at ``cap + 1``.
    truncated: bool


def is_loopback_url(url: str) -> bool:
    try:
        parsed = urllib.parse.urlsplit(url)
    except ValueError:
        return False
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return False
    host = parsed.hostname.lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost would need DNS: refused


class _LoopbackRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = FETCH_MAX_REDIRECTS

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,  # Any: urllib's response object
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if not is_loopback_url(newurl):
            raise FetchFailed(f"redirect to a non-loopback URL: {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


# No ProxyHandler entries: a proxy from the environment would take the fetch off the host.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _LoopbackRedirects())


def fetch_url(url: str, *, cap: int, timeout: float | None = None) -> Fetched:
    """GET ``url`` (loopback only), reading at most ``cap + 1`` bytes, within ``timeout``
    seconds (``FETCH_TIMEOUT_SECONDS``, read at call time, by default).

    Raises ``FetchFailed`` for a non-loopback URL, a refused connection, a non-2xx answer or a
    timeout (``timed_out``).
    """
    if timeout is None:
        timeout = FETCH_TIMEOUT_SECONDS
    if not is_loopback_url(url):
        raise FetchFailed(f"not a loopback URL: {url}")
    try:
        with _OPENER.open(urllib.request.Request(url, method="GET"), timeout=timeout) as answer:
            data: bytes = answer.read(cap + 1)
            content_type = answer.headers.get_content_type() if answer.headers else ""
    except FetchFailed:
        raise
    except urllib.error.HTTPError as exc:
        raise FetchFailed(f"HTTP {exc.code} from {url}") from None
    except urllib.error.URLError as exc:
        timed_out = isinstance(exc.reason, TimeoutError)
        raise FetchFailed(f"cannot fetch {url}: {exc.reason}", timed_out=timed_out) from None
    except TimeoutError:
        raise FetchFailed(f"timed out fetching {url}", timed_out=True) from None
    except (OSError, ValueError) as exc:
        raise FetchFailed(f"cannot fetch {url}: {exc}") from None
    return Fetched(data=data[: cap + 1], content_type=content_type, truncated=len(data) > cap)


# --------------------------------------------------------------------------------------------
# The base platform
# --------------------------------------------------------------------------------------------


class GraphPlatform(Platform):
    """A Graph-API platform: version prefixes, token lookup, Graph error bodies, usage headers."""

    #: Credential holding the token, and the one naming the account's node (page, IG user...).
    token_credential: ClassVar[str] = "access_token"
    node_credential: ClassVar[str]
    #: ``type`` of the entries in X-Business-Use-Case-Usage.
    buc_type: ClassVar[str]
    #: Code and message a ``rate_limit`` fault answers with.
    throttle_code: ClassVar[int] = 4
    throttle_message: ClassVar[str] = "(#4) Application request limit reached"
    rate_limit = 200
    rate_window_seconds = 3600.0

    def __init__(self, sim: Simulator) -> None:
        self._tokens: dict[str, Account] = {}
        self._nodes: dict[str, Account] = {}
        super().__init__(sim)

    # -- routing ---------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        # Route on the unversioned path. The request log records it too, so tests that read
        # ``requests_seen`` do not depend on the Graph version a connector pins.
        match = _VERSION_PREFIX.match(request.path)
        if match:
            request.path = request.path[match.end() :] or "/"
        return super().dispatch(request)

    def not_found(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        unknown = "/" + "/".join(parts[1:]) if len(parts) > 1 else request.path
        return json_response(400, error_payload(f"Unknown path components: {unknown}", 2500))

    # -- accounts and tokens ---------------------------------------------------------------

    def validate_credentials(self, credentials: Mapping[str, str]) -> None:
        super().validate_credentials(credentials)
        parse_expiry(self.name, credentials)

    def index_accounts(self, accounts: list[Account]) -> None:
        self._tokens = {a.credentials[self.token_credential]: a for a in accounts}
        self._nodes = {a.credentials[self.node_credential]: a for a in accounts}

    @staticmethod
    def request_token(request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() in ("bearer", "oauth") and value.strip():
            return value.strip()
        token = request.query("access_token")
        if token:
            return token
        try:
            token = as_text(graph_params(request).get("access_token"))
        except HttpError:
            return None
        return token or None

    def authenticate(self, request: Request) -> Account:
        token = self.request_token(request)
        if token is None:
            raise graph_error("An access token is required to request this resource.", 104)
        account = self._tokens.get(token)
        if account is None:
            raise graph_error("Invalid OAuth access token - Cannot parse access token", 190)
        if account.credentials.get("password_changed", "") in _TRUTHY:
            raise graph_error(
                "Error validating access token: The session has been invalidated because the user "
                "changed their password or Facebook has changed the session for security reasons.",
                190,
                subcode=460,
            )
        expires_at = token_expiry(account)
        now = time.time()
        if expires_at is not None and now >= expires_at:
            raise graph_error(
                f"Error validating access token: Session has expired on {_long_date(expires_at)}. "
                f"The current time is {_long_date(now)}.",
                190,
                subcode=463,
            )
        return account

    def node_id(self, account: Account) -> str:
        return account.credentials[self.node_credential]

    def debug_token(self, request: Request) -> Response:
        """``GET /debug_token?input_token=…`` (graph.facebook.com): what Meta says of a token,
        asked with a valid one. An unknown, expired or invalidated input token is still a 200,
        with ``is_valid`` false and the error inside ``data``; ``expires_at`` is epoch seconds,
        0 for a token that never expires (the account's ``expires_at`` credential)."""
        raw = request.query("input_token") or as_text(graph_params(request).get("input_token"))
        if not raw:
            raise invalid_parameter("(#100) The parameter input_token is required")
        now = time.time()
        account = self._tokens.get(raw)
        if account is None:
            return json_response(
                200,
                {
                    "data": {
                        "error": {"code": 190, "message": "Invalid OAuth access token."},
                        "is_valid": False,
                        "scopes": [],
                    }
                },
            )
        expires = token_expiry(account)
        data: dict[str, Any] = {
            "app_id": "100000000000000",
            "type": "PAGE" if self.name == "facebook" else "USER",
            "application": "Herald sandbox",
            "data_access_expires_at": int(now + 90 * 86400),
            "expires_at": int(expires) if expires is not None else 0,
            "is_valid": expires is None or now < expires,
            "issued_at": int(now - 86400),
            "scopes": sorted(self.token_scopes),
            "user_id": self.node_id(account),
        }
        if not data["is_valid"]:
            data["error"] = {"code": 190, "subcode": 463, "message": "Session has expired"}
        return json_response(200, {"data": data})

    #: The permissions ``debug_token`` lists for a sandbox token.
    token_scopes: ClassVar[tuple[str, ...]] = ()

    def owner_of(self, request: Request, node: str) -> Account:
        """The account a ``/{node}/edge`` path names: ``me`` or the token's own node. Another
        known account's node is a permission error; an unknown one an unsupported request."""
        account = request.account
        assert account is not None  # authenticated routes only
        if node == "me" or node == self.node_id(account):
            return account
        if node in self._nodes:
            raise self.permission_error()
        raise unsupported_request(request.method, node)

    def permission_error(self) -> HttpError:
        return graph_error("(#200) Requires the permission to publish as this account", 200, status=403)

    # -- errors and headers ----------------------------------------------------------------

    def error_response(self, status: int) -> Response:
        if status in _PHRASES:
            code, message = _PHRASES[status]
        elif status >= 500:
            code, message = 2, "Service temporarily unavailable"
        else:
            code, message = 100, "Invalid parameter"
        transient = status >= 500 or status == 429
        return json_response(status, error_payload(message, code, transient=transient))

    def rate_limited_body(self) -> Response:
        return json_response(400, error_payload(self.throttle_message, self.throttle_code, transient=True))

    def rate_limited_response(self, reset_in: float) -> Response:
        response = self.rate_limited_body()
        response.headers[_REGAIN_HEADER] = str(max(1, math.ceil(reset_in / 60)))
        return response

    def rate_limit_headers(self, limit: int, remaining: int, reset_at: float) -> dict[str, str]:
        used = 100 if limit <= 0 else min(100, math.ceil(100 * (limit - remaining) / limit))
        usage = {"call_count": used, "total_cputime": used // 2, "total_time": used // 2}
        return {"X-App-Usage": json.dumps(usage)}

    def decorate(self, request: Request, response: Response) -> None:
        regain = response.headers.pop(_REGAIN_HEADER, None)
        if regain is not None:
            # A throttled answer reports the budget as spent.
            usage = {"call_count": 100, "total_cputime": 100, "total_time": 100}
            response.headers["X-App-Usage"] = json.dumps(usage)
        super().decorate(request, response)
        account = request.account
        if account is None:
            token = self.request_token(request)
            account = self._tokens.get(token) if token else None
        if account is None:
            return
        app_usage = json.loads(response.headers["X-App-Usage"])
        entry = {
            "type": self.buc_type,
            "call_count": app_usage["call_count"],
            "total_cputime": app_usage["total_cputime"],
            "total_time": app_usage["total_time"],
            "estimated_time_to_regain_access": int(regain) if regain is not None else 0,
        }
        response.headers["X-Business-Use-Case-Usage"] = json.dumps({self.node_id(account): [entry]})

    @abstractmethod
    def setup_routes(self) -> None: ...


def _long_date(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%A, %d-%b-%y %H:%M:%S UTC")
