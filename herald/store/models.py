"""SQLAlchemy models: the source of truth.

Times are stored as naive UTC (SQLite has no time zones); ``utcnow()`` is the one clock.
A ``Delivery`` is one (post, channel) pair; its ``state`` follows the machine in
``store.states`` and every change is a compare-and-set in ``store.deliveries`` (a worker's),
``store.decisions`` (a person's) or ``store.takedowns``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from herald.core.languages import MAX_LANGUAGE_CHARS

#: Posts more than this late are held for a person instead of flooding the feed after an
#: outage (seconds); a campaign's ``late_tolerance_seconds`` overrides it, 0 never holds.
#: Widths of the columns naming a person (an email, with an API token's name after it).
CREATED_BY_CHARS = 320
APPROVED_BY_CHARS = 340
DEFAULT_LATE_TOLERANCE_SECONDS = 3600


def utcnow() -> datetime:
    """Naive UTC now: every timestamp column holds naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_uuid() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    pass


def table_of(model: type[Base]) -> Table:
    """A model's Core table, for the statements of a hot path (queueing, claiming, recording).
    Those are built once at import, with bind parameters: building and keying a statement on
    every call cost more than SQLite takes to run it (an UPDATE measured at 660 µs built per
    call, 100 µs prebuilt, 7 µs in the driver alone), and a plain INSERT or UPDATE on the table
    skips the ORM's bulk layer."""
    return cast(Table, model.__table__)


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: IANA zone used to show times and to place posting slots.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    #: Posts later than this are held for a person instead of flooding the feed (issue: missed windows).
    late_tolerance_seconds: Mapped[int] = mapped_column(Integer, default=DEFAULT_LATE_TOLERANCE_SECONDS)
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    require_alt_text: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Blur or pixelate faces in every photo of this campaign ("blur" | "pixelate" | None).
    protect_faces: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: Paused (an emergency stop): its deliveries are held, new ones too, until a person resumes.
    paused_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    pause_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Its date range (naive UTC; None: open): nothing outside [starts_at, ends_at) is queued.
    starts_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: Appended to every post's text at queue time unless already there ("#통일 #Unification").
    hashtags: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Links in its posts get utm_source (the platform), utm_medium and utm_campaign at queue time.
    utm: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    members: Mapped[list[Membership]] = relationship(back_populates="campaign")


class CampaignBlackout(Base):
    """A window when nothing of a campaign goes out (a memorial day, an election silence):
    entered in the campaign's local time, stored naive UTC. ``mode`` "wait": what is due then
    goes out at its end; "hold": it is held for a person (``scheduler.blackouts``)."""

    __tablename__ = "campaign_blackouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    mode: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str | None] = mapped_column(String(CREATED_BY_CHARS), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class User(Base):
    """A person who signs in. The password is an argon2 hash; the second factor's secret is a
    Fernet token under the web key (``store.crypto.SecretBox``)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Lower-cased; the sign-in name.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: The last time step a second-factor code was used for (a code is accepted once).
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: The language the person reads Herald in (``herald.core.i18n.LOCALES``); None: as their
    #: browser asks.
    locale: Mapped[str | None] = mapped_column(String(16), nullable=True)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Membership.id"
    )


class Membership(Base):
    """A person's role in a campaign, or everywhere (``campaign_id`` NULL): staff, manager or
    admin (``herald.accounts.roles``)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "campaign_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=True
    )
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    campaign: Mapped[Campaign | None] = relationship(back_populates="members")


class ApiToken(Base):
    """A personal API token: only its SHA-256 digest is stored; shown once when made."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters, to tell tokens apart in lists.
    shown: Mapped[str] = mapped_column(String(20))
    #: At most this role, and only these campaigns (ids; NULL: every campaign of the user).
    role: Mapped[str] = mapped_column(String(20))
    campaigns: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class WebSession(Base):
    """A signed-in browser: the cookie holds a random id, this row its SHA-256 digest."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: The password was right but the second factor is still to come.
    pending_second_factor: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Signs this session's CSRF tokens.
    csrf_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class AuditEvent(Base):
    """Who did what to what, when: append-only."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_campaign_at", "campaign_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    #: The person's email, "system" for the command line, or "token:<shown>" for an API token.
    actor: Mapped[str] = mapped_column(String(340))
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[str] = mapped_column(String(100))
    campaign_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class Channel(Base):
    """One account on one platform. Credentials are sealed to a public key (``store.crypto``)."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    platform: Mapped[str] = mapped_column(String(32))
    base_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    credentials_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    #: Which credentials are set (names only), so listing channels never decrypts anything.
    credential_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Non-secret per-channel options (language, visibility, LinkedIn version ...).
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    #: Posting slots: "HH:MM" wall-clock times in ``timezone`` by day ("mon" … "sun"), for
    #: "next free slot" (``scheduler.slots.WeeklySlots``).
    slots: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    #: No two posts of this channel placed in slots closer than this (0: only not the same slot).
    min_gap_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    paused_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    pause_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: When its access token stops working (naive UTC; None: unknown or never), not a secret:
    #: alerts go out from 7 days before (``herald.alerts.expiry``).
    token_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uuid)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), nullable=True)
    text: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(MAX_LANGUAGE_CHARS), nullable=True)
    #: When it should go out, naive UTC.
    scheduled_at: Mapped[datetime] = mapped_column(DateTime)
    #: pending (waiting for a manager) | returned (sent back with a note) | approved; posts of a
    #: campaign that needs no approval are approved when queued.
    approval: Mapped[str] = mapped_column(String(20), default="approved")
    approved_by: Mapped[str | None] = mapped_column(String(APPROVED_BY_CHARS), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: What a manager said when sending the post back.
    approval_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The RFC 5545 RRULE of the series this post is an occurrence of (``scheduler.recurrence``);
    #: every occurrence is written as its own post when the series is queued.
    recurrence: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: The series' id, shared by its occurrences (None: a single post); "this and following".
    series_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    #: This post's place in its series, from 1.
    occurrence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(CREATED_BY_CHARS), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    #: Bumped on every edit; payloads carry it so a worker never sends a stale text.
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: Asked to go out as a thread where too long (or split at lines of ---), and its first
    #: comment: an edit splits the new text the same way (the parts are in ``delivery_parts``).
    thread: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    first_comment: Mapped[str | None] = mapped_column(Text, nullable=True)

    campaign: Mapped[Campaign | None] = relationship()
    variants: Mapped[list[PostVariant]] = relationship(cascade="all, delete-orphan")
    photos: Mapped[list[PostPhoto]] = relationship(
        cascade="all, delete-orphan", order_by="PostPhoto.position"
    )
    deliveries: Mapped[list[Delivery]] = relationship(back_populates="post")


class PostVariant(Base):
    """The text for one channel when it differs from the post's text (e.g. Korean vs English),
    and its language when that differs from the post's (a row may carry only a language: its
    text is then the post's)."""

    __tablename__ = "post_variants"
    __table_args__ = (UniqueConstraint("post_id", "channel_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[str] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    text: Mapped[str] = mapped_column(Text)
    #: The language of this channel's text, when it is not the post's (None: the post's).
    language: Mapped[str | None] = mapped_column(String(MAX_LANGUAGE_CHARS), nullable=True)


class PhotoBlob(Base):
    """A stripped, publish-ready photo, content-addressed by the SHA-256 of its bytes.
    Kept in SQL so that the content queue can be rebuilt from SQL alone."""

    __tablename__ = "photo_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    mime_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: When the bytes were dropped under the retention policy (the row stays for the log).
    purged_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class PhotoRendition(Base):
    """Which blob a platform gets for a source photo: the photo made to fit that platform's
    byte, size, format and aspect rules (``media.renditions``), made once at queue time."""

    __tablename__ = "photo_renditions"

    source_sha256: Mapped[str] = mapped_column(ForeignKey("photo_blobs.sha256"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    rules_key: Mapped[str] = mapped_column(String(64))
    rendition_sha256: Mapped[str] = mapped_column(ForeignKey("photo_blobs.sha256"))
    steps: Mapped[list[str]] = mapped_column(JSON, default=list)

    blob: Mapped[PhotoBlob] = relationship(foreign_keys=[rendition_sha256])


class PostPhoto(Base):
    __tablename__ = "post_photos"
    __table_args__ = (UniqueConstraint("post_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[str] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(ForeignKey("photo_blobs.sha256"))
    alt_text: Mapped[str] = mapped_column(Text, default="")
    credit: Mapped[str | None] = mapped_column(Text, nullable=True)
    original_name: Mapped[str] = mapped_column(String(255), default="photo")
    #: How many faces were blurred or pixelated before the photo was stored (None: not asked).
    faces_protected: Mapped[int | None] = mapped_column(Integer, nullable=True)

    blob: Mapped[PhotoBlob] = relationship()


class Delivery(Base):
    """One post on one channel. ``state`` changes only through the compare-and-set transitions
    (``store.deliveries``, ``store.decisions``, ``store.takedowns``)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("post_id", "channel_id"),
        Index("ix_deliveries_state_due", "state", "due_at"),
        #: A channel's schedule: its places taken from an instant on (``channels.taken_times``).
        Index("ix_deliveries_channel_due", "channel_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[str] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    #: When it is due next (the schedule, or the next retry), naive UTC.
    due_at: Mapped[datetime] = mapped_column(DateTime)
    #: Same for every try of this delivery: the platform-side de-duplication key.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    #: Random per claim; every transition out of "publishing" must present it.
    attempt_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: A person asked to take the post down (set even while it is still being published).
    takedown_requested_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: When a person last said "send it now" (release/retry), or a time of its own was chosen for
    #: it (each channel's next slot, a reorder: ``store.queue_order``): the missed-window clock
    #: restarts there.
    released_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: An earlier try may have gone out (uncertain outcome): look it up before sending again.
    needs_reconcile: Mapped[bool] = mapped_column(Boolean, default=False)
    remote_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    remote_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Held by a pause (an emergency stop) since then: never claimed, retried or deferred back
    #: onto the queue until a person resumes (``store.pauses``).
    paused_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    #: Copies of its post's ``scheduled_at`` and ``campaign_id`` (0: no campaign), so that the
    #: delivery log sorts and filters on this table alone (``store.log``). Never written by
    #: Herald's code: triggers (migration 0016) fill them on insert and follow every change of
    #: the post.
    post_scheduled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    post_campaign_key: Mapped[int] = mapped_column(Integer, server_default="0")

    post: Mapped[Post] = relationship(back_populates="deliveries")
    channel: Mapped[Channel] = relationship()
    #: A thread's parts, or a post and its first comment, in order (none for a single post).
    parts: Mapped[list[DeliveryPart]] = relationship(
        cascade="all, delete-orphan", order_by="DeliveryPart.position", passive_deletes=True
    )


class DeliveryPart(Base):
    """One part of a delivery that goes out in several (a thread, or a post and its first
    comment): its text as split for the channel's platform at queue time, and what became of
    it. Part 1 is the post itself; the delivery's remote id and URL are part 1's.

    ``sent_at`` is written (with the claim's token checked) before the part's platform call and
    ``remote_id`` after it, each in its own commit: a part with ``sent_at`` and no ``remote_id``
    may be out, so the next claim looks it up before sending it again (``delivery.thread``).
    """

    __tablename__ = "delivery_parts"
    __table_args__ = (UniqueConstraint("delivery_id", "position"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    #: 1 for the post itself, then each reply (or the first comment) in order.
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    remote_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    remote_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    #: What a reply to this part must also name (Bluesky: its record's CID).
    remote_cid: Mapped[str | None] = mapped_column(String(200), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Attempt(Base):
    """Append-only log: one row per try of a delivery, written before the platform call."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    token: Mapped[str] = mapped_column(String(32))
    worker: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: published | retry | failed | uncertain | reconciled | skipped (None while running)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)


class AlertTarget(Base):
    """Where a campaign's alerts go (``campaign_id`` NULL: every campaign's, and the
    installation's own): an apprise URL sealed like channel credentials (it holds passwords and
    tokens), so the web app can add one it can never read. ``shown`` is its scheme and host."""

    __tablename__ = "alert_targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=True, index=True
    )
    url_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    shown: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[str | None] = mapped_column(String(CREATED_BY_CHARS), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AlertMessage(Base):
    """One alert, queued where it was decided (a worker's transaction, the scheduler) and sent
    by one sender later, so a slow mail server never slows publishing. ``status``: pending,
    sending (claimed until ``claimed_until``), done."""

    __tablename__ = "alert_messages"
    __table_args__ = (
        Index("ix_alert_messages_status", "status", "id"),
        Index("ix_alert_messages_dedup", "dedup_key", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    campaign_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    #: Alerts with the same key go out at most once per dedup window.
    dedup_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: sent | failed | duplicate | limited | unrouted (once done).
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class AlertSend(Base):
    """One alert to one target: what the per-target rate limit counts, and the alerts it held
    back (``outcome`` "limited") until a summary names them ("summarized")."""

    __tablename__ = "alert_sends"
    __table_args__ = (Index("ix_alert_sends_target_at", "target_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("alert_targets.id", ondelete="CASCADE"))
    #: None for a summary of held-back alerts.
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_messages.id", ondelete="CASCADE"), nullable=True
    )
    #: sent | failed | limited | summarized
    outcome: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DeliveryCount(Base):
    """How many deliveries of a campaign (``campaign_key`` 0: posts of none) on a channel are in
    a state, as of the last fold (``store.stats.fold_counts``): the dashboard's counts without
    counting the deliveries."""

    __tablename__ = "delivery_counts"

    campaign_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class DeliveryCountChange(Base):
    """+1 or -1 for a (campaign, channel, state), appended by triggers (migration 0016) as
    deliveries come, change state and go; folded into ``DeliveryCount`` now and then. Appends
    only, so no two writers ever wait for the same row."""

    __tablename__ = "delivery_count_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    campaign_key: Mapped[int] = mapped_column(Integer)
    channel_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    delta: Mapped[int] = mapped_column(Integer)


#: Schema objects migration 0016 makes on one database only, for search, which these models do
#: not describe: SQLite's FTS5 table with its shadow tables and the posts' integer keys in it,
#: PostgreSQL's trigram indexes. Alembic's comparisons leave them alone (``described``).
SEARCH_OBJECTS = frozenset(
    {
        "post_search",
        "post_search_config",
        "post_search_content",
        "post_search_data",
        "post_search_docsize",
        "post_search_idx",
        "post_search_keys",
        "ix_posts_text_trgm",
        "ix_post_variants_text_trgm",
    }
)


def described(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's ``include_object``: every schema object but ``SEARCH_OBJECTS``."""
    return name not in SEARCH_OBJECTS


# The delivery log's indexes (migration 0016), each named for the query it serves: the log
# newest first, by itself or by state, channel, campaign, campaign and state, channel and state
# (``store.log``); the posts listed newest first, by approval and by campaign (the dashboard).
# Search's trigram indexes depend on the database and are the migration's alone.
_LOG_ORDER = (Delivery.post_scheduled_at.desc(), Delivery.id)
Index("ix_deliveries_log", *_LOG_ORDER)
Index("ix_deliveries_log_by_state", Delivery.state, *_LOG_ORDER)
Index("ix_deliveries_log_by_channel", Delivery.channel_id, *_LOG_ORDER)
Index("ix_deliveries_log_by_campaign", Delivery.post_campaign_key, *_LOG_ORDER)
Index("ix_deliveries_log_by_campaign_state", Delivery.post_campaign_key, Delivery.state, *_LOG_ORDER)
Index("ix_deliveries_log_by_channel_state", Delivery.channel_id, Delivery.state, *_LOG_ORDER)
Index("ix_posts_newest", Post.scheduled_at, Post.id)
Index("ix_posts_by_approval", Post.approval, Post.scheduled_at)
Index("ix_posts_by_campaign", Post.campaign_id, Post.scheduled_at)

# The pages' live check, "has anything changed since?" (``store.changes``; migration 0018).
Index("ix_deliveries_updated", Delivery.updated_at)
Index("ix_posts_updated", Post.updated_at)
