"""What the edges hand the service to queue a post: the post and its photos, as given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class PhotoInput:
    data: bytes
    filename: str
    alt_text: str = ""
    credit: str | None = None
    #: Blur or pixelate the faces in this photo before anything is stored ("blur" | "pixelate").
    protect_faces: str | None = None


@dataclass(frozen=True)
class PostRequest:
    channels: Sequence[str]
    text: str
    #: Channel name → the text for that channel instead of ``text``.
    text_for: dict[str, str] = field(default_factory=dict)
    photos: Sequence[PhotoInput] = ()
    at: datetime | None = None  # aware or naive UTC; None means now (or the next free slot)
    campaign: str | None = None
    #: The post's language tag (``herald.core.languages``), for the platforms that take one.
    language: str | None = None
    #: Channel name → the language of that channel's text instead of ``language`` (Korean on
    #: one channel, English on another); ``language_for`` reads the two.
    languages: dict[str, str] = field(default_factory=dict)
    created_by: str | None = None
    #: A wall-clock time (naive) instead of ``at``, read in ``tz``, else the campaign's zone,
    #: else UTC (``scheduler.localtime``).
    local_at: datetime | None = None
    #: The IANA zone ``local_at`` is read in.
    tz: str | None = None
    #: A ``local_at`` that happens twice (clocks falling back): 0 the first, 1 the second.
    fold: int | None = None
    #: A ``local_at`` that does not exist (clocks springing forward): "refuse", or "forward" by
    #: the gap's length.
    gap: str = "refuse"
    #: Place the post in the earliest free slot common to its channels, at or after ``after``
    #: (aware; None: now) (``scheduler.slots``).
    next_slot: bool = False
    after: datetime | None = None
    #: With ``next_slot``: each channel's own next free slot instead of one common to all (each
    #: delivery then has its own time; the post's is the earliest).
    slot_each: bool = False
    #: Go out as a thread where the text is too long for one post, or split where the writer
    #: put a line of ``---`` (``herald.platforms.follow_ups``).
    thread: bool = False
    #: A first comment (Facebook, Instagram, LinkedIn) or the thread's last reply elsewhere.
    first_comment: str | None = None
    #: An RFC 5545 RRULE (``FREQ=WEEKLY;BYDAY=MO;COUNT=4``): the post repeats from its time
    #: (``at``/``local_at``, the first occurrence), read on the wall clock of ``tz``, else the
    #: campaign's zone; one post per occurrence (``scheduler.recurrence``).
    repeat: str | None = None

    def language_for(self, channel: str) -> str | None:
        """The language the post goes out in on ``channel``: its own, else the post's."""
        return self.languages.get(channel) or self.language
