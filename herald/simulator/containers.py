"""The Graph content-publishing flow shared by the Instagram and Threads simulators.

Both platforms publish in the same steps (shared/platforms.md §6 and §8): create a media
container (an image fetched from a URL, a carousel of child containers, or text), poll its
status until processing is done, publish it, read the published media back, list it, check
the rolling publishing quota. ``ContainerPlatform`` holds that machinery; a subclass supplies
its routes, its container creation and what truly differs between the two: limits, error
codes and messages, the JSON of its nodes, permalinks and the public page.

Container status: ``IN_PROGRESS`` for the first N status reads (the platform's
``processing_polls`` setting), then ``FINISHED``; ``PUBLISHED`` once published; ``ERROR`` when
processing failed (Threads only: Instagram refuses a bad image when the container is created);
``EXPIRED`` after ``container_lifetime_seconds``.
"""

from __future__ import annotations

import html
import json
import logging
import time
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from herald.simulator.graph import (
    FetchFailed,
    GraphPlatform,
    as_text,
    edge_page,
    fetch_url,
    graph_params,
    invalid_parameter,
    media_shortcode,
    pick,
    requested_fields,
    unsupported_request,
)
from herald.simulator.server import (
    Account,
    HttpError,
    InvalidImage,
    LedgerEntry,
    Request,
    Response,
    Simulator,
    StoredMedia,
    html_response,
    inspect_image,
    json_response,
)

#: The ``media_type`` of published media, by the ``media_type`` of its container.
MEDIA_TYPES = {"TEXT": "TEXT_POST", "IMAGE": "IMAGE", "CAROUSEL": "CAROUSEL_ALBUM"}
_NOT_FOUND_PAGE = "<!doctype html><title>Not found</title><p>Sorry, this page isn't available.</p>"


@dataclass
class Container:
    id: str
    owner: Account
    media_type: str
    is_carousel_item: bool
    #: The caption (Instagram) or text (Threads); empty for a carousel child.
    text: str
    created_at: float
    pending_polls: int
    lifetime_seconds: float
    media: StoredMedia | None = None
    children: list[str] = field(default_factory=list)
    error_message: str | None = None
    published_media_id: str | None = None
    #: The media this container answers once published (a Threads reply), if any.
    reply_to: str | None = None

    def status(self, now: float) -> str:
        if self.published_media_id is not None:
            return "PUBLISHED"
        if self.error_message is not None:
            return "ERROR"
        if now >= self.created_at + self.lifetime_seconds:
            return "EXPIRED"
        return "IN_PROGRESS" if self.pending_polls > 0 else "FINISHED"


@dataclass
class Published:
    """A published media object (an Instagram media, a Threads post)."""

    entry: LedgerEntry
    container: Container
    shortcode: str
    created_at: float
    #: Media ids of the carousel's children, empty for a single item.
    children: list[str]


class ImageRejected(Exception):
    """``fetch_image`` could not use the URL: ``kind`` is ``download`` (``timed_out`` tells a
    timeout), ``too_large`` or ``format``."""

    def __init__(self, kind: str, *, timed_out: bool = False) -> None:
        super().__init__(kind)
        self.kind = kind
        self.timed_out = timed_out


class ContainerPlatform(GraphPlatform):
    """A Graph platform publishing through media containers (Instagram, Threads)."""

    min_children: ClassVar[int] = 2
    max_children: ClassVar[int]
    max_image_bytes: ClassVar[int] = 8 * 1024 * 1024
    image_types: ClassVar[frozenset[str]]
    container_lifetime_seconds: ClassVar[int] = 86_400
    #: The publishing quota is counted over this rolling window.
    publish_window_seconds: ClassVar[int] = 86_400
    #: Requested fields of a container read that advance its processing one step.
    status_fields: ClassVar[tuple[str, ...]]
    #: Keys of the publishing-limit item, in the order they are answered.
    quota_fields: ClassVar[tuple[str, ...]]
    #: Fields of the account node answered when ``fields`` is not given.
    user_default_fields: ClassVar[tuple[str, ...]]
    #: ``children`` text that starts like a JSON array but does not parse: split on commas
    #: (True) or take it as no children at all (False).
    split_malformed_children: ClassVar[bool]

    def __init__(self, sim: Simulator) -> None:
        self._containers: dict[str, Container] = {}
        self._published: dict[str, Published] = {}
        self._by_account: dict[str, list[str]] = {}
        #: Publish times per (account id, "post" or "reply"): each kind has its own quota.
        self._publishes: dict[tuple[str, str], list[float]] = {}
        super().__init__(sim)

    def reset(self) -> None:
        super().reset()
        self._containers.clear()
        self._published.clear()
        self._by_account.clear()
        self._publishes.clear()

    # -- what each platform supplies -------------------------------------------------------

    @abstractmethod
    def processing_polls(self) -> int:
        """Status reads a new container answers ``IN_PROGRESS`` (a simulator setting)."""

    @abstractmethod
    def publish_quota(self) -> int:
        """Posts an account may publish per window (a simulator setting)."""

    @abstractmethod
    def missing_container(self, container_id: str) -> HttpError:
        """An unknown, foreign or already published container (or carousel child)."""

    @abstractmethod
    def children_count_error(self) -> HttpError: ...

    @abstractmethod
    def expired_error(self) -> HttpError: ...

    @abstractmethod
    def not_ready_error(self) -> HttpError: ...

    @abstractmethod
    def quota_error(self) -> HttpError: ...

    def reply_quota(self) -> int:
        """Replies an account may publish per window; a platform without replies never asks."""
        return self.publish_quota()

    def reply_quota_error(self) -> HttpError:
        return self.quota_error()

    def check_publishable(self, container: Container) -> None:  # noqa: B027  (optional hook)
        """Refuse, at publish time, what became unpublishable since the container was made (a
        reply whose parent was deleted). Called under the lock."""

    def commit_extra(self, container: Container) -> dict[str, Any]:  # Any: JSON values
        """Platform facts for the ledger entry of a published container (a reply's parent)."""
        return {}

    def in_feed(self, published: Published) -> bool:
        """Whether the account's media listing shows ``published`` (Threads lists replies apart)."""
        return True

    def failed_error(self, container: Container) -> HttpError:
        """Publishing a container whose processing failed (status ``ERROR``)."""
        return invalid_parameter(
            "(#100) The media container failed to process",
            user_msg=f"Container {container.id} is in ERROR: {container.error_message}.",
        )

    @abstractmethod
    def permalink(self, account: Account, shortcode: str) -> str: ...

    @abstractmethod
    def user_json(self, account: Account) -> dict[str, Any]:  # Any: JSON values
        """The account's own node (``GET /me``)."""

    @abstractmethod
    def container_json(self, container: Container, status: str) -> dict[str, Any]:  # Any: JSON
        """A container's node as a status read answers it."""

    @abstractmethod
    def published_json(self, published: Published) -> dict[str, Any]:  # Any: JSON values
        """A published media's node with every field it can answer."""

    @abstractmethod
    def render_page(self, published: Published) -> str:
        """The HTML of the public page of a published media."""

    def page_matches(self, request: Request, published: Published) -> bool:
        """Whether the public page's path names ``published`` (beyond its shortcode)."""
        return True

    # -- containers ------------------------------------------------------------------------

    def new_container(self, account: Account, media_type: str, text: str, *, is_item: bool) -> Container:
        return Container(
            id=self.sim.new_id(self.name),
            owner=account,
            media_type=media_type,
            is_carousel_item=is_item,
            text=text,
            created_at=time.time(),
            pending_polls=self.processing_polls(),
            lifetime_seconds=self.container_lifetime_seconds,
        )

    def store_container(self, container: Container) -> Response:
        with self.sim.lock:
            if container.media is not None:
                self.sim.store_media(container.media)
            self._containers[container.id] = container
        return json_response(200, {"id": container.id})

    def fetch_image(self, container: Container, url: str, alt: str) -> StoredMedia:
        """The image at ``url`` as the container's media. Raises ``ImageRejected``."""
        # Outside the lock: the URL may well be served by this very simulator.
        try:
            fetched = fetch_url(url, cap=self.max_image_bytes)
        except FetchFailed as exc:
            logging.getLogger(type(self).__module__).info(
                f"{self.name} image fetch failed", extra={"platform": self.name, "reason": str(exc)}
            )
            raise ImageRejected("download", timed_out=exc.timed_out) from None
        if fetched.truncated:
            raise ImageRejected("too_large")
        try:
            info = inspect_image(fetched.data)
        except InvalidImage:
            info = None
        if info is None or info.mime_type not in self.image_types:
            raise ImageRejected("format")
        return StoredMedia(
            platform=self.name,
            media_id=container.id,
            owner_id=container.owner.id,
            data=fetched.data,
            info=info,
            created_at=time.time(),
            alt_text=alt,
        )

    def carousel_children(self, account: Account, raw: Any) -> list[str]:  # Any: form text or JSON
        if isinstance(raw, list):
            ids = [as_text(i) or "" for i in raw]
        else:
            text = as_text(raw) or ""
            ids = [part.strip() for part in text.split(",") if part.strip()]
            if text.strip().startswith("["):
                try:
                    decoded = json.loads(text)
                except json.JSONDecodeError:
                    decoded = None
                if isinstance(decoded, list):
                    ids = [as_text(i) or "" for i in decoded]
                elif not self.split_malformed_children:
                    ids = []
        if not self.min_children <= len(ids) <= self.max_children:
            raise self.children_count_error()
        now = time.time()
        with self.sim.lock:
            for child_id in ids:
                child = self._containers.get(child_id)
                if (
                    child is None
                    or child.owner.id != account.id
                    or not child.is_carousel_item
                    or child.status(now) in ("EXPIRED", "PUBLISHED", "ERROR")
                ):
                    raise self.missing_container(child_id)
        return ids

    # -- publishing ------------------------------------------------------------------------

    def publish(self, request: Request) -> Response:
        account = self.owner_of(request, request.params["node"])
        params = graph_params(request)
        creation_id = as_text(params.get("creation_id"))
        if not creation_id:
            raise invalid_parameter("(#100) The parameter creation_id is required.")
        now = time.time()
        with self.sim.lock:
            container = self._containers.get(creation_id)
            if container is None or container.owner.id != account.id or container.is_carousel_item:
                raise self.missing_container(creation_id)
            status = container.status(now)
            if status == "PUBLISHED":
                # A container produces one post: publishing it again is refused, never repeated.
                raise self.missing_container(creation_id)
            if status == "ERROR":
                raise self.failed_error(container)
            if status == "EXPIRED":
                raise self.expired_error()
            if status == "IN_PROGRESS":
                raise self.not_ready_error()
            self.check_publishable(container)
            kind = "reply" if container.reply_to is not None else "post"
            recent = self._recent_publishes(account, kind, now)
            if kind == "reply" and len(recent) >= self.reply_quota():
                raise self.reply_quota_error()
            if kind == "post" and len(recent) >= self.publish_quota():
                raise self.quota_error()
            published = self._commit(account, container, now)
            recent.append(now)
        return json_response(200, {"id": published.entry.remote_id})

    def _recent_publishes(self, account: Account, kind: str, now: float) -> list[float]:
        """Publish times of ``kind`` inside the window, pruned (call under the lock)."""
        key = (account.id, kind)
        recent = [t for t in self._publishes.get(key, []) if t > now - self.publish_window_seconds]
        self._publishes[key] = recent
        return recent

    def _commit(self, account: Account, container: Container, now: float) -> Published:
        media_id = self.sim.new_id(self.name)
        parts = [self._containers[c] for c in container.children] if container.children else [container]
        code = media_shortcode(media_id)
        entry = LedgerEntry(
            platform=self.name,
            account=account.username,
            remote_id=media_id,
            url=self.permalink(account, code),
            text=container.text,
            media=tuple(p.media.ledger_media() for p in parts if p.media is not None),
            idempotency_key=container.id,
            received_at=now,
            extra={
                "container_id": container.id,
                "media_type": MEDIA_TYPES[container.media_type],
                "children": list(container.children),
                "shortcode": code,
                **self.commit_extra(container),
            },
        )
        children = []
        for part in parts:
            part.published_media_id = media_id if part is container else self.sim.new_id(self.name)
            children.append(part.published_media_id)
            if part.media is not None:
                part.media.attached_to = media_id
        container.published_media_id = media_id
        published = Published(entry, container, code, now, children if container.children else [])
        self._published[media_id] = published
        self._by_account.setdefault(account.id, []).append(media_id)
        self.sim.commit(entry)
        return published

    def publishing_limit(self, request: Request) -> Response:
        account = self.owner_of(request, request.params["node"])
        fields = requested_fields(graph_params(request)) or ["quota_usage"]
        now = time.time()
        with self.sim.lock:
            usage = len(self._recent_publishes(account, "post", now))
            replies = len(self._recent_publishes(account, "reply", now))
        values: dict[str, Any] = {
            "config": {"quota_total": self.publish_quota(), "quota_duration": self.publish_window_seconds},
            "quota_usage": usage,
            "reply_config": {
                "quota_total": self.reply_quota(),
                "quota_duration": self.publish_window_seconds,
            },
            "reply_quota_usage": replies,
        }
        item = {name: values[name] for name in self.quota_fields if name in fields}
        return json_response(200, {"data": [item]})

    # -- reads -----------------------------------------------------------------------------

    def _visible(self, account: Account, media_id: str) -> Published | None:
        """The account's published media ``media_id`` unless deleted (call under the lock)."""
        published = self._published.get(media_id)
        if (
            published is None
            or published.container.owner.id != account.id
            or self.sim.is_deleted(self.name, media_id)
        ):
            return None
        return published

    def list_published(self, request: Request) -> Response:
        account = self.owner_of(request, request.params["node"])
        params = graph_params(request)
        fields = requested_fields(params)
        with self.sim.lock:
            items = [
                pick(self.published_json(self._published[i]), fields, ("id",))
                for i in reversed(self._by_account.get(account.id, []))
                if not self.sim.is_deleted(self.name, i) and self.in_feed(self._published[i])
            ]
        return json_response(200, edge_page(request, params, items, self.sim.base_url))

    def read_node(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        node = request.params["node"]
        params = graph_params(request)
        fields = requested_fields(params)
        if node in ("me", self.node_id(account)):
            return json_response(200, pick(self.user_json(account), fields, self.user_default_fields))
        now = time.time()
        with self.sim.lock:
            container = self._containers.get(node)
            if container is not None and container.owner.id == account.id:
                status = container.status(now)
                polled = fields is not None and any(name in fields for name in self.status_fields)
                if polled and status == "IN_PROGRESS":
                    # Each status read advances processing one step.
                    container.pending_polls -= 1
                return json_response(200, pick(self.container_json(container, status), fields, ()))
            published = self._visible(account, node)
            if published is not None:
                return json_response(200, pick(self.published_json(published), fields, ("id",)))
        raise unsupported_request("GET", node)

    def page_images(self, published: Published) -> str:
        return "".join(
            f'<img src="/_sim/media/{self.name}/{m.media_id}" alt="{html.escape(m.alt_text)}" width="240">'
            for m in published.entry.media
        )

    def public_page(self, request: Request) -> Response:
        code = request.params["shortcode"]
        with self.sim.lock:
            published = next((p for p in self._published.values() if p.shortcode == code), None)
            if (
                published is None
                or not self.page_matches(request, published)
                or self.sim.is_deleted(self.name, published.entry.remote_id)
            ):
                return html_response(404, _NOT_FOUND_PAGE)
            return html_response(200, self.render_page(published))
