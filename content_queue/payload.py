"""The publish-ready payload of one delivery, as staged in Redis."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class PhotoRef:
    sha256: str
    mime_type: str
    width: int
    height: int
    alt_text: str = ""
    filename: str = "photo.jpg"


@dataclass(frozen=True)
class Payload:
    """Everything a worker needs to publish one (post, channel), except credentials (those
    stay encrypted in SQL) and photo bytes (staged once per photo under their hash)."""

    delivery_id: int
    post_id: str
    post_version: int
    channel_id: int
    platform: str
    text: str
    due: float  # epoch seconds
    idempotency_key: str
    language: str | None = None
    photos: tuple[PhotoRef, ...] = field(default_factory=tuple)
    #: After this time (epoch seconds) the post missed its window: hold it for a person.
    hold_after: float | None = None
    #: The later parts of a thread, or a first comment, in order (``text`` is part 1); left
    #: out of the staged JSON when empty, so a single post's payload is as it always was.
    parts: tuple[str, ...] = ()
    #: The campaign's blackout windows still ahead of it, as (start, end, hold, label) in epoch
    #: seconds (``herald.core.intervals.Span``), so that the worker's last check before the call
    #: needs no SQL; left out of the staged JSON when empty.
    blackouts: tuple[tuple[float, float, bool, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The payload as plain JSON values (what is staged, and what its MAC covers)."""
        # Shallow, field by field: ``dataclasses.asdict`` deep-copies every value first, which
        # was a fifth of the cost of a bulk import.
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["photos"] = [{f.name: getattr(p, f.name) for f in fields(p)} for p in self.photos]
        if self.parts:
            d["parts"] = list(self.parts)
        else:
            del d["parts"]
        if self.blackouts:
            d["blackouts"] = [list(b) for b in self.blackouts]
        else:
            del d["blackouts"]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Payload:
        """The payload ``to_dict`` gave. Raises ``TypeError``/``ValueError`` on another shape."""
        photos = tuple(PhotoRef(**p) for p in d.get("photos", ()))
        parts = d.get("parts", ())
        if not isinstance(parts, list | tuple) or not all(isinstance(p, str) for p in parts):
            raise ValueError("payload parts must be a list of texts")
        blackouts = tuple((float(a), float(b), bool(h), str(n)) for a, b, h, n in d.get("blackouts", ()))
        return cls(**{**d, "photos": photos, "parts": tuple(parts), "blackouts": blackouts})

    @classmethod
    def from_json(cls, raw: str | bytes) -> Payload:
        return cls.from_dict(json.loads(raw))
