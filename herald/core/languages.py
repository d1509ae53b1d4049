"""The language a post (or one channel's text of it) is written in: the one rule every door
applies (the command line, a CSV import, the composer, the API), before anything is queued.

Platforms take it as a language tag: Mastodon's ``language`` an ISO 639 code, Bluesky's
``langs`` BCP 47 tags (``ko``, ``en``, ``pt-BR``, ``zh-Hant``). Herald checks the shape of a
tag (a 2-3 letter language, then subtags of 1-8 letters or digits, each after a hyphen) and
its length (the width of the columns that keep it), not that the language exists.
"""

from __future__ import annotations

import re

from herald.core.errors import InputError
from herald.core.i18n import _

#: The longest tag kept: the width of ``posts.language`` and ``post_variants.language``.
MAX_LANGUAGE_CHARS = 16
#: A language tag's shape (BCP 47, loosely: no check that a subtag is registered).
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
#: How much of a refused value its error repeats (the value may be long, or hostile).
SHOWN_CHARS = 20


def checked_language(value: str | None, *, channel: str | None = None) -> str | None:
    """``value`` as kept: None when none is given (None or blank), else the tag itself. Raises
    InputError ("language" for the post's, "language-for" naming ``channel`` for a channel's own)
    for a value that is not a language tag or is longer than ``MAX_LANGUAGE_CHARS``."""
    if not value:
        return None
    if len(value) <= MAX_LANGUAGE_CHARS and LANGUAGE_TAG.fullmatch(value):
        return value
    shown = value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…"
    why = _("%(value)s is not a language tag such as ko, en or pt-BR (at most %(max)d characters)") % {
        "value": repr(shown),
        "max": MAX_LANGUAGE_CHARS,
    }
    if channel is None:
        raise InputError("language", why)
    raise InputError("language-for", _("channel %(name)s: %(why)s") % {"name": channel, "why": why})
