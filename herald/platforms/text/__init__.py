"""The platforms' own ways of counting text: pure functions, no I/O, one module per concern.

- ``x``: X's weighted length and validity (twitter-text config v3): ``x_weighted_length``,
  ``x_parse``.
- ``urls``: the URLs X and Mastodon count at a fixed length (``find_urls``), found with
  twitter-text's rules and its list of top-level domains (``tlds``), bare domains included.
- ``twemoji``: the emoji X weighs as 2 (twitter-text 3.1.0's, from the ``emoji`` package's data).
- ``emoji``: emoji sequences by Unicode's properties (Threads counts each as its UTF-8 bytes).
- ``graphemes``: extended grapheme clusters (UAX #29) through the ``regex`` package's ``\\X``.
- ``mastodon``: Mastodon's ``StatusLengthValidator`` (``mastodon_length``).
- ``bluesky``: Bluesky's grapheme limit and the facets a post must carry (``bluesky_facets``).
- ``units``: UTF-8 bytes and UTF-16 code units; ``telegram``: Telegram's length in the latter.
- ``tlds``: twitter-text's list of top-level domains, as data.
- ``linkedin``: LinkedIn's "little text" escaping.

Each module's docstring says where it follows the platform exactly and where it approximates,
and why.
"""

from __future__ import annotations

from herald.platforms.text.bluesky import (
    BLUESKY_TAG_MAX_BYTES,
    BLUESKY_TAG_MAX_GRAPHEMES,
    FacetSpan,
    bluesky_facets,
    bluesky_length,
)
from herald.platforms.text.emoji import emoji_prefix
from herald.platforms.text.graphemes import grapheme_length, graphemes
from herald.platforms.text.linkedin import LINKEDIN_RESERVED, linkedin_escape, linkedin_unescape
from herald.platforms.text.mastodon import MASTODON_URL_LENGTH, mastodon_length
from herald.platforms.text.telegram import telegram_length
from herald.platforms.text.twemoji import X_EMOJI_VERSION
from herald.platforms.text.units import utf8_length, utf16_length
from herald.platforms.text.urls import find_urls
from herald.platforms.text.x import (
    X_INVALID_CHARACTERS,
    X_MAX_WEIGHTED_LENGTH,
    X_URL_LENGTH,
    XParse,
    x_parse,
    x_weighted_length,
)

# The name platforms/threads.py imports (from before the split); ``emoji_prefix`` is the same.
_emoji_prefix = emoji_prefix

__all__ = [
    "BLUESKY_TAG_MAX_BYTES",
    "BLUESKY_TAG_MAX_GRAPHEMES",
    "LINKEDIN_RESERVED",
    "MASTODON_URL_LENGTH",
    "X_EMOJI_VERSION",
    "X_INVALID_CHARACTERS",
    "X_MAX_WEIGHTED_LENGTH",
    "X_URL_LENGTH",
    "FacetSpan",
    "XParse",
    "bluesky_facets",
    "bluesky_length",
    "emoji_prefix",
    "find_urls",
    "grapheme_length",
    "graphemes",
    "linkedin_escape",
    "linkedin_unescape",
    "mastodon_length",
    "telegram_length",
    "utf16_length",
    "utf8_length",
    "x_parse",
    "x_weighted_length",
]
