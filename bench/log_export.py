"""``python -m bench.log_export URL``: the CSV export of the whole delivery log at ``URL``, as
``/log.csv`` streams it (``Herald.walk_log`` into ``web.exports.csv_lines``), written nowhere;
prints one JSON line: rows, seconds, and this process's resident memory before, after 10% of
the rows, at the end and at its peak (sampled every 50 ms by a thread).

A process of its own, so that its memory is the export's alone (``bench.log_scale``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

#: How often resident memory is sampled (seconds).
SAMPLE_SECONDS = 0.05


def rss() -> int:
    """This process's resident memory, bytes (``/proc/self/statm``: pages)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def main(url: str) -> dict[str, float]:
    os.environ.setdefault("HERALD_ENV", "test")
    os.environ["HERALD_DATABASE_URL"] = url
    os.environ.setdefault("HERALD_REDIS_URL", "redis://127.0.0.1:1/0")
    os.environ.setdefault("HERALD_SECRET_KEY", "bench-secret-key-" + "7" * 32)
    from sqlalchemy import func, select

    from herald.runtime import service
    from herald.service.log import LogQuery
    from herald.store.models import Delivery
    from herald.web.exports import LOG_COLUMNS, csv_lines, log_row

    herald = service()
    with herald.db.read() as s:
        total = int(s.scalar(select(func.count()).select_from(Delivery)) or 0)
    peak = [rss()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(SAMPLE_SECONDS):
            peak[0] = max(peak[0], rss())

    threading.Thread(target=sample, daemon=True).start()
    start_rss = rss()
    at_10 = 0
    rows = 0
    t0 = time.perf_counter()
    lines = csv_lines(LOG_COLUMNS, (log_row(e) for e in herald.walk_log(LogQuery())))
    next(lines)  # the header
    for _ in lines:
        rows += 1
        if rows == max(1, total // 10):
            at_10 = rss()
    seconds = time.perf_counter() - t0
    done.set()
    end = rss()
    return {
        "rows": rows,
        "seconds": seconds,
        "rss_start": start_rss,
        "rss_10": at_10 or end,
        "rss_end": end,
        "rss_peak": max(peak[0], end),
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(sys.argv[1])) + "\n")
