"""Instagram and Threads publish in two steps, a *container* and then a publish call that turns
it into a post; ``ContainerConnector`` holds that flow, the status polling and the reconcile
rule built on it (a container's status becomes ``PUBLISHED`` once its post went out).
"""

from __future__ import annotations

import logging
import threading
import time
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Mapping
from typing import ClassVar

from herald.core.errors import (
    AuthError,
    PermanentError,
    PlatformError,
    RetryableError,
    UncertainError,
)
from herald.platforms import http
from herald.platforms.base import ConnectorConfig, Draft, Photo, Published
from herald.platforms.graph import GraphConnector, comparable, draft_fingerprint
from herald.platforms.graph_errors import error_for_graph, graph_fault

log = logging.getLogger(__name__)

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
        not found is ``UncertainError``, since absence there proves nothing — unless the look-up
        read every place the draft could be (``_listing_is_complete``: a Threads reply among all
        its parent's replies), when not found is ``None``.
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
        if found is None and not self._listing_is_complete(draft):
            raise UncertainError(
                self.name,
                f"no container of this try is known here and none of the latest "
                f"{self.RECONCILE_LOOKBACK_POSTS} posts has this text: cannot tell whether it went out",
            )
        return found

    def _listing_is_complete(self, draft: Draft) -> bool:
        """Whether ``_find_recent`` read every place ``draft`` could be, so that not finding it
        proves it did not go out. The latest posts are a window, never the whole account."""
        return False

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
