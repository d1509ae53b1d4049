"""Meta's Graph API, shared by the Facebook Page, Instagram and Threads connectors.

What the three have in common (shared/platforms.md §5, §6, §8):

- **Versioned paths.** ``{base_url}/{version}/{node}/{edge}``; the version is the channel option
  ``graph_version`` (``v21.0`` by default; Threads has its own ``v1.0``). Unversioned calls
  would take whatever version the Meta app defaults to, so Herald always pins one.
- **The token travels in ``Authorization: Bearer``**, never as ``access_token`` in the query:
  URLs end up in library debug logs and in transport exception messages.
- **One error envelope**, ``{"error": {"message", "type", "code", "error_subcode",
  "fbtrace_id", ...}}``, usually with HTTP 400 whatever went wrong. ``error_for_graph`` maps it
  onto Herald's tree; the HTTP status alone says little:

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

Instagram and Threads publish in two steps, a *container* and then a publish call that turns
it into a post; ``ContainerConnector`` holds that flow, the status polling and the reconcile
rule built on it (a container's status becomes ``PUBLISHED`` once its post went out).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
import unicodedata
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import requests

from herald.core.errors import (
    AuthError,
    InputError,
    PermanentError,
    PlatformError,
    RetryableError,
    UncertainError,
)
from herald.platforms import http
from herald.platforms.base import Connector, ConnectorConfig, Draft, Photo, Published

log = logging.getLogger(__name__)

#: Graph API version used when the channel sets no ``graph_version`` option.
DEFAULT_GRAPH_VERSION = "v21.0"
_VERSION_RE = re.compile(r"v\d+\.\d+")

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


def draft_fingerprint(draft: Draft) -> str:
    """What a container was made of: the text, and each photo's bytes and alt text (not its
    URL, which is new for every try). A post edited between two tries gets a new container."""
    digest = hashlib.sha256(draft.text.encode("utf-8", "surrogatepass"))
    for photo in draft.photos:
        digest.update(b"\0" + hashlib.sha256(photo.data).digest())
        digest.update(photo.alt_text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def comparable(text: str) -> str:
    """Text as compared when looking for a post: NFC, outer white space dropped."""
    return unicodedata.normalize("NFC", text).strip()


# -- the connector base --------------------------------------------------------------------


class GraphConnector(Connector):
    """A connector that speaks the Graph API: versioned URLs, the Bearer token, the error
    envelope. Subclasses name the credentials holding the token and the account's node."""

    #: Credential holding the access token.
    token_key: ClassVar[str]
    #: Credential holding the node posts go under (page id, IG user id, Threads user id).
    node_key: ClassVar[str]
    default_graph_version: ClassVar[str] = DEFAULT_GRAPH_VERSION

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        version = config.options.get("graph_version") or self.default_graph_version
        if not _VERSION_RE.fullmatch(version):
            raise InputError("graph_version", f"{version!r} is not a Graph API version such as v21.0")
        self.graph_version = version
        self.api_root = f"{self.base_url}/{version}"
        self.node = self.secret(self.node_key)
        self.session.headers["Authorization"] = f"Bearer {self.secret(self.token_key)}"

    def _secrets(self) -> list[str]:
        return http.revealed(self.config.credentials)

    def _request(
        self,
        method: str,
        path: str,
        *,
        create: bool,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> requests.Response:
        """One call; the response whatever its status. Transport failures are translated."""
        try:
            return self.session.request(
                method,
                self.api_root + path,
                params=params,
                data=data,
                files=files,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise http.error_for_transport(self.name, exc, create=create, secrets=self._secrets()) from exc

    def _call(
        self,
        method: str,
        path: str,
        *,
        create: bool,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> dict[str, object]:
        """One call; the JSON answer of a 2xx, else the Herald error (``error_for_graph``).
        ``create`` marks the call that makes the post visible."""
        response = self._request(method, path, create=create, params=params, data=data, files=files)
        if not 200 <= response.status_code < 300:
            raise error_for_graph(self.name, response, create=create, secrets=self._secrets())
        return http.response_json(response)

    def _delete_node(self, remote_id: str) -> None:
        """``DELETE /{remote_id}``; a node that no longer exists counts as deleted."""
        response = self._request("DELETE", f"/{remote_id}", create=False)
        if 200 <= response.status_code < 300:
            return
        fault = graph_fault(response)
        if fault is not None and fault.missing:
            log.info(
                "delete of a missing post platform=%s remote_id=%s",
                self.name,
                remote_id,
                extra={"platform": self.name, "remote_id": remote_id},
            )
            return
        raise error_for_graph(self.name, response, create=False, secrets=self._secrets())


# -- two-step publishing: containers -------------------------------------------------------

IN_PROGRESS = "IN_PROGRESS"
FINISHED = "FINISHED"
PUBLISHED = "PUBLISHED"
ERROR = "ERROR"
EXPIRED = "EXPIRED"


class ContainerConnector(GraphConnector):
    """Instagram and Threads: make a container (the platform fetches each photo from its
    ``public_url``), wait until its status is ``FINISHED``, publish it.

    The container id is the natural idempotency token: once its post went out its status is
    ``PUBLISHED`` and it cannot make a second one. But a container belongs to one try, so the
    connector remembers, per draft idempotency key, the container it was about to publish
    (``REMEMBERED_CONTAINERS`` of them, in memory: the worker that saw the uncertain answer
    usually reconciles at once with the same connector). ``reconcile`` asks that container
    first; without it, it can only look for the text among the latest posts. ``publish`` reuses
    a remembered container that is not published yet (unless the post was edited since), and
    answers with the earlier post if it was.
    """

    needs_public_photo_url = True

    #: Edge of the account node that makes containers (``media``, ``threads``).
    container_edge: ClassVar[str]
    #: Edge that publishes one (``media_publish``, ``threads_publish``).
    publish_edge: ClassVar[str]
    #: Container field holding the state, and the one explaining an ``ERROR``.
    status_field: ClassVar[str]
    status_detail_field: ClassVar[str]
    #: Post field holding the text (``caption``, ``text``).
    text_field: ClassVar[str]

    #: Containers remembered per connector, most recent kept.
    REMEMBERED_CONTAINERS = 256
    #: Status polls: the first at once, then pauses doubling from the first to the largest,
    #: giving up after the deadline (Meta: images are usually ready within seconds; Threads
    #: suggests waiting ~30 s before publishing, which polling makes unnecessary).
    CONTAINER_POLL_FIRST_SECONDS = 0.1
    CONTAINER_POLL_MAX_SECONDS = 5.0
    CONTAINER_WAIT_SECONDS = 90.0
    #: Latest posts searched by ``reconcile``.
    RECONCILE_LOOKBACK_POSTS = 10

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        self._containers: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._containers_lock = threading.Lock()

    # -- what each platform provides -------------------------------------------------------

    @abstractmethod
    def _make_container(self, draft: Draft) -> str:
        """Create the container(s) for ``draft`` and return the one to publish."""

    # -- calls -----------------------------------------------------------------------------

    def publish(self, draft: Draft) -> Published:
        """Create (or reuse) the container, wait until it is ready, publish it.

        Raises ``PermanentError`` before any call for a draft that does not fit ``validate`` or
        a photo without ``public_url``; ``AuthError`` (code 190, a missing permission);
        ``PermanentError`` (refused content, a container that failed processing);
        ``RetryableError`` (throttles and the publishing quota with ``retry_after``, 5xx or no
        answer before the publish call, a container still processing at the deadline or
        expired); ``UncertainError`` (5xx, timeout or dropped connection on the publish call:
        ``reconcile`` first).
        """
        self._check(draft)
        started = time.monotonic()
        key = draft.idempotency_key
        fingerprint = draft_fingerprint(draft)
        container: str | None = None
        remembered = self._remembered(key)
        if remembered is not None:
            state = self._state(remembered[0])
            if state == PUBLISHED:
                # An earlier try went out after all: answer with its post, never a second one.
                return self._published_post(draft, remembered[0])
            if state in (IN_PROGRESS, FINISHED) and remembered[1] == fingerprint:
                container = remembered[0]
            else:
                self._forget(key)  # gone, failed, or made for an earlier version of the post
        if container is None:
            container = self._make_container(draft)
            self._remember(key, container, fingerprint)
        if self._wait_for_container(container, key) == PUBLISHED:
            return self._published_post(draft, container)
        answer = self._call(
            "POST", f"/{self.node}/{self.publish_edge}", create=True, data={"creation_id": container}
        )
        media_id = http.string_at(answer, "id")
        if media_id is None:
            # A 2xx without an id: something answered, but we cannot tell what.
            raise UncertainError(self.name, f"the {self.publish_edge} answer had no id", status=200)
        self._forget(key)
        url = self._permalink(media_id)
        log.info(
            "published platform=%s remote_id=%s photos=%d duration_ms=%d",
            self.name,
            media_id,
            len(draft.photos),
            (time.monotonic() - started) * 1000,
            extra={"platform": self.name, "remote_id": media_id},
        )
        return Published(remote_id=media_id, url=url)

    def reconcile(self, draft: Draft) -> Published | None:
        """Did ``draft`` go out? With the container of the uncertain try remembered: its status
        says (``PUBLISHED``: find the post; ``FINISHED`` and the like: ``None``, and the next
        ``publish`` reuses it). Without it (another process tried), the latest
        ``RECONCILE_LOOKBACK_POSTS`` posts are searched for the text: found is ``Published``,
        not found is ``UncertainError``, since absence there proves nothing.
        Raises ``AuthError`` if the credentials are refused and ``UncertainError`` if a look-up
        fails."""
        key = draft.idempotency_key
        try:
            remembered = self._remembered(key)
            if remembered is not None:
                container = remembered[0]
                state = self._state(container)
                if state == PUBLISHED:
                    return self._published_post(draft, container)
                if state in (IN_PROGRESS, FINISHED):
                    return None
                if state in (ERROR, EXPIRED):
                    self._forget(key)
                    return None
                self._forget(key)  # unknown to the platform: fall back to the text
            found = self._find_recent(draft)
        except (AuthError, UncertainError):
            raise
        except PlatformError as exc:
            raise UncertainError(
                self.name, f"could not check whether the post went out: {exc.detail}", status=exc.status
            ) from exc
        if found is None:
            raise UncertainError(
                self.name,
                f"no container of this try is known here and none of the latest "
                f"{self.RECONCILE_LOOKBACK_POSTS} posts has this text: cannot tell whether it went out",
            )
        return found

    # -- containers ------------------------------------------------------------------------

    def _check(self, draft: Draft) -> None:
        """Refuse, before any call, what the platform would refuse."""
        if any(photo.public_url is None for photo in draft.photos):
            raise PermanentError(
                self.name, f"{self.title} fetches photos from a public URL; set HERALD_PUBLIC_URL"
            )
        problems = self.validate_draft(draft)
        if problems:
            # Queue-time validation should have caught this; the platform would refuse it too.
            raise PermanentError(self.name, "; ".join(problem.message for problem in problems))

    def _new_container(self, params: Mapping[str, str]) -> str:
        """``POST /{node}/{container_edge}``: a container is invisible until published, so this
        is not the create call (a lost answer is retryable; the orphan expires in 24 h)."""
        answer = self._call("POST", f"/{self.node}/{self.container_edge}", create=False, data=params)
        container = http.string_at(answer, "id")
        if container is None:
            raise RetryableError(self.name, f"the {self.container_edge} answer had no container id")
        return container

    def _photo_url(self, photo: Photo) -> str:
        assert photo.public_url is not None  # checked by _check before any call
        return photo.public_url

    def _container(self, container: str) -> dict[str, object] | None:
        """The container's status fields, or ``None`` if the platform does not know it."""
        response = self._request(
            "GET",
            f"/{container}",
            create=False,
            params={"fields": f"{self.status_field},{self.status_detail_field}"},
        )
        if not 200 <= response.status_code < 300:
            fault = graph_fault(response)
            if fault is not None and fault.missing:
                return None
            raise error_for_graph(self.name, response, create=False, secrets=self._secrets())
        return http.response_json(response)

    def _state(self, container: str) -> str | None:
        """The container's state, or ``None`` if the platform does not know it."""
        answer = self._container(container)
        return None if answer is None else http.string_at(answer, self.status_field)

    def _wait_for_container(self, container: str, key: str | None = None) -> str:
        """Poll the container until it is ``FINISHED`` (or already ``PUBLISHED``), which it
        returns. ``ERROR`` is a ``PermanentError`` with the platform's explanation; ``EXPIRED``
        and still processing at ``CONTAINER_WAIT_SECONDS`` are ``RetryableError``s."""
        deadline = time.monotonic() + self.CONTAINER_WAIT_SECONDS
        pause = self.CONTAINER_POLL_FIRST_SECONDS
        while True:
            answer = self._container(container)
            if answer is None:
                if key is not None:
                    self._forget(key)
                raise RetryableError(self.name, f"container {container} is unknown to {self.title}")
            state = http.string_at(answer, self.status_field)
            if state is None or state == FINISHED:
                return FINISHED  # no status reported: let the publish call judge
            if state == PUBLISHED:
                return PUBLISHED
            if state == ERROR:
                if key is not None:
                    self._forget(key)
                reason = http.string_at(answer, self.status_detail_field) or "no reason given"
                raise PermanentError(
                    self.name,
                    f"container {container} failed processing: {http.mask(reason, self._secrets())}",
                )
            if state == EXPIRED:
                if key is not None:
                    self._forget(key)
                raise RetryableError(self.name, f"container {container} expired before it was published")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RetryableError(
                    self.name,
                    f"container {container} still {state} after {self.CONTAINER_WAIT_SECONDS:g} s",
                    retry_after=60.0,
                )
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, self.CONTAINER_POLL_MAX_SECONDS)

    def _remembered(self, key: str) -> tuple[str, str] | None:
        """(container, draft fingerprint) of the latest try of ``key``, if this connector made
        one that has not been published yet."""
        with self._containers_lock:
            return self._containers.get(key)

    def _remember(self, key: str, container: str, fingerprint: str) -> None:
        with self._containers_lock:
            self._containers[key] = (container, fingerprint)
            self._containers.move_to_end(key)
            while len(self._containers) > self.REMEMBERED_CONTAINERS:
                self._containers.popitem(last=False)

    def _forget(self, key: str) -> None:
        with self._containers_lock:
            self._containers.pop(key, None)

    # -- finding posts ---------------------------------------------------------------------

    def _published_post(self, draft: Draft, container: str) -> Published:
        """The post a ``PUBLISHED`` container made, found among the latest posts by its text.
        ``UncertainError`` if it is not there (the listing may lag, or the text is empty)."""
        found = self._find_recent(draft)
        if found is None:
            raise UncertainError(
                self.name,
                f"container {container} was published but its post is not among the latest "
                f"{self.RECONCILE_LOOKBACK_POSTS}",
            )
        self._forget(draft.idempotency_key)
        return found

    def _find_recent(self, draft: Draft) -> Published | None:
        """The latest post whose text equals the draft's, or ``None``. A draft without text
        matches nothing: an empty caption does not tell one post from another."""
        wanted = comparable(draft.text)
        if not wanted:
            return None
        answer = self._call(
            "GET",
            f"/{self.node}/{self.container_edge}",
            create=False,
            params={
                "fields": f"id,{self.text_field},timestamp,permalink",
                "limit": str(self.RECONCILE_LOOKBACK_POSTS),
            },
        )
        posts = answer.get("data")
        for post in posts if isinstance(posts, list) else []:
            remote_id = http.string_at(post, "id")
            text = http.string_at(post, self.text_field)
            if remote_id is not None and text is not None and comparable(text) == wanted:
                url = http.string_at(post, "permalink") or self._permalink(remote_id)
                log.info(
                    "reconciled platform=%s remote_id=%s",
                    self.name,
                    remote_id,
                    extra={"platform": self.name, "remote_id": remote_id},
                )
                return Published(remote_id=remote_id, url=url)
        return None

    def _permalink(self, media_id: str) -> str:
        """The post's public address (``permalink``). Asked after the post exists, so a failure
        must not fail the publish: it is logged and the URL left empty."""
        try:
            answer = self._call("GET", f"/{media_id}", create=False, params={"fields": "permalink"})
        except PlatformError as exc:
            log.warning(
                "no permalink platform=%s remote_id=%s: %s",
                self.name,
                media_id,
                exc.detail,
                extra={"platform": self.name, "remote_id": media_id},
            )
            return ""
        return http.string_at(answer, "permalink") or ""
