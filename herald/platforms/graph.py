"""Meta's Graph API, shared by the Facebook Page, Instagram and Threads connectors.

What the three have in common (shared/platforms.md §5, §6, §8):

- **Versioned paths.** ``{base_url}/{version}/{node}/{edge}``; the version is the channel option
  ``graph_version`` (``v21.0`` by default; Threads has its own ``v1.0``). Unversioned calls
  would take whatever version the Meta app defaults to, so Herald always pins one.
- **The token travels in ``Authorization: Bearer``**, never as ``access_token`` in the query:
  URLs end up in library debug logs and in transport exception messages.
- **One error envelope**, mapped by ``graph_errors.error_for_graph``.

Instagram and Threads publish in two steps (``containers.ContainerConnector``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Mapping
from typing import ClassVar

import requests

from herald.core.errors import (
    InputError,
)
from herald.platforms import http
from herald.platforms.base import Connector, ConnectorConfig, Draft
from herald.platforms.graph_errors import error_for_graph, graph_fault

log = logging.getLogger(__name__)

#: Graph API version used when the channel sets no ``graph_version`` option.
DEFAULT_GRAPH_VERSION = "v21.0"
_VERSION_RE = re.compile(r"v\d+\.\d+")


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
