"""The connector contract: what every platform module provides.

A connector knows one platform's wire protocol and rules and nothing of Celery, SQL or Redis.
Limits are class attributes so that shared code (queue-time validation, ``herald check``, the
composer) enforces them the same way everywhere. A platform's photo limits are one
``media.PhotoRules`` (``photo_rules``), which ``validate`` checks here and photo renditions are
made to fit (``media.render_for``): each limit is written once.

Contract of ``publish``:
- returns ``Published`` (remote id and public URL) once the platform confirmed the post;
- raises ``RetryableError`` when nothing was published and a later try may work
  (5xx before the post was created, 429, connection refused), with ``retry_after`` if known;
- raises ``PermanentError`` (``AuthError`` for credentials) when the platform refused the post;
- raises ``UncertainError`` when the create request was sent but no answer came back
  (timeout, dropped connection, 5xx on the create call): the caller must ``reconcile`` before
  sending again.

``reconcile(draft)`` answers "did this draft go out?": ``Published`` if found, ``None`` if the
platform says it certainly did not, and raises ``UncertainError`` if the platform cannot tell.
Connectors with ``idempotent = True`` may simply publish again with the same idempotency key.

Threads and first comments: a connector whose ``follow_up`` is ``"thread"`` publishes a draft
with ``reply_to`` as a reply to ``reply_to.parent`` in the thread ``reply_to.root`` began (X,
Bluesky, Mastodon, Threads); one whose ``follow_up`` is ``"comment"`` publishes it as a comment
on ``reply_to.root`` (Facebook, Instagram, LinkedIn). The same error contract holds, and
``reconcile`` of such a draft looks for that reply or comment. ``count_follow_up`` counts a
follow-up's text against its own limit (a comment's is often lower than a post's).
"""

from __future__ import annotations

import hashlib
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import ClassVar

import requests

from herald.core.errors import InputError, PermanentError
from herald.core.i18n import _, pgettext
from herald.core.secret import Secret
from herald.media import PhotoRules

#: Connect and read timeouts for every platform call, seconds. A read timeout on a create call
#: is an uncertain outcome, so it is generous enough for slow media processing answers.
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class Photo:
    """A photo ready to publish: already verified and stripped of metadata by ``media``."""

    data: bytes
    mime_type: str
    width: int
    height: int
    alt_text: str = ""
    filename: str = "photo.jpg"
    #: An unguessable, short-lived URL where Herald serves exactly these bytes, for platforms
    #: that fetch photos themselves (Instagram, Threads). None where Herald has no public URL.
    public_url: str | None = None


@dataclass(frozen=True)
class PhotoInfo:
    """What validation needs to know about a photo, without its bytes."""

    mime_type: str
    size: int
    width: int
    height: int
    alt_text: str = ""


@dataclass(frozen=True)
class Draft:
    """One post for one channel: the text already chosen for this channel, its photos, and the
    idempotency key that stays the same for every try of this (post, channel)."""

    text: str
    idempotency_key: str
    photos: tuple[Photo, ...] = ()
    language: str | None = None
    #: A later part of a thread, or a first comment: what it answers (see ``follow_up``).
    reply_to: Reply | None = None


@dataclass(frozen=True)
class Published:
    remote_id: str
    url: str
    #: What a reply to this post must name besides its id, on platforms that need it (Bluesky:
    #: the record's CID, which pins the exact version replied to).
    cid: str | None = None


@dataclass(frozen=True)
class Verified:
    """What a dry call (``Connector.verify``) learned: whose the credentials are, and anything
    short of a refusal that a person should still hear about."""

    #: The account as the platform names it: a username, a handle, a page, a bot in a chat.
    account: str
    #: The credentials work, but something will not (a missing read right...); None if nothing.
    warning: str | None = None
    #: When the token stops working (naive UTC), where the platform says (Meta's
    #: ``debug_token``); None when it did not say, or the token never expires (``expiry_read``).
    expires_at: datetime | None = None
    #: The platform said when the token expires (``expires_at``, None: never).
    expiry_read: bool = False


@dataclass(frozen=True)
class Reply:
    """Where a later part of a thread goes: under ``parent``, in the thread ``root`` began. For
    a first comment both are the post commented on."""

    root: Published
    parent: Published


@dataclass(frozen=True)
class Problem:
    """One reason a draft does not fit a platform. ``count`` and ``limit`` are in the
    platform's own units (``unit``)."""

    platform: str
    field: str
    message: str
    count: int | None = None
    limit: int | None = None


@dataclass(frozen=True)
class TextCount:
    count: int
    limit: int
    unit: str  # "weighted characters", "characters", "graphemes", ...

    @property
    def fits(self) -> bool:
        return self.count <= self.limit


@dataclass
class ConnectorConfig:
    """How to reach the platform: credentials (masked), an optional base URL override (the
    simulator, a self-hosted instance) and timeouts."""

    credentials: Mapping[str, Secret]
    base_url: str | None = None
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS
    read_timeout: float = READ_TIMEOUT_SECONDS
    options: Mapping[str, str] = field(default_factory=dict)


def settle_environment(session: requests.Session, base_url: str) -> None:
    """Read the proxy and CA-bundle settings of the environment (``HTTPS_PROXY``, ``NO_PROXY``,
    ``REQUESTS_CA_BUNDLE``...) once for this channel's base URL, instead of on every call:
    requests' per-request look-up (proxies, netrc, bundles) costs a quarter of the client's CPU
    per request, and a channel's endpoint does not move. Deployments behind a proxy still work."""
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle


class Connector(ABC):
    """Base of every platform connector. Subclasses set the class attributes and implement
    ``count_text``, ``publish`` and ``reconcile``."""

    #: Registry key, module name and log field.
    name: ClassVar[str]
    #: Human name for messages.
    title: ClassVar[str]
    #: Public API root, overridable per channel (``base_url`` setting).
    default_base_url: ClassVar[str]
    #: Credential keys a channel must provide, in the order the CLI documents them.
    credential_keys: ClassVar[tuple[str, ...]]
    #: Those of them that name the account rather than unlock it (a handle, a chat or page id):
    #: what ``verify`` answers may show them. Every other credential is masked wherever shown.
    identity_keys: ClassVar[tuple[str, ...]] = ()
    #: Text limit in ``text_unit``s.
    max_text: ClassVar[int]
    text_unit: ClassVar[str] = "characters"
    #: Photos per post.
    max_photos: ClassVar[int] = 4
    #: What each photo must be: types, bytes, size and shape (see ``media.PhotoRules``).
    photo_rules: ClassVar[PhotoRules]
    #: Alt text per photo, characters.
    max_alt_text: ClassVar[int] = 1000
    #: The platform fetches photos from a URL (``Photo.public_url``) instead of taking uploads.
    needs_public_photo_url: ClassVar[bool] = False
    #: Whether resending with the same idempotency key is safe (the platform de-duplicates).
    idempotent: ClassVar[bool] = False
    #: Most posts per account in a sliding window: (posts, seconds). Herald keeps every
    #: channel under it across all workers (``content_queue`` rate gate). None: no known limit.
    posts_per_window: ClassVar[tuple[int, float] | None] = None
    #: A limit shared by every channel posting with one credential (a Telegram bot over all its
    #: chats, an X developer app over all its users): (posts, seconds), and the credential that
    #: shares it. Herald keeps the credential's channels under it together (``shared_scope``).
    shared_posts_per_window: ClassVar[tuple[int, float] | None] = None
    shared_credential: ClassVar[str | None] = None
    #: How a long post continues: "thread" (each later part replies to the one before),
    #: "comment" (one first comment under the post) or None (it cannot: a post is one part).
    follow_up: ClassVar[str | None] = None

    def __init__(self, config: ConnectorConfig) -> None:
        missing = [k for k in self.credential_keys if not config.credentials.get(k)]
        if missing:
            raise InputError("credential", f"{self.name} needs credential(s): {', '.join(missing)}")
        self.config = config
        self.base_url = (config.base_url or self.default_base_url).rstrip("/")
        self.session = requests.Session()
        settle_environment(self.session, self.base_url)
        self.session.headers["User-Agent"] = "Herald/0.1 (+https://github.com/herald-scheduler)"

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.config.connect_timeout, self.config.read_timeout)

    def secret(self, key: str) -> str:
        return self.config.credentials[key].reveal()

    def shared_scope(self) -> str | None:
        """Who shares ``shared_posts_per_window`` with this channel: a digest of the shared
        credential (never the credential: it names a Redis key), None when nothing is shared."""
        if self.shared_posts_per_window is None or self.shared_credential is None:
            return None
        value = self.secret(self.shared_credential)
        return hashlib.sha256(f"{self.name}\0{value}".encode()).hexdigest()[:32]

    # -- rules -----------------------------------------------------------------------------

    @classmethod
    @abstractmethod
    def count_text(cls, text: str) -> TextCount:
        """Count ``text`` the way the platform does."""

    @classmethod
    def count_follow_up(cls, text: str) -> TextCount:
        """Count a later part of a thread, or a first comment, against its own limit. A reply
        is a post like any other unless a connector says otherwise (comments often have a
        lower limit)."""
        return cls.count_text(text)

    @classmethod
    def validate(cls, text: str, photos: Sequence[PhotoInfo]) -> list[Problem]:
        """Every reason ``text`` with ``photos`` would be refused; empty if it fits."""
        problems: list[Problem] = []
        tc = cls.count_text(text)
        if not tc.fits:
            problems.append(
                Problem(
                    cls.name,
                    "text",
                    _("%(platform)s allows %(limit)d %(unit)s; this text has %(count)d")
                    % {
                        "platform": cls.title,
                        "limit": tc.limit,
                        "unit": pgettext("unit", tc.unit),
                        "count": tc.count,
                    },
                    tc.count,
                    tc.limit,
                )
            )
        if not text.strip() and not photos:
            problems.append(
                Problem(cls.name, "text", _("%(platform)s needs a text or a photo") % {"platform": cls.title})
            )
        if len(photos) > cls.max_photos:
            problems.append(
                Problem(
                    cls.name,
                    "photos",
                    _("%(platform)s allows %(max)d photos per post; this post has %(n)d")
                    % {"platform": cls.title, "max": cls.max_photos, "n": len(photos)},
                    len(photos),
                    cls.max_photos,
                )
            )
        for i, p in enumerate(photos, 1):
            problems.extend(cls._photo_problems(i, p))
            if len(p.alt_text) > cls.max_alt_text:
                problems.append(
                    Problem(
                        cls.name,
                        "alt",
                        _("%(platform)s allows %(max)d characters of alt text; photo %(i)d has %(n)d")
                        % {"platform": cls.title, "max": cls.max_alt_text, "i": i, "n": len(p.alt_text)},
                        len(p.alt_text),
                        cls.max_alt_text,
                    )
                )
        return problems

    @classmethod
    def _photo_problems(cls, i: int, photo: PhotoInfo) -> list[Problem]:
        """Every limit of ``photo_rules`` that photo ``i`` breaks, except the width range (the
        platform rescales outside it: see ``PhotoRules``). A photo of unknown size (0) is left
        to the platform on size and shape."""
        rules = cls.photo_rules
        out: list[Problem] = []

        def refuse(message: str, count: int | None = None, limit: int | None = None) -> None:
            out.append(Problem(cls.name, "photos", message, count, limit))

        if photo.mime_type not in rules.mime_types:
            refuse(f"{cls.title} does not take {photo.mime_type} (photo {i})")
        if photo.size > rules.max_bytes:
            refuse(
                f"{cls.title} allows {rules.max_bytes} bytes per photo; photo {i} has {photo.size}",
                photo.size,
                rules.max_bytes,
            )
        w, h = photo.width, photo.height
        if w <= 0 or h <= 0:
            return out
        if rules.max_side_px is not None and max(w, h) > rules.max_side_px:
            refuse(
                f"{cls.title} allows {rules.max_side_px} pixels on a photo's longest side; "
                f"photo {i} is {w}x{h}",
                max(w, h),
                rules.max_side_px,
            )
        if rules.max_pixels is not None and w * h > rules.max_pixels:
            refuse(
                f"{cls.title} allows {rules.max_pixels} pixels per photo; photo {i} has {w * h}",
                w * h,
                rules.max_pixels,
            )
        if rules.max_sum_wh is not None and w + h > rules.max_sum_wh:
            refuse(
                f"{cls.title} allows width + height up to {rules.max_sum_wh} pixels; photo {i} has {w + h}",
                w + h,
                rules.max_sum_wh,
            )
        if not rules.aspect_fits(w, h):
            refuse(f"{cls.title} {_aspect_range(rules)}; photo {i} is {w}x{h} ({w / h:.2f}:1)")
        return out

    @classmethod
    def validate_draft(cls, draft: Draft) -> list[Problem]:
        """``validate`` for a draft ready to publish (photos with their bytes). Connectors call
        it before any remote call, as a last guard behind queue-time validation."""
        infos = [PhotoInfo(p.mime_type, len(p.data), p.width, p.height, p.alt_text) for p in draft.photos]
        return cls.validate(draft.text, infos)

    # -- calls -----------------------------------------------------------------------------

    @abstractmethod
    def publish(self, draft: Draft) -> Published:
        """Publish ``draft``; see the module docstring for the error contract."""

    @abstractmethod
    def reconcile(self, draft: Draft) -> Published | None:
        """After an uncertain outcome: ``Published`` if ``draft`` went out, ``None`` if it
        certainly did not; raise ``UncertainError`` if the platform cannot tell."""

    #: Whether ``delete`` can take a post down (some APIs cannot).
    can_delete: ClassVar[bool] = False

    def delete(self, remote_id: str) -> None:
        """Take a published post down. A post that is already gone counts as deleted.
        Raises the same typed errors as ``publish`` (never ``UncertainError``: deleting twice is
        harmless, so a lost answer is a ``RetryableError``)."""
        raise PermanentError(self.name, f"{self.title} posts cannot be deleted through its API")

    #: Whether ``verify`` can check the credentials with a call that changes nothing.
    can_verify: ClassVar[bool] = False
    #: Whether ``verify`` also reads when the token expires (``Verified.expires_at``).
    reads_token_expiry: ClassVar[bool] = False

    def verify(self) -> Verified:
        """A dry call: ask the platform whose these credentials are, changing nothing (no post,
        no upload). ``herald doctor`` runs it against each channel. Raises ``AuthError`` when the
        platform refuses the credentials, ``PermanentError`` for another refusal (a chat or a page
        they cannot reach: publishing would be refused too), ``RetryableError`` when it did not
        answer."""
        raise PermanentError(self.name, f"{self.title} has no call that checks credentials without posting")

    def close(self) -> None:
        self.session.close()


def _aspect_range(rules: PhotoRules) -> str:
    """The aspect rule in words: "allows photos at most 20 times longer than wide" for a range
    that is the same either way round (Telegram), else "takes aspect ratios from 4:5 to 1.91:1"."""
    low, high = rules.min_aspect, rules.max_aspect
    if low is not None and high is not None and math.isclose(low * high, 1.0):
        return f"allows photos at most {high:g} times longer than wide"
    edges = [f"{word} {_ratio(bound)}" for word, bound in (("from", low), ("to", high)) if bound is not None]
    return "takes aspect ratios " + " ".join(edges)


def _ratio(value: float) -> str:
    """Width / height as people write it: 1.91 as "1.91:1", 0.8 as "4:5"."""
    if value >= 1:
        return f"{value:g}:1"
    fraction = Fraction(value).limit_denominator(100)
    return f"{fraction.numerator}:{fraction.denominator}"
