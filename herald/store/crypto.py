"""Credential encryption at rest.

Channel credentials (and people's TOTP secrets) are a JSON object encrypted with Fernet
(AES-128-CBC + HMAC-SHA256). Each Fernet key is derived from a secret key setting with
HKDF-SHA256, so any long random string works as the setting.

A box holds one current key and any number of previous ones (``MultiFernet``): it seals with the
current key and opens what any of them sealed, so during a key rotation every process keeps
working while ``herald keys rotate`` re-seals each value under the current key (``reseal``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from herald.core.errors import ConfigError
from herald.core.secret import Secret

_HKDF_INFO = b"herald credentials v1"


def _fernet(secret_key: Secret) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret_key.reveal().encode()
    )
    return Fernet(base64.urlsafe_b64encode(raw))


class CredentialBox:
    """Seals with ``secret_key``; opens what ``secret_key`` or any of ``previous`` sealed."""

    def __init__(self, secret_key: Secret, previous: Sequence[Secret] = ()) -> None:
        self._current = _fernet(secret_key)
        self._fernet = MultiFernet([self._current, *(_fernet(k) for k in previous)])

    def seal(self, credentials: dict[str, Secret]) -> bytes:
        plain = json.dumps({k: v.reveal() for k, v in credentials.items()}, sort_keys=True)
        return self._current.encrypt(plain.encode())

    def open(self, token: bytes) -> dict[str, Secret]:
        """The credentials in ``token``. Raises ConfigError if no key of this box sealed it."""
        try:
            plain = self._fernet.decrypt(token)
        except InvalidToken:
            raise _wrong_key() from None
        data = json.loads(plain)
        return {str(k): Secret(str(v)) for k, v in data.items()}

    def is_current(self, token: bytes) -> bool:
        """Whether ``token`` was sealed with the current key (nothing left to re-seal)."""
        try:
            self._current.decrypt(token)
        except InvalidToken:
            return False
        return True

    def reseal(self, token: bytes) -> bytes:
        """``token``'s content sealed with the current key. Raises ConfigError if no key of this
        box opens it."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            raise _wrong_key() from None


def _wrong_key() -> ConfigError:
    return ConfigError(
        "channel credentials cannot be decrypted: HERALD_SECRET_KEY (and HERALD_SECRET_KEY_PREVIOUS, "
        "if set) differ from the key they were stored with"
    )
