"""Sealed values: every column encrypted with the credential box (channel credentials, people's
TOTP secrets), listed and replaced one at a time for ``herald keys rotate``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from herald.store.models import Channel, User

#: What a sealed value belongs to: a channel's credentials or a person's second factor.
SealedKind = Literal["channel", "user"]


@dataclass(frozen=True)
class SealedValue:
    kind: SealedKind
    id: int
    #: The channel's name or the person's email, for messages (never the value).
    label: str
    token: bytes


def sealed_values(s: Session) -> list[SealedValue]:
    """Every sealed value: each channel's credentials, then each second-factor secret."""
    out = [
        SealedValue("channel", cid, name, bytes(token))
        for cid, name, token in s.execute(
            select(Channel.id, Channel.name, Channel.credentials_encrypted).order_by(Channel.id)
        )
    ]
    out += [
        SealedValue("user", uid, email, bytes(token))
        for uid, email, token in s.execute(
            select(User.id, User.email, User.totp_secret_encrypted).order_by(User.id)
        )
        if token is not None
    ]
    return out


def sealed_value(s: Session, kind: SealedKind, row_id: int) -> SealedValue | None:
    """One sealed value as it is now; None if its row is gone (or the second factor removed)."""
    query = (
        select(Channel.name, Channel.credentials_encrypted).where(Channel.id == row_id)
        if kind == "channel"
        else select(User.email, User.totp_secret_encrypted).where(User.id == row_id)
    )
    row = s.execute(query).one_or_none()
    if row is None or row[1] is None:
        return None
    return SealedValue(kind, row_id, row[0], bytes(row[1]))


def replace_sealed(s: Session, value: SealedValue, token: bytes) -> bool:
    """Set ``value``'s column to ``token`` if it still holds ``value.token`` (compare-and-set:
    a value changed meanwhile, e.g. a new second factor, is never overwritten with an old one).
    Returns whether it was replaced."""
    if value.kind == "channel":
        stmt = (
            update(Channel)
            .where(Channel.id == value.id, Channel.credentials_encrypted == value.token)
            .values(credentials_encrypted=token)
        )
    else:
        stmt = (
            update(User)
            .where(User.id == value.id, User.totp_secret_encrypted == value.token)
            .values(totp_secret_encrypted=token)
        )
    res = s.execute(stmt.execution_options(synchronize_session=False))
    return bool(res.rowcount)  # type: ignore[attr-defined]  # CursorResult has rowcount
