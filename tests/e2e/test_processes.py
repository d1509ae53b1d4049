"""The real commands as separate processes: `celery -A tasks worker` from the project root,
`herald scheduler`, and `herald post add` / `herald log` through the installed entry point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]
HERALD = str(Path(sys.executable).parent / "herald")


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(p: subprocess.Popen[bytes]) -> None:
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def test_celery_worker_and_scheduler_processes(
    herald_env: dict[str, str], herald: Any, channels: Any, sim: Any, tmp_path: Path
) -> None:
    env = {**os.environ, **herald_env, "HERALD_LOG_LEVEL": "INFO"}
    worker = _spawn(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tasks",
            "worker",
            "-P",
            "threads",
            "-c",
            "4",
            "-Q",
            "herald",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ],
        env,
        tmp_path / "worker.log",
    )
    sched = _spawn([HERALD, "scheduler"], env, tmp_path / "scheduler.log")
    try:
        at = time.time() + 3
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at + 1))
        res = subprocess.run(
            [
                HERALD,
                "post",
                "add",
                "--channel",
                "kr-mastodon",
                "--channel",
                "kr-x",
                "--text",
                "From separate processes / 별도 프로세스",
                "--at",
                iso,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.returncode == 0, res.stderr
        post_id = res.stdout.strip().splitlines()[-1]
        ok = wait_for(lambda: len(sim.ledger()) >= 2, timeout=45)
        assert ok, (tmp_path / "worker.log").read_text()[-3000:] + (tmp_path / "scheduler.log").read_text()[
            -3000:
        ]
        out = subprocess.run(
            [HERALD, "log", "--format", "json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        rows = json.loads(out.stdout)
        assert wait_for(
            lambda: (
                {
                    r["status"]
                    for r in json.loads(
                        subprocess.run(
                            [HERALD, "log", "--format", "json"],
                            cwd=ROOT,
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=60,
                        ).stdout
                    )
                }
                == {"published"}
            ),
            timeout=15,
        )
        assert {r["post_id"] for r in rows} == {post_id}
        assert len(sim.ledger()) == 2
    finally:
        _stop(sched)
        _stop(worker)
    logs = (tmp_path / "worker.log").read_text() + (tmp_path / "scheduler.log").read_text()
    from tests.e2e.conftest import ALL_SECRETS

    assert not any(s in logs for s in ALL_SECRETS)
    assert "published" in logs


@pytest.mark.parametrize("env_name", ["production"])
def test_production_refuses_placeholder_secret(herald_env: dict[str, str], env_name: str) -> None:
    env = {**os.environ, **herald_env, "HERALD_ENV": env_name, "HERALD_SECRET_KEY": "changeme"}
    res = subprocess.run(
        [HERALD, "channel", "add", "a", "--platform", "mastodon", "--credential", "access_token=abcdef"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode != 0 and "HERALD_SECRET_KEY" in res.stderr
