"""``herald doctor`` (issue 17) against real parts: the test Redis and private redis-servers,
SQLite and PostgreSQL, in-process workers and a dispatcher, channels on the platform simulator.

It says ok, warn, fail or skip for each check, exits 1 only when one fails, changes nothing it
looks at (an unmigrated database stays unmigrated, a missing SQLite file is not created), and
never prints a secret: not a channel's credential a platform refused, not the secret key, not
a password in a Redis or database URL."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from typer.testing import CliRunner

from bench.harness import wait_for
from content_queue.heartbeats import Heartbeats, WorkerBeat
from herald.cli import app as cli
from herald.core.i18n import use_locale
from herald.core.secret import MASK
from herald.core.settings import reset_settings
from herald.embedded import EmbeddedRedis, free_port
from herald.platforms import connector_class
from herald.service.doctor import (
    CLOCK_FAIL_SECONDS,
    CLOCK_WARN_SECONDS,
    DISK_FAIL_FREE_BYTES,
    DISK_WARN_FREE_BYTES,
    DiskUsage,
    Status,
    diagnose,
)
from herald.simulator import SANDBOX_ACCOUNTS
from herald.store.db import Database, alembic_config, revisions
from herald.store.models import utcnow
from scheduler.dispatcher import LIVENESS_TTL_SECONDS
from scheduler.liveness import Liveness
from tests.conftest import SECRET_KEY

runner = CliRunner()

MASTODON_TOKEN = "doctor-mastodon-token-5b8e20"
X_CREDS = {
    "api_key": "doctor-x-consumer-key-0c4d",
    "api_secret": "doctor-x-consumer-secret-7a19e2",
    "access_token": "doctor-x-access-token-3f6b77",
    "access_token_secret": "doctor-x-access-secret-d21c08",
}
#: The credential of each platform that a revoked copy of its sandbox account gets wrong.
REVOKED_KEY = {
    "x": "access_token",
    "mastodon": "access_token",
    "bluesky": "app_password",
    "telegram": "bot_token",
    "facebook": "page_access_token",
    "instagram": "access_token",
    "linkedin": "access_token",
    "threads": "access_token",
}
REDIS_PASSWORD = "doctor-redis-password-91ce4a"


@pytest.fixture
def db_url(any_db_url: str) -> str:
    """Every test here that builds a Herald runs on SQLite and on PostgreSQL."""
    return any_db_url


def doctor(*args: str) -> tuple[int, dict[str, Any], str]:
    """``herald doctor --format json``: its exit code, its JSON and everything it printed."""
    result = runner.invoke(cli, ["doctor", "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout), result.output


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["checks"]}


def status_of(report: dict[str, Any], name: str) -> str:
    return str(by_name(report)[name]["status"])


def failing(report: dict[str, Any]) -> list[str]:
    return [c["name"] for c in report["checks"] if c["status"] == "fail"]


# -- channels and exit codes -------------------------------------------------------------------


def test_exit_code_follows_the_checks_and_a_refused_credential_names_only_the_channel(
    herald: Any, sim: Any, running: Any
) -> None:
    """Everything up (a worker, the dispatcher, Redis, the database): one channel valid, one whose
    token was replaced on the platform. Only that channel fails, exit 1; once the platform takes
    its credentials again, exit 0 (the shared Redis has no AOF: a warning, which exits 0)."""
    sim.add_account("mastodon", username="doctor_kr", access_token=MASTODON_TOKEN)
    sim.add_account("x", username="doctor_kr", **X_CREDS)
    herald.add_channel(
        "kr-mastodon", "mastodon", {"access_token": MASTODON_TOKEN}, base_url=sim.url_for("mastodon")
    )
    herald.add_channel("kr-x", "x", dict(X_CREDS), base_url=sim.url_for("x"))
    # The account's owner revoked the token Herald holds (a new one replaced it on X).
    sim.add_account("x", username="doctor_kr", **{**X_CREDS, "access_token": "doctor-x-new-token-000"})

    def workers_seen() -> bool:
        _, report, _ = doctor("--no-channels")
        return status_of(report, "workers") == "ok" and status_of(report, "scheduler") == "ok"

    assert wait_for(workers_seen, timeout=20)
    code, report, output = doctor()
    assert code == 1
    assert failing(report) == ["channel kr-x"], report
    checks = by_name(report)
    assert checks["channel kr-mastodon"]["status"] == "ok"
    assert "@doctor_kr" in checks["channel kr-mastodon"]["detail"]
    assert "X refused the credentials" in checks["channel kr-x"]["detail"]
    assert "kr-x" in checks["channel kr-x"]["hint"]
    for secret in [MASTODON_TOKEN, *X_CREDS.values(), SECRET_KEY]:
        assert secret not in output

    sim.add_account("x", username="doctor_kr", **X_CREDS)  # the token works again
    code, report, _ = doctor()
    assert code == 0, failing(report)
    assert report["status"] == "warn"  # the shared test Redis keeps no AOF
    assert status_of(report, "channel kr-x") == "ok"


def test_every_platforms_dry_call_accepts_its_account_and_refuses_a_revoked_one(
    herald: Any, sim: Any
) -> None:
    """One channel per platform on its sandbox account, and a copy of each with a credential the
    platform does not know: every copy fails naming its platform, and no credential is shown."""
    secrets = [SECRET_KEY]
    for account in SANDBOX_ACCOUNTS:
        acc = {k: str(v) for k, v in dict(account).items()}
        platform, username = acc.pop("platform"), acc.pop("username")
        sim.add_account(platform, username=username, **acc)
        cls = connector_class(platform)
        creds = {k: acc[k] for k in cls.credential_keys}
        herald.add_channel(f"ok-{platform}", platform, creds, base_url=sim.url_for(platform))
        revoked = {**creds, REVOKED_KEY[platform]: creds[REVOKED_KEY[platform]] + "-revoked"}
        herald.add_channel(f"bad-{platform}", platform, revoked, base_url=sim.url_for(platform))
        secrets += [v for k, v in [*creds.items(), *revoked.items()] if k not in cls.identity_keys]
    code, report, output = doctor()
    assert code == 1
    checks = by_name(report)
    for account in SANDBOX_ACCOUNTS:
        platform = str(account["platform"])
        title = connector_class(platform).title
        assert checks[f"channel ok-{platform}"]["status"] == "ok", checks[f"channel ok-{platform}"]
        bad = checks[f"channel bad-{platform}"]
        assert bad["status"] == "fail", bad
        assert bad["detail"].startswith(f"{title} refused the credentials"), bad
    for secret in secrets:
        assert secret not in output, "a credential was printed"


def test_meta_says_when_its_token_expires(herald: Any, sim: Any) -> None:
    """Facebook's dry call also asks ``debug_token``: a token that dies in three days warns,
    whatever date is on record, and the token itself is never shown."""
    soon = int(utcnow().timestamp()) + 3 * 86400 + 3600
    sim.add_account(
        "facebook", username="page", page_id="6101", page_access_token="meta-doc-5ee1", expires_at=str(soon)
    )
    herald.add_channel(
        "fb",
        "facebook",
        {"page_id": "6101", "page_access_token": "meta-doc-5ee1"},
        base_url=sim.url_for("facebook"),
    )
    herald.set_token_expiry("fb", utcnow() + timedelta(days=300))  # stale: the platform knows better
    code, report, output = doctor()
    check = by_name(report)["channel fb"]
    assert (
        check["status"] == "warn"
        and "the token expires" in check["detail"]
        and "in 3 days" in check["detail"]
    )
    assert "meta-doc-5ee1" not in output


def test_a_paused_channel_and_token_expiry_are_warned_about(herald: Any, sim: Any) -> None:
    sim.add_account("mastodon", username="doctor_kr", access_token=MASTODON_TOKEN)
    for name in ("soon", "gone", "later"):
        herald.add_channel(
            name, "mastodon", {"access_token": MASTODON_TOKEN}, base_url=sim.url_for("mastodon")
        )
    now = utcnow()
    herald.set_token_expiry("soon", now + timedelta(days=3))
    herald.set_token_expiry("gone", now - timedelta(hours=1))
    herald.set_token_expiry("later", now + timedelta(days=40))
    herald.pause_channel("later", reason="campaign over")
    code, report, _ = doctor()
    checks = by_name(report)
    assert checks["token soon"]["status"] == "warn" and "in 3 days" in checks["token soon"]["detail"]
    assert checks["token gone"]["status"] == "fail" and "--token-expires" in checks["token gone"]["hint"]
    assert checks["token later"]["status"] == "ok"
    assert checks["channel later"]["status"] == "warn"
    assert (
        "paused" in checks["channel later"]["detail"] and "campaign over" in checks["channel later"]["detail"]
    )
    assert checks["channel soon"]["status"] == "ok"
    # --no-channels makes no platform call but still reads the expiry dates.
    calls = len(sim.requests_seen())
    _, quiet, _ = doctor("--no-channels")
    assert status_of(quiet, "channels") == "skip"
    assert status_of(quiet, "token gone") == "fail"
    assert len(sim.requests_seen()) == calls
    assert code == 1


# -- database ----------------------------------------------------------------------------------


def _empty_schema(url: str) -> None:
    """Take the database back to nothing (PostgreSQL: a new public schema; SQLite: a new file)."""
    from sqlalchemy import create_engine, text

    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).unlink()
        Path(url.removeprefix("sqlite:///")).touch()
        return
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    eng.dispose()


def test_an_unmigrated_database_fails_and_stays_unmigrated(herald_env: dict[str, str]) -> None:
    url = herald_env["HERALD_DATABASE_URL"]
    _empty_schema(url)
    _, report, _ = doctor()
    checks = by_name(report)
    assert checks["database"]["status"] == "ok"
    assert checks["schema"]["status"] == "fail"
    assert (
        checks["schema"]["detail"].startswith("empty") and checks["schema"]["hint"] == "run `herald migrate`"
    )
    assert checks["channels"]["status"] == "skip"

    from alembic import command

    command.upgrade(alembic_config(url), "0013")
    code, report, _ = doctor()
    schema = by_name(report)["schema"]
    assert code == 1 and schema["status"] == "fail"
    assert (
        schema["detail"].startswith("at 0013,")
        and f"behind this Herald's {revisions()[-1]}" in schema["detail"]
    )
    db = Database(url)
    try:
        assert db.revision() == "0013"  # the doctor looked; it did not migrate
    finally:
        db.dispose()


def test_a_missing_sqlite_database_is_named_and_not_created(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "nowhere" / "herald.db"
    monkeypatch.setenv("HERALD_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("HERALD_REDIS_URL", redis_url)
    monkeypatch.setenv("HERALD_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HERALD_SECRET_KEY", SECRET_KEY)
    reset_settings()
    try:
        checks = {c.name: c for c in diagnose(channels=False).checks}
    finally:
        reset_settings()
    assert checks["database"].status is Status.FAIL and str(path) in checks["database"].detail
    assert checks["schema"].status is Status.SKIP
    assert not path.exists() and not path.parent.exists()


def test_a_database_password_is_never_shown(
    herald_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL here trusts every local connection, so a password in the URL is accepted and
    ignored: the doctor shows the URL with the password masked."""
    url = herald_env["HERALD_DATABASE_URL"]
    if url.startswith("sqlite"):
        pytest.skip("SQLite URLs hold no password")
    with_password = url.replace("postgres@", "postgres:doctor-db-password-42f1@", 1)
    monkeypatch.setenv("HERALD_DATABASE_URL", with_password)
    reset_settings()
    _, report, output = doctor("--no-channels")
    assert status_of(report, "database") == "ok"
    assert "doctor-db-password-42f1" not in output
    assert "***" in by_name(report)["database"]["detail"]


# -- Redis -------------------------------------------------------------------------------------


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A redis-server of this test's own (the shared one's settings are never touched), with a
    password and two restricted users: one without CONFIG (as managed Redis services refuse
    it), one without CONFIG and INFO."""
    server = EmbeddedRedis(tmp_path / "redis").start()
    client = redis.Redis(port=server.port)
    client.acl_setuser(
        "noconfig",
        enabled=True,
        passwords=[f"+{REDIS_PASSWORD}"],
        keys=["*"],
        channels=["*"],
        commands=["+@all", "-config"],
    )
    client.acl_setuser(
        "blind",
        enabled=True,
        passwords=[f"+{REDIS_PASSWORD}"],
        keys=["*"],
        channels=["*"],
        commands=["+@all", "-config", "-info"],
    )
    client.config_set("requirepass", REDIS_PASSWORD)
    client.close()
    try:
        yield server
    finally:
        server.stop()


def _admin(server: EmbeddedRedis) -> redis.Redis:
    return redis.Redis(port=server.port, password=REDIS_PASSWORD)


@pytest.mark.parametrize(
    ("policy", "aof", "user", "eviction", "persistence"),
    [
        ("allkeys-lru", False, "", "fail", "warn"),
        ("volatile-lru", True, "", "fail", "ok"),
        ("noeviction", True, "", "ok", "ok"),
        ("noeviction", False, "", "ok", "warn"),
        # CONFIG refused: the policy is read from INFO; the snapshot schedule cannot be.
        ("allkeys-lru", False, "noconfig", "fail", "warn"),
        ("noeviction", True, "noconfig", "ok", "ok"),
        # CONFIG and INFO refused: cannot read, a warning and no crash.
        ("noeviction", True, "blind", "warn", "warn"),
    ],
)
def test_redis_eviction_and_persistence(
    private_redis: EmbeddedRedis,
    herald_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    policy: str,
    aof: bool,
    user: str,
    eviction: str,
    persistence: str,
) -> None:
    admin = _admin(private_redis)
    admin.config_set("maxmemory-policy", policy)
    admin.config_set("appendonly", "yes" if aof else "no")
    admin.close()
    monkeypatch.setenv(
        "HERALD_REDIS_URL", f"redis://{user}:{REDIS_PASSWORD}@127.0.0.1:{private_redis.port}/0"
    )
    reset_settings()
    code, report, output = doctor("--no-channels")
    checks = by_name(report)
    assert checks["redis"]["status"] == "ok"
    assert checks["redis eviction"]["status"] == eviction, checks["redis eviction"]
    assert checks["redis persistence"]["status"] == persistence, checks["redis persistence"]
    if eviction == "fail":
        assert (
            policy in checks["redis eviction"]["detail"] and "noeviction" in checks["redis eviction"]["hint"]
        )
        assert code == 1
    if user == "noconfig" and eviction == "ok":
        assert "INFO" in checks["redis eviction"]["detail"]
    if user == "blind":
        assert "cannot read" in checks["redis eviction"]["detail"]
    assert REDIS_PASSWORD not in output
    assert MASK in checks["redis"]["detail"]


def test_a_full_redis_fails(
    private_redis: EmbeddedRedis, herald_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = _admin(private_redis)
    used = int(admin.info("memory")["used_memory"])
    admin.config_set("maxmemory", str(int(used * 1.02)))
    admin.close()
    monkeypatch.setenv("HERALD_REDIS_URL", f"redis://:{REDIS_PASSWORD}@127.0.0.1:{private_redis.port}/0")
    reset_settings()
    _, report, _ = doctor("--no-channels")
    assert status_of(report, "redis memory") == "fail"


def test_redis_not_answering_fails_and_skips_what_needs_it(
    herald_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HERALD_REDIS_URL", f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0")
    reset_settings()
    code, report, output = doctor("--no-channels")
    checks = by_name(report)
    assert code == 1 and checks["redis"]["status"] == "fail"
    assert "no answer from" in checks["redis"]["detail"]
    assert [checks[n]["status"] for n in ("clock", "workers", "scheduler")] == ["skip"] * 3
    assert REDIS_PASSWORD not in output


# -- clock and disk ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ahead", "expected"),
    [
        (0.0, Status.OK),
        (CLOCK_WARN_SECONDS + 0.5, Status.WARN),
        (CLOCK_FAIL_SECONDS + 1.0, Status.FAIL),
        (-(CLOCK_FAIL_SECONDS + 1.0), Status.FAIL),
    ],
)
def test_clock_skew_against_redis(herald_env: dict[str, str], ahead: float, expected: Status) -> None:
    """This machine's clock, ``ahead`` seconds off the real one, read against Redis's TIME."""
    result = diagnose(channels=False, clock=lambda: time.time() + ahead)
    [clock] = [c for c in result.checks if c.name == "clock"]
    assert clock.status is expected, clock
    if expected is not Status.OK:
        assert ("ahead of" if ahead > 0 else "behind") in clock.detail and clock.hint


@pytest.mark.parametrize(
    ("free", "expected"),
    [
        (DISK_WARN_FREE_BYTES * 2, Status.OK),
        (DISK_WARN_FREE_BYTES - 1, Status.WARN),
        (DISK_FAIL_FREE_BYTES - 1, Status.FAIL),
    ],
)
def test_free_disk_where_the_photos_are(herald_env: dict[str, str], free: int, expected: Status) -> None:
    seen: list[Path] = []

    def usage(path: Path) -> DiskUsage:
        seen.append(path)
        return DiskUsage(total=free * 4, used=free * 3, free=free)

    result = diagnose(channels=False, disk_usage=usage)
    [disk] = [c for c in result.checks if c.name == "disk"]
    if herald_env["HERALD_DATABASE_URL"].startswith("sqlite"):
        assert disk.status is expected, disk
        assert seen == [Path(herald_env["HERALD_DATABASE_URL"].removeprefix("sqlite:///")).resolve().parent]
    else:  # the photos are in PostgreSQL, on its server's disk
        assert disk.status is Status.SKIP and not seen


# -- configuration -----------------------------------------------------------------------------


def test_a_setting_that_does_not_parse_is_named_and_the_rest_still_runs(
    herald_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HERALD_WEB_PORT", "eighty")
    reset_settings()
    code, report, output = doctor("--no-channels")
    checks = by_name(report)
    assert code == 1
    assert checks["configuration"]["status"] == "fail"
    assert checks["configuration"]["detail"].startswith("HERALD_WEB_PORT:")
    assert "eighty" not in output  # the value is not echoed, only the setting's name
    assert checks["redis"]["status"] == "ok" and checks["schema"]["status"] == "ok"


def test_production_placeholders_fail_without_being_shown(
    herald_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HERALD_ENV", "production")
    monkeypatch.setenv("HERALD_SECRET_KEY", "change-me")
    monkeypatch.setenv(
        "HERALD_REDIS_URL", herald_env["HERALD_REDIS_URL"].replace("redis://", "redis://:change-me@", 1)
    )
    reset_settings()
    code, report, output = doctor("--no-channels")
    checks = by_name(report)
    assert code == 1
    assert checks["secret key"]["status"] == "fail"
    assert "HERALD_SECRET_KEY must be a random value" in checks["secret key"]["detail"]
    assert checks["configuration"]["status"] == "fail"
    assert "HERALD_REDIS_URL has a placeholder password" in checks["configuration"]["detail"]
    assert "change-me" not in output


def test_web_keys_alone_cannot_check_channels(herald: Any, sim: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The web app's share seals credentials but opens none: the doctor says so and skips the
    channels rather than failing them."""
    sim.add_account("mastodon", username="doctor_kr", access_token=MASTODON_TOKEN)
    herald.add_channel(
        "kr-mastodon", "mastodon", {"access_token": MASTODON_TOKEN}, base_url=sim.url_for("mastodon")
    )
    web_keys = runner.invoke(cli, ["keys", "web"]).stdout.strip().splitlines()[-1]
    monkeypatch.delenv("HERALD_SECRET_KEY")
    monkeypatch.setenv("HERALD_WEB_KEYS", web_keys)
    reset_settings()
    _, report, output = doctor()
    checks = by_name(report)
    assert checks["secret key"]["status"] == "warn"
    assert checks["channel kr-mastodon"]["status"] == "skip"
    assert web_keys not in output


# -- output ------------------------------------------------------------------------------------


def test_json_shape_and_the_table(herald_env: dict[str, str]) -> None:
    code, report, _ = doctor("--no-channels")
    assert set(report) == {"status", "counts", "checks"}
    assert report["status"] in {"ok", "warn", "fail"}
    assert set(report["counts"]) == {"ok", "warn", "fail", "skip"}
    assert sum(report["counts"].values()) == len(report["checks"])
    names = [c["name"] for c in report["checks"]]
    assert names[:4] == ["configuration", "secret key", "data directory", "redis"]
    assert len(names) == len(set(names))
    for check in report["checks"]:
        assert set(check) == {"name", "status", "detail", "hint"}
        assert check["status"] in {"ok", "warn", "fail", "skip"} and check["detail"]
    # No worker runs in this test: the workers check fails, and so does the command.
    assert status_of(report, "workers") == "fail" and code == 1

    table = runner.invoke(cli, ["doctor", "--no-channels"])
    assert table.exit_code == 1
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["status", "name", "detail", "hint"]
    assert lines[-1].startswith(f"{report['counts']['fail']} failed, ")


# -- the reader's language ---------------------------------------------------------------------

HANGUL = re.compile(r"[\uac00-\ud7a3]")
#: Redis's own settings, the same words in every language.
REDIS_SETTINGS_HINT = "appendonly yes, appendfsync everysec"


def test_the_doctor_speaks_korean_and_scripts_still_read_english(
    herald_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``HERALD_LANG=ko``: every detail and hint is Korean, while the JSON's keys, the checks'
    names and their statuses are what an English run gives (scripts read them)."""
    _, english, _ = doctor("--no-channels")
    monkeypatch.setenv("HERALD_LANG", "ko")
    code, report, _ = doctor("--no-channels")
    assert code == 1  # no worker runs in this test
    assert set(report) == {"status", "counts", "checks"} and set(report["counts"]) == set(english["counts"])
    assert [(c["name"], c["status"]) for c in report["checks"]] == [
        (c["name"], c["status"]) for c in english["checks"]
    ]
    checks = by_name(report)
    for check in report["checks"]:
        assert set(check) == {"name", "status", "detail", "hint"}
        assert HANGUL.search(check["detail"]), check
        assert check["hint"] in (None, REDIS_SETTINGS_HINT) or HANGUL.search(check["hint"]), check
    assert checks["configuration"]["detail"].endswith("모든 설정이 올바릅니다")
    assert checks["schema"]["detail"] == f"{revisions()[-1]}, 최신입니다"
    assert checks["workers"]["detail"].startswith("살아 있는 워커가 없습니다")
    assert "`herald worker`" in checks["workers"]["hint"]
    if herald_env["HERALD_DATABASE_URL"].startswith("sqlite"):
        assert "남음" in checks["disk"]["detail"]
    else:
        assert checks["disk"]["detail"].startswith("사진은")

    table = runner.invoke(cli, ["doctor", "--no-channels"])
    assert table.stdout.splitlines()[-1].startswith(f"실패 {report['counts']['fail']}, ")


def test_a_detail_sized_or_timed_is_written_the_korean_way(herald_env: dict[str, str]) -> None:
    """The service answers in the current locale (here set as the web app sets a request's):
    sizes and the clock's gap are written the locale's way, in the reader's words."""
    with use_locale("ko"):
        result = diagnose(
            channels=False,
            clock=lambda: time.time() + CLOCK_FAIL_SECONDS + 1.0,
            disk_usage=lambda path: DiskUsage(total=8 * 1024**3, used=7 * 1024**3, free=1024**3),
        )
    checks = {c.name: c for c in result.checks}
    assert checks["clock"].status is Status.FAIL
    assert (
        "이 컴퓨터의 시계가 Redis의 시계보다" in checks["clock"].detail
        and "빠릅니다" in checks["clock"].detail
    )
    assert "NTP" in (checks["clock"].hint or "")
    if herald_env["HERALD_DATABASE_URL"].startswith("sqlite"):
        assert checks["disk"].status is Status.WARN
        assert "전체 8 GiB 중 1 GiB 남음" in checks["disk"].detail


def test_channel_checks_on_the_pool_threads_speak_korean_too(
    herald: Any, sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The channels are checked on a thread pool: each check still answers in the command's
    language, and a token's expiry is worded from the time SQL keeps."""
    sim.add_account("mastodon", username="doctor_kr", access_token=MASTODON_TOKEN)
    for name in ("soon", "old"):
        herald.add_channel(
            name, "mastodon", {"access_token": MASTODON_TOKEN}, base_url=sim.url_for("mastodon")
        )
    herald.set_token_expiry("soon", utcnow() + timedelta(days=3, hours=1))
    sim.add_account("mastodon", username="doctor_kr", access_token=MASTODON_TOKEN + "-new")
    monkeypatch.setenv("HERALD_LANG", "ko")
    _, report, _ = doctor()
    checks = by_name(report)
    # The token was replaced on the platform: both channels are refused, in Korean.
    for name in ("soon", "old"):
        refused = checks[f"channel {name}"]
        assert refused["status"] == "fail", refused
        assert refused["detail"].startswith("Mastodon이(가) 자격 증명을 거부했습니다"), refused
        assert refused["hint"].startswith("Mastodon에서 자격 증명을 갱신하세요"), refused
        assert f"`herald channel resume {name}`" in refused["hint"]
    token = checks["token soon"]
    assert token["status"] == "warn" and token["detail"].endswith("에 만료(3일 남음)"), token
    assert token["hint"].startswith("토큰을 갱신한 다음 `herald channel set soon --token-expires DATE`")
    assert "token old" not in checks

    sim.add_account("mastodon", username="doctor_kr", access_token=MASTODON_TOKEN)
    _, report, _ = doctor()
    ok = by_name(report)["channel old"]
    assert ok["status"] == "ok" and ok["detail"].startswith("Mastodon이(가) 자격 증명을 받아들입니다: "), ok
    assert "@doctor_kr" in ok["detail"]


@pytest.mark.parametrize("health", ["stalled", "busy"])
def test_the_schedulers_verdict_is_worded_from_its_facts(
    herald_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, health: str
) -> None:
    """The scheduler keeps its verdict on the workers in Redis, with an English ``reason``: the
    doctor words it from the verdict's facts and the heartbeats, in the reader's language (in
    English, the scheduler's own sentence)."""
    client = redis.Redis.from_url(herald_env["HERALD_REDIS_URL"])
    now = time.time()
    if health == "stalled":  # free slots, nothing taken: deaf
        beat = WorkerBeat("w1@host", 1, now - 60, now, True, None, 0, 0, 4)
    else:  # every slot taken: busy
        beat = WorkerBeat("w1@host", 1, now - 60, now, True, now - 5, 9, 4, 4)
    liveness = Liveness(bound_seconds=1.0)
    liveness.judge(now=now - 10, waiting=3, beats=[beat])
    verdict = liveness.judge(now=now, waiting=3, beats=[beat])
    assert verdict.health.value == health
    heartbeats = Heartbeats(client)
    heartbeats.publish(beat)
    heartbeats.publish_verdict({**verdict.to_dict(), "at": now, "stalls": 0}, LIVENESS_TTL_SECONDS)
    client.close()

    _, report, _ = doctor("--no-channels")
    workers = by_name(report)["workers"]
    assert workers["status"] == ("fail" if health == "stalled" else "warn")
    if health == "stalled":
        assert workers["detail"] == verdict.reason
    else:
        assert workers["detail"].startswith("3 messages wait; every live worker is full (w1@host (last took")
    monkeypatch.setenv("HERALD_LANG", "ko")
    _, report, _ = doctor("--no-channels")
    workers = by_name(report)["workers"]
    if health == "stalled":
        assert workers["detail"] == (
            "메시지 3개가 10초 동안 기다렸는데 가져간 워커가 없습니다. 응답 없는 워커(빈 자리가 있는데 "
            "가져가지 않음): w1@host (메시지를 가져간 적 없음, 0/4 처리 중, 연결됨)"
        )
        assert workers["hint"].startswith("응답 없는 워커를 다시 시작하세요")
    else:
        assert workers["detail"].startswith("메시지 3개가 기다립니다. 살아 있는 워커가 모두 가득 찼습니다")
        assert (
            "4/4 처리 중, 연결됨" in workers["detail"]
            and workers["hint"] == "이 상태가 계속되면 워커를 늘리세요"
        )
