"""The delivery state machine.

::

    scheduled ──▶ queued ──claim──▶ publishing ──▶ published
        │           ▲  │                │  │ └──▶ failed       (permanent error, attempts used up)
        │           │  │                │  └────▶ uncertain    (sent, no answer, platform cannot tell)
        │           └──┼── retry ───────┘
        └───────────┴──▶ cancelled     (only from scheduled/queued: once publishing, too late)
    held: waiting for a person (channel paused, window missed); release → queued
    published ──takedown──▶ deleting ──▶ deleted  (or back to published, with the refusal noted)

``scheduled`` means "known to SQL, not yet staged in Redis" (approval pending, rebuild).
"""

from __future__ import annotations

from typing import Final

SCHEDULED: Final = "scheduled"
QUEUED: Final = "queued"
PUBLISHING: Final = "publishing"
PUBLISHED: Final = "published"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
UNCERTAIN: Final = "uncertain"
HELD: Final = "held"
DELETING: Final = "deleting"
DELETED: Final = "deleted"

ALL: Final = (SCHEDULED, QUEUED, PUBLISHING, PUBLISHED, FAILED, CANCELLED, UNCERTAIN, HELD, DELETING, DELETED)
#: States in which a delivery may still go out.
PENDING: Final = (SCHEDULED, QUEUED, HELD)
#: States that never change again (except by a person's explicit retry).
#: States the content queue must hold in Redis (work still to do by a worker).
QUEUE_WORK: Final = (QUEUED, PUBLISHING, DELETING)
