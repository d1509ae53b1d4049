"""Signed-in browsers: a row per session, found by the digest of the cookie's id."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from herald.store.models import WebSession, utcnow


def add_session(
    s: Session,
    *,
    id_hash: str,
    user_id: int,
    csrf_secret: str,
    lifetime: timedelta,
    pending_second_factor: bool = False,
) -> WebSession:
    now = utcnow()
    row = WebSession(
        id_hash=id_hash,
        user_id=user_id,
        csrf_secret=csrf_secret,
        pending_second_factor=pending_second_factor,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
    )
    s.add(row)
    s.flush()
    return row


def live_session(
    s: Session, id_hash: str, *, idle: timedelta, now: datetime | None = None
) -> WebSession | None:
    """The session with this digest, unless it is past its lifetime or was idle too long."""
    now = now or utcnow()
    return s.execute(
        select(WebSession).where(
            WebSession.id_hash == id_hash,
            WebSession.expires_at > now,
            WebSession.last_seen_at > now - idle,
        )
    ).scalar_one_or_none()


def touch_session(s: Session, id_hash: str, *, now: datetime | None = None) -> None:
    """Seen now (the idle clock starts again)."""
    s.execute(update(WebSession).where(WebSession.id_hash == id_hash).values(last_seen_at=now or utcnow()))


def end_session(s: Session, id_hash: str) -> None:
    s.execute(delete(WebSession).where(WebSession.id_hash == id_hash))


def end_sessions_of(s: Session, user_id: int) -> int:
    """Sign a person out everywhere (a new password, a disabled account)."""
    return int(s.execute(delete(WebSession).where(WebSession.user_id == user_id)).rowcount)  # type: ignore[attr-defined]  # CursorResult


def purge_expired_sessions(s: Session, *, now: datetime | None = None) -> int:
    return int(s.execute(delete(WebSession).where(WebSession.expires_at <= (now or utcnow()))).rowcount)  # type: ignore[attr-defined]  # CursorResult
