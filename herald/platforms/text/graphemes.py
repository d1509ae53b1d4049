"""Extended grapheme clusters (Unicode UAX #29): what a reader sees as one character.

The segmentation is the ``regex`` package's ``\\X``, which implements every rule of UAX #29
(the Indic conjunct rule GB9c included) with the Unicode data of its release: a new Unicode
version reaches Herald by upgrading ``regex``, with no table of ours to edit. Bluesky (300) and
Mastodon (500) count their limits in these clusters.
"""

from __future__ import annotations

import regex

__all__ = ["grapheme_length", "graphemes"]

_CLUSTER = regex.compile(r"\X")

#: A code point that can share a cluster with a neighbour, or CR LF. Every rule of UAX #29 that
#: joins two code points (GB3, GB6-GB9c, GB11-GB13) has one of these on one side, so a text with
#: none of them has exactly one cluster per code point. Most Latin, Hangul syllable and CJK text
#: is such a text, and one C-level search tells so without building the clusters.
_MAY_JOIN = regex.compile(
    r"[\p{Grapheme_Cluster_Break=Extend}\p{Grapheme_Cluster_Break=ZWJ}"
    r"\p{Grapheme_Cluster_Break=SpacingMark}\p{Grapheme_Cluster_Break=Prepend}"
    r"\p{Grapheme_Cluster_Break=Regional_Indicator}\p{Grapheme_Cluster_Break=L}"
    r"\p{Grapheme_Cluster_Break=V}\p{Grapheme_Cluster_Break=T}]|\r\n"
)


def _one_per_code_point(text: str) -> bool:
    # ASCII joins nothing but CR LF, and str.isascii() is far cheaper than the search.
    if text.isascii():
        return "\r\n" not in text
    return _MAY_JOIN.search(text) is None


def graphemes(text: str) -> list[str]:
    """``text`` split into extended grapheme clusters: ``e`` + U+0301 is one, a family emoji
    joined with ZWJ is one, a flag (two regional indicators) is one, CR LF is one."""
    if _one_per_code_point(text):
        return list(text)
    clusters: list[str] = _CLUSTER.findall(text)
    return clusters


def grapheme_length(text: str) -> int:
    """Number of extended grapheme clusters in ``text`` (``len(graphemes(text))``)."""
    if _one_per_code_point(text):
        return len(text)
    count: int = len(_CLUSTER.findall(text))
    return count
