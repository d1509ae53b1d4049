"""Passwords: argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommendation), never
the password itself; a length floor, and a ceiling so a megabyte "password" cannot tie a core."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import CHEAPEST

from herald.core.i18n import _

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024

#: Today's parameters (argon2-cffi's defaults: 64 MiB, 3 passes), and the cheapest argon2id,
#: which only a test suite may use (``HERALD_ENV=test``): it makes hundreds of accounts in a run
#: and would spend minutes of CPU on hashing alone. Still argon2id, through the same code.
STANDARD = PasswordHasher()
FOR_TESTS = PasswordHasher.from_parameters(CHEAPEST)
_hasher = STANDARD


def use_test_hashing(on: bool) -> None:
    """Hash new passwords with the cheapest parameters (tests only), or today's."""
    global _hasher
    _hasher = FOR_TESTS if on else STANDARD


def check_password_rules(password: str) -> str | None:
    """Why ``password`` cannot be used, or None."""
    if len(password) < MIN_PASSWORD_CHARS:
        return _("a password needs at least %(min)d characters") % {"min": MIN_PASSWORD_CHARS}
    if len(password) > MAX_PASSWORD_CHARS:
        return _("a password has at most %(max)d characters") % {"max": MAX_PASSWORD_CHARS}
    if not password.strip():
        return _("a password cannot be only spaces")
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    if len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)


#: A hash of nothing anyone knows: verified against when an account does not exist, so that a
#: wrong email takes as long as a wrong password (no account enumeration by timing).
DECOY_HASH = STANDARD.hash("herald: no such account, decoy password")
