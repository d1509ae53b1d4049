"""A campaign's tags on a post's text, per channel: its hashtags appended (those not already
in the text), and UTM parameters on every http(s) link (``utm_source`` the channel's platform,
``utm_medium=social``, ``utm_campaign`` the campaign's slug).

Applied at queue time, before the platform's own counter checks the text, so what is counted
is what goes out. Pure text in, text out: no platform, no store.

- A link that already has any ``utm_*`` parameter is kept as it is (someone tagged it by hand).
- The query's other parameters and the fragment are kept; the parameters are encoded with
  ``urllib.parse.urlencode`` (so a Korean campaign name is percent-encoded).
- A link ends at white space or at a character that cannot be in one (``<>"``); punctuation
  that ends a sentence (``.,;:!?``, a closing bracket without its opening one) is not part of it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from herald.core.errors import InputError
from herald.core.i18n import _
from herald.core.text import refuse_controls

#: At most this many hashtags, and this many characters for them all.
MAX_HASHTAGS: Final = 10
MAX_HASHTAGS_CHARS: Final = 200
#: What every tagged link says it came through.
UTM_MEDIUM: Final = "social"

_LINK: Final = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_TRAILING: Final = ".,;:!?'\u3002\uff0c"  # the last two: the ideographic full stop and comma
_HASHTAG: Final = re.compile(r"#\w+")
_PAIRS: Final = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True)
class Utm:
    """The UTM parameters a channel's links get."""

    source: str
    campaign: str
    medium: str = UTM_MEDIUM

    def params(self) -> list[tuple[str, str]]:
        return [("utm_source", self.source), ("utm_medium", self.medium), ("utm_campaign", self.campaign)]


def read_hashtags(text: str) -> str | None:
    """A campaign's hashtags as typed ("#통일 #Unification", "통일, #Unification"): each made a
    ``#word``, once, separated by spaces; None for none. Raises InputError ("hashtags") for a
    tag that is not one word, too many, or too long."""
    refuse_controls("hashtags", text)
    tags: list[str] = []
    for raw in re.split(r"[\s,]+", text.strip()):
        if not raw:
            continue
        tag = raw if raw.startswith("#") else f"#{raw}"
        if not _HASHTAG.fullmatch(tag):
            raise InputError(
                "hashtags",
                _("%(raw)r is not a hashtag: one word of letters, digits or _ after a #") % {"raw": raw},
            )
        if tag.casefold() not in (t.casefold() for t in tags):
            tags.append(tag)
    if len(tags) > MAX_HASHTAGS:
        raise InputError(
            "hashtags", _("at most %(max)d hashtags; got %(n)d") % {"max": MAX_HASHTAGS, "n": len(tags)}
        )
    joined = " ".join(tags)
    if len(joined) > MAX_HASHTAGS_CHARS:
        raise InputError(
            "hashtags", _("the hashtags have at most %(max)d characters") % {"max": MAX_HASHTAGS_CHARS}
        )
    return joined or None


def slug(name: str) -> str:
    """A campaign's name as ``utm_campaign``: lower case, words joined by ``-`` (letters of any
    script are kept: "통일 2027" → "통일-2027")."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return re.sub(r"[\W_]+", "-", folded).strip("-") or "campaign"


def with_hashtags(text: str, hashtags: str | None) -> str:
    """``text`` with those of ``hashtags`` it lacks (compared without case) appended on a line
    of their own."""
    if not hashtags:
        return text
    present = {t.casefold() for t in _HASHTAG.findall(text)}
    missing = [t for t in hashtags.split() if t.casefold() not in present]
    if not missing:
        return text
    return f"{text.rstrip()}\n\n{' '.join(missing)}" if text.strip() else " ".join(missing)


def tagged_link(url: str, utm: Utm) -> str:
    """``url`` with the UTM parameters, unless it has any ``utm_*`` already (then as it is)."""
    parts = urlsplit(url)
    if any(k.lower().startswith("utm_") for k, _ in parse_qsl(parts.query, keep_blank_values=True)):
        return url
    added = urlencode(utm.params())
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, parts.fragment))


def _link_end(candidate: str) -> str:
    """The link at the start of ``candidate``, less the punctuation that ends a sentence."""
    while candidate:
        last = candidate[-1]
        if last in _TRAILING:
            candidate = candidate[:-1]
        elif last in _PAIRS and candidate.count(_PAIRS[last]) < candidate.count(last):
            candidate = candidate[:-1]
        else:
            break
    return candidate


def with_utm(text: str, utm: Utm) -> str:
    """``text`` with every http(s) link tagged (``tagged_link``)."""

    def tag(m: re.Match[str]) -> str:
        link = _link_end(m.group(0))
        if "://" not in link or not urlsplit(link).netloc:
            return m.group(0)
        return tagged_link(link, utm) + m.group(0)[len(link) :]

    return _LINK.sub(tag, text)


def tagged(text: str, *, hashtags: str | None, utm: Utm | None) -> str:
    """The text a channel gets: links tagged (if ``utm``), then the hashtags appended."""
    if utm is not None:
        text = with_utm(text, utm)
    return with_hashtags(text, hashtags)
