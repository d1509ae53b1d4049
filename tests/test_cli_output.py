"""How the CLI prints rows: tables that never cut a cell and measure Hangul as two columns,
CSV whose formula-like cells cannot run in a spreadsheet, JSON with every field; and ``herald
log`` over a real log: CSV with the web export's columns, paging by cursor to every row, JSON
as the list it always was."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from rich.cells import cell_len

from herald.cli.app import emit

LINK = "https://social.example/@unify_kr/117716833289633792?utm_source=herald&utm_campaign=평화통일"
ROWS = [
    {"channel": "평화-마스토돈", "status": "published", "remote_url": LINK, "error": None},
    {
        "channel": "kr-x",
        "status": "failed",
        "remote_url": None,
        "error": "[bold]403[/bold] :smile: =HYPERLINK(1)",
    },
]
COLUMNS = ["channel", "status", "remote_url", "error"]


def test_table_keeps_links_whole_and_aligns_wide_characters(capsys: pytest.CaptureFixture[str]) -> None:
    emit(ROWS, "table", COLUMNS)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert LINK in lines[1]  # not cut at 60 characters as it used to be
    # Columns line up on screen: the status column starts at the same display column.
    starts = [
        cell_len(line[: line.index(word)])
        for line, word in zip(lines, ["status", "published", "failed"], strict=True)
    ]
    assert len(set(starts)) == 1, starts
    # Cells are data: markup and emoji codes print as written.
    assert "[bold]403[/bold] :smile:" in lines[2]


def test_csv_neutralises_formula_cells(capsys: pytest.CaptureFixture[str]) -> None:
    emit(ROWS + [{"channel": "@team", "status": "+1", "remote_url": "-2", "error": "\tx"}], "csv", COLUMNS)
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == COLUMNS
    assert rows[1] == ["평화-마스토돈", "published", LINK, ""]
    assert rows[2][3] == "[bold]403[/bold] :smile: =HYPERLINK(1)"  # not at the start: left alone
    assert rows[3] == ["'@team", "'+1", "'-2", "'\tx"]


def test_json_has_every_field(capsys: pytest.CaptureFixture[str]) -> None:
    emit(ROWS, "json", ["channel"])
    assert json.loads(capsys.readouterr().out) == ROWS


# -- ``herald log``: paging, CSV, JSON and tables over a real log ---------------------------------


@pytest.fixture
def logged(herald: Any) -> list[str]:
    """Four posts tomorrow on two channels, and two sent now: one published with a long link on
    a channel with a Korean name, one failed with a formula-like error (ten deliveries)."""
    from datetime import timedelta

    from herald.service import PostRequest
    from herald.store.models import utcnow
    from tests.web import add_channels, settle

    add_channels(herald)
    herald.add_channel(
        "평화-마스토돈", "mastodon", {"access_token": "tok-kr-12345"}, base_url="http://127.0.0.1:9/m"
    )
    base = utcnow() + timedelta(days=1)
    ids = [
        herald.add_post(PostRequest(channels=["m1", "x1"], text=f"post {n}", at=base + timedelta(hours=n)))
        for n in range(4)
    ]
    sent = herald.add_post(PostRequest(channels=["평화-마스토돈"], text="평화 통일"))
    settle(herald, sent, "published", url=LINK)
    broken = herald.add_post(PostRequest(channels=["x1"], text="broken"))
    settle(herald, broken, "failed", error="=HYPERLINK(1)")
    return ids


def _log(*args: str) -> Any:
    from typer.testing import CliRunner

    from herald.cli import app as cli

    return CliRunner().invoke(cli, ["log", *args], catch_exceptions=False)


def test_log_csv_is_csv_with_the_web_exports_columns(herald: Any, logged: list[str]) -> None:
    from herald.web.exports import LOG_COLUMNS

    r = _log("--format", "csv")
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == list(LOG_COLUMNS)  # no byte order mark on standard output
    assert len(rows) == 1 + 10
    error = LOG_COLUMNS.index("error")
    assert "'=HYPERLINK(1)" in [row[error] for row in rows[1:]]  # neutralised, as the download is
    assert LINK in [row[LOG_COLUMNS.index("remote_url")] for row in rows[1:]]


def test_log_pages_with_limit_and_after_and_reaches_everything(herald: Any, logged: list[str]) -> None:
    everything = [row["delivery_id"] for row in json.loads(_log("--format", "json").stdout)]
    assert len(everything) == 10
    seen: list[int] = []
    args = ["--format", "json", "--limit", "4"]
    for _ in range(5):
        r = _log(*args)
        assert r.exit_code == 0, r.output
        seen += [row["delivery_id"] for row in json.loads(r.stdout)]
        more = [line for line in r.stderr.splitlines() if "--after" in line]
        if not more:
            break
        args = ["--format", "json", "--limit", "4", "--after", more[0].rsplit(" ", 1)[-1]]
    assert seen == everything
    every = _log("--format", "json", "--all")
    assert [row["delivery_id"] for row in json.loads(every.stdout)] == everything
    assert "--after" not in every.stderr
    # Filters narrow it, a bad one or a bad cursor is refused with the reason (exit 2).
    failed = json.loads(_log("--format", "json", "--status", "failed").stdout)
    assert {row["status"] for row in failed} == {"failed"} and len(failed) == 1
    on_x = json.loads(_log("--format", "json", "--platform", "x").stdout)
    assert [row["channel"] for row in on_x] == ["x1"] * 5
    assert len(json.loads(_log("--format", "json", "--search", "post 3").stdout)) == 2
    for bad in (["--status", "sideways"], ["--from", "tuesday"], ["--after", "not-a-cursor"]):
        r = _log(*bad)
        assert r.exit_code == 2 and "error:" in r.stderr, bad


def test_log_json_is_the_list_it_always_was(herald: Any, logged: list[str]) -> None:
    """Streamed a record at a time, the text is what ``json.dumps(rows, indent=2)`` gives."""
    r = _log("--format", "json")
    rows = json.loads(r.stdout)
    assert r.stdout == json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    assert rows == [e.to_dict() for e in herald.delivery_log()]
    empty = _log("--format", "json", "--campaign", "nowhere")
    assert empty.stdout == "[]\n"


def test_log_table_keeps_links_whole_and_hangul_aligned(herald: Any, logged: list[str]) -> None:
    r = _log()
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert any(LINK in line for line in lines)  # the published link, whole, on one line
    korean = next(line for line in lines if "평화-마스토돈" in line)
    other = next(line for line in lines if " x1 " in f" {line} ")
    # The platform column starts at the same screen column on both rows (Hangul is 2 wide).
    assert cell_len(korean[: korean.index("mastodon")]) == cell_len(other[: other.index(" x ") + 1])
