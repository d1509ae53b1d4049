"""Meta's Graph API error envelope, mapped onto Herald's error tree (shared/platforms.md §5,
§6, §8): ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id", ...}}``,
usually with HTTP 400 whatever went wrong, so the HTTP status alone says little:

  ===============================================  ====================================
  code / subcode                                   Herald error
  ===============================================  ====================================
  190 (token: 463 expired, 460 password changed,   ``AuthError``
  467 invalid...), 102; 10 and 200-299 (a
  permission is missing)
  subcode 2207042 (Instagram publishing quota)     ``RetryableError``, until the window
                                                   frees (header) or ``PUBLISH_LIMIT_WAIT_SECONDS``
  subcodes 2207050, 2207051 (account restricted)   ``PermanentError``
  4, 17, 32, 341, 613, 80000-80099 (throttles;     ``RetryableError``, ``retry_after`` from
  80001 Pages, 80002 Instagram)                    ``estimated_time_to_regain_access`` or
                                                   ``THROTTLE_WAIT_SECONDS``
  368 (blocked for policy violations)              ``PermanentError``
  506 (duplicate post)                             ``PermanentError``
  any other code with HTTP 5xx                     ``UncertainError`` on the publishing
                                                   call, ``RetryableError`` elsewhere
  Instagram's "try again" subcodes (not ready,     ``RetryableError``
  download timeout, expired container...)
  1, 2 or ``is_transient`` (HTTP 4xx)              ``RetryableError``
  anything else (100 invalid parameter...)         ``PermanentError``
  ===============================================  ====================================

  A body without the envelope (a proxy's HTML page) falls back to ``http.error_for_status``;
  a call that got no answer to ``http.error_for_transport``.
- **Throttling never answers 429.** How long to wait comes in usage headers (JSON inside a
  header): ``X-Business-Use-Case-Usage`` (Page, Instagram and Threads tokens) and
  ``X-App-Usage``/``X-Page-Usage``, with ``estimated_time_to_regain_access`` in *minutes*.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import requests

from herald.core.errors import (
    AuthError,
    PermanentError,
    PlatformError,
    RetryableError,
    UncertainError,
)
from herald.platforms import http

log = logging.getLogger(__name__)

#: Token failures (190; 102 is the legacy "session key invalid") and what each 190 subcode
#: means, for the message a person reads before re-authorising the channel.
TOKEN_CODES = frozenset({102, 190})
TOKEN_SUBCODES: Mapping[int, str] = {
    458: "the app is not installed",
    459: "the account is at a security checkpoint",
    460: "the password changed or the session was invalidated",
    463: "the token expired",
    464: "the user is not confirmed",
    467: "the token is invalid",
    492: "the session is invalid",
}
#: Code 10 and the 200-299 range: the token lacks a permission (``pages_manage_posts``...).
PERMISSION_CODES = frozenset({10, *range(200, 300)})
#: Application, user, Page and API-level throttles; 80000-80099 are the Business Use Case
#: throttles (80001 Pages, 80002 Instagram, ...).
THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, *range(80000, 80100)})
POLICY_BLOCK_CODE = 368
DUPLICATE_POST_CODE = 506
TRANSIENT_CODES = frozenset({1, 2})
#: Instagram's publishing quota (code 9): so many API-published posts per rolling 24 h.
PUBLISH_LIMIT_SUBCODE = 2207042
#: Instagram: the account is restricted or its activity limited as spam; waiting does not help.
ACCOUNT_RESTRICTED_SUBCODES = frozenset({2207050, 2207051})
#: Instagram subcodes that say "try again" and after how long, seconds: media not ready yet
#: (2207027), temporary media builder (2207008, "retry in 30 s - 2 min"), download timeout
#: (2207003), server-side create failures (2207001, 2207032) and an expired container
#: (2207020) — the next try makes a new container.
RETRY_SUBCODES: Mapping[int, float] = {
    2207027: 30.0,
    2207008: 60.0,
    2207003: 60.0,
    2207001: 60.0,
    2207032: 60.0,
    2207020: 0.0,
}
#: Wait after a throttle without a usable ``estimated_time_to_regain_access``, seconds: the
#: digest says back off at least 15 minutes.
THROTTLE_WAIT_SECONDS = 15 * 60.0
#: Wait after the publishing quota without a usable header, seconds: the quota is a rolling
#: 24 h window, so some room frees up as the hours pass.
PUBLISH_LIMIT_WAIT_SECONDS = 3600.0
#: Usage headers that may carry ``estimated_time_to_regain_access`` (minutes).
USAGE_HEADERS = ("x-business-use-case-usage", "x-app-usage", "x-page-usage")


# -- the error envelope --------------------------------------------------------------------


@dataclass(frozen=True)
class GraphFault:
    """The ``error`` object of a failed Graph call, with the HTTP status it came with."""

    status: int
    message: str
    code: int | None
    subcode: int | None
    type: str | None
    trace_id: str | None
    transient: bool
    user_message: str | None

    @property
    def missing(self) -> bool:
        """The node does not exist (or the token may not see it): 100/33, 803 or HTTP 404."""
        return (self.code == 100 and self.subcode == 33) or self.code == 803 or self.status == 404

    def describe(self) -> str:
        """The platform's message with its codes, for an error a person reads."""
        parts = [self.message or "Graph API error"]
        if self.user_message and self.user_message not in self.message:
            parts.append(self.user_message)
        codes: list[str] = []
        if self.code is not None:
            codes.append(f"code {self.code}")
        if self.subcode is not None:
            meaning = TOKEN_SUBCODES.get(self.subcode) if self.code in TOKEN_CODES else None
            codes.append(f"subcode {self.subcode}" + (f": {meaning}" if meaning else ""))
        if self.trace_id:
            codes.append(f"fbtrace_id {self.trace_id}")
        text = " — ".join(parts) + (f" ({', '.join(codes)})" if codes else "")
        return text[: http.MAX_DETAIL_CHARS]


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def graph_fault(response: requests.Response) -> GraphFault | None:
    """The Graph error envelope of ``response``, or ``None`` if the body is not one."""
    error = http.response_json(response).get("error")
    if not isinstance(error, dict):
        return None
    body = http.json_object(error)
    message = body.get("message")
    user_message = body.get("error_user_msg")
    return GraphFault(
        status=response.status_code,
        message=message if isinstance(message, str) else "",
        code=_int(body.get("code")),
        subcode=_int(body.get("error_subcode")),
        type=http.string_at(body, "type"),
        trace_id=http.string_at(body, "fbtrace_id"),
        transient=body.get("is_transient") is True,
        user_message=user_message if isinstance(user_message, str) and user_message else None,
    )


def _usage_entries(value: object) -> Iterable[dict[str, object]]:
    """The usage objects inside one usage header: an object (``X-App-Usage``) or, for
    ``X-Business-Use-Case-Usage``, an object of id -> list of objects."""
    if isinstance(value, dict):
        yield http.json_object(value)
        for inner in value.values():
            if isinstance(inner, list):
                yield from (http.json_object(item) for item in inner)


def regain_seconds(headers: Mapping[str, str]) -> float | None:
    """The longest ``estimated_time_to_regain_access`` in the usage headers, in seconds (the
    headers give minutes); ``None`` when no header gives a positive one."""
    lowered = {name.lower(): value for name, value in headers.items()}
    longest: float | None = None
    for name in USAGE_HEADERS:
        raw = lowered.get(name)
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        for entry in _usage_entries(value):
            minutes = entry.get("estimated_time_to_regain_access")
            if isinstance(minutes, int | float) and not isinstance(minutes, bool) and minutes > 0:
                seconds = float(minutes) * 60.0
                longest = seconds if longest is None else max(longest, seconds)
    return longest


def error_for_graph(
    platform: str, response: requests.Response, *, create: bool, secrets: Iterable[str] = ()
) -> PlatformError:
    """The Herald error for a non-2xx Graph ``response`` (the table in the module docstring);
    ``create`` marks the call that makes the post visible."""
    fault = graph_fault(response)
    if fault is None:
        return http.error_for_status(platform, response, create=create, secrets=secrets)
    secrets = list(secrets)
    detail = http.mask(fault.describe(), secrets)
    status = response.status_code
    code, subcode = fault.code, fault.subcode
    if code in TOKEN_CODES:
        return AuthError(platform, detail, status=status)
    if code in PERMISSION_CODES:
        return AuthError(platform, f"a permission is missing: {detail}", status=status)
    if subcode == PUBLISH_LIMIT_SUBCODE:
        wait = regain_seconds(response.headers) or PUBLISH_LIMIT_WAIT_SECONDS
        return RetryableError(
            platform, f"publishing quota reached: {detail}", status=status, retry_after=wait
        )
    if subcode in ACCOUNT_RESTRICTED_SUBCODES:
        return PermanentError(platform, f"the account is restricted: {detail}", status=status)
    if code in THROTTLE_CODES:
        wait = (
            regain_seconds(response.headers)
            or http.retry_after_seconds(response.headers)
            or THROTTLE_WAIT_SECONDS
        )
        return RetryableError(platform, f"rate limited: {detail}", status=status, retry_after=wait)
    if code == POLICY_BLOCK_CODE:
        # Meta asks for hours of silence; a person has to look at why before anything else.
        return PermanentError(platform, f"blocked for policy violations: {detail}", status=status)
    if code == DUPLICATE_POST_CODE:
        return PermanentError(platform, f"duplicate post: {detail}", status=status)
    if status >= 500:
        if create:
            return UncertainError(platform, f"{detail} (the post may exist)", status=status)
        return RetryableError(platform, detail, status=status)
    if subcode is not None and subcode in RETRY_SUBCODES:
        hint = RETRY_SUBCODES[subcode] or None
        return RetryableError(platform, detail, status=status, retry_after=hint)
    if code in TRANSIENT_CODES or fault.transient:
        return RetryableError(platform, detail, status=status)
    if status == 429:
        return RetryableError(
            platform, detail, status=status, retry_after=http.retry_after_seconds(response.headers)
        )
    return PermanentError(platform, detail, status=status)
