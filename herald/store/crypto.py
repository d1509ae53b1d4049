"""Credential encryption at rest.

Channel credentials are a JSON object encrypted with Fernet (AES-128-CBC + HMAC-SHA256). The
Fernet key is derived from ``HERALD_SECRET_KEY`` with HKDF-SHA256, so any long random string
works as the setting; rotating the key means re-encrypting (``MultiFernet`` later).
"""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from herald.core.errors import ConfigError
from herald.core.secret import Secret

_HKDF_INFO = b"herald credentials v1"


class CredentialBox:
    def __init__(self, secret_key: Secret) -> None:
        raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            secret_key.reveal().encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(raw))

    def seal(self, credentials: dict[str, Secret]) -> bytes:
        plain = json.dumps({k: v.reveal() for k, v in credentials.items()}, sort_keys=True)
        return self._fernet.encrypt(plain.encode())

    def open(self, token: bytes) -> dict[str, Secret]:
        try:
            plain = self._fernet.decrypt(token)
        except InvalidToken:
            raise ConfigError(
                "channel credentials cannot be decrypted: HERALD_SECRET_KEY differs from the key "
                "they were stored with"
            ) from None
        data = json.loads(plain)
        return {str(k): Secret(str(v)) for k, v in data.items()}
