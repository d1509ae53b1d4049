"""CSV import in the campaign's terms, through ``herald post import`` and the import page on a
real database and Redis: times without an offset read in the row's ``tz``, else its campaign's
zone (the row's, else ``--campaign``), else UTC; ``next-slot`` rows; a ``repeat`` column; DST
edges refused per line. Files saved by Korean Excel (CP949 / EUC-KR) and UTF-8 with or without
BOM are read; a wrong guess at the encoding is reported, never imported."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from herald.cli import app as cli
from herald.core.errors import InputError
from herald.importing import decode
from herald.store.models import Delivery, Post
from tests.web import STAFF, add_channels, add_people, web_client

runner = CliRunner()
KOREAN = "평화 통일, 함께 걸어요"  # every syllable is in KS X 1001 (EUC-KR)
HEADER = "channels,at,text\n"


@pytest.fixture
def chans(herald: Any, herald_env: dict[str, str]) -> Any:
    herald.add_channel(
        "kr-m", "mastodon", {"access_token": "m-terms-123456"}, base_url="http://127.0.0.1:9/m"
    )
    herald.set_campaign("seoul", timezone="Asia/Seoul")
    herald.set_campaign("berlin", timezone="Europe/Berlin")
    return herald


def _run(*args: str) -> Any:
    return runner.invoke(cli, list(args), catch_exceptions=False)


def _file(tmp: Path, data: bytes | str, name: str = "plan.csv") -> Path:
    p = tmp / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return p


def _import(path: Path, *extra: str) -> list[str]:
    res = _run("post", "import", str(path), *extra)
    assert res.exit_code == 0, res.output + res.stderr
    return res.stdout.split()


def _refused(path: Path, *extra: str) -> str:
    res = _run("post", "import", str(path), *extra)
    assert res.exit_code != 0, res.stdout
    return str(res.stderr)


def _posts(herald: Any) -> dict[str, Any]:
    return {p.id: p for p in herald.list_posts()}


def _counts(herald: Any) -> tuple[int, int, int]:
    with herald.db.session() as s:
        posts, deliveries = (
            s.execute(select(func.count()).select_from(m)).scalar_one() for m in (Post, Delivery)
        )
    return posts, deliveries, herald.queue.redis.zcard(herald.queue.keys.due)


# -- times in the campaign's terms -------------------------------------------------------------


def test_a_time_without_offset_is_read_in_the_rows_zone_else_its_campaigns_else_utc(
    chans: Any, tmp_path: Path
) -> None:
    csv = (
        "channels,at,text,campaign,tz\n"
        "kr-m,2030-01-07 09:00,in Seoul's campaign,seoul,\n"
        "kr-m,2030-01-07T09:00,the row's zone wins,seoul,America/New_York\n"
        "kr-m,2030-01-07T09:00,no campaign: UTC,,\n"
        "kr-m,2030-01-07T09:00+01:00,an offset is an instant,seoul,\n"
    )
    ids = _import(_file(tmp_path, csv))
    posts = _posts(chans)
    assert [posts[i].scheduled_at[:16] for i in ids] == [
        "2030-01-07T00:00",
        "2030-01-07T14:00",
        "2030-01-07T09:00",
        "2030-01-07T08:00",
    ]


def test_the_campaign_option_gives_rows_without_one_its_campaign_and_zone(chans: Any, tmp_path: Path) -> None:
    csv = HEADER + "kr-m,2030-07-01T09:00,summer in Berlin\n"
    [pid] = _import(_file(tmp_path, csv), "--campaign", "berlin")
    post = _posts(chans)[pid]
    assert post.campaign == "berlin" and post.scheduled_at[:16] == "2030-07-01T07:00"  # CEST
    assert "no campaign named 'nowhere'" in _refused(_file(tmp_path, csv), "--campaign", "nowhere")


def test_next_slot_rows_take_the_next_free_slots_in_order(chans: Any, tmp_path: Path) -> None:
    chans.set_schedule("kr-m", slots="daily 09:00", timezone="Asia/Seoul")
    ids = _import(_file(tmp_path, HEADER + "kr-m,next-slot,first\nkr-m,NEXT_SLOT,second\n"))
    seoul = ZoneInfo("Asia/Seoul")
    when = [
        datetime.fromisoformat(_posts(chans)[i].scheduled_at.replace("Z", "+00:00")).astimezone(seoul)
        for i in ids
    ]
    assert [w.strftime("%H:%M") for w in when] == ["09:00", "09:00"]
    assert when[1] - when[0] == timedelta(days=1)


def test_a_repeat_column_queues_one_post_per_occurrence(chans: Any, tmp_path: Path) -> None:
    csv = (
        "channels,at,text,campaign,repeat\n"
        "kr-m,2030-03-26T09:00,weekly in Berlin,berlin,FREQ=WEEKLY;COUNT=2\n"
        "kr-m,2030-05-01T09:00Z,single,,\n"
    )
    ids = _import(_file(tmp_path, csv))
    assert len(ids) == 3
    log = {e.post_id: e for e in chans.delivery_log(limit=100)}
    assert [log[i].scheduled_at[:16] for i in ids] == [
        "2030-03-26T08:00",  # 09:00 CET
        "2030-04-02T07:00",  # 09:00 CEST: Berlin's clocks changed on 31 March
        "2030-05-01T09:00",
    ]
    assert log[ids[0]].series_id == log[ids[1]].series_id and log[ids[2]].series_id is None
    assert [log[i].occurrence for i in ids] == [1, 2, None]


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        (
            "kr-m,2030-03-10T02:30,gap,,America/New_York,\n",
            ["line 3", "2030-03-10 02:30 in America/New_York does not exist"],
        ),
        ("kr-m,2030-10-27T02:30,twice,berlin,,\n", ["line 3", "in Europe/Berlin happens twice"]),
        ("kr-m,2030-01-07T09:00,zone,,Mars/Olympus,\n", ["line 3", "unknown time zone 'Mars/Olympus'"]),
        ("kr-m,2030-01-07T09:00,endless,,,FREQ=DAILY\n", ["line 3", "repeat", "never ends"]),
        (
            "kr-m,2030-03-09T02:30,series,,America/New_York,FREQ=DAILY;COUNT=2\n",
            ["line 3", "occurrence 2 of 2", "does not exist"],
        ),
        ("kr-m,next-slot,no slots,,,\n", ["line 3", "no posting slots"]),
        ("kr-m,next-slot,series,,,FREQ=DAILY;COUNT=2\n", ["line 3", "repeat", "its first occurrence"]),
        ("kr-m,soon,words,,,\n", ["line 3", "not an ISO 8601 time"]),
    ],
)
def test_a_bad_row_is_named_by_its_line_and_nothing_is_queued(
    chans: Any, tmp_path: Path, rows: str, words: list[str]
) -> None:
    before = _counts(chans)
    csv = "channels,at,text,campaign,tz,repeat\nkr-m,2030-01-07T09:00Z,fine,,,\n" + rows
    err = _refused(_file(tmp_path, csv))
    assert "nothing queued" in err
    for w in words:
        assert w in err, (w, err)
    assert _counts(chans) == before


# -- encodings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codec", "choose"),
    [
        ("cp949", ()),
        ("euc-kr", ()),
        ("utf-8", ()),
        ("utf-8-sig", ()),
        ("utf-16", ()),  # with its BOM
        ("cp949", ("--encoding", "cp949")),
        ("euc-kr", ("--encoding", "euc-kr")),
        ("utf-8-sig", ("--encoding", "utf-8")),
    ],
)
def test_files_saved_by_korean_excel_and_utf8_with_or_without_bom_are_read(
    chans: Any, tmp_path: Path, codec: str, choose: tuple[str, ...]
) -> None:
    data = (HEADER + f'kr-m,2030-01-07T09:00+09:00,"{KOREAN}"\n').encode(codec)
    [pid] = _import(_file(tmp_path, data), *choose)
    assert _posts(chans)[pid].text == KOREAN


@pytest.mark.parametrize(
    ("data", "words"),
    [
        # Latin-1 text: not UTF-8, and not CP949 either (an accented letter then a comma).
        (
            (HEADER + "kr-m,now,Café Zürich, naïve\n").encode("latin-1"),
            ["not UTF-8", "not CP949", "--encoding"],
        ),
        # Latin-1 bytes that do form CP949 pairs: a rare syllable, not Korean text.
        ((HEADER + "kr-m,now,Ärger\n").encode("latin-1"), ["not UTF-8", "hardly Hangul", "--encoding"]),
        # A file an earlier conversion damaged.
        ((HEADER + "kr-m,now,broken \ufffd text\n").encode("utf-8"), ["U+FFFD", "replacement character"]),
        # cp1252 bytes in a file that is otherwise UTF-8: a C1 control character.
        ((HEADER + "kr-m,now,curly \u0093quote\u0094\n").encode("utf-8"), ["U+0093", "control character"]),
    ],
)
def test_a_wrong_guess_is_reported_not_imported(
    chans: Any, tmp_path: Path, data: bytes, words: list[str]
) -> None:
    before = _counts(chans)
    err = _refused(_file(tmp_path, data))
    assert "cannot tell the encoding of plan.csv (tried UTF-8, CP949)" in err
    for w in words:
        assert w in err, (w, err)
    assert _counts(chans) == before


def test_a_chosen_encoding_that_does_not_fit_is_refused(chans: Any, tmp_path: Path) -> None:
    before = _counts(chans)
    cp949 = _file(tmp_path, (HEADER + f"kr-m,now,{KOREAN.replace(',', '')}\n").encode("cp949"))
    assert "plan.csv is not UTF-8 (byte" in _refused(cp949, "--encoding", "utf-8")
    assert "unknown encoding 'klingon'" in _refused(cp949, "--encoding", "klingon")
    utf8 = _file(tmp_path, (HEADER + "kr-m,now,fine \x01\n").encode("utf-8"), "ctl.csv")
    assert "read as UTF-8 holds U+0001" in _refused(utf8, "--encoding", "utf-8")
    assert _counts(chans) == before


def test_decode_keeps_nul_bytes_out_and_reads_utf16_only_with_its_bom() -> None:
    with pytest.raises(InputError, match="NUL bytes"):
        decode(b"channels,at\x00,text\n")
    assert decode((HEADER + KOREAN).encode("utf-16")) == HEADER + KOREAN
    with pytest.raises(InputError, match="NUL bytes"):  # UTF-16 without its BOM
        decode((HEADER + KOREAN).encode("utf-16-le"))
    assert decode((HEADER + KOREAN).encode("utf-16-le"), encoding="utf-16") == HEADER + KOREAN


# -- the import page ---------------------------------------------------------------------------


@pytest.fixture
def client(herald: Any) -> Iterator[TestClient]:
    add_channels(herald)
    add_people(herald)
    with web_client(herald, STAFF) as c:
        yield c


def _upload(client: TestClient, data: bytes, **form: str) -> Any:
    page = client.get("/import").text
    m = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page)
    assert m and 'name="encoding"' in page
    return client.post(
        "/import", data={"csrf_token": m.group(1), **form}, files=[("csv", ("plan.csv", data, "text/csv"))]
    )


def test_the_import_page_reads_cp949_detected_or_chosen_and_refuses_a_wrong_guess(
    client: TestClient, herald: Any
) -> None:
    data = (f'channels,at,text,campaign\nm1,2030-01-07T09:00+09:00,"{KOREAN}",spring\n').encode("cp949")
    assert _upload(client, data).status_code == 200
    assert _upload(client, data, encoding="cp949").status_code == 200
    assert [p.text for p in herald.list_posts()] == [KOREAN, KOREAN]
    before = herald.list_posts()
    bad = _upload(client, "channels,at,text\nm1,now,Café, naïve\n".encode("latin-1"))
    assert (
        bad.status_code == 422 and "cannot tell the encoding" in bad.text and "Nothing was queued" in bad.text
    )
    assert _upload(client, data, encoding="utf-8").status_code == 422
    hostile = _upload(client, data, encoding="../../etc/passwd")
    assert hostile.status_code == 422 and "encoding: choose one of" in hostile.text
    assert herald.list_posts() == before


def test_post_list_json_of_an_import_is_in_utc(chans: Any, tmp_path: Path) -> None:
    [pid] = _import(_file(tmp_path, "channels,at,text,campaign\nkr-m,2030-01-07 09:00,x,seoul\n"))
    posts = json.loads(_run("post", "list", "--format", "json").stdout)
    assert [p["scheduled_at"] for p in posts if p["id"] == pid] == ["2030-01-07T00:00:00Z"]
