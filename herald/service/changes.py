"""Has anything a page shows changed? A short, opaque version of the store's change mark
(``store.changes``) that live pages poll (``web.routes.live``) before reading a page again.

Every open live page asks every few seconds, so a process reads the mark at most once per
``VERSION_TTL_SECONDS`` and answers every poll in between from that read: the database sees one
query per process per interval however many pages are open. A change is therefore seen up to
that much later, well within the pages' own polling interval.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref

from herald.service.base import ServiceBase
from herald.store.changes import change_mark

#: How long one read of the mark answers the polls of a process (seconds).
VERSION_TTL_SECONDS = 2.0

_lock = threading.Lock()
#: Per service (one per app): when the mark was last read (monotonic seconds), and its version.
_read: weakref.WeakKeyDictionary[ServiceBase, tuple[float, str]] = weakref.WeakKeyDictionary()


def data_version(svc: ServiceBase, *, max_age: float | None = None) -> str:
    """16 hex digits that change whenever a delivery, a post, or a pause changes (read at most
    ``max_age`` seconds ago; ``VERSION_TTL_SECONDS`` unless given). The same for every person:
    it says only that something changed, never what (what a page then shows is read within the
    person's reach)."""
    max_age = VERSION_TTL_SECONDS if max_age is None else max_age
    now = time.monotonic()
    with _lock:
        known = _read.get(svc)
        if known is not None and now - known[0] < max_age:
            return known[1]
        with svc.db.read() as s:
            mark = change_mark(s)
        version = hashlib.sha256(mark.encode()).hexdigest()[:16]
        _read[svc] = (now, version)
        return version
