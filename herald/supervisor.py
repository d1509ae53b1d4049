"""Keep child processes running: ``herald up``'s worker and embedded Redis.

A child that ends without being asked to is logged with its exit status and started again,
after a pause that doubles with each quick failure (1 s, 2 s, ... up to 30 s) and resets once a
child has run for a minute. In production the same job belongs to the compose file's restart
policy or to systemd (``docs/deploy.md``).
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

#: First pause before a restart (seconds); doubled after each quick failure.
MIN_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
#: A child that ran this long before it ended restarts after the first pause again.
STABLE_AFTER_SECONDS = 60.0
#: How often children are looked at (seconds).
POLL_SECONDS = 0.2

Start = Callable[[], "subprocess.Popen[bytes]"]


@dataclass
class Child:
    name: str
    start: Start
    stop: Callable[[subprocess.Popen[bytes]], None]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff: float = MIN_BACKOFF_SECONDS
    restart_at: float | None = None
    restarts: int = 0
    exits: list[int] = field(default_factory=list)


class Supervisor:
    """Start children, restart them when they end, stop them all on ``stop()``."""

    def __init__(
        self,
        *,
        min_backoff: float = MIN_BACKOFF_SECONDS,
        max_backoff: float = MAX_BACKOFF_SECONDS,
        stable_after: float = STABLE_AFTER_SECONDS,
    ) -> None:
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        self.children: dict[str, Child] = {}
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def add(
        self, name: str, start: Start, stop: Callable[[subprocess.Popen[bytes]], None] | None = None
    ) -> Child:
        child = Child(name, start, stop or terminate, backoff=self.min_backoff)
        with self._lock:
            self._launch(child)
            self.children[name] = child
        return child

    def remove(self, name: str) -> Child | None:
        """Stop supervising ``name`` (its process is left as it is)."""
        with self._lock:
            return self.children.pop(name, None)

    def restart_now(self, name: str) -> None:
        """Start ``name`` again at once if it has ended (no pause)."""
        with self._lock:
            child = self.children[name]
            if child.proc is not None and child.proc.poll() is None:
                return
            if child.proc is not None and child.restart_at is None:
                child.exits.append(int(child.proc.returncode))
            child.restart_at = None
            child.restarts += 1
            self._launch(child)

    def run_in_background(self) -> None:
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
        self._thread.start()

    def halt(self) -> None:
        """Stop watching: nothing is started again from now on."""
        self._halt.set()
        if self._thread is not None:
            self._thread.join(5)

    def stop(self) -> None:
        """Stop watching, then stop every child (in reverse order of adding)."""
        self.halt()
        with self._lock:
            children = list(self.children.values())
        for child in reversed(children):
            if child.proc is not None and child.proc.poll() is None:
                child.stop(child.proc)

    def check(self, now: float | None = None) -> None:
        """Look at every child once: restart what ended, when its pause is over."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for child in list(self.children.values()):
                if self._halt.is_set():
                    return
                self._check(child, now)

    def _check(self, child: Child, now: float) -> None:
        proc = child.proc
        if child.restart_at is None and proc is not None and proc.poll() is not None:
            ran = now - child.started_at
            child.exits.append(int(proc.returncode))
            if ran >= self.stable_after:
                child.backoff = self.min_backoff
            log.error(
                "%s exited with status %d after %.0f s without being asked to; restarting it in %.0f s",
                child.name,
                proc.returncode,
                ran,
                child.backoff,
                extra={"child": child.name, "status": proc.returncode},
            )
            child.restart_at = now + child.backoff
            child.backoff = min(self.max_backoff, child.backoff * 2)
        if child.restart_at is not None and now >= child.restart_at:
            child.restart_at = None
            child.restarts += 1
            self._launch(child)

    def _launch(self, child: Child) -> None:
        try:
            child.proc = child.start()
            child.started_at = time.monotonic()
            if child.restarts:
                log.warning("%s restarted (pid %d, restart %d)", child.name, child.proc.pid, child.restarts)
        except Exception:  # could not even start: try again after the pause
            log.exception("%s could not be started; trying again in %.0f s", child.name, child.backoff)
            child.restart_at = time.monotonic() + child.backoff
            child.backoff = min(self.max_backoff, child.backoff * 2)

    def _run(self) -> None:
        while not self._halt.wait(POLL_SECONDS):
            try:
                self.check()
            except Exception:  # the supervisor must outlive any one failure
                log.exception("supervisor: unexpected error")


def terminate(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
