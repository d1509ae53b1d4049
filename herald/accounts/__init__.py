"""Who may do what: roles and what they allow, the actor behind a request, password hashing,
second factors and API tokens. Pure rules and crypto: the rows live in ``herald.store``, the
checks are made by the service layer and its edges."""

from herald.accounts.passwords import (
    MIN_PASSWORD_CHARS,
    hash_password,
    password_needs_rehash,
    verify_password,
)
from herald.accounts.roles import CAPABILITIES, SYSTEM, Actor, Capability, Role, Scope
from herald.accounts.tokens import API_TOKEN_PREFIX, hash_token, new_api_token, new_session_id
from herald.accounts.totp import new_totp_secret, totp_uri, verify_totp

__all__ = [
    "API_TOKEN_PREFIX",
    "CAPABILITIES",
    "MIN_PASSWORD_CHARS",
    "SYSTEM",
    "Actor",
    "Capability",
    "Role",
    "Scope",
    "hash_password",
    "hash_token",
    "new_api_token",
    "new_session_id",
    "new_totp_secret",
    "password_needs_rehash",
    "totp_uri",
    "verify_password",
    "verify_totp",
]
