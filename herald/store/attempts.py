"""The attempt log's writes shared by publishing and takedowns: the random token a claim
presents, and finishing the attempt row that claim opened."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from herald.store.models import Attempt, table_of, utcnow

# The Core table: a plain UPDATE skips the ORM's bulk-update machinery, which costs more than
# the statement itself on SQLite (this is on every delivery's hot path).
ATTEMPTS = table_of(Attempt)


def new_token() -> str:
    return secrets.token_hex(16)


def finish_attempt(
    s: Session,
    delivery_id: int,
    token: str,
    outcome: str,
    *,
    http_status: int | None = None,
    error: str | None = None,
    latency_ms: float | None = None,
    now: datetime | None = None,
) -> None:
    """Close the attempt row of the claim holding ``token`` with its outcome."""
    s.execute(
        update(ATTEMPTS)
        .where(ATTEMPTS.c.delivery_id == delivery_id, ATTEMPTS.c.token == token)
        .values(
            outcome=outcome,
            finished_at=now or utcnow(),
            http_status=http_status,
            error=error,
            latency_ms=latency_ms,
        )
    )
