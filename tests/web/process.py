"""``herald web`` as its own process, for the tests that need one (memory, keys): started on a
free port with the environment given, waited for, and stopped by its process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import requests

HERALD = str(Path(sys.executable).parent / "herald")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def herald_web(env: Mapping[str, str], *, start_seconds: float = 30) -> Iterator[tuple[str, int]]:
    """The base URL and process id of ``herald web`` run with exactly ``env``."""
    port = free_port()
    proc = subprocess.Popen([HERALD, "web", "--port", str(port)], env=dict(env), start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + start_seconds
    try:
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code in (200, 503):
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or too busy starting to answer within the second
            assert proc.poll() is None and time.monotonic() < deadline, "herald web did not start"
            time.sleep(0.2)
        yield base, proc.pid
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
