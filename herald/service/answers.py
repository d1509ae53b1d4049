"""What the service answers with: frozen dataclasses, one per kind of answer.

Times are ISO 8601 UTC strings ending in ``Z``, as every output shows them. ``to_dict()`` gives
the record the CLI's ``--format json`` prints (and outside scripts read): every field, tuples as
lists; a few answers say where their record differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
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
class QueueEntry(Answer):
    """One delivery in a channel's queue (``herald schedule queue``)."""

    #: Its place among the posts that may trade times (1: the next), None when it stays put.
    position: int | None
    post_id: str
    delivery_id: int
    campaign: str | None
    #: Its time in the channel's zone, ISO 8601 with the offset.
    local: str
    #: Its time, ISO 8601 UTC ("Z").
    at: str
    state: str
    #: Why it stays put (None when it may move).
    note: str | None
    #: The start of the post's text.
    text: str


@dataclass(frozen=True)
class ChannelQueue(Answer):
    channel: str
    timezone: str
    entries: tuple[QueueEntry, ...]


@dataclass(frozen=True)
class MovedPost(Answer):
    post_id: str
    delivery_id: int
    #: Its time before and after, ISO 8601 UTC ("Z"), and after in the channel's zone.
    was: str
    at: str
    local: str


@dataclass(frozen=True)
class QueueReordered(Answer):
    """What a reorder or shuffle of a channel's queue did."""

    channel: str
    timezone: str
    moved: tuple[MovedPost, ...]
    #: The queue's deliveries that stayed at their time, each with why (a worker claimed it,
    #: held, waiting for approval, a time of its own, not the actor's to move).
    kept: tuple[QueueEntry, ...]
    #: The queue as it is now.
    queue: tuple[QueueEntry, ...]


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
class StopTarget(Answer):
    """A campaign a person may stop and resume, and whether it is stopped now."""

    campaign: str
    paused: bool


@dataclass(frozen=True)
class Stoppable(Answer):
    """What a person may stop (the web's stop buttons)."""

    #: May stop everything (an installation-wide role that acts).
    everything: bool
    #: Everything is stopped now (an installation-wide stop paused the channels).
    everything_stopped: bool
    campaigns: tuple[StopTarget, ...]


@dataclass(frozen=True)
class Resumed(Answer):
    scope: str
    #: Deliveries put back on the queue.
    released: int
    #: "keep" (held posts keep their time and go out late) or "next-slot" (each moved to its
    #: channel's next free slot from now).
    reschedule: str = "keep"
    #: Of ``released``, how many were moved to a new slot.
    moved: int = 0


@dataclass(frozen=True)
class PublishedNow(Answer):
    """``publish-now``: a post's queued deliveries made due now."""

    post_id: str
    #: Channel names whose delivery was made due now.
    channels: tuple[str, ...]
    due_at: str | None


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
    #: Its date range in UTC (``Z``; None: open) and in its zone (ISO 8601 with the offset):
    #: nothing outside [starts_at, ends_at) is queued.
    starts_at: str | None = None
    ends_at: str | None = None
    starts_local: str | None = None
    ends_local: str | None = None
    #: Appended to every post's text at queue time unless already there.
    hashtags: str | None = None
    #: Links get utm_source (the platform), utm_medium=social, utm_campaign (``utm_campaign``).
    utm: bool = False
    utm_campaign: str | None = None
    #: Its blackout windows, by start.
    blackouts: tuple[BlackoutInfo, ...] = ()


@dataclass(frozen=True)
class BlackoutInfo(Answer):
    """A campaign's blackout window: nothing goes out from ``starts_at`` to ``ends_at``."""

    id: int
    campaign: str
    label: str
    #: "wait" (posts due then go out at its end) or "hold" (held for a person).
    mode: str
    starts_at: str | None
    ends_at: str | None
    #: The same, in the campaign's zone (ISO 8601 with the offset).
    starts_local: str
    ends_local: str
    created_by: str | None = None


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
    #: An occurrence of a recurring post: its series' id and place (from 1); else None.
    series_id: str | None = None
    occurrence: int | None = None
    #: The post's language tag (None: none given).
    language: str | None = None
    #: Channel name → its own text and language, for the channels that have either.
    variants: Mapping[str, VariantInfo] = field(default_factory=dict)


@dataclass(frozen=True)
class VariantInfo(Answer):
    """What one channel of a post gets instead of the post's own: its text (the post's when
    only its language is its own) and its language (None: the post's)."""

    text: str
    language: str | None


@dataclass(frozen=True)
class PartEntry(Answer):
    """One part of a thread, or a post or its first comment, in the log."""

    position: int
    text: str
    #: "published", "sending" (a try began and its answer is not recorded: it may be out, and
    #: the next try looks it up first) or "waiting".
    status: str
    remote_id: str | None
    remote_url: str | None
    published_at: str | None


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
    #: A thread's parts (or the post and its first comment), in order; empty for a single
    #: post. The thread's outcome is ``status``: published once every part is out.
    parts: tuple[PartEntry, ...] = ()
    #: The post's series and its place in it, for an occurrence of a recurring post.
    series_id: str | None = None
    occurrence: int | None = None
    #: The language this channel gets (its own, else the post's; None: none given).
    language: str | None = None


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
    #: The text's length and the limit, in the platform's ``unit`` (of the first part, when it
    #: goes out in several).
    count: int
    limit: int
    unit: str
    problems: tuple[str, ...]
    #: The texts it goes out as when it is a thread or a post and its first comment (asked with
    #: ``thread``/``first_comment``), in order; empty when it is one post. Keyword-only so that
    #: answers extending this one keep their own fields' order.
    parts: tuple[str, ...] = field(default=(), kw_only=True)

    def to_dict(self) -> dict[str, object]:
        """Without ``parts`` when it is one post: the record ``herald check --format json``
        printed before threads, unchanged for the scripts that read it."""
        out = super().to_dict()
        if not self.parts:
            del out["parts"]
        return out


@dataclass(frozen=True)
class ChannelPlan(Answer):
    """One channel of a post planned but not queued (``Herald.plan_post``)."""

    channel: str
    platform: str
    #: When it goes out there, ISO 8601 UTC ("Z"), and in the post's zone (with the offset).
    at: str
    local: str
    #: The texts it goes out as, in order: one for a single post, more for a thread or a post
    #: and its first comment; with the campaign's hashtags and link tags, as they go out.
    parts: tuple[str, ...]


@dataclass(frozen=True)
class PostPlan(Answer):
    """What queueing a post would do, with every check queueing makes passed; nothing written.
    The next free slot is looked up again when the post is queued: one taken meanwhile moves
    it to the next."""

    #: When it goes out (the earliest of its channels'), ISO 8601 UTC ("Z").
    at: str
    #: The zone its time was read in (the request's, else its campaign's, else UTC) and ``at``
    #: there, ISO 8601 with the offset.
    timezone: str
    local: str
    #: Each channel once, in the order given.
    channels: tuple[ChannelPlan, ...]
    #: Each channel has its own next free slot (``PostRequest.slot_each``).
    each_channel: bool
    #: "approved" (queued at once) or "pending" (waits for a manager's approval).
    approval: str
    #: Why it would be held for a person as written (a blackout window), else None.
    held: str | None = None
    #: Every occurrence's time of a recurring post, ISO 8601 UTC; empty for one post.
    occurrences: tuple[str, ...] = ()


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
    "ChannelPlan",
    "CheckResult",
    "LogEntry",
    "PlatformStats",
    "PostPlan",
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
