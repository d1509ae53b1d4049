"""The rendition cache: renditions kept by (input SHA-256, rules key), in memory and on disk, so
a photo is rendered once per set of rules however many posts and processes use it."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

from herald.media.codec import is_clean
from herald.media.limits import RENDITION_CACHE_BYTES, RENDITION_CACHE_ENTRIES
from herald.media.renditions import Rendition, render_for
from herald.media.rules import RENDITION_VERSION, PhotoRules

logger = logging.getLogger(__name__)

_HEX = frozenset("0123456789abcdef")


class RenditionCache:
    """Renditions by (input SHA-256, ``rules.key``): an LRU in memory (at most ``max_entries``
    renditions and ``max_bytes`` of their data) and, if ``directory`` is given, files on disk
    shared by every process that uses the same directory.

    On disk, ``data/<sha[:2]>/<sha>`` holds a rendition's bytes under their own SHA-256 (so the
    many platforms that take a photo unchanged share one file) and ``index/<input>-<rules>.json``
    says which data file, type and size a key has. Both are written to a temporary file in the
    same directory and moved into place with ``os.replace``, so a reader sees a whole file or
    none. A data file whose digest does not match, or that carries metadata, counts as a miss
    (and is rewritten). Safe to share between threads.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        max_entries: int = RENDITION_CACHE_ENTRIES,
        max_bytes: int = RENDITION_CACHE_BYTES,
    ) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._memory: OrderedDict[tuple[str, str], Rendition] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._memory)

    def render(self, photo_bytes: bytes, mime_type: str, rules: PhotoRules) -> Rendition:
        """``render_for(photo_bytes, mime_type, rules)``, from the cache when it has it."""
        key = (hashlib.sha256(photo_bytes).hexdigest(), rules.key)
        with self._lock:
            found = self._memory.get(key)
            if found is not None:
                self._memory.move_to_end(key)
                self.hits += 1
                return found
        found = self._read(key, rules)
        if found is None:
            found = render_for(photo_bytes, mime_type, rules)
            self._write(key, found)
            with self._lock:
                self.misses += 1
        else:
            with self._lock:
                self.hits += 1
        self._remember(key, found)
        return found

    def _remember(self, key: tuple[str, str], rendition: Rendition) -> None:
        with self._lock:
            if key in self._memory:
                return
            self._memory[key] = rendition
            self._held += len(rendition.data)
            while self._memory and (len(self._memory) > self.max_entries or self._held > self.max_bytes):
                _, old = self._memory.popitem(last=False)
                self._held -= len(old.data)

    # -- disk ------------------------------------------------------------------------------

    def _index_path(self, key: tuple[str, str]) -> Path:
        assert self.directory is not None
        return self.directory / "index" / f"{key[0]}-{key[1]}.json"

    def _data_path(self, sha256: str) -> Path:
        assert self.directory is not None
        return self.directory / "data" / sha256[:2] / sha256

    def _read(self, key: tuple[str, str], rules: PhotoRules) -> Rendition | None:
        if self.directory is None:
            return None
        try:
            entry = json.loads(self._index_path(key).read_text("utf-8"))
            sha = str(entry["sha256"])
            if len(sha) != 64 or not set(sha) <= _HEX:
                raise ValueError("bad digest in index")
            data = self._data_path(sha).read_bytes()
            rendition = Rendition(
                data=data,
                mime_type=str(entry["mime_type"]),
                width=int(entry["width"]),
                height=int(entry["height"]),
                sha256=sha,
                steps=tuple(str(s) for s in entry["steps"]),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("rendition cache entry %s-%s unreadable (%s); rendering again", *key, exc)
            return None
        if (
            hashlib.sha256(data).hexdigest() != sha
            or len(data) > rules.max_bytes
            or rendition.mime_type not in rules.mime_types
            or not is_clean(data)
        ):
            logger.warning(
                "rendition cache entry %s-%s does not match its digest or rules; rendering again", *key
            )
            return None
        return rendition

    def _write(self, key: tuple[str, str], rendition: Rendition) -> None:
        if self.directory is None:
            return
        entry = {
            "sha256": rendition.sha256,
            "mime_type": rendition.mime_type,
            "width": rendition.width,
            "height": rendition.height,
            "steps": list(rendition.steps),
            "version": RENDITION_VERSION,
        }
        try:
            data_path = self._data_path(rendition.sha256)
            if not data_path.exists():
                _write_atomic(data_path, rendition.data)
            _write_atomic(self._index_path(key), json.dumps(entry).encode("utf-8"))
        except OSError as exc:
            # The cache only saves work: a full or read-only disk must not stop a publish.
            logger.warning("rendition cache could not write %s-%s (%s)", *key, exc)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and
    ``os.replace``: concurrent readers and writers see the old file, the new one, or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
