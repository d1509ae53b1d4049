"""The emoji X's counter weighs as one (2 characters): twemoji's, as twitter-text 3.1.0 knows them.

twitter-text 3.1.0 finds emoji with twemoji-parser 11, which knows the sequences of Emoji 11.0.
The list here is the ``emoji`` package's data up to that version, less and plus the few places
where twemoji 11 differs (found by running twitter-text 3.1.0 on every sequence of that data).
A later sequence counts as its parts: the ZWJ sequence for "heart on fire" (Emoji 13.1) is
heart 2 + ZWJ 1 + fire 2 = 5. A counter with newer emoji data would say less, never more, so
this is the safe reading of X's limit as well as the published one.
"""

from __future__ import annotations

import re
from functools import cache

import emoji

from herald.platforms.text.patterns import longest_first
from herald.platforms.text.units import utf16_units

__all__ = ["X_EMOJI_VERSION", "twemoji_pattern"]

#: The newest Emoji version whose sequences weigh 2 (twemoji-parser 11). Raising it can only
#: lower counts.
X_EMOJI_VERSION = 11.0

_SKIN_TONES = ("", "\U0001f3fb", "\U0001f3fc", "\U0001f3fd", "\U0001f3fe", "\U0001f3ff")
# Emoji shown as emoji by default that had an emoji variation sequence in Unicode 11 all the same
# (emoji-variation-sequences.txt): twemoji takes a U+FE0F after them into the emoji. Newer
# variation sequences (a check mark, a cross) leave their U+FE0F weighing 2 on its own.
_VS16_AFTER_EMOJI: tuple[tuple[int, int], ...] = (
    (0x231A, 0x231B), (0x25FD, 0x25FE), (0x2614, 0x2615), (0x2648, 0x2653), (0x267F, 0x267F),
    (0x2693, 0x2693), (0x26A1, 0x26A1), (0x26AA, 0x26AB), (0x26BD, 0x26BE), (0x26C4, 0x26C5),
    (0x26D4, 0x26D4), (0x26EA, 0x26EA), (0x26F2, 0x26F3), (0x26F5, 0x26F5), (0x26FA, 0x26FA),
    (0x26FD, 0x26FD), (0x2757, 0x2757), (0x2B1B, 0x2B1C), (0x2B50, 0x2B50), (0x2B55, 0x2B55),
    (0x1F004, 0x1F004), (0x1F21A, 0x1F21A), (0x1F22F, 0x1F22F),
)  # fmt: skip
# Where twemoji 11 differs from Unicode's data up to Emoji 11 otherwise, found by running
# twitter-text 3.1.0 on every sequence of the ``emoji`` package's data: it knows the eye in a
# speech bubble only without U+FE0F, the infinity sign only without it, and the gendered "person
# in tuxedo" sequences of Emoji 13 already.
_TWEMOJI_EXTRA = (
    ("\U0001f441\u200d\U0001f5e8",)
    + tuple(
        "\U0001f935" + tone + "\u200d" + sign + "\ufe0f" for tone in _SKIN_TONES for sign in "\u2642\u2640"
    )
    + tuple(chr(cp) + "\ufe0f" for lo, hi in _VS16_AFTER_EMOJI for cp in range(lo, hi + 1))
)
_TWEMOJI_MISSING = frozenset(("\U0001f441\ufe0f\u200d\U0001f5e8\ufe0f", "\u267e\ufe0f", "\u00a9", "\u00ae"))


def _twemoji_sequences() -> list[str]:
    """The emoji twitter-text 3.1.0 weighs as one: every fully-qualified sequence and component
    up to X_EMOJI_VERSION, and the unqualified ones without a ZWJ (a keycap without U+FE0F is
    one). A bare copyright or registered sign is text (twemoji wants U+FE0F after it); other
    bare symbols weigh 2 either way. Each is written in UTF-16 units, as the text it is matched
    against (``x.x_parse``)."""
    sequences = [
        sequence
        for sequence, data in emoji.EMOJI_DATA.items()
        if data["E"] <= X_EMOJI_VERSION
        and (data["status"] <= emoji.STATUS["fully_qualified"] or "\u200d" not in sequence)
        and sequence not in _TWEMOJI_MISSING
    ]
    return [utf16_units(sequence) for sequence in sequences + list(_TWEMOJI_EXTRA)]


@cache
def twemoji_pattern() -> re.Pattern[str]:
    """One emoji, in text written in UTF-16 units, the longest sequence first as in twemoji's
    pattern. Built on first use: loading the emoji data and compiling take some 40 ms."""
    return re.compile(longest_first(_twemoji_sequences()))
