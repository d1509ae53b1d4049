"""What a worker may believe of Redis: staged payloads carry a MAC, photos are named by hash.

Redis is shared and, in many deployments, reachable by more than Herald; a worker must never
publish something SQL did not approve because Redis was rewritten. So:

- every staged payload is stored with an HMAC-SHA256 over its canonical JSON (sorted keys, no
  spaces, UTF-8), under the keyring's queue key (``herald.core.keyring``: derived from the
  master under a label of its own, never the credential key itself); during a key rotation a
  payload staged under the previous queue key still checks;
- photo bytes are staged under their SHA-256 (``herald:photo:{sha256}``), and a payload whose
  MAC holds names that hash: bytes that do not hash to it are refused.

A refused payload or photo is reported (``Tampered``) and never used: the delivery engine
builds it again from SQL (``herald.delivery.prepare``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from content_queue.payload import Payload
from herald.core.errors import QueueError
from herald.core.keyring import QUEUE_LABEL, Keyring, derive
from herald.core.secret import Secret

#: The field of a staged payload's JSON that holds its MAC (hex).
MAC_FIELD: Final = "mac"


class Tampered(QueueError):
    """A staged payload's MAC does not hold (or it has none), or photo bytes do not hash to the
    sha256 they are staged under. Names the delivery or photo, never the content."""


K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Checked(Generic[K, V]):
    """What was read from Redis and checked: the values that passed, and why the others were
    refused. Something Redis did not hold is in neither."""

    found: dict[K, V]
    refused: dict[K, Tampered]


def queue_key(secret: Secret) -> bytes:
    """The content queue's MAC key for a master: HMAC-SHA256(master, ``QUEUE_LABEL``)."""
    return derive(secret, QUEUE_LABEL)


def canonical(d: dict[str, Any]) -> bytes:
    """The bytes a MAC covers: sorted keys, no spaces, UTF-8, so the same payload always gives
    the same bytes whoever wrote it."""
    return json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


class Seal:
    """Signs payloads for staging and opens staged ones, with the queue's key."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Sequence[bytes]) -> None:
        """Seals with ``keys[0]``; a payload checks if any of ``keys`` sealed it."""
        if not keys:
            raise ValueError("a seal needs a key")
        self._keys = tuple(keys)

    @classmethod
    def from_keyring(cls, keyring: Keyring) -> Seal:
        return cls(keyring.queue)

    @classmethod
    def from_secret(cls, secret: Secret) -> Seal:
        return cls((queue_key(secret),))

    def _mac(self, d: dict[str, Any], key: bytes | None = None) -> str:
        return hmac.new(key or self._keys[0], canonical(d), hashlib.sha256).hexdigest()

    def seal(self, payload: Payload) -> str:
        """The JSON to stage for ``payload``: its fields and their MAC."""
        d = payload.to_dict()
        return json.dumps({**d, MAC_FIELD: self._mac(d)}, ensure_ascii=False, separators=(",", ":"))

    def open(self, raw: str | bytes, delivery_id: int) -> Payload:
        """The payload staged as ``raw`` under ``delivery_id``'s key.

        Raises ``Tampered`` if it is not JSON, has no MAC, its MAC does not hold, or it names
        another delivery (a payload copied to another key)."""
        try:
            d = json.loads(raw)
        except ValueError as e:
            raise Tampered(f"delivery {delivery_id}: staged payload is not JSON") from e
        mac = d.pop(MAC_FIELD, None) if isinstance(d, dict) else None
        if not isinstance(mac, str) or not mac.isascii():
            raise Tampered(f"delivery {delivery_id}: staged payload has no MAC")
        if not any(hmac.compare_digest(mac.encode(), self._mac(d, k).encode()) for k in self._keys):
            raise Tampered(f"delivery {delivery_id}: staged payload's MAC does not match")
        try:
            payload = Payload.from_dict(d)
        except (TypeError, ValueError) as e:  # signed by us, so only a version skew gets here
            raise Tampered(f"delivery {delivery_id}: staged payload has an unknown shape") from e
        if payload.delivery_id != delivery_id:
            raise Tampered(f"delivery {delivery_id}: staged payload is delivery {payload.delivery_id}'s")
        return payload


def photo_matches(sha256: str, data: bytes) -> bool:
    """Do ``data`` hash to ``sha256`` (the name they are staged under)?"""
    return hmac.compare_digest(hashlib.sha256(data).hexdigest(), sha256.lower())
