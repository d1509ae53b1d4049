"""Issue 17: structured JSON logs, and a redaction that provably keeps tokens, passwords, cookies
and Authorization headers out of them.

Distinctive secrets (fresh each run) are pushed through every connector's error paths (401,
403, 429, 500, a dropped create call, a read timeout) in a real delivery, through the web's
error pages and API problem answers (wrong bearer tokens, cookies, query strings, form fields,
a route that raises), and through the command line; then every log line (pytest's capture at
DEBUG, and the JSON lines ``setup_logging`` writes to stderr) and every answer (delivery log,
API JSON, command output) is searched for them. The processor itself is tested on nested keys,
header text, exceptions and odd values, and ``test_the_detector_finds_a_leak_without_the_processor``
shows that the search does find a secret when the processor is left out.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import logging
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import requests
import structlog
from requests.structures import CaseInsensitiveDict
from typer.testing import CliRunner

from herald.cli import app as cli
from herald.core.logs import NOISY, formatter_processors, get_logger, setup_logging
from herald.core.redaction import SECRET_NAMES, SECRET_WORDS, is_secret_key, redact_event, redact_value, scrub
from herald.core.secret import MASK, Secret
from herald.core.settings import get_settings, reset_settings
from herald.platforms import connector_class
from herald.service import PhotoInput, PostRequest
from herald.simulator import SANDBOX_ACCOUNTS, Fault
from tests.conftest import SECRET_KEY
from tests.e2e.conftest import public_web, wait_for  # noqa: F401  # public_web: a fixture
from tests.photos import jpeg
from tests.platforms.harness import READ_TIMEOUT, Harness, PhotoServer
from tests.platforms.harness import settle as settle_slow
from tests.platforms.specs import SPECS

ROOT = Path(__file__).resolve().parents[1]
HERALD = str(Path(sys.executable).parent / "herald")
ADMIN = "admin@leakcheck.test"
ADMIN_PASSWORD = "correct horse battery staple"
runner = CliRunner()


def distinctive(label: str) -> str:
    """A secret nobody else uses, so that finding it anywhere means it leaked from here."""
    return f"{label}-leakcheck-{secrets.token_hex(8)}"


# -- the detector ------------------------------------------------------------------------------


def forms_of(secret: str) -> set[str]:
    """The ways a secret can be written down: as is, URL-encoded, JSON-escaped, HTML-escaped."""
    return {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1], html.escape(secret)}


def leaks(text: str, kept: Iterable[str]) -> list[str]:
    """The secrets of ``kept`` that ``text`` shows in any of their forms."""
    return sorted(s for s in kept if any(form in text for form in forms_of(s)))


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    """Everything pytest captured: formatted lines, each record's message and traceback, and
    the extra fields of Herald's records. (The simulator's extras are left out: it stands for
    the platform, whose access log holds the Bot API's token in its paths; extras reach no
    handler but ours scrubbed, which the JSON lines show.)"""
    parts = [caplog.text]
    for r in caplog.records:
        parts.append(r.getMessage())
        parts.append(r.exc_text or "")
        if not r.name.startswith("herald.simulator"):
            parts.append(repr({k: v for k, v in vars(r).items() if k not in ("msg", "args", "exc_info")}))
    return "\n".join(parts)


def json_lines(err: str) -> list[dict[str, Any]]:
    """The JSON log lines in a stderr capture (each must parse: one object per line)."""
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


@contextmanager
def herald_logging(level: str = "DEBUG", fmt: str = "json", *, audible: bool = True) -> Iterator[None]:
    """``setup_logging`` as a process runs it, with the libraries it quiets turned up again
    (``audible``: urllib3's request lines are where a token in a URL shows), and the root
    logger as it was afterwards, so that later tests do not log at DEBUG."""
    root = logging.getLogger()
    handlers, root_level = list(root.handlers), root.level
    levels = {n: logging.getLogger(n).level for n in (*NOISY, "uvicorn", "uvicorn.error", "uvicorn.access")}
    setup_logging(level, fmt)
    if audible:
        for name in NOISY:
            logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(root_level)
        for name, lvl in levels.items():
            logging.getLogger(name).setLevel(lvl)


# -- the processor -------------------------------------------------------------------------------


def test_secret_keys_are_masked_at_any_depth() -> None:
    token, cookie, pw = distinctive("tok"), distinctive("cookie"), distinctive("pw")
    headers = CaseInsensitiveDict({"Authorization": f"Bearer {token}", "Accept": "application/json"})
    message = Message()
    message["Set-Cookie"] = f"herald_session={cookie}; HttpOnly"
    message["Content-Type"] = "text/plain"
    event = {
        "event": "calling",
        "access_token": token,
        "accessJwt": token,
        "X-Api-Key": token,
        "request": {"headers": headers, "form": [("user", "bob"), {"password": pw}]},
        "response": {"headers": message, "cookies": {"herald_session": cookie}},
        "deep": [[[{"client_secret": pw}]]],
        "delivery_id": 7,
        "refresh_token": None,
        "csrf_token": "",
        "session_valid": True,
    }
    out = redact_event(None, "info", event)
    assert not leaks(json.dumps(out, default=str), [token, cookie, pw]), out
    assert out["request"]["headers"] == {"Authorization": MASK, "Accept": "application/json"}
    assert out["response"]["headers"]["Content-Type"] == "text/plain"
    assert out["delivery_id"] == 7 and out["event"] == "calling"
    # Nothing there is no secret: an absent token stays visibly absent.
    assert out["refresh_token"] is None and out["csrf_token"] == "" and out["session_valid"] is True


def test_every_credential_key_of_every_platform_is_a_secret_key() -> None:
    """The one list of secret key names knows each platform's credentials; identifiers (a
    handle, a page id, a chat) are no secret."""
    identifiers = {"handle", "chat_id", "page_id", "ig_user_id", "organization_urn", "threads_user_id"}
    for account in SANDBOX_ACCOUNTS:
        for key in connector_class(account["platform"]).credential_keys:
            assert is_secret_key(key) is (key not in identifiers), key
    for name in ("Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-CSRF-Token", "password"):
        assert is_secret_key(name), name
    for name in ("idempotency_key", "dedup_key", "delivery_id", "author", "keyboard", "platform"):
        assert not is_secret_key(name), name
    assert "token" in SECRET_WORDS and ("api", "key") in SECRET_NAMES


@pytest.mark.parametrize(
    "template",
    [
        "Authorization: Bearer {s}",
        "authorization: Basic {basic}",
        "GET /x HTTP/1.1\r\nHost: a\r\nCookie: herald_session={s}; theme=dark\r\nAccept: */*",
        "Set-Cookie: herald_session={s}; Path=/; HttpOnly",
        "X-Api-Key: {s}",
        "{{'Authorization': 'Bearer {s}', 'Accept': '*/*'}}",
        '{{"password": "{s}", "email": "a@b"}}',
        '{{"app_password": 123456{s}}}',
        "[('Cookie', 'herald_session={s}'), ('Accept', '*/*')]",
        "GET /api/v1/log?status=failed&access_token={s}&limit=5",
        "email=a%40b&password={s}&csrf_token={s}",
        "retrying with token={s} after 2 s",
        "could not connect to postgresql://herald:{s}@db:5432/herald",
        "redis://:{s}@127.0.0.1:6379/0 refused",
        "POST /bot123456:{s}/sendMessage HTTP/1.1",
        "upstream said: invalid bearer {s}",
    ],
)
def test_secrets_written_in_text_are_masked(template: str) -> None:
    s = distinctive("in-text").replace("-", "")  # some forms (Basic, a bot token) take no dashes
    basic = base64.b64encode(f"herald:{s}".encode()).decode()
    text = template.format(s=s, basic=basic)
    clean = scrub(text)
    assert not leaks(clean, [s, basic]), clean
    assert MASK in clean


@pytest.mark.parametrize(
    "text",
    [
        "password: must be at least 12 characters",
        "delivery 1 failed on mastodon: mastodon: HTTP 401: The access token is invalid",
        "basic auth is not supported",
        'WWW-Authenticate: Bearer realm="herald", error="invalid_token"',
        "idempotency_key=post-1:mastodon attempt=2",
        "https://example.org/spring?utm=herald",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert scrub(text) == text


def test_known_secret_values_are_masked_wherever_they_show() -> None:
    value = distinctive("known")
    Secret(value)  # a Secret made anywhere in the process is known from then on
    assert scrub(f"prefix{value}suffix and {value}") == f"prefix{MASK}suffix and {MASK}"
    assert redact_value({value: "a key can be a secret too"}) == {MASK: "a key can be a secret too"}


def test_exceptions_and_values_of_any_kind() -> None:
    s = distinctive("odd")

    class Leaky:
        def __str__(self) -> str:
            return f"Leaky(Authorization: Bearer {s})"

    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    out = redact_value(
        {
            "error": ValueError(f"platform refused access_token={s}"),
            "body": f'{{"token": "{s}"}}'.encode(),
            "thing": Leaky(),
            "broken": Broken(),
            "secret": Secret(s),
            "numbers": (1, 2.5, None),
            "tags": {"a"},
        }
    )
    assert not leaks(repr(out), [s]), out
    assert out["error"].startswith("ValueError: platform refused access_token=")
    assert out["broken"] == "<unprintable Broken>"
    assert out["numbers"] == (1, 2.5, None) and out["tags"] == ["a"]


def test_tracebacks_are_scrubbed_in_both_formats(capsys: pytest.CaptureFixture[str]) -> None:
    s = distinctive("trace")
    for fmt in ("json", "text"):
        with herald_logging("INFO", fmt):
            try:
                raise ConnectionError(
                    f"POST https://api.example/oauth?client_secret={s} Authorization: Bearer {s}"
                )
            except ConnectionError:
                logging.getLogger("herald.test").exception("call failed")
                get_logger("herald.test").exception("call failed", url=f"https://u:{s}@host/")
        err = capsys.readouterr().err
        assert err.count("ConnectionError: POST") == 2, err
        assert not leaks(err, [s]), err


def test_stdlib_and_structlog_lines_share_one_shape(capsys: pytest.CaptureFixture[str]) -> None:
    with herald_logging("DEBUG", "json"):
        logging.getLogger("herald.delivery.record").warning(
            "delivery %s failed on %s: %s",
            1,
            "mastodon",
            "HTTP 401",
            extra={"delivery_id": 1, "platform": "mastodon", "outcome": "failed"},
        )
        get_logger("herald.test").info("sent", delivery_id=2, remote_id="99")
        logging.getLogger("celery.worker").debug("celery says %s", "hi")
    stdlib, native, celery = json_lines(capsys.readouterr().err)
    assert list(stdlib)[:4] == ["ts", "level", "logger", "msg"]
    assert stdlib["level"] == "WARNING" and stdlib["logger"] == "herald.delivery.record"
    assert stdlib["msg"] == "delivery 1 failed on mastodon: HTTP 401"
    assert (stdlib["delivery_id"], stdlib["platform"], stdlib["outcome"]) == (1, "mastodon", "failed")
    assert native["msg"] == "sent" and native["delivery_id"] == 2 and native["level"] == "INFO"
    assert celery["logger"] == "celery.worker" and celery["level"] == "DEBUG"
    assert stdlib["ts"].endswith("+00:00")

    with herald_logging("INFO", "text"):
        logging.getLogger("herald.delivery.record").warning("delivery %s failed", 3, extra={"delivery_id": 3})
        get_logger("herald.test").info("sent", delivery_id=4)
    first, second = capsys.readouterr().err.splitlines()
    # People's lines, as before: the stdlib's extra fields are for JSON, structlog's own follow.
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING herald\.delivery\.record: delivery 3 failed", first
    )
    assert second.endswith("INFO herald.test: sent delivery_id=4")


def test_the_detector_finds_a_leak_without_the_processor() -> None:
    """The same record through the same chain: without ``redact_event`` the secrets are in the
    line and ``leaks`` finds each; with it, none. (The record is made directly, not through the
    process's record factory, which would scrub its message first.)"""
    token, pw = distinctive("bypass"), distinctive("bypass-pw")
    record = logging.LogRecord(
        "herald.platforms.x", logging.ERROR, __file__, 1, "refused: Authorization: Bearer %s", (token,), None
    )
    record.form = {"password": pw}
    full = formatter_processors("json")
    without = [p for p in full if p is not redact_event]
    assert len(without) == len(full) - 1
    leaky = structlog.stdlib.ProcessorFormatter(processors=without).format(
        logging.makeLogRecord(vars(record))
    )
    assert leaks(leaky, [token, pw]) == sorted([token, pw])
    clean = structlog.stdlib.ProcessorFormatter(processors=full).format(logging.makeLogRecord(vars(record)))
    assert leaks(clean, [token, pw]) == []
    assert json.loads(clean)["form"] == {"password": MASK}


def test_the_log_format_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_LOG_FORMAT", " JSON ")
    reset_settings()
    try:
        assert get_settings().log_format == "json"
    finally:
        reset_settings()
    with pytest.raises(ValueError, match="log format"):
        formatter_processors("xml")


# -- every connector's error paths, in real deliveries ---------------------------------------------

#: The credential keys that identify an account rather than unlock it.
IDENTIFIERS = frozenset({"handle", "chat_id", "page_id", "ig_user_id", "organization_urn", "threads_user_id"})


def leaky_accounts() -> dict[str, dict[str, str]]:
    """Per platform, the sandbox account's credentials with every secret one made distinctive."""
    out: dict[str, dict[str, str]] = {}
    for n, account in enumerate(SANDBOX_ACCOUNTS):
        creds = {k: str(v) for k, v in account.items() if k not in ("platform", "username")}
        platform = account["platform"]
        for key in creds:
            if key in IDENTIFIERS:
                continue
            if key == "bot_token":  # the Bot API's shape: digits, a colon, letters
                creds[key] = f"{7100000 + n}:LEAKCHECK{secrets.token_hex(12)}"
            else:
                creds[key] = distinctive(f"{platform}-{key}")
        out[platform] = creds
    return out


def phases() -> list[tuple[str, Any]]:
    """(name, fault for a platform): each error path once per platform."""

    def create_path(p: str) -> str:
        spec = SPECS[p]
        return spec.create[0] if spec.create else "/send"

    return [
        ("401", lambda p: Fault(kind="error", platform=p, status=401)),
        ("403", lambda p: Fault(kind="error", platform=p, status=403)),
        ("429", lambda p: Fault(kind="rate_limit", platform=p, reset_in=0.5)),
        ("500", lambda p: Fault(kind="error", platform=p, status=500)),
        ("500-create", lambda p: Fault(kind="error", platform=p, path=create_path(p), status=500)),
        ("drop-create", lambda p: Fault(kind="drop", platform=p, path=create_path(p))),
    ]


FINAL = {"published", "failed", "uncertain", "held"}


def settled(row: Any) -> bool:
    """Done, or waiting out a long rate limit (the Graph platforms' lasts an hour)."""
    if row.status in FINAL:
        return True
    if row.status != "queued" or row.attempts < 1 or not row.due_at:
        return False
    due = datetime.fromisoformat(row.due_at)
    return (due if due.tzinfo else due.replace(tzinfo=UTC)) > datetime.now(UTC) + timedelta(seconds=30)


def all_settled(herald: Any, post_id: str) -> bool:
    return all(settled(r) for r in herald.delivery_log(post_id=post_id))


def test_connector_error_paths_leak_no_secret(
    public_web: str,  # noqa: F811  # the fixture imported above
    herald: Any,
    running: Any,
    sim: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    accounts = leaky_accounts()
    kept = [v for creds in accounts.values() for k, v in creds.items() if k not in IDENTIFIERS]
    for account in SANDBOX_ACCOUNTS:
        sim.add_account(account["platform"], username=account["username"], **accounts[account["platform"]])
    caplog.set_level(logging.DEBUG)
    outcomes: dict[str, dict[str, Any]] = {}
    # After `running`: its Celery worker set Herald's logging up (text, WARNING) when it started.
    with herald_logging("DEBUG", "json"):
        for phase, fault in phases():
            names = []
            for platform, creds in accounts.items():
                name = f"{phase}-{platform}"
                herald.add_channel(name, platform, creds, base_url=sim.url_for(platform))
                names.append(name)
                sim.inject(fault(platform))
            photo = PhotoInput(jpeg(800, 600, color=(20, 120, 200)), "a.jpg", "A banner in Seoul")
            pid = herald.add_post(PostRequest(channels=names, text=f"leak check {phase}", photos=[photo]))
            assert wait_for(functools.partial(all_settled, herald, pid), timeout=60), [
                (r.channel, r.status, r.error) for r in herald.delivery_log(post_id=pid)
            ]
            sim.clear_faults()
            outcomes[phase] = {r.platform: r for r in herald.delivery_log(post_id=pid)}
        err = capsys.readouterr().err

    # The faults hit: credentials refused everywhere, a rate limit met everywhere (waited out, or
    # still being waited out where the platform asks for an hour).
    assert {p: r.status for p, r in outcomes["401"].items()} == dict.fromkeys(accounts, "failed")
    assert all(
        r.attempts >= 2 if r.status == "published" else "limit" in (r.error or "")
        for r in outcomes["429"].values()
    ), [(r.platform, r.status, r.attempts, r.error) for r in outcomes["429"].values()]
    lines = json_lines(err)
    assert any(
        line["logger"] == "herald.delivery.record" and line.get("outcome") == "failed" for line in lines
    )
    assert any(line["logger"].startswith("urllib3") for line in lines), "the library lines were not heard"

    assert not leaks(err, kept), "in the JSON log lines"
    assert not leaks(logged_text(caplog), kept), "in the captured log records"
    rows = herald.delivery_log()
    assert not leaks(repr(rows) + json.dumps([r.to_dict() for r in rows], default=str), kept)

    from fastapi.testclient import TestClient

    from herald.web import create_app

    herald.add_user(ADMIN, ADMIN_PASSWORD, "admin")
    token = herald.create_token(ADMIN).token.reveal()
    with TestClient(create_app(herald), base_url="http://localhost") as client:
        client.headers["Authorization"] = f"Bearer {token}"
        for path in ("/api/v1/log?limit=200", "/api/v1/channels?limit=200", "/api/v1/posts", "/api/v1/audit"):
            r = client.get(path)
            assert r.status_code == 200, (path, r.text)
            assert not leaks(r.text, kept), path
    res = runner.invoke(cli, ["log", "--format", "json"])
    assert res.exit_code == 0 and "401" in res.output
    assert not leaks(res.output, kept)


def test_read_timeouts_leak_no_secret(
    sim: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """A platform that answers too late, on the first call and on the create call of each
    connector (the tests' read timeout is half a second)."""
    caplog.set_level(logging.DEBUG)
    photos = PhotoServer()
    errors: list[str] = []
    kept: set[str] = set()
    log = logging.getLogger("herald.delivery.call")
    try:
        with herald_logging("DEBUG", "json"):
            for spec in SPECS.values():
                harness = Harness(spec, sim, photos if spec.connector.needs_public_photo_url else None)
                kept |= spec.secrets()
                for path in (None, spec.create[0] if spec.create else "/send"):
                    harness.reset()
                    sim.inject(Fault(kind="slow", platform=spec.name, path=path, delay=READ_TIMEOUT + 0.3))
                    connector = harness.make()
                    try:
                        connector.publish(harness.draft(photos=harness.photos(1)))
                    except Exception as e:  # each platform's own error for a timeout
                        errors += [str(e), repr(e)]
                        log.warning("delivery failed: %s", e, exc_info=e)
                    finally:
                        connector.close()
                    settle_slow(sim)
            err = capsys.readouterr().err
    finally:
        photos.stop()
    assert len(errors) == 2 * 2 * len(SPECS), "every call timed out"
    assert any("timed out" in e.lower() or "no answer" in e.lower() for e in errors), errors
    assert not leaks("\n".join(errors), kept)
    assert not leaks(err, kept)
    assert not leaks(logged_text(caplog), kept)


# -- the web's error pages and problem answers ---------------------------------------------------


@pytest.fixture
def served(herald: Any) -> Iterator[str]:
    """The web app under a real uvicorn in this process, configured as ``herald web`` runs it
    (its own logging off, so its lines reach Herald's handler) but with the access log on, and
    one route that raises (an error no handler expects, with secrets in its message)."""
    import uvicorn

    from herald.embedded import free_port
    from herald.web import create_app

    app = create_app(herald)

    def boom() -> None:
        raise RuntimeError(
            f"lost postgresql://herald:{BOOM['db']}@db/herald; sent Authorization: Bearer {BOOM['bearer']}"
        )

    app.add_api_route("/api/v1/leakcheck-boom", boom)
    app.add_api_route("/leakcheck-boom", boom)
    herald.add_user(ADMIN, ADMIN_PASSWORD, "admin")
    # As in a fresh `herald web`: an earlier uvicorn of this test process (``public_web``) ran
    # with uvicorn's own logging configuration, which keeps its lines from the root logger.
    uvicorn_loggers = [logging.getLogger(n) for n in ("uvicorn", "uvicorn.error", "uvicorn.access")]
    saved = [(lg.handlers[:], lg.propagate) for lg in uvicorn_loggers]
    for lg in uvicorn_loggers:
        lg.handlers[:], lg.propagate = [], True
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, log_level="info", access_log=True)
    )
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    assert wait_for(lambda: server.started, timeout=10)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    t.join(5)
    for lg, (handlers, propagate) in zip(uvicorn_loggers, saved, strict=True):
        lg.handlers[:], lg.propagate = handlers, propagate


#: Secrets in the exception the probe route raises (never known to the process as Secrets).
BOOM = {"db": distinctive("db-password"), "bearer": distinctive("bearer-in-error")}


def test_web_error_pages_and_problems_leak_no_secret(
    served: str, herald: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong_bearer, cookie, query = distinctive("wrong-bearer"), distinctive("cookie"), distinctive("query")
    password, csrf, credential = distinctive("password"), distinctive("csrf"), distinctive("credential")
    basic_pw = distinctive("basic")
    kept = [wrong_bearer, cookie, query, password, csrf, credential, basic_pw, *BOOM.values()]
    answers: list[str] = []

    def keep(r: requests.Response, *statuses: int) -> requests.Response:
        assert r.status_code in statuses, (r.request.method, r.url, r.status_code, r.text[:300])
        answers.append(f"{r.status_code} {r.headers} {r.text}")
        return r

    with herald_logging("DEBUG", "json"):
        s = requests.Session()
        # A wrong bearer token, a Basic password, a session cookie nobody issued.
        keep(s.get(f"{served}/api/v1/log", headers={"Authorization": f"Bearer {wrong_bearer}"}), 401)
        basic = base64.b64encode(f"{ADMIN}:{basic_pw}".encode()).decode()
        keep(s.get(f"{served}/api/v1/me", headers={"Authorization": f"Basic {basic}"}), 401)
        keep(s.get(f"{served}/api/v1/log", cookies={"herald_session": cookie}), 401)
        keep(s.get(f"{served}/log", cookies={"herald_session": cookie}, allow_redirects=False), 303)
        # Secrets in query strings of a page and an API call that do not exist, and of one that
        # refuses its parameters.
        keep(s.get(f"{served}/no-such-page", params={"access_token": query, "password": query}), 404)
        keep(s.get(f"{served}/api/v1/no-such", params={"token": query}), 404)
        token = herald.create_token(ADMIN).token.reveal()
        api = {"Authorization": f"Bearer {token}"}
        keep(
            s.get(f"{served}/api/v1/log", params={"status": "no-such", "access_token": query}, headers=api),
            422,
        )
        # Form fields: a wrong password with a good form token, then a forged form token.
        page = keep(s.get(f"{served}/login"), 200).text
        good_csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert good_csrf
        form = {"email": ADMIN, "password": password, "csrf_token": good_csrf.group(1)}
        keep(s.post(f"{served}/login", data=form), 401)
        keep(s.post(f"{served}/login", data={**form, "csrf_token": csrf}), 403)
        # A channel whose credentials the platform does not use, and one it refuses.
        bad = {"name": "web-x", "platform": "mastodon", "credentials": {"password": credential}}
        keep(s.post(f"{served}/api/v1/channels", json=bad, headers=api), 422)
        unknown = {"name": "web-y", "platform": "no-such", "credentials": {"access_token": credential}}
        keep(s.post(f"{served}/api/v1/channels", json=unknown, headers=api), 422)
        broken = f'{{"name": "web-z", "credentials": {{"access_token": "{credential}"'
        keep(
            s.post(
                f"{served}/api/v1/channels", data=broken, headers={**api, "Content-Type": "application/json"}
            ),
            422,
        )
        good = {"name": "web-m", "platform": "mastodon", "credentials": {"access_token": credential}}
        keep(s.post(f"{served}/api/v1/channels", json=good, headers=api), 201)
        # A route that raises, as a page and under the API (each on a connection of its own:
        # uvicorn closes one after a 500).
        keep(requests.get(f"{served}/leakcheck-boom", headers={"Cookie": f"herald_session={cookie}"}), 500)
        keep(requests.get(f"{served}/api/v1/leakcheck-boom", headers=api), 500)
        time.sleep(0.2)  # uvicorn logs the failure after it answered
        err = capsys.readouterr().err

    for answer in answers:
        assert not leaks(answer, kept), answer
    lines = json_lines(err)
    failures = [line for line in lines if line["logger"] == "uvicorn.error" and "exc" in line]
    assert len(failures) == 2 and all("RuntimeError: lost postgresql://herald:" in f["exc"] for f in failures)
    assert any("access_token=" + MASK in line["msg"] for line in lines if line["logger"] == "uvicorn.access")
    assert not leaks(err, kept), [line for line in lines if leaks(json.dumps(line), kept)]
    assert not leaks(logged_text(caplog), kept)


# -- the command line --------------------------------------------------------------------------


def test_cli_leaks_no_secret(
    herald: Any,
    running: Any,
    sim: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    good, revoked, bare, extra = (distinctive(k) for k in ("good", "revoked", "bare", "extra"))
    kept = [good, revoked, bare, extra]
    sim.add_account("mastodon", username="cli", access_token=good)
    url = sim.url_for("mastodon")
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HERALD_LOG_FORMAT", "json")
    monkeypatch.setenv("HERALD_LOG_LEVEL", "DEBUG")
    reset_settings()
    outputs: list[str] = []

    def run(*args: str, stdin: str | None = None, code: int = 0) -> Any:
        res = runner.invoke(cli, list(args), input=stdin)
        outputs.append(res.output + res.stderr)
        assert res.exit_code == code, (args, res.output, res.stderr)
        return res

    try:
        with herald_logging("DEBUG", "json"):
            add = ("channel", "add", "--platform", "mastodon", "--base-url", url, "--credentials-stdin")
            run(*add[:2], "cli-good", *add[2:], stdin=f"access_token={good}\n")
            run(*add[:2], "cli-revoked", *add[2:], stdin=json.dumps({"access_token": revoked}))
            # Refused: a credential the platform does not use; a taken name; a value without its key.
            run(*add[:2], "cli-bad", *add[2:], stdin=f"access_token={good}\npassword={extra}\n", code=2)
            run(*add[:2], "cli-good", *add[2:], stdin=f"access_token={good}\n", code=2)
            run("channel", "add", "cli-bare", "--platform", "mastodon", "--credential", bare, code=2)
            # A draft that does not fit, and posts that go out and that fail (a revoked token).
            run("check", "--channel", "cli-good", "--text", "가" * 600, code=1)
            run(
                "post",
                "add",
                "--channel",
                "cli-good",
                "--channel",
                "cli-revoked",
                "--text",
                "from the cli",
                "--now",
            )
            assert wait_for(
                lambda: {r.status for r in herald.delivery_log()} == {"published", "failed"}, timeout=30
            ), herald.delivery_log()
            res = run("log", "--format", "json")
            assert "401" in res.output
            run("channel", "list", "--format", "json")
    finally:
        reset_settings()
    for out in outputs:
        assert not leaks(out, kept), out
    assert not leaks(logged_text(caplog), kept)


def test_cli_in_its_own_process_writes_json_logs_and_no_secret(
    herald_env: dict[str, str], herald: Any
) -> None:
    """``herald`` as an operator runs it, with ``HERALD_LOG_FORMAT=json``: stderr is JSON lines
    (or the one ``error:`` line of a refusal), and neither stream shows a credential."""
    token, bare = distinctive("proc-token"), distinctive("proc-bare")
    env = {**os.environ, **herald_env, "HERALD_LOG_FORMAT": "json", "HERALD_LOG_LEVEL": "DEBUG"}

    def run(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [HERALD, *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=60
        )

    add = run(
        [
            "channel",
            "add",
            "p-m",
            "--platform",
            "mastodon",
            "--base-url",
            "http://127.0.0.1:9/m",
            "--credentials-stdin",
        ],
        stdin=f"access_token={token}\n",
    )
    refused = run(["channel", "add", "p-x", "--platform", "x", "--credential", bare])
    log = run(["log", "--format", "json"])
    assert add.returncode == 0, add.stderr
    assert refused.returncode == 2 and "error: credential" in refused.stderr, refused.stderr
    assert log.returncode == 0 and json.loads(log.stdout) == []
    for p in (add, refused, log):
        assert not leaks(p.stdout + p.stderr, [token, bare, SECRET_KEY]), p.stdout + p.stderr
        for line in p.stderr.splitlines():
            assert line.startswith("error: ") or isinstance(json.loads(line), dict), line
