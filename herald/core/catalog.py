"""The message catalogs, made and checked: ``python -m herald.core.catalog update|compile|check``.

- ``update`` extracts every marked string (``babel.cfg``: Herald's Python and its page
  templates) into ``herald/locale/messages.pot`` and merges it into each locale's ``.po``: new
  strings arrive untranslated, gone ones are dropped, translations are kept. Nothing is guessed
  (no fuzzy matching): a near miss would show a wrong sentence as if it were right.
- ``compile`` writes each ``.po`` as the ``.mo`` the app reads (both are committed).
- ``check`` fails (exit 1, every problem listed) when a string of the code is missing from a
  catalog, untranslated or fuzzy, when a translation's ``%(name)s`` placeholders differ from
  its English (a missing one would fail at run time), or when a ``.mo`` is older than its
  ``.po``. ``tests/test_i18n.py`` runs the same check.

English is the source language and has no catalog. Positions are kept without line numbers, so
an edit elsewhere in a file does not rewrite every catalog.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

from herald.core.i18n import DEFAULT_LOCALE, DOMAIN, LOCALE_DIR, LOCALES

#: The repository (or the installed tree): ``babel.cfg`` sits beside the ``herald`` package.
ROOT = LOCALE_DIR.parent.parent
MAPPING_FILE = ROOT / "babel.cfg"
TEMPLATE_FILE = LOCALE_DIR / f"{DOMAIN}.pot"
#: Babel's keywords, and ``NC_(context, message)``: a value marked with a context, translated
#: where it is shown (``herald.core.i18n.NC_``).
KEYWORDS: dict[str, Any] = {**DEFAULT_KEYWORDS, "NC_": ((1, "c"), 2)}  # Any: Babel's keyword specs
#: Comments above a marked string that reach the translator.
COMMENT_TAGS = ("Translators:",)
PROJECT = "Herald"
#: Who the catalogs are from, in their headers (no person's address: they are the project's).
AUTHORS = "Herald's authors"
HEADER = """\
# {title} for Herald.
# This file is distributed under the same license as Herald (AGPL-3.0-or-later).
# Made by `python -m herald.core.catalog update`; translate the empty msgstr, then `compile`.
#"""
WIDTH = 100
#: ``%(name)s`` and ``%%`` in a message (the placeholders a translation must keep).
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?[sdiouxXeEfFgGcr%]")


def _version() -> str:
    """Herald's version, for the catalogs' headers."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("herald")
    except PackageNotFoundError:
        return "unreleased"


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"


def translated_locales() -> tuple[str, ...]:
    return tuple(locale for locale in LOCALES if locale != DEFAULT_LOCALE)


# -- extracting --------------------------------------------------------------------------------


def extract() -> Catalog:
    """Every marked string of the code and the templates, as a template catalog."""
    with MAPPING_FILE.open() as f:
        method_map, options_map = parse_mapping_cfg(f, str(MAPPING_FILE))  # type: ignore[no-untyped-call]  # Babel's own
    template = Catalog(
        project=PROJECT,
        version=_version(),
        copyright_holder=AUTHORS,
        charset="utf-8",
        fuzzy=False,
        header_comment=HEADER.format(title="Messages"),
    )
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    ):
        template.add(
            message,
            None,
            [(filename, lineno)],
            auto_comments=comments,
            context=context,
            flags=_flags(message),
        )
    return template


def _flags(message: str | tuple[str, ...]) -> tuple[str, ...]:
    texts = (message,) if isinstance(message, str) else message
    return ("python-format",) if any(PLACEHOLDER.search(t) for t in texts) else ()


# -- reading and writing -----------------------------------------------------------------------


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale, domain=DOMAIN)


def render_po(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=WIDTH, sort_output=True, ignore_obsolete=True, include_lineno=False)
    return out.getvalue()


def render_mo(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def _keys(catalog: Catalog) -> set[tuple[str, str | None]]:
    return {(_id(m), m.context) for m in catalog if m.id}


def _id(message: Message) -> str:
    return _texts(message.id)[0]


def _texts(value: object) -> tuple[str, ...]:
    """A message's id or translation as its forms (one, or a plural's several)."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(str(v or "") for v in value)
    return ("",)


# -- the commands ------------------------------------------------------------------------------


def update() -> list[Path]:
    """Extract, then merge into each locale's catalog; the files that changed."""
    template = extract()
    changed: list[Path] = []
    if TEMPLATE_FILE.exists():
        previous = read_catalog(TEMPLATE_FILE)
        if _keys(previous) == _keys(template):
            # Same strings: keep the old creation date, so the file only changes with its strings.
            template.creation_date = previous.creation_date
    if _write_if_changed(TEMPLATE_FILE, render_po(template)):
        changed.append(TEMPLATE_FILE)
    for locale in translated_locales():
        path = po_path(locale)
        if path.exists():
            catalog = read_catalog(path, locale)
            revision = catalog.revision_date
            catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
            catalog.revision_date = revision
        else:
            catalog = Catalog(locale=locale, domain=DOMAIN, project=PROJECT, charset="utf-8", fuzzy=False)
            catalog.update(template, no_fuzzy_matching=True)
        catalog.fuzzy = False
        catalog.header_comment = HEADER.format(
            title=f"{Locale.parse(locale).english_name} ({locale}) messages"
        )
        catalog.last_translator = AUTHORS
        catalog.language_team = AUTHORS
        catalog.version = _version()
        catalog.obsolete.clear()
        if _write_if_changed(path, render_po(catalog)):
            changed.append(path)
    return changed


def compile_all() -> list[Path]:
    """Each ``.po`` written as its ``.mo``; the files that changed."""
    changed = []
    for locale in translated_locales():
        catalog = read_catalog(po_path(locale), locale)
        if _write_if_changed(mo_path(locale), render_mo(catalog)):
            changed.append(mo_path(locale))
    return changed


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a catalog: where, and what."""

    locale: str
    msgid: str
    what: str

    def __str__(self) -> str:
        return f"{self.locale}: {self.msgid!r}: {self.what}"


def problems(template: Catalog | None = None) -> list[Problem]:
    """What is wrong with the catalogs against the code as it is now (``template``: its
    extracted strings, extracted here when not given)."""
    template = template if template is not None else extract()
    found: list[Problem] = []
    for locale in translated_locales():
        path = po_path(locale)
        if not path.exists():
            found.append(Problem(locale, "", f"no catalog at {path}"))
            continue
        catalog = read_catalog(path, locale)
        found += _catalog_problems(locale, template, catalog)
        found += _mo_problems(locale, catalog)
    return found


def _catalog_problems(locale: str, template: Catalog, catalog: Catalog) -> Iterator[Problem]:
    for wanted in template:
        if not wanted.id:
            continue
        msgid = _id(wanted)
        message = catalog.get(wanted.id, context=wanted.context)
        if message is None:
            yield Problem(locale, msgid, "missing: run `python -m herald.core.catalog update`")
            continue
        strings = _texts(message.string)
        if not all(strings):
            yield Problem(locale, msgid, "untranslated")
        elif message.fuzzy:
            yield Problem(locale, msgid, "fuzzy: check the translation and remove the flag")
        else:
            yield from _placeholder_problems(locale, message, strings)


def _placeholders(text: str) -> set[str]:
    return {m.group(0) if m.group(1) is None else m.group(1) for m in PLACEHOLDER.finditer(text)}


class _AnyValue(dict[str, int]):
    """A mapping with every key: formats a message as templates and ``%`` do, to try it."""

    def __missing__(self, key: str) -> int:
        return 1


def _formats(text: str) -> bool:
    """Does ``text % mapping`` work, as newstyle gettext in templates always does it?"""
    try:
        text % _AnyValue()
    except (ValueError, TypeError):
        return False
    return True


def _placeholder_problems(locale: str, message: Message, strings: Iterable[str]) -> Iterator[Problem]:
    ids = _texts(message.id)
    expected = set().union(*(_placeholders(i) for i in ids))
    expected.discard("%%")
    for text in strings:
        if _formats(ids[0]) and not _formats(text):
            yield Problem(locale, _id(message), "the translation is not a valid format string (a lone %?)")
            continue
        got = _placeholders(text)
        got.discard("%%")
        # A plural's forms may each leave out a placeholder ("one post" for "%(num)d posts").
        if not got <= expected or (len(ids) == 1 and got != expected):
            yield Problem(
                locale,
                _id(message),
                f"placeholders {sorted(got)} in the translation, {sorted(expected)} in the English",
            )


def _mo_problems(locale: str, catalog: Catalog) -> Iterator[Problem]:
    path = mo_path(locale)
    if not path.exists():
        yield Problem(
            locale, "", f"no compiled catalog at {path}: run `python -m herald.core.catalog compile`"
        )
        return
    with path.open("rb") as f:
        compiled = read_mo(f)
    wanted = {(_id(m), m.context, _texts(m.string)) for m in catalog if m.id and not m.fuzzy and _complete(m)}
    have = {(_id(m), m.context, _texts(m.string)) for m in compiled if m.id}
    if wanted != have:
        yield Problem(
            locale,
            "",
            f"{path.name} differs from {po_path(locale).name} in {len(wanted ^ have)} message(s): "
            "run `python -m herald.core.catalog compile`",
        )


def _complete(message: Message) -> bool:
    return all(_texts(message.string))


USAGE = "usage: python -m herald.core.catalog update|compile|check"


def main(argv: list[str]) -> int:
    command = argv[0] if len(argv) == 1 else ""
    if command == "update":
        for path in update():
            print(f"updated {path.relative_to(ROOT)}")  # noqa: T201 - a developer's tool
        return 0
    if command == "compile":
        for path in compile_all():
            print(f"compiled {path.relative_to(ROOT)}")  # noqa: T201
        return 0
    if command == "check":
        found = problems()
        for problem in found:
            print(problem, file=sys.stderr)  # noqa: T201
        if found:
            print(f"{len(found)} problem(s) in the catalogs", file=sys.stderr)  # noqa: T201
        return 1 if found else 0
    print(USAGE, file=sys.stderr)  # noqa: T201
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
