"""The floor: one process sending the burst's posts to the simulator in a plain loop.

``python -m bench.bare --base-url URL --token T [--token T ...] --count N --threads 1 --at EPOCH``
imports everything, sleeps until ``--at`` (the posts' due instant), then sends post ``i`` as a
Mastodon status on account ``i % len(tokens)``: the same request Herald's connector sends (JSON
body, bearer token, ``Idempotency-Key``), over a ``requests.Session`` (one per thread, as a
session is not thread-safe) with keep-alive. It prints one JSON object on stdout: counts, the
wall-clock start and end, and the process's CPU seconds, so the caller can put its cost per post
next to Herald's.

``--jobs FILE`` sends posts on any of four platforms instead (the top-of-the-hour scenario): a
JSON list of ``{"platform", "url", "credentials", "text"}``, sent in order with the request
Herald's connector for that platform sends (``send_job``, shared with plain Celery's task in
``bench.eta_app``). Bluesky sessions are opened before ``--at``, as Herald's worker holds one.

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
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

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


# -- any platform: the request Herald's connector sends, written plainly ---------------------------

#: One post to send: {"platform", "url" (the platform's base URL), "credentials", "text"}.
Job = Mapping[str, Any]  # Any: JSON values


def _bluesky_session(url: str, credentials: Mapping[str, str]) -> tuple[str, str]:
    """(DID, access JWT) for this thread, opened once per account (``createSession`` is
    limited to 30 per 5 minutes)."""
    sessions: dict[str, tuple[str, str]] = getattr(_local, "bluesky", {})
    _local.bluesky = sessions
    handle = credentials["handle"]
    if handle not in sessions:
        r = _session().post(
            f"{url}/xrpc/com.atproto.server.createSession",
            json={"identifier": handle, "password": credentials["app_password"]},
            timeout=TIMEOUT_SECONDS,
        )
        r.raise_for_status()
        answer = r.json()
        sessions[handle] = (answer["did"], answer["accessJwt"])
    return sessions[handle]


def send_job(job: Job) -> int:
    """Send one post; the platform's HTTP status (2xx: accepted). Mastodon: a status with an
    ``Idempotency-Key``; Telegram: ``sendMessage``; Bluesky: ``createRecord`` (the session
    kept per thread); X: ``POST /2/tweets`` signed with OAuth 1.0a, as tweepy signs it."""
    platform, url, creds, text = job["platform"], job["url"].rstrip("/"), job["credentials"], job["text"]
    s = _session()
    if platform == "mastodon":
        r = s.post(
            f"{url}/api/v1/statuses",
            json={"status": text, "visibility": "public"},
            headers={"Authorization": f"Bearer {creds['access_token']}", "Idempotency-Key": uuid.uuid4().hex},
            timeout=TIMEOUT_SECONDS,
        )
    elif platform == "telegram":
        r = s.post(
            f"{url}/bot{creds['bot_token']}/sendMessage",
            json={"chat_id": creds["chat_id"], "text": text},
            timeout=TIMEOUT_SECONDS,
        )
    elif platform == "bluesky":
        did, jwt = _bluesky_session(url, creds)
        record = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        r = s.post(
            f"{url}/xrpc/com.atproto.repo.createRecord",
            json={"repo": did, "collection": "app.bsky.feed.post", "record": record},
            headers={"Authorization": f"Bearer {jwt}"},
            timeout=TIMEOUT_SECONDS,
        )
    elif platform == "x":
        from requests_oauthlib import OAuth1

        auth = OAuth1(
            creds["api_key"],
            client_secret=creds["api_secret"],
            resource_owner_key=creds["access_token"],
            resource_owner_secret=creds["access_token_secret"],
        )
        r = s.post(f"{url}/2/tweets", json={"text": text}, auth=auth, timeout=TIMEOUT_SECONDS)
    else:
        raise ValueError(f"no plain sender for platform {platform!r}")
    return r.status_code


def run_jobs(jobs: Sequence[Job], threads: int, at: float) -> dict[str, float]:
    """Send ``jobs`` in order (``threads`` > 1: a thread pool) starting at ``at``."""
    if threads <= 1:
        for job in jobs:
            if job["platform"] == "bluesky":
                _bluesky_session(job["url"].rstrip("/"), job["credentials"])
    time.sleep(min(MAX_WAIT_SECONDS, max(0.0, at - time.time())))
    started = time.time()
    cpu0 = _cpu()
    if threads <= 1:
        ok = sum(200 <= send_job(job) < 300 for job in jobs)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            ok = sum(200 <= code < 300 for code in pool.map(send_job, jobs))
    return {
        "sent": float(len(jobs)),
        "ok": float(ok),
        "started": started,
        "finished": time.time(),
        "cpu_seconds": _cpu() - cpu0,
    }


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
    ap.add_argument("--base-url", help="the simulator's Mastodon base URL")
    ap.add_argument("--token", action="append", help="an account's access token")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--jobs", help="a JSON file of posts on any platform, instead of the above")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--prefix", default="bare")
    ap.add_argument("--at", type=float, default=0.0, help="epoch seconds to start sending at")
    args = ap.parse_args(argv)
    if args.jobs:
        with open(args.jobs) as f:
            out = run_jobs(json.load(f), args.threads, args.at)
    elif args.base_url and args.token and args.count:
        out = run(args.base_url, args.token, args.count, args.threads, args.prefix, args.at)
    else:
        ap.error("give --jobs, or --base-url, --token and --count")
    sys.stdout.write(json.dumps(out) + "\n")
    return 0 if out["ok"] == out["sent"] else 1


if __name__ == "__main__":
    sys.exit(main())
