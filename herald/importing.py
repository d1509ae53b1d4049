"""Bulk import: a CSV file of posts, one per row, read into ``PostRequest``s.

The format (a header row, columns in any order, names case-insensitive):

- ``channels`` (required): channel names separated by ``;`` or spaces;
- ``at`` (required): an ISO 8601 time with its offset (``2026-12-01T09:00+09:00``), a local
  time without one (``2026-12-01 09:00``: read in the row's ``tz``, else its campaign's zone,
  else UTC), ``now``, or ``next-slot`` (the earliest free posting slot common to its channels);
- ``text``: the post's text; ``text:NAME``: the text for channel NAME instead;
- ``photo1`` .. ``photo4``: photo files, relative to the CSV's folder (from the web app: files
  uploaded with the CSV, matched by name); ``alt1`` .. ``alt4``: their alt text;
- ``campaign`` (else the import's default campaign), ``language`` (a language tag such as
  ``ko``), ``language:NAME`` (the language of channel NAME's text instead), ``tz`` (an IANA
  zone): optional;
- ``repeat``: an RFC 5545 RRULE with an end (``FREQ=WEEKLY;BYDAY=MO;COUNT=4``): one post per
  occurrence, the first at ``at`` (``scheduler.recurrence``).

A local time that does not exist or happens twice (a DST change) is refused, naming the line.

Encodings: what spreadsheets save. UTF-8 (with or without the BOM Excel writes), UTF-16 with a
BOM, and CP949, the superset of EUC-KR that Korean Excel writes. Unless the encoding is chosen,
it is detected by a strict decode in that order, and a guess that looks wrong (U+FFFD, control
characters, CP949 that reads as little Hangul) is refused, naming the encodings tried, never
imported as mojibake.

Reading never stops at the first problem: every row's problems are collected and named by the
file's line number, so a person fixes the file once. A photo path must stay inside the CSV's
folder: an imported file must not be able to publish ``/home/...`` or ``../../secrets.png``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from herald.accounts import SYSTEM, Actor
from herald.core.errors import InputError
from herald.core.i18n import _
from herald.core.times import parse_time
from herald.service import MAX_PHOTOS_PER_POST, Herald, PhotoInput, PostRequest
from scheduler.localtime import zone

#: Largest CSV accepted (bytes): far above any campaign's plan, small enough to read at once.
MAX_CSV_BYTES = 50 * 1024 * 1024
#: Largest photo file read for an import (bytes); ingest applies the real limits afterwards.
MAX_PHOTO_FILE_BYTES = 50 * 1024 * 1024

_PLAIN = {"channels", "at", "text", "campaign", "language", "tz", "repeat"}
#: What ``at`` says for "the next free slot" (``-``, ``_`` or a space between the words).
_NEXT_SLOT = re.compile(r"^next[-_ ]slot$", re.IGNORECASE)
#: Encodings a person may choose (``--encoding``, the import page), by the names people use.
ENCODINGS = {"auto": None, "utf-8": "utf-8", "utf8": "utf-8", "cp949": "cp949", "euc-kr": "cp949",
             "utf-16": "utf-16"}  # fmt: skip
#: Characters a CSV of posts never holds, but a wrong decoding makes: U+FFFD, C0 controls but
#: tab and line ends, DEL and the C1 controls (cp1252 bytes read as Latin-1).
_GARBLED = re.compile("[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: The least share of Hangul among non-ASCII characters for a CP949 guess to be believed.
MIN_HANGUL_SHARE = 0.5
_PHOTO = re.compile(r"^(photo|alt)([1-9])$")
#: Columns for one channel, ``PREFIX:NAME``: its own text, its own language. The prefix is read
#: case-insensitively, the channel's name as written.
_PER_CHANNEL = ("text:", "language:")
_SPLIT = re.compile(r"[;\s]+")


#: Reads the bytes of a photo a CSV cell names; raises InputError naming the problem.
PhotoSource = Callable[[str], bytes]


@dataclass
class Parsed:
    """The rows that could be read as posts, each with its label (``line N``), and the
    problems of those that could not."""

    requests: list[PostRequest] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_csv(path: Path, *, encoding: str = "auto", campaign: str | None = None) -> Parsed:
    """Read ``path`` (``encoding``: see ``decode``; ``campaign``: rows without one go to it).
    Raises InputError for a file that cannot be read as CSV at all."""
    try:
        size = path.stat().st_size
        if size > MAX_CSV_BYTES:
            raise InputError("csv", f"{path.name}: {size} bytes; at most {MAX_CSV_BYTES} per import")
        raw = path.read_bytes()
    except OSError as e:
        raise InputError("csv", f"cannot read {path.name!r}: {e.strerror}") from None
    return parse_csv(
        raw,
        photo=lambda given: folder_photo(given, path.parent),
        name=path.name,
        encoding=encoding,
        campaign=campaign,
    )


def base_name(path: str) -> str:
    """The last part of a file path as a browser or a spreadsheet may write it (``/`` or ``\\``):
    the only part of a given name Herald keeps."""
    return PurePosixPath(path.replace("\\", "/")).name


def uploaded_photos(files: Mapping[str, bytes]) -> PhotoSource:
    """Photos uploaded with the CSV (web app), found by file name: a cell's folders are
    ignored, and nothing is ever read from the server's disk."""

    def find(given: str) -> bytes:
        key = base_name(given)
        if key not in files:
            raise InputError("photo", f"{_shown(given)!r} was not uploaded with the CSV file")
        return files[key]

    return find


def decode(raw: bytes, name: str = "the CSV file", encoding: str = "auto") -> str:
    """The text of a CSV file. ``encoding``: a name of ``ENCODINGS``; "auto" detects: a BOM
    (UTF-8, UTF-16), else strict UTF-8, else strict CP949. Raises InputError ("encoding") for
    an unknown choice, bytes that are not in the chosen encoding, or no believable guess,
    naming the encodings tried and how to choose one."""
    key = encoding.strip().lower()
    if key not in ENCODINGS:
        raise InputError("encoding", f"unknown encoding {encoding!r} (choose auto, utf-8, cp949 or utf-16)")
    chosen = ENCODINGS[key]
    if b"\x00" in raw and chosen != "utf-16" and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("csv", f"{name} contains NUL bytes: it is not a CSV file")
    if chosen is not None:
        try:
            text = raw.decode("utf-8-sig" if chosen == "utf-8" else chosen)
        except UnicodeDecodeError as e:
            raise InputError(
                "encoding",
                f"{name} is not {chosen.upper()} (byte {e.start}); choose another encoding, or auto",
            ) from None
        if bad := _GARBLED.search(text):
            raise InputError(
                "encoding",
                f"{name} read as {chosen.upper()} holds {_named(bad.group())}: choose another encoding",
            )
        return text
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        guesses = ["utf-16"]
    else:
        guesses = ["utf-8", "cp949"]
    why: list[str] = []
    for guess in guesses:
        shown = guess.upper()
        try:
            text = raw.decode("utf-8-sig" if guess == "utf-8" else guess)
        except UnicodeDecodeError as e:
            why.append(f"it is not {shown} (byte {e.start} does not fit)")
            continue
        if bad := _GARBLED.search(text):
            why.append(f"read as {shown} it holds {_named(bad.group())}")
            continue
        if guess == "cp949" and not _reads_as_korean(text):
            why.append(f"read as {shown} it is hardly Hangul (more likely another encoding)")
            continue
        return text
    raise InputError(
        "encoding",
        f"cannot tell the encoding of {name} (tried {', '.join(g.upper() for g in guesses)}): "
        f"{'; '.join(why)}. Save it as CSV UTF-8, or choose the encoding (--encoding "
        "utf-8|cp949|utf-16 on the command line, the encoding menu on the import page)",
    )


def _named(char: str) -> str:
    return f"U+{ord(char):04X}" + (
        " (the replacement character)" if char == "\ufffd" else " (a control character)"
    )


def _reads_as_korean(text: str) -> bool:
    """Does CP949 text read as Korean? Most of its non-ASCII characters are common Hangul
    syllables (those of KS X 1001, which EUC-KR holds too); Latin-1 bytes that happen to form
    CP949 pairs read as Hanja and rare syllables instead."""
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return True
    hangul = sum(1 for c in wide if "\uac00" <= c <= "\ud7a3" and _in_euc_kr(c))
    return hangul >= MIN_HANGUL_SHARE * len(wide)


def _in_euc_kr(char: str) -> bool:
    """Is ``char`` one of EUC-KR's own two-byte characters? (Python's codec spells the rest of
    Hangul as 8-byte jamo sequences.)"""
    try:
        return len(char.encode("euc-kr")) == 2
    except UnicodeEncodeError:
        return False


def parse_csv(
    raw: bytes,
    *,
    photo: PhotoSource,
    name: str = "the CSV file",
    encoding: str = "auto",
    campaign: str | None = None,
) -> Parsed:
    """Read a CSV file's rows as posts (``encoding``: see ``decode``; rows without a campaign
    go to ``campaign``). Raises InputError for a file that cannot be read as CSV at all."""
    text = decode(raw, name, encoding)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise InputError(
            "csv", _("%(file)s, line %(line)d: %(why)s") % {"file": name, "line": 1, "why": e}
        ) from None
    if header is None or not any(h.strip() for h in header):
        raise InputError("csv", _("%(file)s is empty: the first line must name the columns") % {"file": name})
    columns = _columns(header, name)
    out = Parsed()
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(columns):
                out.problems.append(
                    _("line %(line)d: %(cells)d cells, but the header names %(columns)d columns")
                    % {"line": line, "cells": len(row), "columns": len(columns)}
                )
                continue
            cells = {columns[i]: cell for i, cell in enumerate(row)}
            try:
                out.requests.append(_request(cells, photo, campaign))
                out.labels.append(_("line %(line)d") % {"line": line})
            except InputError as e:
                out.problems.append(_("line %(line)d: %(why)s") % {"line": line, "why": e})
    except csv.Error as e:
        raise InputError(
            "csv", _("%(file)s, line %(line)d: %(why)s") % {"file": name, "line": reader.line_num, "why": e}
        ) from None
    if not out.requests and not out.problems:
        raise InputError("csv", _("%(file)s has a header but no posts") % {"file": name})
    return out


def _columns(header: list[str], name: str) -> list[str]:
    columns = [h.strip() for h in header]
    lowered = [_column_name(c) for c in columns]
    unknown = [c for c, low in zip(columns, lowered, strict=True) if not _known(low)]
    if unknown:
        raise InputError(
            "csv",
            _(
                "%(file)s: unknown column(s) %(columns)s; columns are channels, at, text, text:CHANNEL,"
                " photo1-4, alt1-4, campaign, language, language:CHANNEL, tz, repeat"
            )
            % {"file": name, "columns": ", ".join(map(repr, unknown))},
        )
    seen: set[str] = set()
    for low in lowered:
        if low in seen:
            raise InputError(
                "csv", _("%(file)s: column %(column)r appears twice") % {"file": name, "column": low}
            )
        seen.add(low)
    for required in ("channels", "at"):
        if required not in seen:
            raise InputError("csv", _("%(file)s: no %(column)r column") % {"file": name, "column": required})
    return lowered


def _column_name(column: str) -> str:
    """A header cell as the columns are told apart: lower case, but a channel's name."""
    for prefix in _PER_CHANNEL:
        if column.lower().startswith(prefix):
            return prefix + column[len(prefix) :].strip()
    return column.lower()


def _known(column: str) -> bool:
    if column in _PLAIN:
        return True
    for prefix in _PER_CHANNEL:
        if column.startswith(prefix):
            return bool(column[len(prefix) :])
    m = _PHOTO.match(column)
    return m is not None and int(m.group(2)) <= MAX_PHOTOS_PER_POST


def _request(cells: dict[str, str], photo: PhotoSource, campaign: str | None = None) -> PostRequest:
    channels = [c for c in _SPLIT.split(cells.get("channels", "").strip()) if c]
    if not channels:
        raise InputError("channels", _("no channel named"))
    when = cells.get("at", "").strip()
    next_slot = bool(_NEXT_SLOT.match(when))
    at = None if next_slot else _time(when)
    instant, local = (at, None) if at is None or at.tzinfo is not None else (None, at)
    tz = cells.get("tz", "").strip() or None
    if tz is not None:
        zone(tz)  # named here, with the line, rather than with the post's other checks
    repeat = cells.get("repeat", "").strip() or None
    text_for = {k[5:]: v for k, v in cells.items() if k.startswith("text:") and v.strip()}
    languages = {k[9:]: v.strip() for k, v in cells.items() if k.startswith("language:") and v.strip()}
    photos = []
    for i in range(1, MAX_PHOTOS_PER_POST + 1):
        given = cells.get(f"photo{i}", "").strip()
        alt = cells.get(f"alt{i}", "").strip()
        if not given:
            if alt:
                raise InputError("alt", _("alt%(i)d given without photo%(i)d") % {"i": i})
            continue
        name = base_name(given)
        photos.append(PhotoInput(data=photo(given), filename=name, alt_text=alt))
    return PostRequest(
        channels=channels,
        text=cells.get("text", ""),
        text_for=text_for,
        photos=photos,
        at=instant,
        local_at=local,
        tz=tz,
        next_slot=next_slot,
        repeat=repeat,
        campaign=cells.get("campaign", "").strip() or campaign,
        language=cells.get("language", "").strip() or None,
        languages=languages,
    )


def _time(value: str) -> datetime | None:
    """The ``at`` cell: None for now; an aware instant; or a naive wall-clock time (no offset),
    which the service reads in the row's zone."""
    if value.lower() == "now":
        return None
    if not value:
        raise InputError("at", _("no time: give an ISO 8601 time, now, or next-slot"))
    return parse_time(value, local=True)


def _shown(given: str) -> str:
    return given if len(given) <= 80 else given[:77] + "..."


def folder_photo(given: str, base: Path) -> bytes:
    """The bytes of a photo named in the CSV, which must lie inside the CSV's folder."""
    shown = _shown(given)
    candidate = Path(given)
    if candidate.is_absolute() or given.startswith("~"):
        raise InputError("photo", f"{shown!r}: photo paths are relative to the CSV's folder")
    root = base.resolve()
    try:
        path = (root / candidate).resolve()
    except (OSError, RuntimeError) as e:  # RuntimeError: a symlink loop
        raise InputError("photo", f"{shown!r}: {e}") from None
    if not path.is_relative_to(root):
        raise InputError("photo", f"{shown!r} lies outside the CSV's folder")
    try:
        if not path.is_file():
            raise InputError("photo", f"{shown!r} is not a file")
        if path.stat().st_size > MAX_PHOTO_FILE_BYTES:
            raise InputError("photo", f"{shown!r} is larger than {MAX_PHOTO_FILE_BYTES} bytes")
        return path.read_bytes()
    except OSError as e:
        raise InputError("photo", f"cannot read {shown!r}: {e.strerror}") from None


@dataclass
class Outcome:
    """What an import did: the new post ids (none on a dry run or when anything was refused),
    every problem found (each naming its line), and how many rows were read as posts."""

    post_ids: list[str]
    problems: list[str]
    rows: int


def import_posts(
    service: Herald,
    parsed: Parsed,
    *,
    dry_run: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    actor: Actor = SYSTEM,
) -> Outcome:
    """Queue every post of ``parsed``, or none: with any problem (a row that could not be read, a
    post the service refuses), nothing is queued and every problem is returned at once.
    ``progress`` is told how far it has got (``Herald.add_posts``)."""
    problems = list(parsed.problems)
    if problems and parsed.requests:
        # Report every problem at once: the rows that were read are checked too.
        try:
            service.add_posts(
                parsed.requests, labels=parsed.labels, dry_run=True, progress=progress, actor=actor
            )
        except InputError as e:
            problems += _problem_lines(e)
    if problems:
        return Outcome([], problems, len(parsed.requests))
    try:
        ids = service.add_posts(
            parsed.requests, labels=parsed.labels, dry_run=dry_run, progress=progress, actor=actor
        )
    except InputError as e:
        return Outcome([], _problem_lines(e), len(parsed.requests))
    return Outcome(list(ids), [], len(parsed.requests))


def _problem_lines(e: InputError) -> list[str]:
    if e.field == "posts" and e.details:
        return [f"{d['label']}: {d['field']}: {d['message']}" for d in e.details]
    return [str(e)]


__all__ = [
    "ENCODINGS",
    "Outcome",
    "Parsed",
    "PhotoSource",
    "decode",
    "folder_photo",
    "import_posts",
    "parse_csv",
    "read_csv",
    "uploaded_photos",
]
