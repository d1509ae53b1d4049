"""Photo credits: who took a photo, said in the post text or, when the text is full, in the
photo's alt text. Pure functions; the caller passes the platform's own counting function.

A credit is text a person typed, so it is cleaned first: NFC, control characters, bidirectional
overrides and line breaks removed (a credit must not reorder or split the post around it),
white space collapsed, an existing "Photo:" or camera-emoji prefix dropped so it is not doubled.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

from herald.media.limits import MAX_CREDIT_CHARS

CREDIT_PREFIX = "Photo: "
CREDITS_MARK = "📷 "  # the camera emoji before the credits appended to a post
CREDITS_SEPARATOR = "; "
_ELLIPSIS = "…"

# Bidirectional embeddings, overrides and isolates, and the LRM/RLM/ALM marks.
_BIDI = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A)) | {0x200E, 0x200F, 0x061C}
# Characters that belong to the character before them (ZWJ, variation selectors, skin tones,
# emoji tag characters): cutting before one splits a grapheme.
_JOINERS = (
    frozenset({0x200D, 0xFE0E, 0xFE0F})
    | frozenset(range(0x1F3FB, 0x1F400))
    | frozenset(range(0xE0020, 0xE0080))
)
_PREFIX_RE = re.compile(r"^(?:📷\ufe0f?\s*|(?:photo|foto|credit|photo credit)\s*[:：]\s*)+", re.IGNORECASE)


def _clean(text: str) -> str:
    """``text`` NFC-normalised, with control, format-direction and line-break characters turned
    into spaces, runs of white space collapsed, and the ends stripped."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        category = unicodedata.category(ch)
        if ord(ch) in _BIDI or category in ("Cc", "Zl", "Zp", "Cs"):
            out.append(" ")
        elif category == "Cf" and ord(ch) not in _JOINERS:
            continue  # soft hyphens, zero-width spaces, BOMs: invisible, dropped
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def _credit_name(credit: str) -> str:
    return _PREFIX_RE.sub("", _clean(credit)).strip()


def _cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, ending with "…" if it was cut, never between a
    character and the combining marks, joiners or modifiers that belong to it."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    end = limit - len(_ELLIPSIS)
    while end > 0 and (
        unicodedata.combining(text[end]) or ord(text[end]) in _JOINERS or ord(text[end - 1]) == 0x200D
    ):
        end -= 1
    return text[:end].rstrip() + _ELLIPSIS


def credit_line(credit: str) -> str:
    """``"Photo: <credit>"``, cleaned (see the module docstring) and at most
    ``MAX_CREDIT_CHARS`` characters; ``""`` if nothing is left of ``credit``."""
    name = _credit_name(credit)
    if not name:
        return ""
    return _cut(CREDIT_PREFIX + name, MAX_CREDIT_CHARS)


def append_credits(text: str, credits: Sequence[str], fits: Callable[[str], bool]) -> str:
    """``text`` followed by a blank line and ``"📷 credit1; credit2"`` if the result still
    ``fits`` (the platform's counting, e.g. ``lambda t: Connector.count_text(t).fits``);
    otherwise ``text`` unchanged, and the caller puts the credits in alt text
    (``alt_with_credit``). Credits are cleaned and each cut to ``MAX_CREDIT_CHARS``; empty and
    repeated ones are dropped. No credits: ``text`` unchanged."""
    names: list[str] = []
    for credit in credits:
        name = _cut(_credit_name(credit), MAX_CREDIT_CHARS)
        if name and name not in names:
            names.append(name)
    if not names:
        return text
    line = CREDITS_MARK + CREDITS_SEPARATOR.join(names)
    body = text.rstrip()
    candidate = f"{body}\n\n{line}" if body else line
    return candidate if fits(candidate) else text


def alt_with_credit(alt: str, credit: str | None, max_chars: int) -> str:
    """Alt text ``alt`` followed by ``credit_line(credit)``, in at most ``max_chars``
    characters. The credit is kept whole when it can be: ``alt`` is shortened (ending in "…")
    to make room; only if the credit line alone is longer than ``max_chars`` is it cut too.
    Without a credit, ``alt`` cut to ``max_chars``."""
    if max_chars <= 0:
        return ""
    line = credit_line(credit) if credit is not None else ""
    described = alt.strip()
    if not line:
        return _cut(described, max_chars)
    if not described:
        return _cut(line, max_chars)
    body = described if described[-1] in ".!?…。！？" else described + "."
    room = max_chars - len(line) - 1  # one space between alt and credit
    if len(body) <= room:
        return f"{body} {line}"
    if room >= 2:  # at least one character of alt and the ellipsis
        return f"{_cut(described, room)} {line}"
    return _cut(line, max_chars)
