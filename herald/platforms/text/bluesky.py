"""Bluesky: the 300 limit in grapheme clusters (the 3,000 limit is ``utf8_length``), and the
links, hashtags and mentions a post must carry as facets, with UTF-8 byte offsets."""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from dataclasses import dataclass
from typing import Literal

from herald.platforms.text.graphemes import grapheme_length
from herald.platforms.text.units import utf8_length

__all__ = [
    "BLUESKY_TAG_MAX_BYTES",
    "BLUESKY_TAG_MAX_GRAPHEMES",
    "FacetSpan",
    "bluesky_facets",
    "bluesky_length",
]

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
