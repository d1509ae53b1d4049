"""The floor: one process sending the burst's posts to the simulator in a plain loop.

``python -m bench.bare --base-url URL --token T [--token T ...] --count N --threads 1 --at EPOCH``
imports everything, sleeps until ``--at`` (the posts' due instant), then sends post ``i`` as a
Mastodon status on account ``i % len(tokens)``: the same request Herald's connector sends (JSON
body, bearer token, ``Idempotency-Key``), over a ``requests.Session`` (one per thread, as a
session is not thread-safe) with keep-alive. It prints one JSON object on stdout: counts, the
wall-clock start and end, and the process's CPU seconds, so the caller can put its cost per post
next to Herald's.

It runs in its own process so that it competes for the two cores the way a worker does, and not
for the GIL of the benchmark process that hosts the simulator.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

#: Connect and read timeouts per request (seconds): loopback answers in milliseconds.
TIMEOUT_SECONDS = (5.0, 30.0)
#: Longest wait for ``--at`` (seconds): a bad argument must not hang the benchmark.
MAX_WAIT_SECONDS = 120.0

_local = threading.local()


def _session() -> requests.Session:
    s: requests.Session | None = getattr(_local, "session", None)
    if s is None:
        s = requests.Session()
        _local.session = s
    return s


def send(url: str, token: str, text: str) -> bool:
    """POST one status; True when the platform accepted it."""
    r = _session().post(
        url,
        json={"status": text, "visibility": "public"},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"bare-{uuid.uuid4().hex}"},
        timeout=TIMEOUT_SECONDS,
    )
    return r.status_code == 200


def run(
    base_url: str, tokens: list[str], count: int, threads: int, prefix: str, at: float
) -> dict[str, float]:
    url = base_url.rstrip("/") + "/api/v1/statuses"
    jobs = [(tokens[i % len(tokens)], f"{prefix} #{i}") for i in range(count)]
    time.sleep(min(MAX_WAIT_SECONDS, max(0.0, at - time.time())))
    started = time.time()
    cpu0 = _cpu()
    if threads <= 1:
        ok = sum(send(url, tok, text) for tok, text in jobs)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            ok = sum(pool.map(lambda job: send(url, *job), jobs))
    return {
        "sent": float(count),
        "ok": float(ok),
        "started": started,
        "finished": time.time(),
        "cpu_seconds": _cpu() - cpu0,
    }


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--base-url", required=True, help="the simulator's Mastodon base URL")
    ap.add_argument("--token", action="append", required=True, help="an account's access token")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--prefix", default="bare")
    ap.add_argument("--at", type=float, default=0.0, help="epoch seconds to start sending at")
    args = ap.parse_args(argv)
    out = run(args.base_url, args.token, args.count, args.threads, args.prefix, args.at)
    sys.stdout.write(json.dumps(out) + "\n")
    return 0 if out["ok"] == out["sent"] else 1


if __name__ == "__main__":
    sys.exit(main())
