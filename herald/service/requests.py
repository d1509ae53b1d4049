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
    at: datetime | None = None  # aware or naive UTC; None means now
    campaign: str | None = None
    language: str | None = None
    created_by: str | None = None
