"""Mastodon's length (``StatusLengthValidator``): grapheme clusters, after every ``http://`` or
``https://`` URL is replaced by 23 characters and every remote mention ``@user@domain`` by
``@user``. Text that is only white space counts 0 (Ruby's ``blank?``).

Mastodon finds URLs with twitter-text's host rules (its TLD list included) but widens the path
to any non-space character; here the path ends where X's does (``urls.py``), so a URL whose path
holds Hangul or CJK counts its tail as text: an over-count, never a false "fits".
"""

from __future__ import annotations

import re

from herald.platforms.text.graphemes import grapheme_length
from herald.platforms.text.urls import find_urls

__all__ = ["MASTODON_URL_LENGTH", "mastodon_length"]

#: Characters every URL counts as on Mastodon (``StatusLengthValidator::URL_PLACEHOLDER``).
MASTODON_URL_LENGTH = 23

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
    for start, end, _url in find_urls(text, without_scheme=False):
        parts.append(_shorten_remote_mentions(text[position:start]))
        parts.append("x" * url_length)
        position = end
    parts.append(_shorten_remote_mentions(text[position:]))
    return grapheme_length("".join(parts))
