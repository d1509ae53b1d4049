"""The README's quick start, as a newcomer runs it: ``herald up`` (what ``make run`` starts)
on an empty data folder prints a first admin's password once; that password signs in through
the real sign-in form; the commands the README gives for "another terminal" run exactly as
written (from the project's root, with its sample photo) and the post goes out on the sandbox;
a second start prints no password. Everything runs as real processes (embedded Redis, the
sandbox, a worker, the web app)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.web import csrf_of
from tests.web.process import free_port

HERALD = str(Path(sys.executable).parent / "herald")
ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PUBLISH_SECONDS = 60


def readme_commands() -> str:
    """The shell block the README's quick start gives for "another terminal"."""
    text = README.read_text()
    after = text.split("In another terminal:", 1)[1]
    block = re.search(r"```sh\n(.*?)```", after, re.S)
    assert block, "the README's quick start lost its second command block"
    return block.group(1)


START_SECONDS = 90


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    return env | {"HERALD_DATA_DIR": str(data), "HERALD_LOG_LEVEL": "WARNING"}


def _up(data: Path, port: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``herald up``; its output up to the "running" banner."""
    env = _env(data)
    out = log.open("wb")
    proc = subprocess.Popen(
        [HERALD, "up", "--port", str(port)],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "Ctrl-C stops everything" in text:
            try:
                if requests.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                    return proc, text
            except requests.ConnectionError:
                pass
        assert proc.poll() is None, f"herald up exited early:\n{text}"
        time.sleep(0.2)
    _stop(proc)
    raise AssertionError(f"herald up did not start in {START_SECONDS} s:\n{log.read_text(errors='replace')}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.timeout(240)
def test_first_start_prints_an_admin_password_once_and_it_signs_in(tmp_path: Path) -> None:
    port = free_port()
    proc, banner = _up(tmp_path / "var", port, tmp_path / "first.log")
    try:
        m = re.search(r"sign in as (\S+) with the password (\S+)", banner)
        assert m, banner
        email, password = m.groups()
        base = f"http://127.0.0.1:{port}"
        browser = requests.Session()
        # Anonymous: every page sends you to sign in.
        r = browser.get(f"{base}/", allow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/login")
        token = csrf_of(browser.get(f"{base}/login").text)
        r = browser.post(
            f"{base}/login",
            data={"email": email, "password": "wrong", "csrf_token": token},
            allow_redirects=False,
        )
        assert r.status_code == 401
        r = browser.post(
            f"{base}/login",
            data={"email": email, "password": password, "csrf_token": token},
            allow_redirects=False,
        )
        assert r.status_code == 303 and "herald_session" in browser.cookies
        page = browser.get(f"{base}/")
        assert page.status_code == 200 and email in page.text
        # A foreign Host name is refused (DNS rebinding).
        assert requests.get(f"{base}/login", headers={"Host": "evil.example"}, timeout=5).status_code == 400
        _run_the_readme_commands(tmp_path / "var")
    finally:
        _stop(proc)
    proc, banner = _up(tmp_path / "var", port, tmp_path / "second.log")
    _stop(proc)
    assert "with the password" not in banner


def _run_the_readme_commands(data: Path) -> None:
    """The README's commands, as written, with .venv/bin/herald standing for this venv's."""
    script = readme_commands().replace(".venv/bin/herald", HERALD)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env=_env(data),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    deadline = time.monotonic() + PUBLISH_SECONDS
    while True:
        out = subprocess.run(
            [HERALD, "log", "--format", "json"],
            cwd=ROOT,
            env=_env(data),
            capture_output=True,
            text=True,
            timeout=30,
        )
        rows = json.loads(out.stdout)
        if rows and all(r["status"] == "published" for r in rows):
            break
        assert time.monotonic() < deadline, rows
        time.sleep(0.5)
    # The two channels of the first command, and those of the sample CSV (examples/plan.csv).
    assert {r["channel"] for r in rows} == {
        "sandbox-mastodon",
        "sandbox-x",
        "sandbox-bluesky",
        "sandbox-telegram",
    }
    assert all(r["remote_url"] for r in rows)
