"""Encryption at rest: channel credentials and people's second-factor secrets.

Each is a JSON object of strings, sealed with the keys of a ``Keyring`` (``herald.core.keyring``):

- **channel credentials** (``CredentialBox``) are sealed to the credentials' X25519 public key:
  an ephemeral key pair per value, X25519 agreement, HKDF-SHA256, AES-256-GCM. Sealing needs
  the public key only, so the web app adds and changes credentials it can never read; opening
  needs the private key, which only processes holding ``HERALD_SECRET_KEY`` derive. A sealed
  value is ``0x02 | key id (8) | ephemeral public key (32) | nonce (12) | ciphertext+tag``;
  the header is authenticated too;
- **second-factor secrets** (``SecretBox``) are checked by the web app at sign-in, so they are
  sealed with Fernet under a key derived from the web key, which the web app holds.

Values sealed before this scheme (Fernet under a key derived from the master, "v1") still open
in a process holding the master, and ``herald keys rotate`` re-seals them. During a rotation the
keyring holds the previous keys too: both open, the current one seals (``reseal``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from herald.core.errors import ConfigError
from herald.core.keyring import Keyring, key_id
from herald.core.secret import Secret

#: The first byte of a value sealed to a public key.
SEALED_V2: Final = 0x02
_HEADER: Final = 1 + 8 + 32
_NONCE: Final = 12
_SEALED_INFO: Final = b"herald credentials sealed box v2"
_SECOND_FACTOR_LABEL: Final = b"herald/web/second-factor/v1"
#: How the v1 Fernet key was derived from the master (kept to open v1 values).
_V1_INFO: Final = b"herald credentials v1"


def _v1_fernet(master: Secret) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_V1_INFO).derive(
        master.reveal().encode()
    )
    return Fernet(base64.urlsafe_b64encode(raw))


def _plain(values: dict[str, Secret]) -> bytes:
    return json.dumps({k: v.reveal() for k, v in values.items()}, sort_keys=True).encode()


def _secrets(plain: bytes) -> dict[str, Secret]:
    return {str(k): Secret(str(v)) for k, v in json.loads(plain).items()}


def _aead_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=_SEALED_INFO).derive(
        shared
    )


class CredentialBox:
    """Seals channel credentials to the keyring's current public key; opens them with any of
    its private keys (none in the web app)."""

    def __init__(self, keyring: Keyring) -> None:
        self._public = keyring.credentials_public[0]
        self._known_ids = {key_id(p) for p in keyring.credentials_public}
        self._private = {key_id(k.public_key().public_bytes_raw()): k for k in keyring.credentials_private}
        self._v1 = MultiFernet([_v1_fernet(m) for m in keyring.masters]) if keyring.masters else None

    @property
    def opens(self) -> bool:
        """Can this box open what it seals (does this process hold a private key)?"""
        return bool(self._private)

    def seal(self, credentials: dict[str, Secret]) -> bytes:
        ephemeral = X25519PrivateKey.generate()
        eph_pub = ephemeral.public_key().public_bytes_raw()
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(self._public))
        header = bytes([SEALED_V2]) + key_id(self._public) + eph_pub
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(_aead_key(shared, eph_pub, self._public)).encrypt(nonce, _plain(credentials), header)
        return header + nonce + sealed

    def open(self, token: bytes) -> dict[str, Secret]:
        """The credentials in ``token``. Raises ConfigError if this process holds no key that
        opens it (the web app never does)."""
        if not self._private:
            raise ConfigError(
                "this process cannot open channel credentials: only processes holding "
                "HERALD_SECRET_KEY (workers, the command line) can; the web app only seals them"
            )
        token = bytes(token)
        if token[:1] != bytes([SEALED_V2]):
            return self._open_v1(token)
        private = self._private.get(token[1:9])
        if private is None or len(token) < _HEADER + _NONCE + 16:
            raise _wrong_key()
        eph_pub = token[9:_HEADER]
        recipient = private.public_key().public_bytes_raw()
        try:
            shared = private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
            plain = AESGCM(_aead_key(shared, eph_pub, recipient)).decrypt(
                token[_HEADER : _HEADER + _NONCE], token[_HEADER + _NONCE :], token[:_HEADER]
            )
        except (InvalidTag, ValueError):
            raise _wrong_key() from None
        return _secrets(plain)

    def _open_v1(self, token: bytes) -> dict[str, Secret]:
        if self._v1 is None:
            raise _wrong_key()
        try:
            return _secrets(self._v1.decrypt(token))
        except InvalidToken:
            raise _wrong_key() from None

    def recognises(self, token: bytes) -> bool:
        """Was ``token`` sealed to a public key this box knows (current or previous), or under a
        master (v1)? A check the web app can make without opening anything."""
        token = bytes(token)
        if token[:1] == bytes([SEALED_V2]):
            return token[1:9] in self._known_ids and len(token) >= _HEADER + _NONCE + 16
        return token.startswith(b"gAAAAA")

    def is_current(self, token: bytes) -> bool:
        """Whether ``token`` is sealed to the current public key (nothing left to re-seal)."""
        token = bytes(token)
        return token[:1] == bytes([SEALED_V2]) and token[1:9] == key_id(self._public)

    def reseal(self, token: bytes) -> bytes:
        """``token``'s content sealed to the current public key. Raises ConfigError if no key of
        this box opens it."""
        return self.seal(self.open(token))


class SecretBox:
    """Seals people's second-factor secrets under the current web key; opens what any web key of
    the keyring sealed, and v1 values where the masters are held."""

    def __init__(self, keyring: Keyring) -> None:
        fernets = [
            Fernet(base64.urlsafe_b64encode(hmac.new(k, _SECOND_FACTOR_LABEL, hashlib.sha256).digest()))
            for k in keyring.web
        ]
        self._current = fernets[0]
        self._fernet = MultiFernet(fernets + [_v1_fernet(m) for m in keyring.masters])

    def seal(self, values: dict[str, Secret]) -> bytes:
        return self._current.encrypt(_plain(values))

    def open(self, token: bytes) -> dict[str, Secret]:
        """The values in ``token``. Raises ConfigError if no key of this box sealed it."""
        try:
            return _secrets(self._fernet.decrypt(bytes(token)))
        except InvalidToken:
            raise _wrong_key() from None

    def is_current(self, token: bytes) -> bool:
        try:
            self._current.decrypt(bytes(token))
        except InvalidToken:
            return False
        return True

    def reseal(self, token: bytes) -> bytes:
        try:
            return self._fernet.rotate(bytes(token))
        except InvalidToken:
            raise _wrong_key() from None


def _wrong_key() -> ConfigError:
    return ConfigError(
        "a sealed value cannot be opened: HERALD_SECRET_KEY (and HERALD_SECRET_KEY_PREVIOUS, "
        "if set) differ from the key it was sealed with"
    )
