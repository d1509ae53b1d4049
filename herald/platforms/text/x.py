"""X's weighted length and validity, as twitter-text 3 (config v3, ``parseTweet``) defines them.

The text is NFC-normalised. Each URL (``urls.py``, bare domains included) weighs 23; each
emoji (``twemoji.py``: the sequences twitter-text 3.1.0 knows) weighs 2 however many code
points it has; every other code point weighs 1 inside ``X_LIGHT_RANGES`` (Latin through
Georgian, and the general punctuation spaces, dashes, quotes and primes) and 2 outside (so CJK
and Hangul weigh 2). A post is valid when its weighted length is 1 to 280 and it holds none of
``X_INVALID_CHARACTERS``.

Like twitter-text, the weights are summed in one pass over the text and its entities, with no
grapheme segmentation: a combining mark after a letter weighs as its own code point.

The reference is the published twitter-text 3.1.0: this module and its helpers were compared
with it on thousands of generated texts (URLs, emoji of every Emoji version, CJK, Hangul,
directional marks, invalid characters) and on every sequence of Unicode's emoji data, with no
difference in weighted length or validity.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from herald.platforms.text.twemoji import twemoji_pattern
from herald.platforms.text.units import utf16_units
from herald.platforms.text.urls import INVALID_CHARACTERS, url_spans

__all__ = [
    "X_INVALID_CHARACTERS",
    "X_LIGHT_RANGES",
    "X_MAX_WEIGHTED_LENGTH",
    "X_URL_LENGTH",
    "XParse",
    "x_parse",
    "x_weighted_length",
]

# -- twitter-text config v3 (config/v3.json) ----------------------------------------------------

#: ``maxWeightedTweetLength``: the longest valid post, in weighted characters.
X_MAX_WEIGHTED_LENGTH = 280
#: ``scale``: weights are integers at this scale; a weight of 100 is one character.
X_SCALE = 100
#: ``defaultWeight``: weight of a code point outside ``X_LIGHT_RANGES`` and of one emoji.
X_DEFAULT_WEIGHT = 200
#: Weight of a code point inside ``X_LIGHT_RANGES`` (the ``weight`` of each of ``ranges``).
X_LIGHT_WEIGHT = 100
#: ``ranges`` (inclusive code points): U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F and
#: U+2032-U+2037.
X_LIGHT_RANGES: tuple[tuple[int, int], ...] = (
    (0, 4351),
    (8192, 8205),
    (8208, 8223),
    (8242, 8247),
)
#: ``transformedURLLength``: what every URL counts as (the t.co link).
X_URL_LENGTH = 23
#: twitter-text's ``invalidCharsGroup``: U+FFFE, U+FEFF (the byte order mark) and U+FFFF. Any of
#: them anywhere makes a post invalid. (Older twitter-text releases also refused the directional
#: formatting characters U+202A-U+202E; the current one accepts them, as its conformance suite
#: says, and lets one stand right before a URL.)
X_INVALID_CHARACTERS = INVALID_CHARACTERS

# Runs of code units outside the light ranges: each weighs X_DEFAULT_WEIGHT, not X_LIGHT_WEIGHT.
_HEAVY = re.compile("[^" + "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in X_LIGHT_RANGES) + "]+")
_INVALID = re.compile("[" + "".join(sorted(X_INVALID_CHARACTERS)) + "]")
# Runs of surrogate pairs: each pair is one character above U+FFFF, weighed once.
_PAIRS = re.compile(r"(?:[\ud800-\udbff][\udc00-\udfff])+")


@dataclass(frozen=True)
class XParse:
    """What twitter-text's ``parseTweet`` says of a text (config v3).

    ``weighted_length`` is in characters (a Hangul syllable is 2); ``permillage`` is that length
    per thousand of ``X_MAX_WEIGHTED_LENGTH``, rounded down; ``invalid_characters`` are the
    distinct ``X_INVALID_CHARACTERS`` found, in order of first appearance. ``valid`` is
    twitter-text's answer: not empty, not too long, no invalid character. (X itself takes a
    post with photos and no text; a connector decides that, not this function.)
    """

    weighted_length: int
    valid: bool
    permillage: int
    invalid_characters: tuple[str, ...]


def _units_weight(units: str, start: int, end: int) -> int:
    """Weight (at ``X_SCALE``) of ``units[start:end]``, text outside every URL and emoji. A unit
    outside the light ranges weighs X_DEFAULT_WEIGHT; a surrogate pair weighs that once."""
    heavy = sum(map(len, _HEAVY.findall(units, start, end)))
    pairs = sum(map(len, _PAIRS.findall(units, start, end))) // 2 if heavy else 0
    return (
        (end - start) * X_LIGHT_WEIGHT
        + heavy * (X_DEFAULT_WEIGHT - X_LIGHT_WEIGHT)
        - pairs * X_DEFAULT_WEIGHT
    )


def x_parse(text: str) -> XParse:
    """Weighted length and validity of ``text`` as X's own counter (twitter-text) gives them.

    Like ``parseTweet``, this walks the NFC text in UTF-16 units: a URL weighs X_URL_LENGTH
    where one starts, an emoji X_DEFAULT_WEIGHT where one starts (unless a URL covers it), any
    other character by its range. The result is the same as walking characters, except in the
    corners where JavaScript's units show (a host that starts inside an emoji's surrogate pair).
    """
    normalized = unicodedata.normalize("NFC", text)
    units = utf16_units(normalized)
    entities = [(start, 0, end, X_URL_LENGTH * X_SCALE) for start, end in url_spans(units)]
    entities += [(m.start(), 1, m.end(), X_DEFAULT_WEIGHT) for m in twemoji_pattern().finditer(units)]
    entities.sort()  # by start; a URL before an emoji that starts with it
    total = 0
    position = 0
    for start, _kind, end, weight in entities:
        if start < position:
            continue  # inside the URL or emoji before it: never reached
        total += _units_weight(units, position, start) + weight
        position = end
    total += _units_weight(units, position, len(units))
    weighted = total // X_SCALE
    invalid = tuple(dict.fromkeys(_INVALID.findall(normalized)))
    return XParse(
        weighted_length=weighted,
        valid=not invalid and 0 < weighted <= X_MAX_WEIGHTED_LENGTH,
        permillage=weighted * 1000 // X_MAX_WEIGHTED_LENGTH,
        invalid_characters=invalid,
    )


def x_weighted_length(text: str) -> int:
    """Length of ``text`` as X counts it against its 280 limit, in characters: an ASCII letter
    is 1, a Hangul syllable or CJK ideograph 2, an emoji sequence (skin tones, ZWJ families,
    flags, keycaps included) 2, and every URL 23, bare domains such as ``example.com`` too."""
    return x_parse(text).weighted_length
