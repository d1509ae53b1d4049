"""What became of one claimed delivery: a closed set of frozen outcome types.

``Outcome`` is their union. ``record`` writes each kind with a ``match`` that ends in
``assert_never``, so a kind added here and forgotten there is a ``mypy`` error, not a delivery
silently left in flight. Each kind carries what its SQL transition needs, nothing more, and its
``answer``: the word ``Deliverer.deliver_many`` reports for it (logs and tests read these).

::

    Published   the platform has it (``reconciled``: found by a look-up, not sent now)
    Retry       nothing went out, or we cannot tell yet: queued again after a backoff
    Deferred    not tried: the channel is over its posting rate; no attempt used up
    Failed      the platform refused it, or the attempts ran out (maybe pausing the channel)
    Uncertain   it may be out and nobody can tell: a person must look
    Held        not tried: the channel is paused or the post missed its window
    Kept        nothing decided (an unexpected error): the claim stays until its lease ends
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from content_queue import Payload
from herald.store import states
from herald.store.deliveries import Claim


def log_fields(claim: Claim, payload: Payload) -> dict[str, object]:
    """The structured log fields of one delivery attempt."""
    return {
        "delivery_id": claim.delivery_id,
        "post_id": payload.post_id,
        "platform": payload.platform,
        "attempt": claim.attempt_no,
    }


@dataclass(frozen=True)
class _Decided:
    """Shared by every kind decided about a delivery whose payload we read."""

    claim: Claim
    payload: Payload

    @property
    def fields(self) -> dict[str, object]:
        return log_fields(self.claim, self.payload)

    @property
    def photo_shas(self) -> list[str]:
        return [p.sha256 for p in self.payload.photos]


@dataclass(frozen=True)
class Published(_Decided):
    remote_id: str
    url: str
    #: Found on the platform by a look-up after an earlier try whose answer was lost.
    reconciled: bool
    latency_ms: float

    @property
    def answer(self) -> str:
        return "reconciled" if self.reconciled else "published"


@dataclass(frozen=True)
class Retry(_Decided):
    answer: ClassVar[str] = "retry"

    error: str
    status: int | None
    due: datetime
    #: The try may have gone out: the next one must look it up before sending.
    needs_reconcile: bool
    latency_ms: float


@dataclass(frozen=True)
class Deferred(_Decided):
    answer: ClassVar[str] = "deferred"

    reason: str
    due: datetime
    #: Keeps a pending reconciliation pending (a taken-over claim that was not tried).
    needs_reconcile: bool


@dataclass(frozen=True)
class ChannelPause:
    """Stop publishing on a channel until a person resumes it (its credentials were refused)."""

    channel_id: int
    reason: str


@dataclass(frozen=True)
class _Ended(_Decided):
    """Shared by the kinds that end a delivery after a platform call."""

    error: str
    status: int | None
    latency_ms: float


@dataclass(frozen=True)
class Failed(_Ended):
    answer: ClassVar[str] = states.FAILED

    pause: ChannelPause | None = None


@dataclass(frozen=True)
class Uncertain(_Ended):
    answer: ClassVar[str] = states.UNCERTAIN


@dataclass(frozen=True)
class Held(_Decided):
    answer: ClassVar[str] = states.HELD

    reason: str


@dataclass(frozen=True)
class Kept:
    """An unexpected error (a bug, SQL or Redis down) before anything was decided: nothing is
    written, the lease runs out, and the next claim takes the delivery over and reconciles."""

    answer: ClassVar[str] = "error"

    claim: Claim

    @property
    def fields(self) -> dict[str, object]:
        return {"delivery_id": self.claim.delivery_id, "attempt": self.claim.attempt_no}


Outcome = Published | Retry | Deferred | Failed | Uncertain | Held | Kept
