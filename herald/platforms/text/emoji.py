"""Emoji sequences by Unicode's properties (Threads counts each as its UTF-8 bytes).

A sequence starts with an Extended_Pictographic code point, a regional indicator (a pair is a
flag), a keycap base followed by U+20E3, or a lone skin-tone modifier, and goes on with
variation selector 16, skin-tone modifiers, tag characters (subdivision flags) and ZWJ +
pictograph. The Unicode properties come from the ``regex`` package, so new emoji are known as
soon as ``regex`` knows their Unicode version.

Any well-formed sequence counts, made-up ZWJ sequences included. ``©``, ``®``, ``™`` and ``♟``
are emoji only when followed by U+FE0F; any pictograph followed by U+FE0E (text presentation)
is text. X counts with its own, older list of emoji: ``twemoji.py``.
"""

from __future__ import annotations

import regex

__all__ = ["EMOJI_SEQUENCE", "emoji_prefix"]

# Text-presentation characters counted as emoji only with U+FE0F (as twemoji does).
_ONLY_WITH_VS16 = r"\u00a9\u00ae\u2122\u265f"
# What may follow a pictograph inside one sequence: VS16, the keycap mark, skin tones, tags.
_TRAILER = r"[\ufe0f\u20e3\p{Emoji_Modifier}\U000e0020-\U000e007f]"

#: One emoji sequence, matched from where it starts.
EMOJI_SEQUENCE = regex.compile(
    rf"""
      \p{{Regional_Indicator}}{{1,2}}                # a flag, or a lone regional indicator
    | [\#*0-9]\ufe0f?\u20e3                         # a keycap
    | \p{{Emoji_Modifier}}                          # a skin-tone swatch on its own
    | (?: [{_ONLY_WITH_VS16}]\ufe0f
        | (?![{_ONLY_WITH_VS16}])\p{{Extended_Pictographic}}(?!\ufe0e)
      )
      {_TRAILER}*
      (?:\u200d\p{{Extended_Pictographic}}{_TRAILER}*)*   # ZWJ sequences: families, flags...
    """,
    regex.VERBOSE,
)


def emoji_prefix(code_points: list[int]) -> int:
    """How many of ``code_points`` (one grapheme cluster, say) form an emoji sequence at its
    start; 0 when it does not start with one."""
    match = EMOJI_SEQUENCE.match("".join(map(chr, code_points)))
    if match is None:
        return 0
    end: int = match.end()
    return end
