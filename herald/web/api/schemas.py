"""The API's shapes: what a request may send (``...In``: unknown fields refused) and what an
answer holds (``...Out``, each built from the service's answer by ``of``), a shape per
direction so that nothing write-only (a channel's credentials) can reach an answer.

Times are ISO 8601 in UTC. Every list answers a page: ``items`` and ``next_cursor`` (null on
the last page), to pass back as ``?cursor=`` for the next one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NaiveDatetime

from herald.core.languages import MAX_LANGUAGE_CHARS
from herald.service import (
    MAX_CAMPAIGN_NAME_CHARS,
    MAX_NAME_CHARS,
    AuditEntry,
    CampaignInfo,
    Cancelled,
    ChannelInfo,
    LogEntry,
    PlatformStats,
    PostSummary,
    TakedownResult,
    UserInfo,
)
from herald.service.answers import ScheduleInfo
from herald.service.identity import Identity
from herald.web.api.text import Text
from scheduler.recurrence import MAX_RULE_CHARS

#: The delivery states (``herald.service.STATUSES``; a test holds the two the same).
Status = Literal[
    "scheduled",
    "queued",
    "publishing",
    "published",
    "failed",
    "cancelled",
    "uncertain",
    "held",
    "deleting",
    "deleted",
]
#: Where a post stands with approval (``herald.service.pages.APPROVALS``).
Approval = Literal["approved", "pending", "returned"]
FaceMode = Literal["blur", "pixelate", "review", "off"]

#: Column widths of the store: longer input is refused here, before it reaches SQL.
#: The service's own limit on campaign names, stated in the schema too.
MAX_CAMPAIGN_CHARS = MAX_CAMPAIGN_NAME_CHARS
MAX_URL_CHARS = 1000
MAX_NOTE_CHARS = 2000
#: The longest late tolerance a campaign may have: a week.
MAX_LATE_TOLERANCE_SECONDS = 7 * 24 * 3600


def _time(value: str | None) -> datetime | None:
    """A service time (ISO 8601 with ``Z``) as a datetime."""
    return datetime.fromisoformat(value) if value else None


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- channels ----------------------------------------------------------------------------------


class UpcomingSlotOut(BaseModel):
    local: str = Field(description="The slot in the channel's zone, ISO 8601 with the offset")
    at: datetime | None = Field(description="The slot's instant (UTC); null when skipped")
    free: bool
    note: str | None = Field(description="Why it is skipped (a local time that does not exist)")


class ScheduleOut(BaseModel):
    """A channel's posting slots, read in its zone, and its next slots."""

    channel: str
    timezone: str
    slots: dict[str, list[str]] = Field(description='Wall-clock times by day: {"mon": ["09:00"], ...}')
    slots_text: str = Field(examples=["mon-fri 09:00,13:00; sat 10:00"])
    min_gap_seconds: int
    upcoming: list[UpcomingSlotOut]

    @classmethod
    def of(cls, info: ScheduleInfo) -> ScheduleOut:
        return cls.model_validate(info.to_dict())


class ScheduleIn(_In):
    """What to change (those given): slots (``""``: none), minimum gap, zone. Posts already
    placed keep their times."""

    slots: Text | None = Field(None, max_length=2000, examples=["mon-fri 09:00,13:00; sat 10:00"])
    min_gap_seconds: int | None = Field(None, ge=0, le=7 * 86400)
    timezone: Text | None = Field(None, max_length=64, examples=["Asia/Seoul"])


class ChannelOut(BaseModel):
    id: int
    name: str
    platform: str
    base_url: str | None
    paused: bool
    pause_reason: str | None
    credential_keys: list[str] = Field(
        description="Names of the credentials that are set. Their values never leave Herald."
    )

    @classmethod
    def of(cls, row: ChannelInfo) -> ChannelOut:
        return cls(
            id=row.id,
            name=row.name,
            platform=row.platform,
            base_url=row.base_url,
            paused=row.paused,
            pause_reason=row.pause_reason,
            credential_keys=list(row.credentials),
        )


class ChannelIn(_In):
    """A new channel. ``credentials`` are checked against what the platform needs, sealed, and
    never shown again (write-only)."""

    name: Text = Field(min_length=1, max_length=MAX_NAME_CHARS, pattern=r"^\S+$")
    platform: Text = Field(min_length=1, max_length=32)
    credentials: dict[Text, Text] = Field(json_schema_extra={"writeOnly": True})
    base_url: Text | None = Field(None, max_length=500)
    options: dict[Text, Text] | None = Field(None, description='e.g. {"rate_limit": "300/10800"}')


class ChannelPage(BaseModel):
    items: list[ChannelOut]
    next_cursor: str | None


class Resumed(BaseModel):
    released: int = Field(description="Held deliveries put back on the queue")


# -- campaigns ---------------------------------------------------------------------------------


class CampaignOut(BaseModel):
    name: str
    timezone: str
    late_tolerance_seconds: int
    require_alt_text: bool
    protect_faces: Literal["blur", "pixelate", "review"] | None = Field(
        description="review: a post whose photos show faces waits for a manager; null: faces are kept"
    )
    requires_approval: bool
    paused: bool = Field(False, description="Stopped until a person resumes it")

    @classmethod
    def of(cls, row: CampaignInfo) -> CampaignOut:
        # The store keeps "off" as null.
        faces = row.protect_faces if row.protect_faces in ("blur", "pixelate", "review") else None
        return cls.model_validate({**row.to_dict(), "protect_faces": faces})


class CampaignChange(_In):
    """Settings to change; those left out stay as they are (a new campaign: the defaults)."""

    timezone: Text | None = Field(None, max_length=64, examples=["Asia/Seoul"])
    late_tolerance_seconds: int | None = Field(None, ge=0, le=MAX_LATE_TOLERANCE_SECONDS)
    require_alt_text: bool | None = None
    protect_faces: FaceMode | None = None
    requires_approval: bool | None = Field(
        None, description="Posts by staff wait for a manager's approval before they are queued"
    )


class CampaignIn(CampaignChange):
    name: Text = Field(min_length=1, max_length=MAX_CAMPAIGN_CHARS)


class CampaignPage(BaseModel):
    items: list[CampaignOut]
    next_cursor: str | None


# -- posts -------------------------------------------------------------------------------------


class VariantOut(BaseModel):
    """What one channel gets instead of the post's own."""

    text: str = Field(description="Its text (the post's, when only its language is its own)")
    language: str | None = Field(description="Its language tag; null: the post's")


class PostOut(BaseModel):
    id: str
    text: str
    campaign: str | None
    scheduled_at: datetime | None
    photos: int = Field(description="How many photos the post has")
    deliveries: dict[str, Status] = Field(description="Channel name → the state of its delivery there")
    approval: Approval
    approved_by: str | None
    approved_at: datetime | None
    approval_note: str | None = Field(description="Why a manager sent the post back")
    created_by: str | None
    series_id: str | None = Field(None, description="An occurrence of a recurring post: its series")
    occurrence: int | None = Field(None, description="Its place in the series, from 1")
    language: str | None = Field(None, description="The post's language tag", examples=["en"])
    variants: dict[str, VariantOut] = Field(
        default_factory=dict,
        description="Channel name → its own text and language, for the channels that have either",
    )

    @classmethod
    def of(cls, row: PostSummary) -> PostOut:
        return cls.model_validate(
            {
                **row.to_dict(),
                "scheduled_at": _time(row.scheduled_at),
                "approved_at": _time(row.approved_at),
            }
        )


class PostIn(_In):
    """A post to queue (or, in a campaign that requires approval, to submit). Give ``at`` (ISO
    8601 with a zone) or ``now: true``. Photos: send the post as multipart/form-data."""

    channels: list[Text] = Field(min_length=1, max_length=100)
    text: Text = ""
    text_for: dict[Text, Text] = Field(
        default_factory=dict, description="Channel name → the text for that channel instead of text"
    )
    at: AwareDatetime | None = None
    now: bool = False
    campaign: Text | None = Field(None, max_length=MAX_CAMPAIGN_CHARS)
    language: Text | None = Field(None, max_length=MAX_LANGUAGE_CHARS, examples=["ko"])
    language_for: dict[Text, Text] = Field(
        default_factory=dict,
        max_length=100,
        description="Channel name → the language tag of that channel's text instead of language",
        examples=[{"seoul": "ko", "chapter": "en"}],
    )
    thread: bool = Field(
        False,
        description="A text too long for one post goes out as a thread (X, Bluesky, Mastodon, "
        "Threads) or a post and its first comment (Facebook, Instagram, LinkedIn); a line of --- "
        "chooses where the parts break",
    )
    first_comment: Text | None = Field(
        None, description="A first comment under the post (the thread's last reply where posts thread)"
    )
    next_slot: bool = Field(
        False, description="The earliest free posting slot common to the channels (instead of at or now)"
    )
    after: AwareDatetime | None = Field(None, description="With next_slot: at or after this instant")
    each_channel: bool = Field(
        False, description="With next_slot: each channel's own next free slot, not one common to all"
    )
    local_at: NaiveDatetime | None = Field(
        None,
        description="A wall-clock time without an offset (instead of at), read in tz, else the "
        "campaign's zone, else UTC",
        examples=["2030-01-07T09:00:00"],
    )
    tz: Text | None = Field(None, max_length=64, description="IANA zone of local_at", examples=["Asia/Seoul"])
    fold: Literal["first", "second"] | None = Field(
        None, description="A local_at that happens twice (clocks fall back): which one"
    )
    shift_gap: bool = Field(
        False, description="A local_at that does not exist (clocks spring forward): move it forward"
    )
    repeat: Text | None = Field(
        None,
        max_length=MAX_RULE_CHARS,
        description="An RFC 5545 RRULE with COUNT or UNTIL: one post per occurrence, the first at at "
        "or local_at, read on the wall clock of tz, else the campaign's zone; the answer is the first",
        examples=["FREQ=WEEKLY;BYDAY=MO;COUNT=4"],
    )


class PostPage(BaseModel):
    items: list[PostOut]
    next_cursor: str | None


# -- actions on a post -------------------------------------------------------------------------


class OnChannel(_In):
    """Which channel (none: every channel of the post)."""

    channel: Text | None = Field(None, max_length=MAX_NAME_CHARS)


class MarkSentIn(_In):
    """A person found the uncertain post on the platform: where."""

    channel: Text = Field(max_length=MAX_NAME_CHARS)
    url: Text | None = Field(None, max_length=MAX_URL_CHARS, examples=["https://social.example/@us/1"])


class ReturnIn(_In):
    note: Text = Field(max_length=MAX_NOTE_CHARS, description="Why the post is sent back (required)")


class CancelledOut(BaseModel):
    cancelled: list[int] = Field(description="Deliveries cancelled")
    too_late: list[int] = Field(description="Deliveries already publishing or done: not touched")

    @classmethod
    def of(cls, row: Cancelled) -> CancelledOut:
        return cls(cancelled=list(row.cancelled), too_late=list(row.too_late))


class TakedownOut(BaseModel):
    """Channel names by what the takedown did there."""

    deleting: list[str] = Field(description="Published there: a worker deletes it")
    cancelled: list[str] = Field(description="Not out yet: cancelled")
    after_publish: list[str] = Field(description="Being published now: deleted right after")
    cannot_delete: list[str] = Field(description="The platform cannot delete through its API: a person must")

    @classmethod
    def of(cls, row: TakedownResult) -> TakedownOut:
        return cls.model_validate(row.to_dict())


class QueuedOut(BaseModel):
    deliveries: list[int] = Field(description="Deliveries put on the queue")


# -- the emergency stop -------------------------------------------------------------------------


class StopIn(_In):
    """Which campaign to stop (none: everything), and whether to take down what it published
    lately."""

    campaign: Text | None = Field(None, max_length=MAX_CAMPAIGN_CHARS)
    takedown_since_seconds: int | None = Field(
        None, ge=60, le=30 * 86400, description="Also take down what went out in this many seconds"
    )


class StoppedOut(BaseModel):
    scope: str = Field(description="The campaign stopped, or everything")
    held: int = Field(description="Queued deliveries now held")
    in_flight: int = Field(description="Deliveries already under way when the stop committed")
    settled: bool = Field(description="Whether those had finished when it answered")
    stop_seconds: float
    taken_down: list[str] = Field(description="Posts being taken down")


class ResumeIn(_In):
    campaign: Text | None = Field(None, max_length=MAX_CAMPAIGN_CHARS)
    reschedule: Literal["keep", "next-slot"] = Field(
        "keep",
        description="keep: held posts keep their time and go out late; next-slot: each moves to "
        "its channel's next free slot from now, in the order of their original times",
    )


class ResumedOut(BaseModel):
    scope: str
    released: int = Field(description="Deliveries put back on the queue")


# -- the log, statistics, the audit log --------------------------------------------------------


class PartOut(BaseModel):
    """One part of a thread, or the post or its first comment."""

    position: int = Field(description="1: the post itself, then each reply (or the first comment)")
    text: str
    status: Literal["published", "sending", "waiting"] = Field(
        description="sending: a try began and its answer is not recorded (the next try looks it up first)"
    )
    remote_id: str | None
    remote_url: str | None
    published_at: datetime | None


class LogEntryOut(BaseModel):
    """One delivery: what went out where and when, or why not."""

    post_id: str
    delivery_id: int
    campaign: str | None
    channel: str
    platform: str
    status: Status
    text: str = Field(description="The text this channel gets")
    scheduled_at: datetime | None
    due_at: datetime | None
    published_at: datetime | None
    lateness_seconds: float | None = Field(description="From the scheduled time to publication")
    remote_id: str | None
    remote_url: str | None
    attempts: int
    error: str | None
    approval: Approval
    approved_by: str | None
    approved_at: datetime | None
    created_by: str | None = Field(description="Who queued the post (null: the command line)")
    parts: list[PartOut] = Field(
        default_factory=list,
        description="A thread's parts (or the post and its first comment) in order; empty for a single post",
    )
    series_id: str | None = Field(None, description="An occurrence of a recurring post: its series")
    occurrence: int | None = Field(None, description="Its place in the series, from 1")
    language: str | None = Field(
        None, description="The language this channel gets: its own, else the post's", examples=["ko"]
    )

    @classmethod
    def of(cls, row: LogEntry) -> LogEntryOut:
        return cls.model_validate(
            {
                **row.to_dict(),
                **{
                    k: _time(getattr(row, k))
                    for k in ("scheduled_at", "due_at", "published_at", "approved_at")
                },
            }
        )


class LogPage(BaseModel):
    items: list[LogEntryOut]
    next_cursor: str | None


class StatsOut(BaseModel):
    """Deliveries of one campaign (null: posts of none) on one platform."""

    campaign: str | None
    platform: str
    counts: dict[Status, int] = Field(description="Deliveries by state; states with none are absent")
    success_rate: float | None = Field(
        description="published / (published + failed + uncertain), to 4 places; null before any finished"
    )

    @classmethod
    def of(cls, row: PlatformStats) -> StatsOut:
        return cls.model_validate(
            {
                "campaign": row.campaign,
                "platform": row.platform,
                "counts": dict(row.counts),
                "success_rate": row.success_rate,
            }
        )


class StatsPage(BaseModel):
    items: list[StatsOut]
    next_cursor: str | None


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str = Field(examples=["post.approve"])
    target_type: str
    target_id: str
    campaign: str | None
    detail: dict[str, object]

    @classmethod
    def of(cls, row: AuditEntry) -> AuditEntryOut:
        return cls.model_validate({**row.to_dict(), "at": _time(row.at)})


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None


# -- people ------------------------------------------------------------------------------------


class RoleOut(BaseModel):
    campaign: str | None = Field(description="null: everywhere")
    role: Literal["staff", "manager", "admin"]


def _roles(rows: tuple[tuple[str | None, str], ...]) -> list[RoleOut]:
    return [RoleOut.model_validate({"campaign": c, "role": r}) for c, r in rows]


class UserOut(BaseModel):
    email: str
    roles: list[RoleOut]
    second_factor: bool
    disabled: bool
    created_at: datetime | None
    last_login_at: datetime | None

    @classmethod
    def of(cls, row: UserInfo) -> UserOut:
        return cls(
            email=row.email,
            roles=_roles(row.roles),
            second_factor=row.second_factor,
            disabled=row.disabled,
            created_at=_time(row.created_at),
            last_login_at=_time(row.last_login_at),
        )


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class TokenScopeOut(BaseModel):
    role: Literal["staff", "manager", "admin"] = Field(description="The most the token allows")
    campaigns: list[str] | None = Field(description="The only campaigns it reaches (null: every one)")


class MeOut(BaseModel):
    email: str
    roles: list[RoleOut] = Field(description="What this request may act as (narrowed by the token)")
    token: TokenScopeOut | None = Field(description="The token's limits; null when signed in by a session")

    @classmethod
    def of(cls, row: Identity) -> MeOut:
        token = None
        if row.token_role is not None:
            campaigns = None if row.token_campaigns is None else list(row.token_campaigns)
            token = TokenScopeOut.model_validate({"role": row.token_role, "campaigns": campaigns})
        return cls(email=row.email, roles=_roles(row.roles), token=token)
