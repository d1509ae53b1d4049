"""``herald worker`` running several processes: it starts again one that dies, and none outlives
it, even when it is killed with SIGKILL (the parent-death signal)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import wait_for

ROOT = Path(__file__).resolve().parents[2]
HERALD = str(Path(sys.executable).parent / "herald")


def _children(pid: int) -> list[int]:
    """Child processes of ``pid``, whichever of its threads started them."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(out)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split(")")[-1].split()[0] != "Z"


def _state(pid: int) -> str:
    """What a process is doing, for a failure's message: its state and what it waits in."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        wchan = Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return "gone"
    lines = [
        x for x in status.splitlines() if x.startswith(("State:", "PPid:", "SigPnd:", "ShdPnd:", "SigCgt:"))
    ]
    return "; ".join(lines) + f"; wchan {wchan}"


def test_a_dead_process_is_replaced_and_none_outlives_a_killed_worker(
    herald_env: dict[str, str], herald: object, tmp_path: Path
) -> None:
    env = {**os.environ, **herald_env, "HERALD_METRICS_PORT": "0"}
    log = (tmp_path / "worker.log").open("ab")
    worker = subprocess.Popen(
        [HERALD, "worker", "--processes", "2", "-c", "2"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        assert wait_for(lambda: len(_children(worker.pid)) == 2, timeout=30), (
            tmp_path / "worker.log"
        ).read_text()
        first = _children(worker.pid)
        os.kill(first[0], signal.SIGKILL)
        assert wait_for(
            lambda: len(_children(worker.pid)) == 2 and first[0] not in _children(worker.pid), timeout=30
        ), (tmp_path / "worker.log").read_text()
        survivors = _children(worker.pid)
        worker.kill()  # SIGKILL: no handler runs in the parent
        worker.wait(10)
        assert wait_for(lambda: not any(_alive(p) for p in survivors), timeout=30), (
            [(p, _state(p)) for p in survivors],
            (tmp_path / "worker.log").read_text()[-4000:],
        )
    finally:
        if worker.poll() is None:
            worker.kill()
        log.close()


def test_a_child_whose_parent_died_before_it_armed_the_death_signal_ends_at_once() -> None:
    """The race the test above met under load: the parent killed between the fork and the
    child's prctl. A child that finds another parent than the one that started it exits
    before running anything; with its own parent it runs."""
    from herald.cli.processes import _die_with_parent

    script = [sys.executable, "-c", "import time; time.sleep(30)"]
    t0 = time.monotonic()
    orphan = subprocess.run(script, preexec_fn=_die_with_parent(os.getpid() + 4_000_000), timeout=20)  # noqa: PLW1509
    assert orphan.returncode == 1 and time.monotonic() - t0 < 10
    ok = subprocess.run(
        [sys.executable, "-c", "print('ran')"],
        preexec_fn=_die_with_parent(os.getpid()),
        capture_output=True,
        timeout=20,  # noqa: PLW1509
    )
    assert (ok.returncode, ok.stdout.strip()) == (0, b"ran")
