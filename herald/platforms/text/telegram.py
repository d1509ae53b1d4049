"""Telegram's length: UTF-16 code units."""

from __future__ import annotations

from herald.platforms.text.units import utf16_length

__all__ = ["telegram_length"]


def telegram_length(text: str) -> int:
    """Length of plain ``text`` as Telegram checks it against 4,096 (a message) or 1,024 (a
    caption): UTF-16 code units after entity parsing. Telegram's documentation says
    "characters"; its entity offsets are UTF-16 units and clients count the limits the same
    way. With a ``parse_mode`` the markup is parsed away before counting, so counting the raw
    text (as here) can only over-count: a safe bound, never a false "fits"."""
    return utf16_length(text)
