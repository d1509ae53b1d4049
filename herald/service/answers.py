"""What the service answers with: frozen dataclasses, one per kind of answer.

Times are ISO 8601 UTC strings ending in ``Z``, as every output shows them. ``to_dict()`` gives
the record the CLI's ``--format json`` prints (and outside scripts read): every field, tuples as
lists; a few answers say where their record differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import Field, dataclass, fields
from datetime import UTC, datetime
from typing import Any, ClassVar

from herald.core.secret import Secret


def iso(dt: datetime | None) -> str | None:
    """A naive UTC time from the store as ISO 8601 with a ``Z``."""
    return dt.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z") if dt else None


def _plain(value: object) -> object:
    """A field's value as JSON has it: tuples as lists, mappings and answers as dicts."""
    if isinstance(value, Answer):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Answer:
    """Base of the answer dataclasses."""

    # Declared so that mypy sees every answer as a dataclass instance (``fields`` takes them).
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def to_dict(self) -> dict[str, object]:
        """Every field, in order, tuples as lists and mappings as dicts."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class ChannelInfo(Answer):
    id: int
    name: str
    platform: str
    base_url: str | None
    paused: bool
    pause_reason: str | None
    #: Which credentials are set, never their values.
    credentials: tuple[str, ...]


@dataclass(frozen=True)
class UpcomingSlot(Answer):
    #: The slot's wall-clock time in the channel's zone, ISO 8601 with its offset (without one
    #: when it is skipped: that local time does not exist that day).
    local: str
    #: The slot's instant, ISO 8601 UTC ("Z"); None when skipped.
    at: str | None
    #: No post of the channel holds it (within the minimum gap).
    free: bool
    #: Why it is skipped, if it is.
    note: str | None


@dataclass(frozen=True)
class ScheduleInfo(Answer):
    channel: str
    timezone: str
    #: Wall-clock times by day ("mon" … "sun"; days without slots left out).
    slots: dict[str, list[str]]
    #: The same, as ``herald schedule set --slots`` reads it.
    slots_text: str
    min_gap_seconds: int
    upcoming: tuple[UpcomingSlot, ...]


@dataclass(frozen=True)
class Stopped(Answer):
    """What an emergency stop did."""

    #: The campaign's name, or "everything".
    scope: str
    #: Queued deliveries it held.
    held: int
    #: Deliveries already being published when it committed (claimed before it).
    in_flight: int
    #: Whether those had all finished when it returned.
    settled: bool
    #: Seconds from the call to the stop's commit (nothing claimed after it).
    stop_seconds: float
    #: Posts it took down (``takedown_since``).
    taken_down: tuple[str, ...]


@dataclass(frozen=True)
class Resumed(Answer):
    scope: str
    #: Deliveries put back on the queue.
    released: int


@dataclass(frozen=True)
class CampaignDefaults(Answer):
    """What a new campaign starts with unless its creator says otherwise (from the settings:
    ``HERALD_CAMPAIGN_REQUIRE_ALT_TEXT``, ``HERALD_CAMPAIGN_PROTECT_FACES``)."""

    require_alt_text: bool
    #: "blur", "pixelate", "review" or "off".
    protect_faces: str


@dataclass(frozen=True)
class CampaignInfo(Answer):
    name: str
    timezone: str
    late_tolerance_seconds: int
    require_alt_text: bool
    #: "blur", "pixelate", "review" (a post whose photos show faces waits for a person who may
    #: approve), or None (faces are kept).
    protect_faces: str | None
    #: Posts by staff wait for a manager's approval before they are queued.
    requires_approval: bool = False
    #: Stopped (``herald stop --campaign`` / ``campaign pause``) until a person resumes it.
    paused: bool = False


@dataclass(frozen=True)
class PostSummary(Answer):
    id: str
    text: str
    campaign: str | None
    scheduled_at: str | None
    #: How many photos the post has.
    photos: int
    #: Channel name → the state of the post's delivery there.
    deliveries: Mapping[str, str]
    #: "approved", "pending" (waiting for a manager) or "returned" (sent back with a note).
    approval: str = "approved"
    approved_by: str | None = None
    approved_at: str | None = None
    approval_note: str | None = None
    created_by: str | None = None


@dataclass(frozen=True)
class LogEntry(Answer):
    """One delivery: what went out where and when, or why not."""

    post_id: str
    delivery_id: int
    campaign: str | None
    channel: str
    platform: str
    #: The delivery's state (``store.states``).
    status: str
    #: The text this channel gets (its own, else the post's).
    text: str
    scheduled_at: str | None
    due_at: str | None
    published_at: str | None
    #: Seconds from the scheduled time to publication (None until published).
    lateness_seconds: float | None
    remote_id: str | None
    remote_url: str | None
    attempts: int
    error: str | None
    approval: str = "approved"
    #: Who approved the post and when (None: it needed no approval).
    approved_by: str | None = None
    approved_at: str | None = None
    #: Who queued the post (None: the command line, or before people signed in).
    created_by: str | None = None


@dataclass(frozen=True)
class PlatformStats(Answer):
    """Deliveries of one campaign (None: posts without one) on one platform."""

    campaign: str | None
    platform: str
    #: Deliveries by state; states with none are absent.
    counts: Mapping[str, int]
    #: published / (published + failed + uncertain), to 4 places; None before any finished.
    success_rate: float | None

    def count(self, *names: str) -> int:
        """How many deliveries are in any of the states ``names``."""
        return sum(self.counts.get(name, 0) for name in names)

    def to_dict(self) -> dict[str, object]:
        """The counts flattened in: ``{"campaign", "platform", <state>: n ..., "success_rate"}``."""
        return {
            "campaign": self.campaign,
            "platform": self.platform,
            **self.counts,
            "success_rate": self.success_rate,
        }


@dataclass(frozen=True)
class CheckResult(Answer):
    """Does a draft fit one channel (or a platform, then ``channel`` is None)?"""

    channel: str | None
    platform: str
    fits: bool
    #: The text's length and the limit, in the platform's ``unit``.
    count: int
    limit: int
    unit: str
    problems: tuple[str, ...]


@dataclass(frozen=True)
class Cancelled(Answer):
    """Delivery ids cancelled, and those too late to cancel (publishing or done)."""

    cancelled: tuple[int, ...]
    too_late: tuple[int, ...]


@dataclass(frozen=True)
class TakedownResult(Answer):
    """Channel names by what a takedown did there."""

    #: Published there: a worker deletes it.
    deleting: tuple[str, ...]
    #: Not out yet: cancelled.
    cancelled: tuple[str, ...]
    #: Being published now: deleted right after.
    after_publish: tuple[str, ...]
    #: Published on a platform that cannot delete through its API: a person must.
    cannot_delete: tuple[str, ...]


@dataclass(frozen=True)
class QueueHealth(Answer):
    """Is Redis answering; if so, the queue's depth and the scheduler's latest verdict on the
    workers (None when no scheduler has judged lately)."""

    redis: bool
    #: Deliveries waiting in the due set, and held under a worker's lease (None: Redis down).
    due: int | None = None
    inflight: int | None = None
    workers: Mapping[str, object] | None = None

    def to_dict(self) -> dict[str, object]:
        """``{"redis": false}`` alone when Redis is down."""
        if not self.redis:
            return {"redis": False}
        return {"redis": True, "due": self.due, "inflight": self.inflight, "workers": self.workers}


__all__ = [
    "Answer",
    "CampaignInfo",
    "Cancelled",
    "ChannelInfo",
    "CheckResult",
    "LogEntry",
    "PlatformStats",
    "PostSummary",
    "QueueHealth",
    "TakedownResult",
    "iso",
]


@dataclass(frozen=True)
class UserInfo(Answer):
    email: str
    #: (campaign name, or None for everywhere; role), one per membership.
    roles: tuple[tuple[str | None, str], ...]
    second_factor: bool
    disabled: bool
    created_at: str
    last_login_at: str | None

    def to_dict(self) -> dict[str, object]:
        out = super().to_dict()
        out["roles"] = [{"campaign": c, "role": r} for c, r in self.roles]
        return out


@dataclass(frozen=True)
class TokenInfo(Answer):
    id: int
    name: str
    #: The first characters of the token, to tell tokens apart; never the token.
    shown: str
    role: str
    #: Campaign names the token is limited to (None: every campaign of its person).
    campaigns: tuple[str, ...] | None
    created_at: str
    last_used_at: str | None
    revoked: bool


@dataclass(frozen=True)
class CreatedToken:
    """A token just made: ``token`` is shown once (a ``Secret``: masked in reprs and logs)."""

    token: Secret
    info: TokenInfo


@dataclass(frozen=True)
class AuditEntry(Answer):
    id: int
    at: str
    actor: str
    action: str
    target_type: str
    target_id: str
    campaign: str | None
    detail: Mapping[str, object]
