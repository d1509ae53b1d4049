"""Second factor: time-based one-time passwords (RFC 6238, 30 s steps, 6 digits, via pyotp). A
code is accepted once: the step it was made for must be later than the last one used."""

from __future__ import annotations

import time

import pyotp

ISSUER = "Herald"
#: Steps either side of now a code may come from (clock drift between phone and server).
VALID_WINDOW = 1


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app scans (as a QR code) or takes typed in."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def verify_totp(secret: str, code: str, *, last_step: int | None, now: float | None = None) -> int | None:
    """The step ``code`` was made for if it is valid and newer than ``last_step``, else None."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = time.time() if now is None else now
    step_now = int(now) // totp.interval
    for step in range(step_now - VALID_WINDOW, step_now + VALID_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if totp.verify(code, for_time=step * totp.interval, valid_window=0):
            return step
    return None
