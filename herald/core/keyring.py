"""The keys one process holds, and which process holds which.

One secret, ``HERALD_SECRET_KEY`` (the master), is given to the processes that publish: workers,
schedulers and the command line. Every key Herald uses is derived from it, one way, each under a
label of its own (HMAC-SHA256 of the label, keyed by the master):

- **credentials**: an X25519 key pair. Channel credentials are sealed to its public key, so
  sealing needs no secret at all; only a holder of the master can derive the private key and
  open them (``herald.store.crypto.CredentialBox``);
- **web**: signs what the web app hands to browsers (flash notes, sign-in forms, drafts) and
  seals people's second-factor secrets (``herald.store.crypto.SecretBox``);
- **queue**: the content queue's payload MAC (``content_queue.integrity``).

The web app faces the internet, so in production it never holds the master: it gets
``HERALD_WEB_KEYS`` (``herald keys web`` prints it), which carries the credentials' public key and
the web and queue keys, and nothing from which the master or the credentials' private key
follows. A web process can therefore add and change a channel's credentials, but not read them.

During a rotation a keyring holds the keys derived from the previous master too, after the
current ones: what they sealed still opens, and everything new is sealed with the current ones.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from herald.core.errors import ConfigError
from herald.core.i18n import _
from herald.core.secret import Secret

#: Derivation labels; a new scheme gets a new label, never a reused one.
CREDENTIALS_LABEL: Final = b"herald/credentials/x25519/v2"
WEB_LABEL: Final = b"herald/web/v1"
QUEUE_LABEL: Final = b"herald/content-queue/v1"

#: ``HERALD_WEB_KEYS`` starts with this, so a value of another kind is recognised as such.
WEB_KEYS_PREFIX: Final = "herald-web-keys-v1:"


def derive(master: Secret, label: bytes) -> bytes:
    """The 32-byte key for ``label``: HMAC-SHA256(master, label). One way: no derived key
    yields the master or another label's key."""
    return hmac.new(master.reveal().encode(), label, hashlib.sha256).digest()


def credentials_private(master: Secret) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(derive(master, CREDENTIALS_LABEL))


def key_id(public: bytes) -> bytes:
    """A public key's 8-byte id: the first bytes of its SHA-256."""
    return hashlib.sha256(public).digest()[:8]


@dataclass(frozen=True, repr=False)
class Keyring:
    """Each kind of key, current first. ``credentials_private`` and ``masters`` are empty in a
    process given only ``HERALD_WEB_KEYS``: it seals credentials but cannot open them."""

    credentials_public: tuple[bytes, ...]
    credentials_private: tuple[X25519PrivateKey, ...]
    web: tuple[bytes, ...]
    queue: tuple[bytes, ...]
    #: Masters themselves: values sealed before the key pair existed (Fernet tokens under the
    #: master) open with them until ``herald keys rotate`` re-seals them.
    masters: tuple[Secret, ...]

    @classmethod
    def from_masters(cls, current: Secret, previous: Sequence[Secret] = ()) -> Keyring:
        masters = (current, *previous)
        privates = tuple(credentials_private(m) for m in masters)
        return cls(
            credentials_public=tuple(p.public_key().public_bytes_raw() for p in privates),
            credentials_private=privates,
            web=tuple(derive(m, WEB_LABEL) for m in masters),
            queue=tuple(derive(m, QUEUE_LABEL) for m in masters),
            masters=masters,
        )

    @classmethod
    def from_web_keys(cls, text: str, name: str = "HERALD_WEB_KEYS") -> Keyring:
        """The web app's share, as ``web_keys`` wrote it. Raises ConfigError (naming ``name``,
        never the value) if it is not one."""
        bad = ConfigError(_("%(name)s is not a value printed by `herald keys web`") % {"name": name})
        text = text.strip()
        if not text.startswith(WEB_KEYS_PREFIX):
            raise bad
        try:
            d = json.loads(base64.urlsafe_b64decode(text[len(WEB_KEYS_PREFIX) :].encode("ascii")))
            parts = {
                k: tuple(base64.b64decode(v, validate=True) for v in d[k])
                for k in ("credentials", "web", "queue")
            }
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise bad from None
        if not all(parts.values()) or any(len(k) != 32 for keys in parts.values() for k in keys):
            raise bad
        return cls(parts["credentials"], (), parts["web"], parts["queue"], ())

    def web_keys(self) -> str:
        """What the web app needs, as one value for ``HERALD_WEB_KEYS``: the credentials' public
        keys, the web keys and the queue keys (current first). Nothing in it opens a credential."""
        d = {
            "credentials": self.credentials_public,
            "web": self.web,
            "queue": self.queue,
        }
        raw = json.dumps({k: [base64.b64encode(x).decode() for x in v] for k, v in d.items()})
        return WEB_KEYS_PREFIX + base64.urlsafe_b64encode(raw.encode()).decode("ascii")

    @property
    def opens_credentials(self) -> bool:
        return bool(self.credentials_private)

    def __repr__(self) -> str:
        return f"Keyring({len(self.web)} generation(s), opens credentials: {self.opens_credentials})"
