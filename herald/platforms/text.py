"""The platforms' own ways of counting text: pure functions, no I/O, no Herald imports.

- ``x_weighted_length``: X (twitter-text config v3). The text is NFC-normalised; each code point
  in U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F or U+2032-U+2037 weighs 1 and every other
  code point 2 (so CJK and Hangul weigh 2); each emoji sequence weighs 2 however many code points
  it has; each URL weighs 23 (t.co), whatever its length.
- ``mastodon_length``: Mastodon's ``StatusLengthValidator``. Extended grapheme clusters, after
  every ``http(s)://`` URL is replaced by 23 characters and every remote mention
  ``@user@domain`` by ``@user``. Text that is only white space counts 0 (Ruby's ``blank?``).
- ``grapheme_length``: extended grapheme clusters (UAX #29), approximated with ``unicodedata``.
- ``utf8_length``: bytes of UTF-8 (Bluesky's facet offsets and byte limits).
- ``find_urls``: the URLs the counters give a fixed length.
- ``bluesky_length``: Bluesky's 300 limit counts extended grapheme clusters (its 3,000 limit is
  ``utf8_length``); ``bluesky_facets`` finds the links, hashtags and mentions a post must carry
  as facets, with UTF-8 byte offsets.
- ``utf16_length`` / ``telegram_length``: UTF-16 code units (Telegram's text and caption limits,
  and the unit of its entity offsets; also what a Java or JavaScript ``length`` says).
- ``linkedin_escape`` / ``linkedin_unescape``: LinkedIn's "little text" escaping of reserved
  characters in ``commentary``.

Approximations, on purpose and documented here so nobody mistakes them for the real thing:

- URLs: only ``http://`` and ``https://`` URLs, plus bare ``www.`` URLs for X. twitter-text also
  links bare domains with a known top-level domain (``example.com``, ``t.co``) and X counts them
  as 23; we do not carry IANA's TLD list, so such a bare domain counts as its own characters here.
  Host names are checked for shape (labels of at most 63 characters, a top-level domain of
  letters), not against the TLD list; a path ends where twitter-text's does (letters outside
  Latin and Cyrillic, white space and quotes end it; trailing punctuation is not part of it).
- Emoji: a sequence counts as one emoji when it starts with an Extended_Pictographic code point
  (a table of ranges below, from Unicode's emoji-data), a regional-indicator pair or a keycap, and
  continues with variation selector 16, skin-tone modifiers, tag characters or ZWJ + pictograph.
  twemoji (which twitter-text uses) only knows the sequences it has images for, so a brand-new or
  made-up ZWJ sequence may count more on X than here. ``©``, ``®``, ``™`` and ``♟`` are emoji
  only when followed by U+FE0F, as in twemoji; any pictograph followed by U+FE0E is text.
- Graphemes: UAX #29 rules GB1-GB13 and GB999 with the property tables approximated from
  ``unicodedata`` general categories (Mn/Me/Mc extend a cluster, Cc/Cf/Zl/Zp/Cs are controls)
  plus the Hangul, regional-indicator, Prepend and emoji tables below. The Indic conjunct rule
  GB9c (Unicode 15.1) is not implemented: a virama conjunct counts as more than one cluster here.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

__all__ = [
    "LINKEDIN_RESERVED",
    "MASTODON_URL_LENGTH",
    "X_URL_LENGTH",
    "FacetSpan",
    "bluesky_facets",
    "bluesky_length",
    "find_urls",
    "grapheme_length",
    "graphemes",
    "linkedin_escape",
    "linkedin_unescape",
    "mastodon_length",
    "telegram_length",
    "utf16_length",
    "utf8_length",
    "x_weighted_length",
]

# -- X: twitter-text config v3 ------------------------------------------------------------------

#: Weights are integers at this scale (config ``scale``); a weight of 100 is one character.
X_SCALE = 100
#: Weight of every code point outside ``X_LIGHT_RANGES`` and of one emoji sequence.
X_DEFAULT_WEIGHT = 200
#: Weight of a code point inside ``X_LIGHT_RANGES``.
X_LIGHT_WEIGHT = 100
#: Code point ranges (inclusive) that weigh ``X_LIGHT_WEIGHT``: Latin through Georgian, and
#: the general punctuation spaces, dashes, quotes and primes.
X_LIGHT_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x10FF),
    (0x2000, 0x200D),
    (0x2010, 0x201F),
    (0x2032, 0x2037),
)
#: Characters every URL counts as on X (``transformedURLLength``, the t.co link).
X_URL_LENGTH = 23

#: Characters every URL counts as on Mastodon (``StatusLengthValidator::URL_PLACEHOLDER``).
MASTODON_URL_LENGTH = 23

# -- Unicode tables -----------------------------------------------------------------------------

# Extended_Pictographic (emoji-data.txt), as inclusive ranges sorted by start.
_PICTOGRAPHIC: tuple[tuple[int, int], ...] = (
    (0x00A9, 0x00A9),
    (0x00AE, 0x00AE),
    (0x203C, 0x203C),
    (0x2049, 0x2049),
    (0x2122, 0x2122),
    (0x2139, 0x2139),
    (0x2194, 0x2199),
    (0x21A9, 0x21AA),
    (0x231A, 0x231B),
    (0x2328, 0x2328),
    (0x2388, 0x2388),
    (0x23CF, 0x23CF),
    (0x23E9, 0x23F3),
    (0x23F8, 0x23FA),
    (0x24C2, 0x24C2),
    (0x25AA, 0x25AB),
    (0x25B6, 0x25B6),
    (0x25C0, 0x25C0),
    (0x25FB, 0x25FE),
    (0x2600, 0x2605),
    (0x2607, 0x2612),
    (0x2614, 0x2685),
    (0x2690, 0x2705),
    (0x2708, 0x2712),
    (0x2714, 0x2714),
    (0x2716, 0x2716),
    (0x271D, 0x271D),
    (0x2721, 0x2721),
    (0x2728, 0x2728),
    (0x2733, 0x2734),
    (0x2744, 0x2744),
    (0x2747, 0x2747),
    (0x274C, 0x274C),
    (0x274E, 0x274E),
    (0x2753, 0x2755),
    (0x2757, 0x2757),
    (0x2763, 0x2767),
    (0x2795, 0x2797),
    (0x27A1, 0x27A1),
    (0x27B0, 0x27B0),
    (0x27BF, 0x27BF),
    (0x2934, 0x2935),
    (0x2B05, 0x2B07),
    (0x2B1B, 0x2B1C),
    (0x2B50, 0x2B50),
    (0x2B55, 0x2B55),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x3297, 0x3297),
    (0x3299, 0x3299),
    (0x1F000, 0x1F0FF),
    (0x1F10D, 0x1F10F),
    (0x1F12F, 0x1F12F),
    (0x1F16C, 0x1F171),
    (0x1F17E, 0x1F17F),
    (0x1F18E, 0x1F18E),
    (0x1F191, 0x1F19A),
    (0x1F1AD, 0x1F1E5),
    (0x1F201, 0x1F20F),
    (0x1F21A, 0x1F21A),
    (0x1F22F, 0x1F22F),
    (0x1F232, 0x1F23A),
    (0x1F23C, 0x1F23F),
    (0x1F249, 0x1F3FA),
    (0x1F400, 0x1F53D),
    (0x1F546, 0x1F64F),
    (0x1F680, 0x1F6FF),
    (0x1F774, 0x1F77F),
    (0x1F7D5, 0x1F7FF),
    (0x1F80C, 0x1F80F),
    (0x1F848, 0x1F84F),
    (0x1F85A, 0x1F85F),
    (0x1F888, 0x1F88F),
    (0x1F8AE, 0x1F8FF),
    (0x1F90C, 0x1F93A),
    (0x1F93C, 0x1F945),
    (0x1F947, 0x1FAFF),
    (0x1FC00, 0x1FFFD),
)
_PICTOGRAPHIC_STARTS = tuple(start for start, _ in _PICTOGRAPHIC)

# Grapheme_Cluster_Break=Prepend (GraphemeBreakProperty.txt).
_PREPEND: tuple[tuple[int, int], ...] = (
    (0x0600, 0x0605),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x0D4E, 0x0D4E),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x111C2, 0x111C3),
    (0x1193F, 0x1193F),
    (0x11941, 0x11941),
    (0x11A3A, 0x11A3A),
    (0x11A84, 0x11A89),
    (0x11D46, 0x11D46),
    (0x11F02, 0x11F02),
)

_ZWNJ = 0x200C
_ZWJ_CP = 0x200D
_VS15 = 0xFE0E
_VS16 = 0xFE0F
_KEYCAP = 0x20E3
_MODIFIERS = (0x1F3FB, 0x1F3FF)  # skin tones: Extend, and emoji components
_TAGS = (0xE0020, 0xE007F)  # tag characters of subdivision flags: Extend
_REGIONAL = (0x1F1E6, 0x1F1FF)
_KEYCAP_BASES = frozenset(map(ord, "#*0123456789"))
# Text-presentation characters that twemoji treats as emoji only with U+FE0F.
_EMOJI_ONLY_WITH_VS16 = frozenset((0x00A9, 0x00AE, 0x2122, 0x265F))

# Grapheme_Cluster_Break values.
_OTHER, _CR, _LF, _CONTROL, _EXTEND, _ZWJ, _RI, _PREPEND_GCB, _SPACING = range(9)
_L, _V, _T, _LV, _LVT = range(9, 14)

_HANGUL_BASE = 0xAC00
_HANGUL_LAST = 0xD7A3
_HANGUL_T_COUNT = 28  # trailing consonants + "none": LV syllables are multiples of 28 from AC00


def _in(cp: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= cp <= hi for lo, hi in ranges)


def _is_pictographic(cp: int) -> bool:
    i = bisect_right(_PICTOGRAPHIC_STARTS, cp) - 1
    return i >= 0 and cp <= _PICTOGRAPHIC[i][1]


def _is_regional(cp: int) -> bool:
    return _REGIONAL[0] <= cp <= _REGIONAL[1]


@lru_cache(maxsize=4096)
def _break_class(ch: str) -> int:
    """Grapheme_Cluster_Break of ``ch``, approximated from its general category."""
    cp = ord(ch)
    if cp == 0x0D:
        return _CR
    if cp == 0x0A:
        return _LF
    if cp == _ZWJ_CP:
        return _ZWJ
    if _is_regional(cp):
        return _RI
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C:
        return _L
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return _V
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return _T
    if _HANGUL_BASE <= cp <= _HANGUL_LAST:
        return _LV if (cp - _HANGUL_BASE) % _HANGUL_T_COUNT == 0 else _LVT
    if _in(cp, _PREPEND):
        return _PREPEND_GCB
    category = unicodedata.category(ch)
    if (
        category in ("Mn", "Me")
        or cp == _ZWNJ
        or 0xFF9E <= cp <= 0xFF9F  # halfwidth katakana sound marks
        or _MODIFIERS[0] <= cp <= _MODIFIERS[1]
        or _TAGS[0] <= cp <= _TAGS[1]
    ):
        return _EXTEND
    if category == "Mc" or cp in (0x0E33, 0x0EB3):  # Thai and Lao SARA AM are SpacingMark
        return _SPACING
    if category in ("Cc", "Cf", "Zl", "Zp", "Cs"):
        return _CONTROL
    if category == "Cn" and (cp == 0x2065 or 0xFFF0 <= cp <= 0xFFF8 or 0xE0000 <= cp <= 0xE0FFF):
        return _CONTROL  # unassigned default-ignorable code points
    return _OTHER


#: Break classes that never join a neighbour of these same classes (no rule GB3-GB13 applies
#: between any two of them, CR LF aside): a text made only of them has one cluster per code
#: point. Most Latin, Hangul (precomposed syllables) and CJK text is such a text.
_STANDALONE = frozenset((_OTHER, _CR, _LF, _CONTROL, _LV, _LVT))


def _cluster_ends(text: str) -> list[int]:
    """End offsets of the extended grapheme clusters of ``text`` (UAX #29, approximated)."""
    if "\r\n" not in text and all(_break_class(ch) in _STANDALONE for ch in set(text)):
        return list(range(1, len(text) + 1))  # the common case, without the per-pair rules
    return _cluster_ends_by_rules(text)


def _cluster_ends_by_rules(text: str) -> list[int]:
    """``_cluster_ends`` by applying the rules to every pair of neighbours."""
    ends: list[int] = []
    if not text:
        return ends
    prev = _break_class(text[0])
    regional_run = 1 if prev == _RI else 0
    # GB11 state: the text so far ends with ExtPict Extend*; and the last ZWJ followed that.
    after_pictograph = _is_pictographic(ord(text[0]))
    zwj_after_pictograph = False
    for i in range(1, len(text)):
        ch = text[i]
        cur = _break_class(ch)
        pictographic = _is_pictographic(ord(ch))
        if prev == _CR and cur == _LF:
            join = True  # GB3
        elif prev in (_CR, _LF, _CONTROL) or cur in (_CR, _LF, _CONTROL):
            join = False  # GB4, GB5
        elif prev == _L and cur in (_L, _V, _LV, _LVT):
            join = True  # GB6
        elif prev in (_LV, _V) and cur in (_V, _T):
            join = True  # GB7
        elif prev in (_LVT, _T) and cur == _T:
            join = True  # GB8
        elif cur in (_EXTEND, _ZWJ, _SPACING):
            join = True  # GB9, GB9a
        elif prev == _PREPEND_GCB:
            join = True  # GB9b
        elif prev == _ZWJ and zwj_after_pictograph and pictographic:
            join = True  # GB11
        elif prev == _RI and cur == _RI and regional_run % 2 == 1:
            join = True  # GB12, GB13
        else:
            join = False  # GB999
        if not join:
            ends.append(i)
        regional_run = regional_run + 1 if cur == _RI else 0
        if cur == _ZWJ:
            zwj_after_pictograph = after_pictograph
        if pictographic:
            after_pictograph = True
        elif cur != _EXTEND:
            after_pictograph = False
        prev = cur
    ends.append(len(text))
    return ends


def graphemes(text: str) -> list[str]:
    """``text`` split into extended grapheme clusters (what a reader sees as characters)."""
    out: list[str] = []
    start = 0
    for end in _cluster_ends(text):
        out.append(text[start:end])
        start = end
    return out


def grapheme_length(text: str) -> int:
    """Number of extended grapheme clusters in ``text``: ``e`` + U+0301 is 1, a family emoji
    joined with ZWJ is 1, a flag (two regional indicators) is 1, CR LF is 1."""
    return len(_cluster_ends(text))


def utf8_length(text: str) -> int:
    """Bytes of ``text`` in UTF-8. A lone surrogate (which no platform accepts) counts 3."""
    return len(text.encode("utf-8", "surrogatepass"))


# -- URLs ---------------------------------------------------------------------------------------

# One host label: letters or digits at both ends, at most 63 characters (RFC 1035).
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
# A top-level domain: ASCII letters (or punycode), or a run of non-ASCII letters (IDN TLDs).
_TLD = r"(?:(?:xn--[a-z0-9-]{1,59}|[a-z]{2,63})(?![a-z0-9_-])|[^\W\d_a-z]{2,63}(?![\w-]))"
_HOST = rf"(?:(?:{_LABEL}\.)+{_TLD}|\d{{1,3}}(?:\.\d{{1,3}}){{3}}(?![\w.])|\[[0-9a-f:.]+\])"
# Characters twitter-text allows in a path or query: ASCII URL characters, Latin letters with
# accents, Cyrillic and the en dash. Anything else (CJK, Hangul, spaces, quotes) ends the URL.
_PATH_CHARS = r"[a-z0-9!*';:=+,.$/%#\[\]\-_~|&@?()\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0400-\u04ff\u2013]"
_URL_RE = re.compile(
    rf"""
    (?:
        (?<![a-z0-9@$#\uff20\uff03])https?://   # not glued to a word, a mention or a hashtag
        (?:[a-z0-9._~%!$&'*+,;=:-]+@)?           # user info
      | (?<![a-z0-9@$#\uff20\uff03_./-])(?=www\.)
    )
    (?P<host>{_HOST})
    (?::\d{{1,5}}(?!\d))?
    (?:[/?#]{_PATH_CHARS}*)?
    """,
    re.IGNORECASE | re.VERBOSE,
)
# A URL may end in one of these (twitter-text's path and query ending characters); other
# trailing punctuation belongs to the sentence, not to the URL.
_URL_END_RE = re.compile(r"[a-z0-9=_#/+&\-\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0400-\u04ff]", re.I)
_MAX_LABEL_LENGTH = 63  # RFC 1035, counted after punycode encoding for non-ASCII labels


def _host_is_valid(host: str) -> bool:
    """A non-ASCII label must still fit in 63 characters once punycode-encoded (``xn--...``),
    as twitter-text checks: a long Japanese host name is text, not a link."""
    for label in host.split("."):
        if label.isascii():
            continue
        try:
            encoded = "xn--" + label.encode("punycode").decode("ascii")
        except UnicodeError:
            return False
        if len(encoded) > _MAX_LABEL_LENGTH:
            return False
    return True


def find_urls(text: str, *, www: bool = True) -> list[tuple[int, int, str]]:
    """The URLs in ``text`` as ``(start, end, url)``, offsets in code points (``text[start:end]``
    is ``url``).

    Only ``http://`` and ``https://`` URLs, plus bare ``www.`` URLs when ``www`` is true (X
    links them; Mastodon does not). Bare domains such as ``example.com`` are not found: see the
    module docstring. Trailing sentence punctuation is left out and a closing parenthesis is
    kept only when it balances one in the URL (Wikipedia links).
    """
    found: list[tuple[int, int, str]] = []
    for match in _URL_RE.finditer(text):
        if not www and match.group(0)[:1] in "wW":
            continue
        if not _host_is_valid(match.group("host")):
            continue
        start, end = match.span()
        floor = match.end("host")
        opened = text.count("(", start, end)
        closed = text.count(")", start, end)
        while end > floor:
            last = text[end - 1]
            if last == ")":
                if opened >= closed:
                    break
                closed -= 1
            elif last == "(":
                opened -= 1
            elif _URL_END_RE.fullmatch(last):
                break
            end -= 1
        found.append((start, end, text[start:end]))
    return found


# -- X ------------------------------------------------------------------------------------------


def _x_code_point_weight(cp: int) -> int:
    return X_LIGHT_WEIGHT if _in(cp, X_LIGHT_RANGES) else X_DEFAULT_WEIGHT


def _emoji_prefix(cps: list[int]) -> int:
    """How many code points at the start of one grapheme cluster form an emoji sequence."""
    first = cps[0]
    n = len(cps)
    if _is_regional(first):
        return 2 if n > 1 and _is_regional(cps[1]) else 1
    if first in _KEYCAP_BASES:
        i = 2 if n > 1 and cps[1] == _VS16 else 1
        return i + 1 if i < n and cps[i] == _KEYCAP else 0
    if _MODIFIERS[0] <= first <= _MODIFIERS[1]:
        return 1  # a lone skin-tone swatch is an emoji of its own
    if not _is_pictographic(first):
        return 0
    if n > 1 and cps[1] == _VS15:
        return 0  # text presentation asked for
    if first in _EMOJI_ONLY_WITH_VS16 and not (n > 1 and cps[1] == _VS16):
        return 0
    i = 1
    while True:
        while i < n and (
            cps[i] in (_VS16, _KEYCAP)
            or _MODIFIERS[0] <= cps[i] <= _MODIFIERS[1]
            or _TAGS[0] <= cps[i] <= _TAGS[1]
        ):
            i += 1
        if i + 1 < n and cps[i] == _ZWJ_CP and _is_pictographic(cps[i + 1]):
            i += 2
            continue
        return i


def _x_plain_weight(text: str) -> int:
    """Weight (at ``X_SCALE``) of text that holds no URL."""
    total = 0
    start = 0
    for end in _cluster_ends(text):
        cps = [ord(ch) for ch in text[start:end]]
        emoji = _emoji_prefix(cps)
        if emoji:
            total += X_DEFAULT_WEIGHT
        total += sum(_x_code_point_weight(cp) for cp in cps[emoji:])
        start = end
    return total


def x_weighted_length(text: str) -> int:
    """Length of ``text`` as X counts it against its 280 limit (twitter-text config v3), in
    characters: an ASCII letter is 1, a Hangul syllable or CJK ideograph 2, an emoji sequence
    (skin tones, ZWJ families, flags, keycaps included) 2, and every URL 23."""
    normalized = unicodedata.normalize("NFC", text)
    total = 0
    position = 0
    for start, end, _url in find_urls(normalized):
        total += _x_plain_weight(normalized[position:start]) + X_URL_LENGTH * X_SCALE
        position = end
    total += _x_plain_weight(normalized[position:])
    return total // X_SCALE


# -- Mastodon -----------------------------------------------------------------------------------

# A remote mention: "@user@domain"; it counts as "@user". Not after "=", "/" or a word character
# (so not inside e-mail addresses and URLs).
_REMOTE_MENTION_RE = re.compile(
    r"(?<![=/\w])@(?P<user>[a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)@(?P<domain>\w+(?:[.-]+\w+)*)",
    re.IGNORECASE,
)
# Mastodon drops a "mention" followed by another at sign or by "://".
_MENTION_END_RE = re.compile(r"@|\uff20|://")
_MAX_DOMAIN_LENGTH = 253  # longest DNS name; Mastodon ignores mentions with longer domains


def _shorten_remote_mentions(text: str) -> str:
    def shorten(match: re.Match[str]) -> str:
        if len(match.group("domain")) > _MAX_DOMAIN_LENGTH or _MENTION_END_RE.match(text, match.end()):
            return match.group(0)
        return "@" + match.group("user")

    return _REMOTE_MENTION_RE.sub(shorten, text)


def mastodon_length(text: str, *, url_length: int = MASTODON_URL_LENGTH) -> int:
    """Length of ``text`` as Mastodon counts it against its limit (500 by default): grapheme
    clusters, every ``http(s)://`` URL counted as ``url_length`` (the instance's
    ``characters_reserved_per_url``), every ``@user@domain`` as ``@user``.

    A content warning counts toward the same limit, as plain graphemes (Mastodon shortens no URL
    or mention in it): add ``grapheme_length(spoiler_text)``.
    """
    if not text or text.isspace():
        return 0  # Mastodon counts blank text as empty
    parts: list[str] = []
    position = 0
    for start, end, _url in find_urls(text, www=False):
        parts.append(_shorten_remote_mentions(text[position:start]))
        parts.append("x" * url_length)
        position = end
    parts.append(_shorten_remote_mentions(text[position:]))
    return grapheme_length("".join(parts))


# -- UTF-16 and Telegram ------------------------------------------------------------------------


def utf16_length(text: str) -> int:
    """UTF-16 code units of ``text``: 1 per code point in the Basic Multilingual Plane (Hangul,
    CJK, Latin), 2 per code point above it (most emoji). A lone surrogate counts 1."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def telegram_length(text: str) -> int:
    """Length of plain ``text`` as Telegram checks it against 4,096 (a message) or 1,024 (a
    caption): UTF-16 code units after entity parsing. Telegram's documentation says
    "characters"; its entity offsets are UTF-16 units and clients count the limits the same
    way. With a ``parse_mode`` the markup is parsed away before counting, so counting the raw
    text (as here) can only over-count: a safe bound, never a false "fits"."""
    return utf16_length(text)


# -- Bluesky ------------------------------------------------------------------------------------

#: app.bsky.richtext.facet#tag: ``maxGraphemes`` 64, ``maxLength`` 640 bytes. A longer "tag"
#: is left as plain text, as the Bluesky app does.
BLUESKY_TAG_MAX_GRAPHEMES = 64
BLUESKY_TAG_MAX_BYTES = 640
#: Longest handle (a DNS name), characters.
_BLUESKY_HANDLE_MAX = 253

# The Bluesky app links text only where it starts a word: at the start, after white space or
# after "(" (links, mentions) and at the start or after white space (tags). ``(?<![^\s(])`` is
# "not preceded by anything other than white space or an opening parenthesis".
_BSKY_LINK_RE = re.compile(r"(?<![^\s(])https?://\S+", re.IGNORECASE)
_BSKY_MENTION_RE = re.compile(r"(?<![^\s(])@([a-zA-Z0-9.-]+)")
# Invisible characters that end a tag as white space does (soft hyphen, word joiner, hair and
# zero-width spaces, joiners, enclosing keycap).
_BSKY_TAG_STOP = "\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
_BSKY_TAG_RE = re.compile(rf"(?<!\S)([#\uff03])([^\s{_BSKY_TAG_STOP}]+)")
# A handle: DNS labels of 1-63 letters, digits and inner hyphens; at least two labels; the
# last one (the top-level domain) starts with a letter (atproto handle syntax).
_HANDLE_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_BSKY_HANDLE_RE = re.compile(rf"(?:{_HANDLE_LABEL}\.)+[a-zA-Z](?:[a-zA-Z0-9-]{{0,61}}[a-zA-Z0-9])?")
# Punctuation that ends a sentence rather than a link; closing brackets only when unbalanced.
_BSKY_LINK_TRAILING = frozenset(".,;:!?'\"\u3002\u3001\uff0c\uff01\uff1f\uff1a\uff1b")
_BSKY_LINK_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<", "\u300d": "\u300c", "\u300f": "\u300e"}


@dataclass(frozen=True)
class FacetSpan:
    """One rich-text span of a Bluesky post. ``byte_start``/``byte_end`` are UTF-8 byte offsets
    into the text (end exclusive), as facets carry them. ``value`` is the full URL of a
    ``link``, the tag of a ``tag`` without its ``#``, or the handle of a ``mention`` without
    its ``@`` (a connector resolves it to a DID)."""

    kind: Literal["link", "tag", "mention"]
    byte_start: int
    byte_end: int
    value: str


def bluesky_length(text: str) -> int:
    """Length of ``text`` as Bluesky checks it against 300: extended grapheme clusters, URLs at
    full length (Bluesky shortens nothing). The other limit, 3,000 bytes, is ``utf8_length``."""
    return grapheme_length(text)


def _trim_link(url: str) -> str:
    while url:
        last = url[-1]
        opener = _BSKY_LINK_CLOSERS.get(last)
        if last in _BSKY_LINK_TRAILING or (opener is not None and url.count(opener) < url.count(last)):
            url = url[:-1]
        else:
            break
    return url


def _has_host(url: str) -> bool:
    try:
        host = urllib.parse.urlsplit(url).hostname
    except ValueError:  # a malformed bracketed IPv6 host
        return False
    return bool(host) and any(ch.isalnum() for ch in host or "")


def _is_tag(tag: str) -> bool:
    return (
        any(ch not in "0123456789" and not unicodedata.category(ch).startswith("P") for ch in tag)
        and grapheme_length(tag) <= BLUESKY_TAG_MAX_GRAPHEMES
        and utf8_length(tag) <= BLUESKY_TAG_MAX_BYTES
    )


def bluesky_facets(text: str) -> list[FacetSpan]:
    """The links, hashtags and mentions in ``text`` that a Bluesky post must carry as facets
    (the server detects none), sorted, never overlapping, with UTF-8 byte offsets.

    The rules are the Bluesky app's, so that a post made by Herald links what the same text
    typed in the app would link:

    - a link is ``http://`` or ``https://`` at the start of a word (or after ``(``) running to
      the next white space, less trailing sentence punctuation and unbalanced closing brackets;
      bare domains are not linked here;
    - a mention is ``@`` at the start of a word (or after ``(``) followed by a syntactically
      valid handle (``alice.bsky.social``); a trailing ``.`` or ``-`` ends the sentence, not the
      handle, and a handle glued to other text (``@alice.bsky.social님``) still counts;
    - a tag is ``#`` or ``＃`` at the start of a word, running to white space, less trailing
      punctuation; it needs one character that is neither a digit nor punctuation (``#1`` is
      not a tag), may not start with U+FE0F (the keycap ``#️⃣``) and must fit 64 graphemes
      and 640 bytes.
    """
    found: list[tuple[int, int, Literal["link", "tag", "mention"], str]] = []
    for match in _BSKY_LINK_RE.finditer(text):
        url = _trim_link(match.group(0))
        if _has_host(url):
            found.append((match.start(), match.start() + len(url), "link", url))
    for match in _BSKY_MENTION_RE.finditer(text):
        handle = match.group(1).rstrip(".-")
        if len(handle) <= _BLUESKY_HANDLE_MAX and _BSKY_HANDLE_RE.fullmatch(handle):
            found.append((match.start(), match.start(1) + len(handle), "mention", handle))
    for match in _BSKY_TAG_RE.finditer(text):
        tag = match.group(2)
        if tag.startswith("\ufe0f"):
            continue
        while tag and unicodedata.category(tag[-1]).startswith("P"):
            tag = tag[:-1]
        if tag and _is_tag(tag):
            found.append((match.start(), match.start(2) + len(tag), "tag", tag))
    found.sort()
    spans: list[FacetSpan] = []
    end_of_last = 0
    byte_of_last = (0, 0)  # (character offset, its byte offset): encode each stretch once
    for start, end, kind, value in found:
        if start < end_of_last:
            continue  # overlaps the span before (cannot happen with the rules above; cheap to keep)
        position, byte_position = byte_of_last
        byte_start = byte_position + utf8_length(text[position:start])
        byte_end = byte_start + utf8_length(text[start:end])
        spans.append(FacetSpan(kind, byte_start, byte_end, value))
        end_of_last = end
        byte_of_last = (end, byte_end)
    return spans


# -- LinkedIn -----------------------------------------------------------------------------------

#: Characters LinkedIn's "little text" format reserves in ``commentary``. Unescaped, LinkedIn
#: reads them as markup (mentions, hashtag templates) or silently cuts the text at the first one.
LINKEDIN_RESERVED = frozenset("|{}@[]()<>#*_~\\")


def linkedin_escape(text: str) -> str:
    """``text`` as plain little text: every reserved character preceded by a backslash, so
    LinkedIn shows exactly ``text`` (no mention, hashtag template or truncation)."""
    return "".join("\\" + ch if ch in LINKEDIN_RESERVED else ch for ch in text)


def linkedin_unescape(text: str) -> str:
    """The text a little-text string shows: each backslash makes the next character literal.
    ``linkedin_unescape(linkedin_escape(t)) == t`` for every ``t``."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)
