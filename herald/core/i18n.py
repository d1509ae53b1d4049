"""Korean and English: the gettext catalogs of every string meant for people, and the locale of
the person being answered.

Code marks a string with ``_("...")`` (``ngettext`` for plurals); templates with
``{{ _("...") }}``. The locale is per request or per command (``use_locale``), held in a context
variable so that threads and async tasks never see each other's.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

#: The locales Herald speaks; the first is the default.
LOCALES = ("en", "ko")
DEFAULT_LOCALE = LOCALES[0]
#: Where the catalogs live: ``<locale>/LC_MESSAGES/messages.mo`` (and the ``.po`` it is made from).
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"

_current: ContextVar[str] = ContextVar("herald_locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The catalog of one locale (a null one when it has no compiled catalog yet)."""
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[locale], fallback=True)


def current_locale() -> str:
    return _current.get()


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Answer in ``locale`` inside the block (an unknown one falls back to the default)."""
    token = _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext
