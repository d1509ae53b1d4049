"""The URLs X (and Mastodon) count at a fixed length, found the way twitter-text finds them.

The rules are twitter-text 3's (``extractUrlsWithIndices`` and the patterns it is built from),
restated here for Python's ``re``:

- A URL starts at the start of the text or after a character that is not an ASCII letter or
  digit, ``@``, ``$``, ``#`` (or their full-width forms); a directional mark (U+202A-U+202E,
  U+2066-U+2069...) may stand right before it.
- Its host is one or more labels (any characters but ASCII punctuation, white space and the
  invalid characters) and a top-level domain from twitter-text's list (``tlds.py``) or a
  punycode one (``xn--...``). ``example.notatld`` is no URL, with a scheme or without. Every
  label must fit 63 characters once punycode-encoded; the whole URL, 4,096 (with the scheme, or
  ``https://`` when it has none).
- ``http://`` and ``https://`` are the only schemes. Without one, only the ASCII (and accented
  Latin) part of the host counts (``링크example.com`` links ``example.com``), the character
  before it may not be ``-``, ``_``, ``.`` or ``/``, and a port or a query is part of the URL
  only when a path is (``example.com:80`` links ``example.com``).
- The path takes ASCII URL characters, accented Latin, Cyrillic and the en dash, with up to two
  levels of balanced parentheses (Wikipedia links); it ends on a letter, digit, ``+ - = _ # /``
  or a closing parenthesis, so trailing sentence punctuation stays text. Hangul, CJK, spaces
  and quotes end it.
- A ``t.co`` link ends after its slug (and query); a slug over 40 characters is no link.

twitter-text is JavaScript and matches UTF-16 code units, not characters: before an emoji
(above U+FFFF) only its high surrogate counts as "the character before", and the low one may
start a host (``🫠.bit.ly/a`` links ``bit.ly/a``). ``url_spans`` therefore works on
``units.utf16_units`` text, as twitter-text does; ``find_urls`` maps its spans back to
characters. The published twitter-text 3.1.0 is the reference (compared against it text by
text); where its Rust port differs (a TLD followed by ``-``: ``domain.com-foo``), 3.1.0 wins.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import cache

from herald.platforms.text.patterns import longest_first
from herald.platforms.text.tlds import COUNTRY_TLDS, GENERIC_TLDS
from herald.platforms.text.units import utf16_units

__all__ = ["INVALID_CHARACTERS", "find_urls", "url_spans"]

#: Characters that make a post invalid on X (twitter-text's ``invalidCharsGroup``: two
#: non-characters and the byte order mark). They also end a host name.
INVALID_CHARACTERS = frozenset("\ufffe\ufeff\uffff")

_INVALID = r"\ufffe\ufeff\uffff"
# Directional formatting characters: valid in a post, and no part of a host name.
_DIRECTIONAL = r"\u202a-\u202e\u061c\u200e\u200f\u2066-\u2069"
# twitter-text's white space (it predates Unicode's White_Space property in JavaScript).
_SPACES = r"\x09-\x0d\x20\x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# ASCII punctuation that cannot be part of a host label ('"' and '`' are not in twitter-text's
# list), less "_" and "-", which may stand inside some labels.
_PUNCTUATION = r"!'#%&()*+,\\./:;<=>?@\[\]\^{|}~$"
_NOT_IN_HOST = rf"{_PUNCTUATION}{_SPACES}{_INVALID}{_DIRECTIONAL}"
_HOST_CHAR = rf"[^{_NOT_IN_HOST}_\-]"
_LATIN_ACCENTS = (
    r"\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b"
    r"\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_CYRILLIC = r"\u0400-\u04ff"

# A TLD from the list ends where an ASCII letter, digit, "@", "+" or "-" does not follow. The
# list is matched longest entry first, as twitter-text's ordered alternation does.
_TLD = r"(?:(?i:{tlds})(?=[^0-9a-zA-Z@+\-]|\Z)|(?i:xn--)[\-0-9a-zA-Z]+)"
# A label starts and ends with a host character and may hold "-" (and "_" in a subdomain, not in
# the label just before the TLD). It must run on to a ".", and no shorter run can reach one, so
# each label is matched atomically, its whole run at once: the same matches as twitter-text's
# backtracking pattern, without its quadratic cost on long runs of CJK or Hangul.
_SUBDOMAIN = rf"(?:(?>{_HOST_CHAR}[^{_NOT_IN_HOST}]*+)(?<={_HOST_CHAR})\.)"
_DOMAIN_NAME = rf"(?:(?>{_HOST_CHAR}[^{_NOT_IN_HOST}_]*+)(?<={_HOST_CHAR})\.)"

# twitter-text matches these case-insensitively, which also admits the other case of each accented
# letter listed (U+0288 for U+01AE): the classes below are read with (?i).
_PATH_CHAR = rf"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_LATIN_ACCENTS}]"
_PARENS = rf"\((?:{_PATH_CHAR}+|{_PATH_CHAR}*\({_PATH_CHAR}+\){_PATH_CHAR}*)\)"
_PATH_END = rf"[+\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]"
# A piece of path: characters ending on an ending character, or one parenthesised group on its
# own (twitter-text's pattern reads so, its "ending character or parentheses" being spliced in
# ungrouped), or "@" in the middle of a path (http://example.com/@user/).
_PATH_PART = rf"(?:{_PATH_CHAR}*(?:{_PARENS}{_PATH_CHAR}*)*{_PATH_END}|{_PARENS}|@{_PATH_CHAR}+/)"
_QUERY_CHAR = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
_QUERY_END = r"[a-z0-9\-_&=#/]"

# The character before the URL is consumed, as in twitter-text, so a URL glued to the end of
# the previous one is not found.
_URL = rf"""
    (?P<before>[^a-zA-Z0-9@\uff20$\#\uff03{_INVALID}]|[{_DIRECTIONAL}]|\A)
    (?P<url>
        (?P<scheme>(?i:https?)://)?
        (?P<host>{_SUBDOMAIN}*{_DOMAIN_NAME}{_TLD})
        (?::[0-9]+)?
        (?P<path>/(?i:{_PATH_PART})*)?
        (?:\?(?i:{_QUERY_CHAR}*{_QUERY_END}))?
    )
    """
# The ASCII hosts inside a host found without a scheme.
_ASCII_HOST = rf"(?:[\-a-z0-9{_LATIN_ACCENTS}]+\.)+{_TLD}"
_TCO = re.compile(rf"https?://t\.co/([a-z0-9]+)(?:\?{_QUERY_CHAR}*{_QUERY_END})?", re.IGNORECASE)
# A URL holds no white space and no invalid character, and its TLD starts with a letter after a
# ".": only the stretches between gaps that hold such a "." are searched, each on its own.
_GAP = re.compile(rf"[{_SPACES}{_INVALID}]")
_TLD_DOT = re.compile(r"\.(?=[^\W\d_])")
# Label separators punycode encoding also splits on (ideographic and full-width full stops).
_WIDE_DOTS = re.compile(r"[\u3002\uff0e\uff61]")

_DEFAULT_SCHEME = "https://"  # counted toward the 4,096 limit of a URL written without one
_MAX_URL_LENGTH = 4096  # UTF-16 units, scheme included
_MAX_LABEL_LENGTH = 63  # RFC 1035, after punycode encoding
_MAX_TCO_SLUG_LENGTH = 40


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The URL and ASCII-host patterns, built on first use: with the 1,574 TLDs in them they
    take some 30 ms to compile, which a process that counts no text need not pay."""
    tlds = longest_first(GENERIC_TLDS + COUNTRY_TLDS)
    url = re.compile(_URL.replace("{tlds}", tlds), re.VERBOSE)
    return url, re.compile(_ASCII_HOST.replace("{tlds}", tlds), re.IGNORECASE)


def _host_is_valid(host: str) -> bool:
    """Whether every label of ``host`` fits 1 to 63 characters once punycode-encoded, and a host
    that starts ``xn--`` is ASCII (twitter-text's ``idna.toAscii``): a long Japanese host name is
    text, not a link. ``host`` is in UTF-16 units; punycode encodes the characters they make."""
    if host.startswith("xn--") and _patterns()[1].search(host) is None:
        return False
    for label in host.split("."):
        encoded: list[str] = []
        for part in _WIDE_DOTS.split(label):
            if any(ch > "\x7f" for ch in part):
                characters = part.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
                try:
                    part = "xn--" + characters.encode("punycode").decode("ascii")
                except UnicodeError:
                    return False
            encoded.append(part)
        if not 1 <= len(".".join(encoded)) <= _MAX_LABEL_LENGTH:
            return False
    return True


def url_spans(units: str, *, without_scheme: bool = True) -> list[tuple[int, int]]:
    """The URLs in ``units`` (text as ``utf16_units`` writes it) as ``(start, end)`` offsets in
    UTF-16 code units, in order, never overlapping: twitter-text's ``extractUrlsWithIndices``.

    With ``without_scheme`` (X), bare hosts such as ``example.com`` and ``www.example.com/a``
    are URLs too; without it (Mastodon) only ``http://`` and ``https://`` URLs are.
    """
    if ("." if without_scheme else ":") not in units:
        return []  # no host without a dot; no scheme without a colon
    spans: list[tuple[int, int]] = []
    gaps: list[int] | None = None
    searched_to = 0
    for dot in _TLD_DOT.finditer(units):
        if dot.start() < searched_to:
            continue
        if gaps is None:
            gaps = [gap.start() for gap in _GAP.finditer(units)]
        after = bisect_left(gaps, dot.start())
        # From the gap before the stretch (a URL's "character before" may be that gap) to the
        # gap after it; what a match consumes is never in the next stretch.
        start = max(searched_to, gaps[after - 1] if after else 0)
        searched_to = gaps[after] if after < len(gaps) else len(units)
        spans += _spans_in(units, start, searched_to, without_scheme)
    return spans


def _spans_in(units: str, start: int, stop: int, without_scheme: bool) -> list[tuple[int, int]]:
    """``url_spans`` of the matches in ``units[start:stop]``."""
    spans: list[tuple[int, int]] = []
    url_pattern, ascii_host_pattern = _patterns()
    for match in url_pattern.finditer(units, start, stop):
        url: str = match.group("url")
        scheme: str | None = match.group("scheme")
        host: str = match.group("host")
        begin: int = match.start("url")
        end: int = match.end("url")
        if not _host_is_valid(host) or len(scheme or _DEFAULT_SCHEME) + len(url) > _MAX_URL_LENGTH:
            continue
        if scheme:
            tco = _TCO.match(url)
            if tco is not None:
                if len(tco.group(1)) > _MAX_TCO_SLUG_LENGTH:
                    continue
                end = begin + tco.end()
            spans.append((begin, end))
            continue
        if not without_scheme or match.group("before") in ("-", "_", ".", "/"):
            continue
        host_start: int = match.start("host")
        ascii_hosts: list[tuple[int, int]] = []
        found_up_to = 0
        for ascii_host in ascii_host_pattern.finditer(host):
            # twitter-text places each ASCII host where its text first occurs from the end of the
            # previous one, which is not always where it matched (``example.comwww.🤽example.com``
            # places the second at the first).
            name: str = ascii_host.group()
            first = host.find(name, found_up_to)
            found_up_to = first + len(name)
            ascii_hosts.append((host_start + first, host_start + found_up_to))
        spans.extend(ascii_hosts)
        if ascii_hosts and match.group("path"):
            # The port, path and query belong to the last ASCII host: twitter-text's URL is that
            # host and the rest of the match, as long as they are together. When the host goes
            # on past its ASCII part (``example.com한국어.한국/a``), that is less than the match.
            last_start, last_end = ascii_hosts[-1]
            spans[-1] = (last_start, last_end + end - match.end("host"))
    return spans


def find_urls(text: str, *, without_scheme: bool = True) -> list[tuple[int, int, str]]:
    """The URLs in ``text`` as ``(start, end, url)``, offsets in characters (``text[start:end]``
    is ``url``), in order, never overlapping; see ``url_spans``."""
    units = utf16_units(text)
    spans = url_spans(units, without_scheme=without_scheme)
    if units is text:
        return [(start, end, text[start:end]) for start, end in spans]
    # Map unit offsets back to characters; an end inside a surrogate pair takes the character.
    character_at: list[int] = []
    for index, ch in enumerate(text):
        character_at.append(index)
        if ch > "\uffff":
            character_at.append(index)
    found: list[tuple[int, int, str]] = []
    for start, end in spans:
        first, stop = character_at[start], character_at[end - 1] + 1
        found.append((first, stop, text[first:stop]))
    return found
