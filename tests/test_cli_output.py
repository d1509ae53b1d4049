"""How the CLI prints rows: tables that never cut a cell and measure Hangul as two columns,
CSV whose formula-like cells cannot run in a spreadsheet, JSON with every field."""

from __future__ import annotations

import csv
import io
import json

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
