"""Meta's Graph API, shared by the Facebook Page, Instagram and Threads connectors.

What the three have in common (shared/platforms.md §5, §6, §8):

- **Versioned paths.** ``{base_url}/{version}/{node}/{edge}``; the version is the channel option
  ``graph_version`` (``v21.0`` by default; Threads has its own ``v1.0``). Unversioned calls
  would take whatever version the Meta app defaults to, so Herald always pins one.
- **The token travels in ``Authorization: Bearer``**, never as ``access_token`` in the query:
  URLs end up in library debug logs and in transport exception messages.
- **One error envelope**, mapped by ``graph_errors.error_for_graph``.

Instagram and Threads publish in two steps (``containers.ContainerConnector``). Facebook and
Instagram take first comments the same way: ``POST /{post-id}/comments`` with ``message``,
answered ``{"id": "<comment id>"}``, listed by ``GET /{post-id}/comments`` (paged with
``paging.cursors.after``) and deleted by ``DELETE /{comment-id}`` like any node.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import ClassVar

import requests

from herald.core.errors import (
    AuthError,
    InputError,
    PermanentError,
    PlatformError,
    UncertainError,
)
from herald.platforms import http
from herald.platforms.base import Connector, ConnectorConfig, Draft, Verified
from herald.platforms.comments import COMMENT_PAGE_SIZE, COMMENT_PAGES
from herald.platforms.graph_errors import error_for_graph, graph_fault

log = logging.getLogger(__name__)

#: Graph API version used when the channel sets no ``graph_version`` option.
DEFAULT_GRAPH_VERSION = "v21.0"
_VERSION_RE = re.compile(r"v\d+\.\d+")
#: A Graph object id as the three platforms hand them out: digits, and for Page posts and their
#: comments ``{owner}_{object}``. Anything else must never reach a URL path.
_NODE_ID_RE = re.compile(r"[0-9]+(?:_[0-9]+)*")


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
    can_verify = True

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        version = config.options.get("graph_version") or self.default_graph_version
        if not _VERSION_RE.fullmatch(version):
            raise InputError("graph_version", f"{version!r} is not a Graph API version such as v21.0")
        self.graph_version = version
        self.api_root = f"{self.base_url}/{version}"
        self.node = self.secret(self.node_key)
        self.session.headers["Authorization"] = f"Bearer {self.secret(self.token_key)}"

    def verify(self) -> Verified:
        """``GET /{node}?fields=id,name``: the token is good and reaches the node posts go under
        (a token of another page or account is refused as publishing would be); then, where
        ``reads_token_expiry``, when the token expires."""
        answer = self._call("GET", f"/{self.node}", create=False, params={"fields": "id,name"})
        account = http.string_at(answer, "name") or http.string_at(answer, "id") or self.node
        if not self.reads_token_expiry:
            return Verified(account)
        read = self._token_expiry()
        return Verified(account, expires_at=read[1], expiry_read=read[0])

    def _token_expiry(self) -> tuple[bool, datetime | None]:
        """``GET /debug_token?input_token=…`` asked with the token itself: its ``expires_at``
        (epoch seconds; 0 for a token that never expires, as a Page token from a long-lived user
        token). Meta answers it to the app's developers and admins, which a campaign running its
        own app is; to anyone else it refuses, and the expiry stays unknown, which is not a
        reason to fail the check. Returns (whether it was read, the time or None for never)."""
        try:
            answer = self._call(
                "GET", "/debug_token", create=False, params={"input_token": self.secret(self.token_key)}
            )
        except PlatformError as e:
            log.info("%s: debug_token refused (%s); the token's expiry stays unknown", self.name, e.detail)
            return False, None
        data = answer.get("data")
        expires = data.get("expires_at") if isinstance(data, dict) else None
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            return False, None
        if expires <= 0:
            return True, None
        return True, datetime.fromtimestamp(expires, UTC).replace(tzinfo=None)

    def _node_id(self, value: str) -> str:
        """``value`` if it is a Graph object id, else ``PermanentError`` before any call: a post
        id recorded from an earlier answer goes into a URL path (``/{id}/comments``), where a
        ``/`` or ``?`` would call another endpoint."""
        if not _NODE_ID_RE.fullmatch(value):
            raise PermanentError(self.name, f"{value[:80]!r} is not a {self.title} post id")
        return value

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

    # -- first comments (Facebook, Instagram) ----------------------------------------------

    def _comment_on(self, post_id: str, text: str) -> str:
        """``POST /{post_id}/comments`` with ``message``; the new comment's id. This is the
        create call: a 5xx or a lost answer is ``UncertainError`` (``_find_comment`` settles it),
        an unknown or deleted post the platform's refusal (``PermanentError``)."""
        answer = self._call(
            "POST", f"/{self._node_id(post_id)}/comments", create=True, data={"message": text}
        )
        comment_id = http.string_at(answer, "id")
        if comment_id is None:
            # A 2xx without an id: something answered, but we cannot tell what.
            raise UncertainError(self.name, "the comments answer had no comment id", status=200)
        return comment_id

    def _find_comment(
        self,
        post_id: str,
        text: str,
        *,
        text_field: str,
        author: str | None,
        params: Mapping[str, str] | None = None,
    ) -> str | None:
        """The id of the comment under ``post_id`` whose ``text_field`` reads ``text`` (and
        whose ``from.id`` is ``author``, when given), or ``None`` when every page was read
        without finding it: the post's comments are listed in full, so absence is proof.

        Raises ``AuthError`` if the credentials are refused, and ``UncertainError`` if a page
        cannot be read or ``COMMENT_PAGES`` pages did not reach the end."""
        wanted = comparable(text)
        try:
            self._node_id(post_id)
        except PermanentError as exc:
            # A look-up answers "went out", "did not" or "cannot tell"; this is the last.
            raise UncertainError(self.name, f"cannot look for the comment: {exc.detail}") from exc
        query = {
            "fields": f"id,{text_field},from",
            "limit": str(COMMENT_PAGE_SIZE),
            **(params or {}),
        }
        for _ in range(COMMENT_PAGES):
            try:
                answer = self._call("GET", f"/{post_id}/comments", create=False, params=query)
            except AuthError:
                raise
            except PlatformError as exc:
                raise UncertainError(
                    self.name, f"could not list the post's comments: {exc.detail}", status=exc.status
                ) from exc
            comments = answer.get("data")
            for comment in comments if isinstance(comments, list) else []:
                comment_id = http.string_at(comment, "id")
                said = http.string_at(comment, text_field)
                writer = http.string_at(comment, "from", "id")
                if (
                    comment_id is not None
                    and said is not None
                    and comparable(said) == wanted
                    and (author is None or writer is None or writer == author)
                ):
                    log.info(
                        "reconciled platform=%s remote_id=%s",
                        self.name,
                        comment_id,
                        extra={"platform": self.name, "remote_id": comment_id},
                    )
                    return comment_id
            after = http.string_at(answer, "paging", "cursors", "after")
            if http.string_at(answer, "paging", "next") is None or after is None:
                return None
            query = {**query, "after": after}
        raise UncertainError(
            self.name,
            f"the post has more than {COMMENT_PAGES * COMMENT_PAGE_SIZE} comments and the first "
            "ones do not include this text: cannot tell whether it went out",
        )
