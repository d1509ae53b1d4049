"""Korean and English: the gettext catalogs of every string meant for people, the locale of the
person being answered, and dates and numbers written the way that locale writes them.

Code marks a string with ``_("...")`` (``ngettext`` for plurals, ``pgettext`` when one English
word means different things: a delivery's "held" and a hold button); templates with
``{{ _("...") }}``. ``N_``/``NC_`` mark a string for the catalogs without translating it, where
the text is a value (a delivery status, a table column) translated when it is shown.

The locale is per request or per command (``use_locale``, ``activate``), held in a context
variable so that threads and async tasks never see each other's. Who picks it: the web app takes
the person's own choice, else the browser's ``Accept-Language`` (``negotiate``), else English;
the command line takes ``HERALD_LANG``, else the POSIX locale variables (``locale_from_env``).

English is the source language: its text is the msgid itself, so English needs no catalog and
a string missing from the Korean catalog shows in English rather than not at all. The catalogs
are made and checked by ``herald.core.catalog``.
"""

from __future__ import annotations

import gettext as _gettext
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

#: The locales Herald speaks; the first is the default.
LOCALES = ("en", "ko")
DEFAULT_LOCALE = LOCALES[0]
#: Each locale's name in its own language, as a person looking for theirs recognises it (these
#: are never translated).
LOCALE_NAMES = {"en": "English", "ko": "한국어"}
#: Where the catalogs live: ``<locale>/LC_MESSAGES/messages.mo`` (and the ``.po`` it is made from).
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
#: The environment variable that chooses the command line's language before the POSIX ones.
LANG_VARIABLE = "HERALD_LANG"
#: The POSIX locale variables, in the order they take precedence for messages.
POSIX_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")

_current: ContextVar[str] = ContextVar("herald_locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The catalog of one locale (a null one when it has no compiled catalog: English)."""
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[locale], fallback=True)


def current_locale() -> str:
    return _current.get()


def known(locale: str | None) -> str | None:
    """``locale`` if Herald speaks it (``ko``, ``ko-KR``, ``ko_KR.UTF-8`` all are ``ko``), else
    None."""
    if not locale:
        return None
    language = re.split(r"[-_.@]", locale.strip(), maxsplit=1)[0].lower()
    return language if language in LOCALES else None


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Answer in ``locale`` inside the block (an unknown one falls back to the default)."""
    token = _current.set(known(locale) or DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current.reset(token)


def activate(locale: str) -> Callable[[], None]:
    """Answer in ``locale`` from now on in this context (a command, whose callbacks do not nest
    like a ``with`` block); the answer undoes it (a command's ``call_on_close``), so that a test
    runner invoking commands one after another does not carry one's language into the next."""
    token = _current.set(known(locale) or DEFAULT_LOCALE)
    return lambda: _current.reset(token)


# -- choosing ----------------------------------------------------------------------------------

#: One entry of Accept-Language: a language range and its parameters (``ko-KR;q=0.8``).
_RANGE = re.compile(r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*((?:;[^,]*)?)$")
_QUALITY = re.compile(r";\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*(?:;|$)", re.IGNORECASE)
#: Longer headers are cut: a browser sends a few languages, not kilobytes.
MAX_ACCEPT_LANGUAGE_CHARS = 1000


def negotiate(header: str | None) -> str | None:
    """The locale ``Accept-Language`` prefers among Herald's (RFC 9110 section 12.5.4): the
    highest quality wins, the earlier on a tie; ``q=0`` means "not this one"; ``*`` is any
    (the default). None when the header names nothing Herald speaks."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    refused: set[str] = set()
    for position, item in enumerate(header[:MAX_ACCEPT_LANGUAGE_CHARS].split(",")):
        match = _RANGE.match(item)
        if match is None:
            continue
        tag, params = match.groups()
        quality = 1.0
        if params:
            q = _QUALITY.search(params)
            if q is None:
                if "q" in params.lower().replace(" ", ""):
                    continue  # a malformed quality: skip the entry rather than guess
            else:
                quality = min(1.0, float(q.group(1)))
        locale = DEFAULT_LOCALE if tag == "*" else known(tag)
        if locale is None:
            continue
        if quality <= 0:
            refused.add(locale)
            continue
        ranked.append((-quality, position, locale))
    for _, _, locale in sorted(ranked):
        if locale not in refused:
            return locale
    return None


def locale_from_env(environ: Mapping[str, str]) -> str:
    """The command line's locale: ``HERALD_LANG``, else ``LC_ALL``, ``LC_MESSAGES``, ``LANG``
    (the first one set, as POSIX reads them: ``ko_KR.UTF-8`` is Korean), else English."""
    chosen = environ.get(LANG_VARIABLE, "").strip()
    if not chosen:
        chosen = next((environ[v].strip() for v in POSIX_VARIABLES if environ.get(v, "").strip()), "")
    return known(chosen) or DEFAULT_LOCALE


# -- translating -------------------------------------------------------------------------------


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return translations(_current.get()).pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).npgettext(context, singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - gettext's own name for the marker
    """Marks ``message`` for the catalogs; translated later, where it is shown."""
    return message


def NC_(context: str, message: str) -> str:  # noqa: N802 - as N_, with a context
    """Marks ``message`` in ``context`` for the catalogs (shown through ``pgettext``)."""
    return message


_ = gettext


# -- dates and numbers -------------------------------------------------------------------------

#: English keeps Herald's ISO 8601 times (unambiguous between the campaign's countries, and what
#: the API and the CSV exports say): in UTC with ``Z``, in another zone with its offset at that
#: moment (``+09:00``); other locales write them as their readers do, with Babel.
ISO_TIME = "%Y-%m-%dT%H:%M:%SZ"
#: The zone times are shown in unless the caller names another: the command line's, and the web
#: app's when it knows nothing of the viewer (``herald.web.zones``).
DEFAULT_ZONE = "UTC"


def _babel_locale(locale: str) -> str:
    return {"en": "en_US", "ko": "ko_KR"}.get(locale, locale)


def format_datetime(value: datetime | str | None, zone: str = DEFAULT_ZONE) -> str:
    """A UTC time (an aware ``datetime`` or the service's ISO string) in the current locale, on
    the wall clock of ``zone`` (an IANA name the caller has checked; ``ZoneInfoNotFoundError``
    otherwise). Outside UTC the offset of that moment follows, so a time a DST change repeats
    is still one instant. English: ``2099-03-02T00:30:00Z`` in UTC, ``2099-03-02T09:30:00+09:00``
    in Asia/Seoul; Korean: ``2099. 3. 2. 오전 12:30:00`` in UTC, ``2099. 3. 2. 오전 9:30:00
    +09:00`` in Asia/Seoul. ``—`` for none."""
    if value is None or value == "":
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    locale = _current.get()
    if zone == DEFAULT_ZONE:
        if locale == "en":
            return moment.strftime(ISO_TIME)
        from babel.dates import format_datetime as babel_datetime  # lazy: start-up cost of the CLI

        return babel_datetime(moment, "medium", tzinfo=UTC, locale=_babel_locale(locale))
    local = moment.astimezone(ZoneInfo(zone))
    if locale == "en":
        return local.isoformat(timespec="seconds")
    from babel.dates import format_datetime as babel_datetime  # lazy: start-up cost of the CLI

    shown = babel_datetime(local, "medium", tzinfo=local.tzinfo, locale=_babel_locale(locale))
    return f"{shown} {_offset(local)}"


def _offset(local: datetime) -> str:
    """The UTC offset of an aware time as ISO 8601 writes it (``+09:00``, ``-04:00``)."""
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    hours, rest = divmod(abs(minutes), 60)
    return f"{'-' if minutes < 0 else '+'}{hours:02d}:{rest:02d}"


def format_wall_time(moment: datetime) -> str:
    """A wall-clock time with its weekday, to the minute, read in whatever zone it is given in
    (nothing is converted): ``Mon 2099-03-02 09:30`` in English, ``2099. 3. 2. (월) 09:30`` in
    Korean."""
    locale = _current.get()
    if locale == "en":
        return moment.strftime("%a %Y-%m-%d %H:%M")
    from babel.dates import format_datetime as babel_datetime  # lazy: start-up cost of the CLI

    # Naive, so that Babel shows the wall clock as it is rather than converting it.
    return babel_datetime(moment.replace(tzinfo=None), "y. M. d. (E) HH:mm", locale=_babel_locale(locale))


def format_number(value: float) -> str:
    """A number with the current locale's grouping and decimal mark (``12,345.5``)."""
    from babel.numbers import format_decimal  # lazy: start-up cost of the CLI

    return format_decimal(value, locale=_babel_locale(_current.get()))


def format_percent(rate: float) -> str:
    """A rate from 0 to 1 as a whole percentage in the current locale (``87%``)."""
    from babel.numbers import format_percent as babel_percent  # lazy: start-up cost of the CLI

    return babel_percent(rate, locale=_babel_locale(_current.get()))
