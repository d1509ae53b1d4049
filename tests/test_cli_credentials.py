"""Issue 15, point 4: credentials need not be typed on the command line. ``herald channel add``
takes them from a file, standard input or a hidden prompt, and stores exactly what
``--credential KEY=VALUE`` (still working, documented as unsafe) stores; a missing or doubled
one is named and nothing is added."""

from __future__ import annotations

import json
import os
import pty
import select
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from herald.cli import app as cli
from herald.store.channels import channel_by_name

runner = CliRunner()

X_CREDS = {
    "api_key": "cli-x-consumer-key-4e1a",
    "api_secret": "cli-x-consumer-secret=with=equals",
    "access_token": "cli-x-access-token-77c0",
    "access_token_secret": "cli-x-access-secret-b3d9",
}


def add(name: str, *args: str, stdin: str | None = None) -> Any:
    return runner.invoke(
        cli,
        ["channel", "add", name, "--platform", "x", "--base-url", "http://127.0.0.1:9/x", *args],
        input=stdin,
    )


def stored(herald: Any, name: str) -> dict[str, str]:
    """The channel's credentials, opened with the service's own box."""
    with herald.db.read() as s:
        channel = channel_by_name(s, name)
        assert channel is not None, f"channel {name} was not added"
        return {k: v.reveal() for k, v in herald.box.open(channel.credentials_encrypted).items()}


def test_a_file_stdin_and_the_old_flag_store_the_same_credentials(herald: Any, tmp_path: Path) -> None:
    flags = [a for k, v in X_CREDS.items() for a in ("--credential", f"{k}={v}")]
    assert add("c-flag", *flags).exit_code == 0

    lines = tmp_path / "x.env"
    lines.write_text("# the X app of the campaign\n\n" + "".join(f"{k}={v}\n" for k, v in X_CREDS.items()))
    res = add("c-file", "--credentials-file", str(lines))
    assert res.exit_code == 0, res.output

    as_json = tmp_path / "x.json"
    as_json.write_text(json.dumps(X_CREDS))
    assert add("c-json", "--credentials-file", str(as_json)).exit_code == 0

    res = add("c-stdin", "--credentials-stdin", stdin="\n".join(f"{k}={v}" for k, v in X_CREDS.items()))
    assert res.exit_code == 0, res.output
    assert add("c-stdin-json", "--credentials-stdin", stdin=json.dumps(X_CREDS)).exit_code == 0

    names = ["c-flag", "c-file", "c-json", "c-stdin", "c-stdin-json"]
    for name in names:
        assert stored(herald, name) == X_CREDS, name
    listed = {c.name: c.credentials for c in herald.list_channels()}
    assert {listed[n] for n in names} == {tuple(sorted(X_CREDS))}
    for res in (add("c-echo", "--credentials-file", str(lines)),):
        assert not any(v in res.output for v in X_CREDS.values()), "a credential was echoed"


def test_sources_combine_and_a_key_given_twice_is_refused(herald: Any, tmp_path: Path) -> None:
    part = tmp_path / "part.env"
    part.write_text("api_key=" + X_CREDS["api_key"] + "\napi_secret=" + X_CREDS["api_secret"] + "\n")
    rest = "\n".join(f"{k}={X_CREDS[k]}" for k in ("access_token", "access_token_secret"))
    assert add("c-both", "--credentials-file", str(part), "--credentials-stdin", stdin=rest).exit_code == 0
    assert stored(herald, "c-both") == X_CREDS

    res = add("c-twice", "--credentials-file", str(part), "--credential", "api_key=other", stdin="")
    assert res.exit_code != 0 and "api_key" in res.stderr and "more than once" in res.stderr
    assert "c-twice" not in {c.name for c in herald.list_channels()}


def test_a_missing_credential_is_named_and_nothing_is_added(herald: Any, tmp_path: Path) -> None:
    part = tmp_path / "part.env"
    part.write_text(f"api_key={X_CREDS['api_key']}\naccess_token={X_CREDS['access_token']}\n")
    res = add("c-missing", "--credentials-file", str(part))
    assert res.exit_code != 0
    assert "api_secret" in res.stderr and "access_token_secret" in res.stderr
    assert X_CREDS["api_key"] not in res.stderr
    assert herald.list_channels() == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("api_key\n", "line 1: expected KEY=VALUE"),
        ("api_key=a\napi_key=b\n", "line 2: api_key given twice"),
        ('{"api_key": ["a"]}', "api_key: expected a string"),
        ('{"api_key": ', "not a valid JSON object"),
    ],
)
def test_a_bad_credentials_file_is_refused_naming_the_line_never_a_value(
    herald: Any, tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "bad.env"
    path.write_text(content)
    res = add("c-bad", "--credentials-file", str(path))
    assert res.exit_code != 0 and expected in res.stderr and "credentials-file" in res.stderr
    assert herald.list_channels() == []


def test_an_unreadable_credentials_file_is_named(herald: Any, tmp_path: Path) -> None:
    res = add("c-none", "--credentials-file", str(tmp_path / "absent.env"))
    assert res.exit_code != 0 and "absent.env" in res.stderr


def test_the_flag_is_documented_as_unsafe_on_shared_machines(herald_env: dict[str, str]) -> None:
    res = runner.invoke(cli, ["channel", "add", "--help"], env={"COLUMNS": "200"})
    text = " ".join(res.output.split())
    assert (
        "Unsafe on a shared machine" in text
        and "--credentials-file" in text
        and "--credentials-stdin" in text
    )


def test_in_a_terminal_missing_credentials_are_asked_for_without_echo(
    herald: Any, herald_env: dict[str, str]
) -> None:
    """A real ``herald`` process on a pseudo-terminal: it asks for each credential it lacks, and
    what is typed is neither echoed nor on its command line."""
    flag = f"api_key={X_CREDS['api_key']}"
    argv = [sys.executable, "-m", "herald.cli", "channel", "add", "c-prompt", "--platform", "x",
            "--base-url", "http://127.0.0.1:9/x", "--credential", flag]  # fmt: skip
    # pty.fork: the child's controlling terminal is the pseudo-terminal, as in a shell (getpass
    # reads /dev/tty and turns its echo off).
    pid, controller = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execve(sys.executable, argv, {**os.environ, **herald_env})
    seen = b""
    try:
        for key in ("api_secret", "access_token", "access_token_secret"):
            # click prints "KEY:", then getpass turns the echo off and prints " ": answer after it.
            seen += _read_until(controller, f"{key}: ".encode(), seen)
            os.write(controller, X_CREDS[key].encode() + b"\n")
        seen += _read_rest(controller)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, seen[-400:]
    finally:
        os.close(controller)
    assert stored(herald, "c-prompt") == X_CREDS
    for key in ("api_secret", "access_token", "access_token_secret"):
        assert X_CREDS[key].encode() not in seen, f"{key} was echoed"


def _read_until(fd: int, marker: bytes, before: bytes, timeout: float = 30.0) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while marker not in out:
        assert time.monotonic() < deadline, f"no prompt {marker!r}; got {(before + out)[-400:]!r}"
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            out += os.read(fd, 4096)
    return out


def _read_rest(fd: int) -> bytes:
    out = b""
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        out += chunk
    return out
