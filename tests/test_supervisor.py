"""``herald up``'s supervisor: a child that ends without being asked to is logged and started
again, with a growing pause; ``stop()`` ends every child and restarts nothing."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from bench.harness import wait_for
from herald.supervisor import Supervisor


def _spawn(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


def test_a_child_that_exits_is_logged_and_restarted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    sup = Supervisor(min_backoff=0.05, max_backoff=0.2)
    child = sup.add("quitter", lambda: _spawn("import sys; sys.exit(3)"))
    sup.run_in_background()
    try:
        assert wait_for(lambda: child.restarts >= 3, timeout=20)
    finally:
        sup.stop()
    assert child.exits[:3] == [3, 3, 3]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("quitter exited with status 3" in m and "without being asked" in m for m in errors)
    assert child.backoff == pytest.approx(0.2)  # doubled up to the cap


def test_stop_ends_children_and_restarts_nothing() -> None:
    sup = Supervisor(min_backoff=0.05)
    child = sup.add("sleeper", lambda: _spawn("import time; time.sleep(60)"))
    sup.run_in_background()
    assert child.proc is not None and child.proc.poll() is None
    sup.stop()
    assert child.proc.poll() is not None
    sup.check()
    assert child.restarts == 0


def test_a_child_that_cannot_start_is_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    attempts: list[int] = []

    def start() -> subprocess.Popen[bytes]:
        attempts.append(1)
        if len(attempts) < 3:
            raise OSError("no such program")
        return _spawn("import time; time.sleep(60)")

    sup = Supervisor(min_backoff=0.05, max_backoff=0.1)
    child = sup.add("flaky", start)
    sup.run_in_background()
    try:
        assert wait_for(lambda: child.proc is not None and child.proc.poll() is None, timeout=10)
    finally:
        sup.stop()
    assert len(attempts) == 3
    assert any("could not be started" in r.getMessage() for r in caplog.records)
