"""People and their roles: look-ups by email and id, the list, and the writes an admin makes
(add a person, set a role in a campaign or everywhere, a new password, a second factor)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from herald.store.models import Membership, User, utcnow


def normalise_email(email: str) -> str:
    return email.strip().lower()


def user_by_email(s: Session, email: str) -> User | None:
    return s.execute(
        select(User).where(User.email == normalise_email(email)).options(selectinload(User.memberships))
    ).scalar_one_or_none()


def user_by_id(s: Session, user_id: int) -> User | None:
    return s.execute(
        select(User).where(User.id == user_id).options(selectinload(User.memberships))
    ).scalar_one_or_none()


def users_listed(s: Session) -> list[User]:
    """Every person, by email, with their memberships."""
    return list(
        s.execute(select(User).order_by(User.email).options(selectinload(User.memberships))).scalars()
    )


def user_count(s: Session) -> int:
    return len(s.execute(select(User.id).limit(2)).all())


def add_user(s: Session, *, email: str, password_hash: str) -> User:
    """Insert a person. Raises ``IntegrityError`` if the email is taken."""
    user = User(email=normalise_email(email), password_hash=password_hash)
    s.add(user)
    s.flush()
    return user


def set_roles(s: Session, user_id: int, role: str, campaign_ids: Sequence[int | None]) -> None:
    """Give ``role`` in each of ``campaign_ids`` (None: everywhere), replacing what was held
    there; other campaigns keep their roles."""
    for campaign_id in campaign_ids:
        s.execute(
            delete(Membership).where(
                Membership.user_id == user_id,
                Membership.campaign_id.is_(None)
                if campaign_id is None
                else Membership.campaign_id == campaign_id,
            )
        )
        s.add(Membership(user_id=user_id, campaign_id=campaign_id, role=role))
    s.flush()


def everywhere_admins(s: Session) -> list[int]:
    """Ids of the people who are admins everywhere (and not disabled)."""
    q = (
        select(Membership.user_id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.campaign_id.is_(None), Membership.role == "admin", User.disabled_at.is_(None))
    )
    return list(s.execute(q).scalars())


def set_password(s: Session, user: User, password_hash: str) -> None:
    user.password_hash = password_hash


def set_locale(s: Session, user: User, locale: str | None) -> None:
    user.locale = locale


def set_second_factor(s: Session, user: User, secret_encrypted: bytes | None) -> None:
    user.totp_secret_encrypted = secret_encrypted
    user.totp_last_step = None


def note_login(s: Session, user: User, *, totp_step: int | None = None, at: datetime | None = None) -> None:
    user.last_login_at = at or utcnow()
    if totp_step is not None:
        user.totp_last_step = totp_step
