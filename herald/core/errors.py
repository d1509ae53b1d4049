"""Herald's one error tree. Every error Herald raises on purpose descends from ``HeraldError``.

::

    HeraldError
    ├── InputError            bad input from a person; names the field; nothing was changed
    │   ├── PhotoError        a photo was refused (corrupt, too large, not an image, ...)
    │   ├── NotFound          what was named does not exist, or is not the actor's to see (404)
    │   └── Conflict          the thing exists but is not in a state that allows this (409)
    ├── ConfigError           settings that cannot work (missing secret key in production, ...)
    ├── NotSignedIn           no valid session or API token (401)
    ├── AccessDenied          signed in, but the role does not allow it (403)
    ├── TooManyAttempts       sign-in attempts over the limit; ``retry_after`` seconds (429)
    ├── PlatformError         a platform call failed; carries platform, HTTP status, platform message
    │   ├── RetryableError    try again later: 5xx, 429, timeout before sending; ``retry_after`` seconds
    │   ├── PermanentError    the platform refused: invalid, duplicate, forbidden; do not retry
    │   │   └── AuthError     credentials expired or revoked: pause the channel
    │   └── UncertainError    the request may have been applied (sent, no answer): reconcile first
    └── QueueError            the Redis content queue misbehaved

A lost compare-and-set in the store is not an error: the transitions answer whether they won.

Part of the floor (``herald.core``): it imports nothing of Herald's, so every room may import it.
"""

from __future__ import annotations


class HeraldError(Exception):
    """Root of every error Herald raises on purpose."""


class InputError(HeraldError):
    """Bad input. ``field`` names what was wrong (``text``, ``photo``, ``channel``, ``at`` ...)."""

    def __init__(self, field: str, message: str, *, details: list[dict[str, object]] | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        #: Structured problems (e.g. one per channel that a post does not fit), for forms and APIs.
        self.details = details or []


class PhotoError(InputError):
    """A photo was refused; the message names the file and the reason."""

    def __init__(self, message: str) -> None:
        super().__init__("photo", message)


class NotFound(InputError):
    """What the request names does not exist (or the actor may not know that it does)."""


class Conflict(InputError):
    """What the request names exists, but its state does not allow this now (a post no longer
    waiting for approval, a delivery already published, a name already taken)."""


class ConfigError(HeraldError):
    """Settings that cannot work."""


class NotSignedIn(HeraldError):
    """No valid session or API token came with the request."""


class AccessDenied(HeraldError):
    """The actor is known but their role does not allow this (the message says what is needed)."""


class TooManyAttempts(HeraldError):
    """Too many failed sign-ins for this account or address: wait ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PlatformError(HeraldError):
    """A platform call failed.

    ``platform`` is the connector's registry key, ``status`` the HTTP status if one came back,
    ``detail`` the platform's own message (never a credential).
    """

    def __init__(self, platform: str, detail: str, *, status: int | None = None) -> None:
        prefix = f"{platform}: HTTP {status}: " if status is not None else f"{platform}: "
        super().__init__(prefix + detail)
        self.platform = platform
        self.detail = detail
        self.status = status


class RetryableError(PlatformError):
    """Nothing was published; try again, not before ``retry_after`` seconds if given."""

    def __init__(
        self, platform: str, detail: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(platform, detail, status=status)
        self.retry_after = retry_after


class PermanentError(PlatformError):
    """The platform refused the post; retrying the same request cannot succeed."""


class AuthError(PermanentError):
    """The channel's credentials were refused (expired, revoked, wrong)."""


class UncertainError(PlatformError):
    """The request went out but no answer came back: it may or may not have been applied."""


class QueueError(HeraldError):
    """The Redis content queue failed or holds something it should not."""
