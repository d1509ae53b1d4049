"""Korean and English (issue 18): the catalogs hold every string meant for people, in Korean,
compiled; no template shows text outside ``_()``; a request is answered in the person's own
language, else the browser's (``Accept-Language``, q-values read properly), else English; the
command line follows ``HERALD_LANG`` and the POSIX locale variables; dates and numbers are
written the way the reader's locale writes them.

When a test of the catalog fails because code or a template gained a string:
``python -m herald.core.catalog update``, translate what arrived in
``herald/locale/ko/LC_MESSAGES/messages.po``, then ``python -m herald.core.catalog compile``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import pytest
from jinja2 import nodes
from typer.testing import CliRunner

from herald.core import catalog
from herald.core.i18n import (
    DEFAULT_LOCALE,
    DEFAULT_ZONE,
    LOCALES,
    format_datetime,
    format_number,
    format_percent,
    gettext,
    locale_from_env,
    negotiate,
    pgettext,
    use_locale,
)
from herald.web.templating import TEMPLATES_DIR
from tests.web import ADMIN, csrf_of, web_client

# -- the catalogs ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def extracted() -> Any:
    """Every marked string of Herald's Python and templates, extracted with Babel as
    ``herald.core.catalog update`` does."""
    return catalog.extract()


def test_every_string_is_in_the_korean_catalog_translated_and_compiled(extracted: Any) -> None:
    """Missing, untranslated or fuzzy messages, placeholders a translation lost or invented,
    and a ``.mo`` older than its ``.po`` all fail here, each named."""
    found = catalog.problems(extracted)
    assert not found, "\n".join(str(p) for p in found) + (
        "\nrun `python -m herald.core.catalog update`, translate, then `... compile`"
    )


def test_the_check_names_each_kind_of_broken_translation() -> None:
    from babel.messages.catalog import Catalog

    template = Catalog()
    for msgid in ("Lone %(n)s.", "Renamed %(n)s.", "Empty", "Unsure", "Gone"):
        template.add(msgid)
    korean = Catalog(locale="ko")
    korean.add("Lone %(n)s.", "100% %(n)s")  # a lone % fails when the template formats it
    korean.add("Renamed %(n)s.", "%(m)s")  # a placeholder the code never passes
    korean.add("Empty", "")
    korean.add("Unsure", "불확실", flags=("fuzzy",))
    found = {p.msgid: p.what for p in catalog._catalog_problems("ko", template, korean)}
    assert found.keys() == {"Lone %(n)s.", "Renamed %(n)s.", "Empty", "Unsure", "Gone"}
    assert "not a valid format string" in found["Lone %(n)s."]
    assert "placeholders ['m']" in found["Renamed %(n)s."]
    assert found["Empty"] == "untranslated"
    assert found["Unsure"].startswith("fuzzy")
    assert found["Gone"].startswith("missing")


def test_the_extraction_finds_templates_python_and_contexts(extracted: Any) -> None:
    ids = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in extracted if m.id}
    assert (None, "Compose") in ids  # base.html
    assert (None, "error: %(message)s") in ids  # herald/cli/app.py
    assert (None, "unknown post %(post)r") in ids  # the service layer
    assert ("status", "published") in ids  # herald/web/labels.py, through NC_
    assert ("column", "scheduled_at") in ids  # herald/cli/columns.py


def test_the_korean_catalog_answers_at_run_time() -> None:
    with use_locale("ko"):
        assert gettext("Compose") == "글쓰기"
        assert pgettext("status", "published") == "게시됨"
        assert gettext("a string no catalog has") == "a string no catalog has"
    assert gettext("Compose") == "Compose"  # English is the msgid itself


def test_every_status_role_and_unit_has_a_word() -> None:
    from herald.accounts import Role
    from herald.platforms import connector_class
    from herald.platforms.registry import platform_names
    from herald.store import states
    from herald.web.labels import TERMS

    assert set(states.ALL) <= set(TERMS["status"])
    assert {r.value for r in Role} <= set(TERMS["role"])
    assert {connector_class(p).text_unit for p in platform_names()} <= set(TERMS["unit"])


def test_every_column_the_cli_prints_has_a_header() -> None:
    """A command's table shows each column's header from ``herald.cli.columns``: a column a
    command prints that is not listed there would stay English."""
    from herald.cli.columns import COLUMNS

    printed: set[str] = set()
    for path in Path("herald/cli").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            lists: list[ast.expr] = []
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "emit" and len(node.args) > 2:
                lists.append(node.args[2])
            if isinstance(node, ast.Assign) and any(
                getattr(t, "id", "").endswith("COLUMNS") for t in node.targets
            ):
                lists.append(node.value)
            for value in lists:
                if isinstance(value, ast.List):
                    printed |= {e.value for e in value.elts if isinstance(e, ast.Constant)}
    assert printed, "no emit() call found"
    assert printed <= set(COLUMNS), sorted(printed - set(COLUMNS))


# -- templates: no text outside _() ------------------------------------------------------------

#: Text a template may show as it is: the brand, and marks that are not words.
ALLOWED_TEXT = {"Herald"}
#: Attributes whose values people read (or hear, with a screen reader).
READ_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "label"}
#: Attribute values of that kind that are not words of a language.
ALLOWED_ATTRIBUTE_VALUES = {"https://"}
#: The gettext functions of the templates, and how many of their first arguments are messages.
GETTEXT_ARGS = {"_": 1, "gettext": 1, "ngettext": 2, "pgettext": 2, "npgettext": 3}
#: Words in an expression: two words of letters with a space between (a sentence, a label).
WORDS = re.compile(r"[A-Za-z]{2,}[ ][A-Za-z]{2,}")
#: Constants of that shape that are not for people (class names, ids, form values).
ALLOWED_CONSTANTS: set[str] = set()
PLACEHOLDER = "\x00"
#: Elements whose text is code, not a language.
CODE_TAGS = {"code", "pre", "kbd", "samp"}
#: An attribute written by a macro outside a tag (`` aria-invalid="true"``).
ATTRIBUTE = re.compile(r'[\w:-]+="[^"]*"')
#: Calls whose arguments are code, not words: ``code("herald channel add")``.
CODE_CALLS = {"code"}
#: Filters whose arguments are values to match, not text (``selectattr('x', 'equalto', 'a b')``).
LOGIC_FILTERS = {"selectattr", "rejectattr", "select", "reject", "map", "sort", "groupby", "attr"}


def templates() -> list[Path]:
    return sorted(TEMPLATES_DIR.glob("*.html"))


def _environment() -> jinja2.Environment:
    return jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])


class _TextFinder(HTMLParser):
    """Text nodes and read attributes with letters, in a template whose Jinja parts are each
    one ``PLACEHOLDER``. Code (``<code>``, ``<pre>``, ``<kbd>``: commands, file names) is not
    a language; attributes a macro writes outside a tag are not text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.in_code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in CODE_TAGS:
            self.in_code += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value and _words(value, ALLOWED_ATTRIBUTE_VALUES):
                self.found.append(f'{name}="{value.replace(PLACEHOLDER, " ").strip()}"')

    def handle_endtag(self, tag: str) -> None:
        if tag in CODE_TAGS and self.in_code:
            self.in_code -= 1

    def handle_data(self, data: str) -> None:
        text = ATTRIBUTE.sub(" ", data)
        if not self.in_code and _words(text, ALLOWED_TEXT):
            self.found.append(text.replace(PLACEHOLDER, " ").strip())


def _words(text: str, allowed: set[str]) -> bool:
    """Does ``text`` hold letters once the Jinja parts and the allowed words are taken out?"""
    text = text.replace(PLACEHOLDER, " ")
    for word in allowed:
        text = text.replace(word, " ")
    return re.search(r"[^\W\d_]", text) is not None


def text_outside_gettext(source: str) -> list[str]:
    """Words a template shows that do not go through the catalog: text between tags and in
    the attributes people read, with every ``{{ }}``, ``{% %}`` and ``{# #}`` taken out."""
    parts = []
    for _, kind, value in _environment().lex(source):
        if kind == "data":
            parts.append(value)
        elif not parts or parts[-1] != PLACEHOLDER:
            parts.append(PLACEHOLDER)
    finder = _TextFinder()
    finder.feed("".join(parts))
    finder.close()
    return finder.found


def constants_outside_gettext(source: str) -> list[str]:
    """String constants in expressions that read like words for people (``'Not revoked.'``)
    and are not the message of a gettext call."""
    found: list[str] = []

    def walk(node: nodes.Node, inside: bool) -> Iterator[None]:
        if isinstance(node, nodes.Compare | nodes.Test):
            return  # a value compared (``error.field == 'first comment'``) is logic, not text
        if (
            isinstance(node, nodes.Call)
            and isinstance(node.node, nodes.Name)
            and node.node.name in CODE_CALLS
        ):
            return
        if isinstance(node, nodes.Filter) and node.name in LOGIC_FILTERS:
            yield from walk(node.node, inside)  # what is filtered, not the values it is matched to
            return
        if (
            isinstance(node, nodes.Call)
            and isinstance(node.node, nodes.Name)
            and node.node.name in GETTEXT_ARGS
        ):
            for i, arg in enumerate(node.args):
                yield from walk(arg, inside or i < GETTEXT_ARGS[node.node.name])
            for kw in node.kwargs:
                yield from walk(kw, inside)
            return
        if isinstance(node, nodes.Const) and isinstance(node.value, str) and not inside:
            if WORDS.search(node.value) and node.value not in ALLOWED_CONSTANTS:
                found.append(node.value)
        for child in node.iter_child_nodes():
            yield from walk(child, inside)

    for _ in walk(_environment().parse(source), False):
        pass
    return found


@pytest.mark.parametrize("path", templates(), ids=lambda p: p.name)
def test_no_template_shows_text_outside_gettext(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert text_outside_gettext(source) == [], f"{path.name}: wrap these in {{{{ _(...) }}}}"
    assert constants_outside_gettext(source) == [], f"{path.name}: wrap these in _(...)"


def test_the_template_check_catches_what_it_should() -> None:
    """The two heuristics themselves, on a template with one of each mistake."""
    bad = (
        '<h1>Compose</h1><p>{{ _("Fine") }} · Herald</p><img alt="A photo" src="{{ x }}">'
        "{{ 'Not revoked.' if x else _('Revoked.') }}<input placeholder=\"https://\">"
        "<code>herald channel add</code>{{ _('Run %(c)s', c=code('herald up now')) }}"
        "{% if e.field == 'first comment' %} aria-invalid=\"true\"{% endif %}"
    )
    assert text_outside_gettext(bad) == ["Compose", 'alt="A photo"']
    assert constants_outside_gettext(bad) == ["Not revoked."]


# -- choosing the language ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ko", "ko"),
        ("ko-KR", "ko"),
        ("KO-kr", "ko"),
        ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"),
        ("en-US,en;q=0.9,ko;q=0.8", "en"),
        ("fr-FR, ko;q=0.5", "ko"),  # French is not spoken: the next Herald speaks
        ("en;q=0.4, ko;q=0.6", "ko"),  # quality, not order
        ("ko;q=0.5, en;q=0.5", "ko"),  # a tie: the earlier
        ("ko;q=0, *", "en"),  # q=0: "not Korean", and any other
        ("ko;q=0, ko-KR", None),  # refused outright, whatever the region
        ("*", "en"),
        ("de, fr", None),
        ("ko;q=oops, en", "en"),  # a malformed quality drops its entry, not the header
        ("ko;q=1.5", "ko"),  # over 1 is read as 1
        ("", None),
        (None, None),
        ("x" * 5000, None),
    ],
)
def test_accept_language(header: str | None, expected: str | None) -> None:
    assert negotiate(header) == expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"HERALD_LANG": "ko"}, "ko"),
        ({"LANG": "ko_KR.UTF-8"}, "ko"),
        ({"LC_ALL": "ko_KR.UTF-8", "LANG": "en_US.UTF-8"}, "ko"),
        ({"LC_ALL": "en_US.UTF-8", "LANG": "ko_KR.UTF-8"}, "en"),
        ({"HERALD_LANG": "en", "LANG": "ko_KR.UTF-8"}, "en"),
        ({"LC_MESSAGES": "ko_KR", "LANG": "C.UTF-8"}, "ko"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "fr_FR.UTF-8"}, "en"),
        ({}, DEFAULT_LOCALE),
    ],
)
def test_command_line_locale(environ: dict[str, str], expected: str) -> None:
    assert locale_from_env(environ) == expected


def test_locales() -> None:
    assert LOCALES == ("en", "ko")


# -- dates and numbers -------------------------------------------------------------------------


def test_dates_and_numbers_follow_the_locale() -> None:
    # English keeps Herald's ISO 8601, as the API and the exports write it.
    assert format_datetime("2099-03-02T15:30:00Z") == "2099-03-02T15:30:00Z"
    assert format_number(1234567.5) == "1,234,567.5"
    assert format_percent(0.873) == "87%"
    with use_locale("ko"):
        assert format_datetime("2099-03-02T15:30:00Z") == "2099. 3. 2. 오후 3:30:00"
        assert format_number(1234567.5) == "1,234,567.5"
        assert format_percent(0.5) == "50%"
    assert format_datetime(None) == "—"


@pytest.mark.parametrize(
    ("moment", "zone", "english", "korean"),
    [
        # UTC keeps its Z (and Korean shows no offset in UTC, as before).
        ("2099-03-02T15:30:00Z", "UTC", "2099-03-02T15:30:00Z", "2099. 3. 2. 오후 3:30:00"),
        # Another zone: its wall clock, with the offset of that moment.
        (
            "2099-03-02T15:30:00Z",
            "Asia/Seoul",
            "2099-03-03T00:30:00+09:00",
            "2099. 3. 3. 오전 12:30:00 +09:00",
        ),
        (
            "2026-01-15T12:00:00Z",
            "America/New_York",
            "2026-01-15T07:00:00-05:00",
            "2026. 1. 15. 오전 7:00:00 -05:00",
        ),
        (
            "2026-07-15T12:00:00Z",
            "America/New_York",
            "2026-07-15T08:00:00-04:00",
            "2026. 7. 15. 오전 8:00:00 -04:00",
        ),
        # 01:30 happens twice in New York on 2026-11-01: the offset tells the two apart.
        (
            "2026-11-01T05:30:00Z",
            "America/New_York",
            "2026-11-01T01:30:00-04:00",
            "2026. 11. 1. 오전 1:30:00 -04:00",
        ),
        (
            "2026-11-01T06:30:00Z",
            "America/New_York",
            "2026-11-01T01:30:00-05:00",
            "2026. 11. 1. 오전 1:30:00 -05:00",
        ),
        (
            "2026-07-01T12:00:00Z",
            "Asia/Kolkata",
            "2026-07-01T17:30:00+05:30",
            "2026. 7. 1. 오후 5:30:00 +05:30",
        ),
    ],
)
def test_times_are_shown_in_the_zone_asked_for(moment: str, zone: str, english: str, korean: str) -> None:
    assert format_datetime(moment, zone) == english
    assert format_datetime(datetime.fromisoformat(moment), zone) == english
    with use_locale("ko"):
        assert format_datetime(moment, zone) == korean


def test_times_are_utc_unless_a_zone_is_asked_for() -> None:
    # The command line never names a zone: what it shows stays UTC.
    assert format_datetime("2026-07-01T12:00:00Z") == format_datetime("2026-07-01T12:00:00Z", DEFAULT_ZONE)
    assert format_datetime(datetime(2026, 7, 1, 21, 0), "Asia/Seoul") == "2026-07-02T06:00:00+09:00"


# -- the web app: the person's choice, else the browser's --------------------------------------


@pytest.fixture
def admin_client(herald: Any) -> Iterator[Any]:
    herald.add_user(ADMIN, "correct horse battery staple", "admin", [])
    with web_client(herald, ADMIN) as client:
        yield client


def _nav(html: str) -> str:
    return html.split('<ul class="nav">')[1].split("</ul>")[0]


def test_the_browser_language_chooses_the_pages_language(admin_client: Any) -> None:
    english = admin_client.get("/compose")
    assert "<h1>Compose</h1>" in english.text and '<html lang="en">' in english.text
    korean = admin_client.get("/compose", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"})
    assert '<html lang="ko">' in korean.text
    assert "<h1>글쓰기</h1>" in korean.text
    assert "대시보드" in _nav(korean.text)
    assert "Dashboard" not in _nav(korean.text)
    # The sign-in page, before anyone is known, follows the browser too.
    anonymous = web_client(admin_client.app.state.services.get(), None)
    with anonymous:
        assert "<h1>로그인</h1>" in anonymous.get("/login", headers={"Accept-Language": "ko"}).text


def test_the_persons_choice_beats_the_browser(admin_client: Any, herald: Any) -> None:
    page = admin_client.get("/account")
    assert 'name="locale"' in page.text
    r = admin_client.post(
        "/account/language",
        data={"csrf_token": csrf_of(page.text), "locale": "ko"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    # Korean now, whatever the browser asks for.
    after = admin_client.get(r.headers["location"], headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "<h1>내 계정</h1>" in after.text
    assert "한국어로 표시됩니다" in after.text  # the note of the change, in the new language
    assert "대시보드" in _nav(admin_client.get("/", headers={"Accept-Language": "en"}).text)
    # Back to "as the browser asks".
    page = admin_client.get("/account")
    admin_client.post("/account/language", data={"csrf_token": csrf_of(page.text), "locale": ""})
    assert "Dashboard" in _nav(admin_client.get("/", headers={"Accept-Language": "en"}).text)
    assert "대시보드" in _nav(admin_client.get("/", headers={"Accept-Language": "ko"}).text)


def test_an_unknown_language_is_refused_by_name(admin_client: Any, herald: Any) -> None:
    page = admin_client.get("/account")
    r = admin_client.post("/account/language", data={"csrf_token": csrf_of(page.text), "locale": "xx"})
    assert r.status_code == 422
    assert "choose a language Herald speaks: en, ko" in r.text
    assert "Dashboard" in _nav(admin_client.get("/", headers={"Accept-Language": "en"}).text)


def test_a_refusal_from_the_service_is_worded_in_the_request_language(admin_client: Any) -> None:
    """An InputError is worded where it is raised, in the request's locale; an API answer keeps
    its machine fields (title, field names) English and translates only ``detail``."""
    page = admin_client.get("/", headers={"Accept-Language": "ko"})
    r = admin_client.post(
        "/posts/no-such-post/cancel",
        data={"csrf_token": csrf_of(page.text)},
        headers={"Accept-Language": "ko"},
    )
    assert r.status_code == 404
    assert "알 수 없는 게시물" in r.text and "no-such-post" in r.text
    api = admin_client.get("/api/v1/posts/no-such-post", headers={"Accept-Language": "ko"})
    assert api.status_code == 404
    body = api.json()
    assert body["title"] == "Not found"
    assert body["errors"][0]["field"] == "post"
    assert "알 수 없는 게시물" in body["detail"]


def test_an_error_page_is_korean(admin_client: Any) -> None:
    r = admin_client.get("/no-such-page", headers={"Accept-Language": "ko"})
    assert r.status_code == 404
    assert "<h1>찾을 수 없음</h1>" in r.text
    assert '<html lang="ko">' in r.text


def test_a_date_on_a_page_is_written_the_korean_way(admin_client: Any, herald: Any) -> None:
    html = admin_client.get("/users", headers={"Accept-Language": "ko"}).text
    # The person's "Added" time: Korean date order with 오전/오후, the ISO instant kept in the
    # machine-readable attribute.
    assert re.search(r'<time datetime="[0-9-]+T[0-9:.]+Z?">\d{4}\. \d{1,2}\. \d{1,2}\. 오[전후] ', html)


# -- the command line --------------------------------------------------------------------------


def test_the_command_line_speaks_korean(herald_env: dict[str, str], herald: Any, monkeypatch: Any) -> None:
    from herald.cli import app

    herald.add_channel("m1", "mastodon", {"access_token": "tok-1"}, base_url="http://127.0.0.1:9/m")
    runner = CliRunner()
    korean = {**herald_env, "HERALD_LANG": "ko"}
    refused = runner.invoke(app, ["post", "cancel", "no-such-post"], env=korean)
    assert refused.exit_code != 0
    assert "오류: " in refused.output and "알 수 없는 게시물" in refused.output
    table = runner.invoke(app, ["channel", "list"], env=korean)
    assert table.exit_code == 0, table.output
    header = table.output.splitlines()[0]
    assert "이름" in header and "플랫폼" in header
    # Scripts read JSON and CSV: their field names stay English.
    as_json = runner.invoke(app, ["channel", "list", "--format", "json"], env=korean)
    assert '"platform": "mastodon"' in as_json.output
    as_csv = runner.invoke(app, ["channel", "list", "--format", "csv"], env=korean)
    assert as_csv.output.splitlines()[0].startswith("id,name,platform")
    # LANG as a Korean desktop sets it; and the next command, in English, is not left Korean.
    by_lang = runner.invoke(
        app, ["post", "cancel", "no-such-post"], env={**herald_env, "HERALD_LANG": "", "LANG": "ko_KR.UTF-8"}
    )
    assert "오류: " in by_lang.output
    english = runner.invoke(app, ["post", "cancel", "no-such-post"], env={**herald_env, "HERALD_LANG": "en"})
    assert "error: post: unknown post" in english.output


# -- the attacker's tests ----------------------------------------------------------------------


def test_a_translated_sentence_escapes_what_it_is_given(admin_client: Any) -> None:
    """The catalog's sentence is trusted markup; what fills its placeholders is not."""
    r = admin_client.get(
        "/users", params={"person": "<script>alert(1)</script>"}, headers={"Accept-Language": "ko"}
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 계정이 없습니다." in r.text
    assert "<script>alert(1)" not in r.text


def test_the_language_form_needs_its_csrf_token(admin_client: Any) -> None:
    r = admin_client.post("/account/language", data={"locale": "ko"}, follow_redirects=False)
    assert r.status_code == 403
    assert "Dashboard" in _nav(admin_client.get("/", headers={"Accept-Language": "en"}).text)


def test_only_an_admin_sets_another_persons_language(herald: Any) -> None:
    from herald.core.errors import AccessDenied
    from tests.web import actor_of

    herald.add_user("a@herald.test", "correct horse battery staple", "admin", [])
    herald.add_user("s@herald.test", "correct horse battery staple", "staff", [])
    staff = actor_of(herald, "s@herald.test")
    with pytest.raises(AccessDenied):
        herald.set_locale("a@herald.test", "ko", actor=staff)
    herald.set_locale("s@herald.test", "ko", actor=staff)  # their own
    herald.set_locale("s@herald.test", None, actor=actor_of(herald, "a@herald.test"))


def test_a_language_header_cannot_reach_the_file_system(admin_client: Any) -> None:
    """Only Herald's own locales are ever looked up: a path in Accept-Language is no locale."""
    for header in ("../../../etc/passwd", "ko/../../x", "ko\x00", "*;q=1, ../x;q=1"):
        r = admin_client.get("/", headers={"Accept-Language": header})
        assert r.status_code == 200
        assert '<html lang="en">' in r.text
