"""API tokens: stored by digest, listed by person, revoked, and stamped when used."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from herald.store.models import ApiToken, utcnow


def add_token(
    s: Session,
    *,
    user_id: int,
    name: str,
    token_hash: str,
    shown: str,
    role: str,
    campaigns: Sequence[int] | None,
) -> ApiToken:
    token = ApiToken(
        user_id=user_id,
        name=name,
        token_hash=token_hash,
        shown=shown,
        role=role,
        campaigns=None if campaigns is None else sorted(campaigns),
    )
    s.add(token)
    s.flush()
    return token


def live_token_by_hash(s: Session, token_hash: str) -> ApiToken | None:
    """The token with this digest, unless it was revoked."""
    return s.execute(
        select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()


def tokens_of(s: Session, user_id: int) -> list[ApiToken]:
    return list(
        s.execute(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)).scalars()
    )


def revoke_token(
    s: Session, token_id: int, *, user_id: int | None = None, at: datetime | None = None
) -> bool:
    """Revoke a live token (only one of ``user_id``'s, if given). Whether it was live."""
    q = update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
    if user_id is not None:
        q = q.where(ApiToken.user_id == user_id)
    return bool(s.execute(q.values(revoked_at=at or utcnow())).rowcount)  # type: ignore[attr-defined]  # CursorResult


def note_token_used(s: Session, token_id: int, at: datetime | None = None) -> None:
    s.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=at or utcnow()))
