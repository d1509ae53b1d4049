"""Bulk import: a CSV file of posts, one per row, read into ``PostRequest``s.

The format (UTF-8, a header row, columns in any order, names case-insensitive):

- ``channels`` (required): channel names separated by ``;`` or spaces;
- ``at`` (required): an ISO 8601 time with its zone (``2026-12-01T09:00+09:00``) or ``now``;
- ``text``: the post's text; ``text:NAME``: the text for channel NAME instead;
- ``photo1`` .. ``photo4``: photo files, relative to the CSV's folder (from the web app: files
  uploaded with the CSV, matched by name); ``alt1`` .. ``alt4``: their alt text;
- ``campaign``, ``language``: optional.

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
from herald.core.times import parse_time
from herald.service import MAX_PHOTOS_PER_POST, Herald, PhotoInput, PostRequest

#: Largest CSV accepted (bytes): far above any campaign's plan, small enough to read at once.
MAX_CSV_BYTES = 50 * 1024 * 1024
#: Largest photo file read for an import (bytes); ingest applies the real limits afterwards.
MAX_PHOTO_FILE_BYTES = 50 * 1024 * 1024

_PLAIN = {"channels", "at", "text", "campaign", "language"}
_PHOTO = re.compile(r"^(photo|alt)([1-9])$")
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


def read_csv(path: Path) -> Parsed:
    """Read ``path``. Raises InputError for a file that cannot be read as CSV at all."""
    try:
        size = path.stat().st_size
        if size > MAX_CSV_BYTES:
            raise InputError("csv", f"{path.name}: {size} bytes; at most {MAX_CSV_BYTES} per import")
        raw = path.read_bytes()
    except OSError as e:
        raise InputError("csv", f"cannot read {path.name!r}: {e.strerror}") from None
    return parse_csv(raw, photo=lambda given: folder_photo(given, path.parent), name=path.name)


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


def parse_csv(raw: bytes, *, photo: PhotoSource, name: str = "the CSV file") -> Parsed:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError("csv", f"{name} is not UTF-8 (byte {e.start}); save it as UTF-8 CSV") from None
    if "\x00" in text:
        raise InputError("csv", f"{name} contains NUL bytes: it is not a CSV file")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise InputError("csv", f"{name}, line 1: {e}") from None
    if header is None or not any(h.strip() for h in header):
        raise InputError("csv", f"{name} is empty: the first line must name the columns")
    columns = _columns(header, name)
    out = Parsed()
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(columns):
                out.problems.append(
                    f"line {line}: {len(row)} cells, but the header names {len(columns)} columns"
                )
                continue
            cells = {columns[i]: cell for i, cell in enumerate(row)}
            try:
                out.requests.append(_request(cells, photo))
                out.labels.append(f"line {line}")
            except InputError as e:
                out.problems.append(f"line {line}: {e}")
    except csv.Error as e:
        raise InputError("csv", f"{name}, line {reader.line_num}: {e}") from None
    if not out.requests and not out.problems:
        raise InputError("csv", f"{name} has a header but no posts")
    return out


def _columns(header: list[str], name: str) -> list[str]:
    columns = [h.strip() for h in header]
    lowered = [c.lower() if not c.lower().startswith("text:") else "text:" + c[5:].strip() for c in columns]
    unknown = [c for c, low in zip(columns, lowered, strict=True) if not _known(low)]
    if unknown:
        raise InputError(
            "csv",
            f"{name}: unknown column(s) {', '.join(map(repr, unknown))}; columns are channels, at, "
            "text, text:CHANNEL, photo1-4, alt1-4, campaign, language",
        )
    seen: set[str] = set()
    for low in lowered:
        if low in seen:
            raise InputError("csv", f"{name}: column {low!r} appears twice")
        seen.add(low)
    for required in ("channels", "at"):
        if required not in seen:
            raise InputError("csv", f"{name}: no {required!r} column")
    return lowered


def _known(column: str) -> bool:
    if column in _PLAIN:
        return True
    if column.startswith("text:"):
        return bool(column[5:])
    m = _PHOTO.match(column)
    return m is not None and int(m.group(2)) <= MAX_PHOTOS_PER_POST


def _request(cells: dict[str, str], photo: PhotoSource) -> PostRequest:
    channels = [c for c in _SPLIT.split(cells.get("channels", "").strip()) if c]
    if not channels:
        raise InputError("channels", "no channel named")
    at = _time(cells.get("at", "").strip())
    text_for = {k[5:]: v for k, v in cells.items() if k.startswith("text:") and v.strip()}
    photos = []
    for i in range(1, MAX_PHOTOS_PER_POST + 1):
        given = cells.get(f"photo{i}", "").strip()
        alt = cells.get(f"alt{i}", "").strip()
        if not given:
            if alt:
                raise InputError("alt", f"alt{i} given without photo{i}")
            continue
        name = base_name(given)
        photos.append(PhotoInput(data=photo(given), filename=name, alt_text=alt))
    return PostRequest(
        channels=channels,
        text=cells.get("text", ""),
        text_for=text_for,
        photos=photos,
        at=at,
        campaign=cells.get("campaign", "").strip() or None,
        language=cells.get("language", "").strip() or None,
    )


def _time(value: str) -> datetime | None:
    if value.lower() == "now":
        return None
    if not value:
        raise InputError("at", "no time: give an ISO 8601 time with its zone, or now")
    return parse_time(value)


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


def import_posts(service: Herald, parsed: Parsed, *, dry_run: bool = False, actor: Actor = SYSTEM) -> Outcome:
    """Queue every post of ``parsed``, or none: with any problem (a row that could not be read, a
    post the service refuses), nothing is queued and every problem is returned at once."""
    problems = list(parsed.problems)
    if problems and parsed.requests:
        # Report every problem at once: the rows that were read are checked too.
        try:
            service.add_posts(parsed.requests, labels=parsed.labels, dry_run=True, actor=actor)
        except InputError as e:
            problems += _problem_lines(e)
    if problems:
        return Outcome([], problems, len(parsed.requests))
    try:
        ids = service.add_posts(parsed.requests, labels=parsed.labels, dry_run=dry_run, actor=actor)
    except InputError as e:
        return Outcome([], _problem_lines(e), len(parsed.requests))
    return Outcome(list(ids), [], len(parsed.requests))


def _problem_lines(e: InputError) -> list[str]:
    if e.field == "posts" and e.details:
        return [f"{d['label']}: {d['field']}: {d['message']}" for d in e.details]
    return [str(e)]


__all__ = [
    "Outcome",
    "Parsed",
    "PhotoSource",
    "folder_photo",
    "import_posts",
    "parse_csv",
    "read_csv",
    "uploaded_photos",
]
