"""LinkedIn's "little text" escaping of reserved characters in ``commentary``."""

from __future__ import annotations

__all__ = ["LINKEDIN_RESERVED", "linkedin_escape", "linkedin_unescape"]

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
