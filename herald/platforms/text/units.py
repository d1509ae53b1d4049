"""Code units: UTF-8 bytes (Bluesky's byte limit and facet offsets) and UTF-16 code units
(Telegram's limits and entity offsets; what a Java or JavaScript ``length`` says)."""

from __future__ import annotations

from array import array

__all__ = ["utf16_length", "utf16_units", "utf8_length"]


def utf8_length(text: str) -> int:
    """Bytes of ``text`` in UTF-8. A lone surrogate (which no platform accepts) counts 3."""
    return len(text.encode("utf-8", "surrogatepass"))


def utf16_length(text: str) -> int:
    """UTF-16 code units of ``text``: 1 per code point in the Basic Multilingual Plane (Hangul,
    CJK, Latin), 2 per code point above it (most emoji). A lone surrogate counts 1."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf16_units(text: str) -> str:
    """``text`` with every character above U+FFFF written as its two surrogates, so that one
    index is one UTF-16 code unit, as in a JavaScript string (``text`` itself when it has no
    such character). Matching such a string reproduces JavaScript's own matching."""
    encoded = text.encode("utf-16-le", "surrogatepass")
    if len(encoded) == 2 * len(text):
        return text
    return "".join(map(chr, array("H", encoded)))
