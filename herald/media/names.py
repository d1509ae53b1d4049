"""File names as people gave them: shown back to them (sanitised), never trusted."""

from __future__ import annotations

import unicodedata

from herald.core.errors import PhotoError
from herald.media.limits import (
    MAX_DISPLAY_NAME_CHARS,
    MAX_FILENAME_BYTES,
)

# Bidirectional overrides and isolates: they make "photo\u202egpj.exe" display as "photoexe.jpg".
#: The name a photo gets when it came without one.
DEFAULT_NAME = "photo"
_BIDI_CONTROLS = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A))


def display_name(name: str) -> str:
    """``name`` quoted for a message: non-printing characters escaped, quotes escaped, long
    names cut short. Safe to show whatever ``name`` holds."""
    shown = []
    for ch in name[:MAX_DISPLAY_NAME_CHARS]:
        if ch in "'\\":
            shown.append("\\" + ch)
        elif unicodedata.category(ch).startswith("C") or ord(ch) in _BIDI_CONTROLS:
            shown.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
        else:
            shown.append(ch)
    suffix = "…" if len(name) > MAX_DISPLAY_NAME_CHARS else ""
    return "'" + "".join(shown) + suffix + "'"


def sanitize_filename(name: str) -> str:
    """The display name to keep for an upload called ``name``: NFC-normalised, surrounding
    white space removed, ``"photo"`` if nothing is left.

    The name is only ever shown to people; it is never used as a path. Names that try to be
    one are refused all the same, because nothing good comes from keeping them.

    Raises ``PhotoError`` (naming the problem, with the name quoted safely and cut short) if the
    name holds a path separator (``/`` or ``\\``), ``..``, a NUL or other control character, a
    bidirectional override, or more than ``MAX_FILENAME_BYTES`` bytes of UTF-8.
    """
    if not isinstance(name, str):
        raise PhotoError(f"photo name must be text, not {type(name).__name__}")
    shown = display_name(name)
    if "\x00" in name:
        raise PhotoError(f"photo name {shown} contains a NUL character")
    if any(unicodedata.category(ch) == "Cc" or ord(ch) in _BIDI_CONTROLS for ch in name):
        raise PhotoError(f"photo name {shown} contains a control character")
    if "/" in name or "\\" in name:
        raise PhotoError(f"photo name {shown} contains a path separator")
    if ".." in name:
        raise PhotoError(f"photo name {shown} contains '..'")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise PhotoError(f"photo name {shown} is not valid Unicode text") from None
    if size > MAX_FILENAME_BYTES:
        raise PhotoError(f"photo name {shown} is too long ({size} bytes; the limit is {MAX_FILENAME_BYTES})")
    cleaned = unicodedata.normalize("NFC", name).strip()
    return cleaned or DEFAULT_NAME
