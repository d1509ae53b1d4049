"""``herald doctor``: can this installation publish? One check for each thing that must hold,
each answered ok, warn, fail or skip, with what to do about it:

- **configuration**: every ``HERALD_*`` setting parses; production has no placeholder password
  in its Redis or database URL and a public URL the platforms can reach;
- **secret key**: set and no placeholder, or (development) generated into the data directory
  and private to its owner; a process holding only ``HERALD_WEB_KEYS`` cannot open credentials;
- **data directory**: exists and is writable;
- **Redis**: answers; ``maxmemory-policy`` is ``noeviction`` (any other policy lets a full Redis
  drop a lease or a staged payload without an error); AOF on (RDB snapshots only, or none, is a
  warning: SQL is the record and the scheduler rebuilds the queue, but a restart loses what was
  staged since); how full it is;
- **clock**: this machine's against Redis's ``TIME``;
- **database** and its **schema** (the Alembic revision against this Herald's head);
- **disk**: free space where the photos are stored (the SQLite database's folder);
- **workers** (fresh heartbeats, the scheduler's verdict) and the **scheduler** (its verdict is
  fresh, and how long the earliest due delivery has waited);
- every **channel**'s credentials, by the platform's own dry call (``Connector.verify``: X's
  ``users/me``, Mastodon's ``verify_credentials``, a Bluesky session, Telegram's ``getMe`` and
  ``getChat``, the Graph node, LinkedIn's post finder), and its **token**'s known expiry.

It only looks: it never migrates, never generates the development secret key, and writes
nothing to Redis or SQL (the one write is a probe file in the data directory, removed at once).
A check that cannot run because another failed is skipped, saying which. Nothing it answers
holds a secret: URLs are shown without their passwords, and a platform's refusal with every
credential value masked.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple, cast
from urllib.parse import urlsplit

import redis
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from content_queue.heartbeats import Heartbeats
from content_queue.levels import read_levels
from herald.accounts import Actor, Capability
from herald.core import i18n
from herald.core.errors import AuthError, ConfigError, HeraldError, NotFound, PermanentError, PlatformError
from herald.core.keyring import Keyring
from herald.core.secret import MASK
from herald.core.settings import (
    DEFAULT_REDIS_URL,
    PLACEHOLDER_KEYS,
    Settings,
    checked_secret_key,
    get_settings,
    redis_url,
)
from herald.platforms import ConnectorConfig, connector_class
from herald.platforms.base import CONNECT_TIMEOUT_SECONDS
from herald.platforms.http import mask
from herald.service.answers import Answer
from herald.service.base import ServiceBase
from herald.store import channels as channel_store
from herald.store.crypto import CredentialBox
from herald.store.db import Database, location, revisions
from herald.store.models import Channel
from scheduler.dispatcher import LIVENESS_TTL_SECONDS
from scheduler.liveness import BEAT_TIMEOUT_SECONDS, LAG_ALERT_SECONDS

log = logging.getLogger(__name__)

#: This machine's clock may differ from Redis's by this much before it is a warning. Due times
#: are whole seconds to people, and a platform's posting window is counted on each machine's
#: clock: a second is the precision anyone expects.
CLOCK_WARN_SECONDS = 1.0
#: ... and by this much before it is a failure: a worker's heartbeat is judged on the
#: scheduler's clock (``BEAT_TIMEOUT_SECONDS``, 5 s). Two machines each this far off Redis, in
#: opposite directions, make a live worker look gone (and its deliveries handed out again).
CLOCK_FAIL_SECONDS = BEAT_TIMEOUT_SECONDS / 2
#: Readings of Redis's clock; the one with the shortest round trip is used.
CLOCK_SAMPLES = 3
#: Free disk where the photos are stored: a warning below this, a failure below the next. A
#: post holds up to four photos of a few MB, each kept with a rendition per platform; 256 MiB is
#: a day or two of a busy campaign, and SQLite needs room to write its WAL at all.
DISK_WARN_FREE_BYTES = 2 * 1024**3
DISK_FAIL_FREE_BYTES = 256 * 1024**2
#: Redis's memory against its ``maxmemory``: with ``noeviction`` a full Redis refuses writes,
#: so queueing and staging fail.
REDIS_MEMORY_WARN_FRACTION = 0.80
REDIS_MEMORY_FAIL_FRACTION = 0.95
#: Connect and read timeout of every Redis call the doctor makes, seconds.
REDIS_TIMEOUT_SECONDS = 5.0
#: The scheduler is late when the earliest due delivery has waited this long (the scheduler's
#: own alert), and failing when ten minutes: posts go out visibly late.
SCHEDULER_LAG_WARN_SECONDS = LAG_ALERT_SECONDS
SCHEDULER_LAG_FAIL_SECONDS = 600.0
#: Read timeout of a channel's dry call, seconds (publishing allows more for media answers).
PLATFORM_READ_TIMEOUT_SECONDS = 10.0
#: Channels checked at once: each dry call mostly waits on its platform.
CHANNEL_CHECKS_AT_ONCE = 8
#: Names shown in one detail before "and N more".
NAMES_SHOWN = 5


class Status(StrEnum):
    """A check's answer. ``fail`` makes ``herald doctor`` exit 1; ``warn`` alone does not."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    #: Not run: what it needs failed, or there is nothing to check.
    SKIP = "skip"


#: Which answer wins when several are folded into one.
SEVERITY = {Status.SKIP: 0, Status.OK: 1, Status.WARN: 2, Status.FAIL: 3}


@dataclass(frozen=True)
class Check(Answer):
    """One check: its name (``channel NAME`` for a channel), its answer, what it found, and what
    to do about it (None when nothing)."""

    name: str
    status: Status
    detail: str
    hint: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "status": self.status.value, "detail": self.detail, "hint": self.hint}


@dataclass(frozen=True)
class Diagnosis(Answer):
    """Every check, in a fixed order."""

    checks: tuple[Check, ...]

    @property
    def status(self) -> Status:
        """The worst answer (ok when every check was skipped)."""
        worst = max((c.status for c in self.checks), key=SEVERITY.__getitem__, default=Status.OK)
        return Status.OK if worst is Status.SKIP else worst

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    def counts(self) -> dict[str, int]:
        """How many checks gave each answer."""
        return {s.value: sum(1 for c in self.checks if c.status is s) for s in Status}

    def to_dict(self) -> dict[str, object]:
        """``{"status": worst, "counts": {...}, "checks": [...]}``: what ``--format json`` prints."""
        return {
            "status": self.status.value,
            "counts": self.counts(),
            "checks": [c.to_dict() for c in self.checks],
        }


class DiskUsage(NamedTuple):
    """``shutil.disk_usage``'s answer, bytes."""

    total: int
    used: int
    free: int


def diagnose(
    *,
    channels: bool = True,
    clock: Callable[[], float] = time.time,
    disk_usage: Callable[[Path], DiskUsage] | None = None,
) -> Diagnosis:
    """Run every check against the settings of this process (``HERALD_*`` and ``.env``).
    ``channels`` false leaves out the platforms' dry calls (Bluesky allows 30 logins per 5
    minutes). ``clock`` is this machine's clock; ``disk_usage`` measures a folder. Never raises:
    a check that breaks is a failed check."""
    settings, problems = load_settings()
    return Doctor(settings, problems, clock=clock, disk_usage=disk_usage).run(channels=channels)


def load_settings() -> tuple[Settings, list[str]]:
    """The settings, and what is wrong with them: each ``HERALD_*`` value that does not parse,
    named with the reason (never the value). Its default stands in so that the other checks can
    still run."""
    try:
        return get_settings(), []
    except ValidationError as e:
        problems: list[str] = []
        defaults: dict[str, Any] = {}  # Any: each setting's own type
        for err in e.errors(include_url=False, include_input=False, include_context=False):
            name = str(err["loc"][0]) if err["loc"] else ""
            problems.append(f"HERALD_{name.upper()}: {err['msg']}")
            if name in Settings.model_fields:
                defaults[name] = Settings.model_fields[name].get_default(call_default_factory=True)
        try:
            return Settings(**defaults), problems
        except ValidationError:  # pragma: no cover - defaults always parse
            return Settings.model_construct(), problems


@dataclass
class _Found:
    """What earlier checks learned that later ones need."""

    redis: redis.Redis | None = None
    db: Database | None = None
    at_head: bool = False
    keyring: Keyring | None = None
    #: Why the channels cannot be checked, if they cannot.
    no_channels: str | None = None
    secrets: list[str] = field(default_factory=list)


class Doctor:
    """The checks over one set of settings (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        problems: Sequence[str] = (),
        *,
        clock: Callable[[], float] = time.time,
        disk_usage: Callable[[Path], DiskUsage] | None = None,
    ) -> None:
        self.settings = settings
        self.problems = list(problems)
        self.clock = clock
        self.disk_usage = disk_usage or _disk_usage
        self.found = _Found()
        # Every secret a message could echo (a driver naming a URL, a platform its token).
        for value in (
            settings.secret_key,
            settings.secret_key_previous,
            settings.web_keys,
            settings.metrics_token,
        ):
            if value.strip():
                self.found.secrets.append(value.strip())
        for url in (settings.redis_url, settings.database_url):
            password = _password(url)
            if password:
                self.found.secrets.append(password)

    def run(self, *, channels: bool = True) -> Diagnosis:
        out: list[Check] = []
        for name, step in (
            ("configuration", self.configuration),
            ("secret key", self.secret_key),
            ("data directory", self.data_directory),
            ("redis", self.redis_server),
            ("clock", self.clock_skew),
            ("database", self.database),
            ("disk", self.disk),
            ("workers", self.workers),
        ):
            out.extend(self._guarded(name, step))
        out.extend(self._guarded("channels", lambda: self.channels(verify=channels)))
        self._close()
        return Diagnosis(tuple(out))

    # -- configuration ---------------------------------------------------------------------

    def configuration(self) -> list[Check]:
        s = self.settings
        fails = list(self.problems)
        warns: list[str] = []
        hints: list[str] = []
        if fails:
            hints.append("correct these settings (their defaults stand in for the checks below)")
        try:
            s.metrics_secret()
        except ConfigError as e:
            fails.append(str(e))
        if s.env == "production":
            for setting, url in (("HERALD_REDIS_URL", s.redis_url), ("HERALD_DATABASE_URL", s.database_url)):
                password = _password(url)
                if password is not None and password.strip().lower() in PLACEHOLDER_KEYS:
                    fails.append(f"{setting} has a placeholder password")
                    hints.append("make each password with `openssl rand -hex 32`")
            if not s.redis_url.strip():
                warns.append("HERALD_REDIS_URL is not set: every process must find the same Redis")
            if not s.database_url.strip():
                warns.append(
                    "HERALD_DATABASE_URL is not set: SQLite, so every process must run on this machine"
                )
            public = urlsplit(s.public_url)
            if public.scheme != "https" or (public.hostname or "") in ("localhost", "127.0.0.1", "::1"):
                warns.append(
                    f"HERALD_PUBLIC_URL is {s.public_url}: Instagram and Threads fetch photos from it, "
                    "so it must be a public https address"
                )
        if fails:
            return [Check("configuration", Status.FAIL, "; ".join(fails + warns), "; ".join(hints) or None)]
        if warns:
            return [Check("configuration", Status.WARN, "; ".join(warns))]
        return [Check("configuration", Status.OK, f"HERALD_ENV={s.env}; every setting is valid")]

    def secret_key(self) -> list[Check]:
        s = self.settings
        name = "secret key"
        if s.web_keys.strip() and not s.secret_key.strip():
            try:
                Keyring.from_web_keys(s.web_keys)
            except ConfigError as e:
                self.found.no_channels = "HERALD_WEB_KEYS is not valid"
                return [Check(name, Status.FAIL, str(e), "paste what `herald keys web` prints")]
            self.found.no_channels = "this process holds HERALD_WEB_KEYS only, which opens no credential"
            return [
                Check(
                    name,
                    Status.WARN,
                    "only HERALD_WEB_KEYS is set: credentials can be sealed here but not opened",
                    "run `herald doctor` where the workers run (with HERALD_SECRET_KEY) to check channels",
                )
            ]
        if s.secret_key.strip():
            try:
                checked_secret_key(s.secret_key, "HERALD_SECRET_KEY")
                if s.secret_key_previous:
                    checked_secret_key(s.secret_key_previous, "HERALD_SECRET_KEY_PREVIOUS")
                self.found.keyring = s.keyring()
            except ConfigError as e:
                self.found.no_channels = "the secret key is refused"
                return [Check(name, Status.FAIL, str(e), "set it to the output of `openssl rand -hex 32`")]
            rotating = " (and HERALD_SECRET_KEY_PREVIOUS, during a rotation)" if s.secret_key_previous else ""
            return [Check(name, Status.OK, f"HERALD_SECRET_KEY is set{rotating}")]
        if s.env == "production":
            self.found.no_channels = "no secret key"
            return [
                Check(
                    name,
                    Status.FAIL,
                    "HERALD_SECRET_KEY is not set: production refuses to start without it",
                    "set it to the output of `openssl rand -hex 32`, the same on every machine",
                )
            ]
        path = s.data_dir / "secret.key"
        if not path.exists():
            self.found.no_channels = "no secret key yet"
            return [
                Check(
                    name,
                    Status.OK,
                    f"none yet: the first start generates one into {path}",
                )
            ]
        try:
            self.found.keyring = s.keyring()  # the file exists: nothing is generated
        except (ConfigError, OSError) as e:
            self.found.no_channels = "the secret key is refused"
            return [Check(name, Status.FAIL, f"{path}: {_reason(e)}", "delete it only if no channel uses it")]
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            return [
                Check(
                    name,
                    Status.WARN,
                    f"{path} can be read by other users of this machine",
                    f"chmod 600 {path}",
                )
            ]
        return [Check(name, Status.OK, f"generated, in {path} (readable by its owner only)")]

    def data_directory(self) -> list[Check]:
        path = self.settings.data_dir.resolve()
        name = "data directory"
        if not path.exists():
            return [
                Check(
                    name,
                    Status.WARN,
                    f"{path} does not exist",
                    "`herald up` and `herald migrate` create it; or set HERALD_DATA_DIR",
                )
            ]
        if not path.is_dir():
            return [
                Check(name, Status.FAIL, f"{path} is not a directory", "set HERALD_DATA_DIR to a directory")
            ]
        try:
            fd, probe = tempfile.mkstemp(prefix=".doctor-", dir=path)
            os.close(fd)
            os.unlink(probe)
        except OSError as e:
            return [
                Check(
                    name,
                    Status.FAIL,
                    f"{path} is not writable: {_reason(e)}",
                    "give the user Herald runs as write access to it",
                )
            ]
        return [Check(name, Status.OK, f"{path} is writable")]

    # -- Redis -----------------------------------------------------------------------------

    def redis_server(self) -> list[Check]:
        s = self.settings
        url = redis_url(s)
        shown = _shown_url(url)
        try:
            client = redis.Redis.from_url(
                url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
            )
            client.ping()
        except ValueError as e:
            return [Check("redis", Status.FAIL, f"HERALD_REDIS_URL is not a Redis URL: {self._masked(e)}")]
        except redis.RedisError as e:
            hint = "start Redis, or check HERALD_REDIS_URL"
            if not s.redis_url and url == DEFAULT_REDIS_URL:
                hint = "`herald up` starts an embedded Redis; elsewhere set HERALD_REDIS_URL"
            return [Check("redis", Status.FAIL, f"no answer from {shown}: {self._masked(e)}", hint)]
        self.found.redis = client
        version = _info(client, "server").get("redis_version")
        return [
            Check("redis", Status.OK, f"Redis {version or '(version hidden)'} answers at {shown}"),
            self._eviction(client),
            self._persistence(client),
            self._memory(client),
        ]

    def _eviction(self, client: redis.Redis) -> Check:
        name = "redis eviction"
        policy, source = _config(client, "maxmemory-policy"), "CONFIG"
        if policy is None:
            policy, source = _info(client, "memory").get("maxmemory_policy"), "INFO"
        if policy is None:
            return Check(
                name,
                Status.WARN,
                "cannot read maxmemory-policy (CONFIG and INFO refused: a managed Redis?)",
                "make sure it is noeviction in your provider's settings",
            )
        if policy != "noeviction":
            return Check(
                name,
                Status.FAIL,
                f"maxmemory-policy is {policy}: a full Redis would silently drop leases, staged posts "
                "and hand-over messages",
                "set maxmemory-policy noeviction (redis.conf, or your provider's settings)",
            )
        via = "" if source == "CONFIG" else " (read from INFO: CONFIG is refused)"
        return Check(name, Status.OK, f"maxmemory-policy is noeviction{via}")

    def _persistence(self, client: redis.Redis) -> Check:
        name = "redis persistence"
        info = _info(client, "persistence")
        if not info:
            return Check(
                name, Status.WARN, "cannot read INFO persistence", "make sure AOF is on (appendonly yes)"
            )
        if str(info.get("rdb_last_bgsave_status", "ok")) != "ok":
            return Check(
                name,
                Status.FAIL,
                "the last RDB snapshot failed: Redis refuses writes until one succeeds "
                "(stop-writes-on-bgsave-error)",
                "look at Redis's log (a full disk, a permission)",
            )
        if str(info.get("aof_enabled", "0")) == "1":
            if str(info.get("aof_last_write_status", "ok")) != "ok":
                return Check(
                    name,
                    Status.FAIL,
                    "AOF is on but its last write failed",
                    "look at Redis's log (a full disk?)",
                )
            fsync = _config(client, "appendfsync")
            return Check(name, Status.OK, "AOF is on" + (f" (appendfsync {fsync})" if fsync else ""))
        save = _config(client, "save")
        why = (
            "SQL is the record and the scheduler rebuilds the queue from it, but a restart loses "
            "what was staged"
        )
        hint = "appendonly yes, appendfsync everysec"
        if save is None:
            return Check(
                name,
                Status.WARN,
                f"AOF is off; the snapshot schedule cannot be read (CONFIG refused): {why}",
                hint,
            )
        if save.strip():
            return Check(
                name, Status.WARN, f"RDB snapshots only (save {save}), no AOF: {why} since the last one", hint
            )
        return Check(name, Status.WARN, f"no persistence (no AOF, no snapshots): {why}", hint)

    def _memory(self, client: redis.Redis) -> Check:
        name = "redis memory"
        info = _info(client, "memory")
        used, limit = _int(info.get("used_memory")), _int(info.get("maxmemory"))
        if used is None:
            return Check(name, Status.SKIP, "cannot read INFO memory")
        if not limit:
            return Check(
                name, Status.OK, f"{_size(used)} used; no maxmemory (the machine's memory is the limit)"
            )
        share = used / limit
        detail = f"{_size(used)} of {_size(limit)} used ({share:.0%})"
        hint = "raise maxmemory: with noeviction a full Redis refuses new posts and photos"
        if share >= REDIS_MEMORY_FAIL_FRACTION:
            return Check(name, Status.FAIL, detail, hint)
        if share >= REDIS_MEMORY_WARN_FRACTION:
            return Check(name, Status.WARN, detail, hint)
        return Check(name, Status.OK, detail)

    def clock_skew(self) -> list[Check]:
        client = self.found.redis
        if client is None:
            return [Check("clock", Status.SKIP, "needs Redis")]
        best: tuple[float, float] | None = None  # (round trip, skew)
        for _ in range(CLOCK_SAMPLES):
            before = self.clock()
            seconds, micros = client.time()
            after = self.clock()
            skew = (seconds + micros / 1e6) - (before + after) / 2
            if best is None or after - before < best[0]:
                best = (after - before, skew)
        assert best is not None
        trip, skew = best
        # What the measurement cannot tell apart: half the round trip, either way.
        off = max(0.0, abs(skew) - trip / 2)
        way = "behind" if skew > 0 else "ahead of"
        gap = f"{abs(skew) * 1000:.0f} ms" if abs(skew) < 1 else f"{abs(skew):.1f} s"
        detail = f"this machine's clock is {gap} {way} Redis's (round trip {trip * 1000:.0f} ms)"
        hint = "run NTP (chrony, systemd-timesyncd) on this machine and on Redis's"
        if off > CLOCK_FAIL_SECONDS:
            return [
                Check(
                    "clock",
                    Status.FAIL,
                    f"{detail}: heartbeats are judged to {BEAT_TIMEOUT_SECONDS:g} s, so a live worker can "
                    "look gone and due times drift",
                    hint,
                )
            ]
        if off > CLOCK_WARN_SECONDS:
            return [Check("clock", Status.WARN, f"{detail}: posts go out off their second", hint)]
        return [Check("clock", Status.OK, detail)]

    # -- database --------------------------------------------------------------------------

    def database(self) -> list[Check]:
        url = self.settings.sqlalchemy_url
        try:
            where = location(url)
        except ArgumentError:
            return [Check("database", Status.FAIL, "HERALD_DATABASE_URL is not a database URL")]
        shown = where.shown
        # Opening a SQLite file that is not there would create an empty one.
        if where.sqlite_file is not None and not where.sqlite_file.exists():
            return [
                Check("database", Status.FAIL, f"no database at {where.sqlite_file}", "run `herald migrate`"),
                Check("schema", Status.SKIP, "needs the database"),
            ]
        try:
            db = Database(url)
            current = db.revision()
        except (SQLAlchemyError, OSError) as e:
            return [
                Check("database", Status.FAIL, f"cannot open {shown}: {self._masked(_first_line(e))}"),
                Check("schema", Status.SKIP, "needs the database"),
            ]
        self.found.db = db
        known = revisions()
        head = known[-1]
        out = [Check("database", Status.OK, f"{where.backend} answers at {shown}")]
        if current is None:
            out.append(
                Check(
                    "schema",
                    Status.FAIL,
                    f"empty: no schema (this Herald's is {head})",
                    "run `herald migrate`",
                )
            )
        elif current not in known:
            out.append(
                Check(
                    "schema",
                    Status.FAIL,
                    f"at {current}, a revision this Herald does not know (its newest is {head}): a newer "
                    "Herald migrated it",
                    "run the same Herald version everywhere",
                )
            )
        elif current != head:
            behind = len(known) - 1 - known.index(current)
            out.append(
                Check(
                    "schema",
                    Status.FAIL,
                    f"at {current}, {behind} behind this Herald's {head}",
                    "run `herald migrate` (production does not migrate by itself)",
                )
            )
        else:
            self.found.at_head = True
            out.append(Check("schema", Status.OK, f"at {head}, the newest"))
        return out

    def disk(self) -> list[Check]:
        try:
            where = location(self.settings.sqlalchemy_url)
        except ArgumentError:
            return [Check("disk", Status.SKIP, "needs a database URL")]
        if where.backend != "sqlite":
            return [
                Check(
                    "disk",
                    Status.SKIP,
                    f"photos are stored in the database, on {where.host or 'the database server'}: "
                    "watch that server's disk",
                )
            ]
        folder = where.sqlite_file.resolve().parent if where.sqlite_file else Path.cwd()
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        usage = self.disk_usage(folder)
        detail = (
            f"{_size(usage.free)} free of {_size(usage.total)} under {folder}, where the photos are stored"
        )
        hint = "free some space, or lower HERALD_PHOTO_RETENTION_DAYS"
        if usage.free < DISK_FAIL_FREE_BYTES:
            return [Check("disk", Status.FAIL, detail, hint)]
        if usage.free < DISK_WARN_FREE_BYTES:
            return [Check("disk", Status.WARN, detail, hint)]
        return [Check("disk", Status.OK, detail)]

    # -- processes -------------------------------------------------------------------------

    def workers(self) -> list[Check]:
        client = self.found.redis
        if client is None:
            return [
                Check("workers", Status.SKIP, "needs Redis"),
                Check("scheduler", Status.SKIP, "needs Redis"),
            ]
        now = self.clock()
        levels = read_levels(client, now=now)
        verdict = Heartbeats(client).verdict()
        alive = sorted(n for n, age in levels.heartbeat_ages.items() if age <= BEAT_TIMEOUT_SECONDS)
        gone = sorted(n for n, age in levels.heartbeat_ages.items() if age > BEAT_TIMEOUT_SECONDS)
        health = str(verdict.get("health")) if verdict else None
        reason = str(verdict.get("reason") or "") if verdict else ""
        start = "start `herald worker` (or `herald up`), under a supervisor that restarts it"
        if not alive:
            stopped = f"; heartbeats stopped: {_names(gone)}" if gone else ""
            workers = Check(
                "workers", Status.FAIL, f"no worker is alive{stopped}: nothing is published", start
            )
        elif health == "stalled":
            workers = Check(
                "workers",
                Status.FAIL,
                reason or "stalled",
                "restart the deaf workers; docs/deploy.md: 'Every worker needs a supervisor'",
            )
        elif health == "busy":
            workers = Check("workers", Status.WARN, reason, "add workers if this lasts")
        else:
            workers = Check("workers", Status.OK, f"{len(alive)} alive: {_names(alive)}")
        lag = levels.oldest_due_age
        late = f"the earliest due delivery has waited {lag:.0f} s to be handed over"
        if verdict is None:
            scheduler = Check(
                "scheduler",
                Status.FAIL,
                f"no scheduler has judged the workers in the last {LIVENESS_TTL_SECONDS} s: none is running"
                + (f"; {late}" if lag > 0 else ""),
                "start `herald scheduler` (or `herald up`)",
            )
        elif lag >= SCHEDULER_LAG_FAIL_SECONDS or lag >= SCHEDULER_LAG_WARN_SECONDS:
            paused = " (handing over is paused while the workers are stalled)" if health == "stalled" else ""
            status = Status.FAIL if lag >= SCHEDULER_LAG_FAIL_SECONDS else Status.WARN
            scheduler = Check("scheduler", status, late + paused, "look at the scheduler's log")
        else:
            scheduler = Check(
                "scheduler", Status.OK, f"running; {levels.due} due, {levels.inflight} in flight, none late"
            )
        return [workers, scheduler]

    # -- channels --------------------------------------------------------------------------

    def channels(self, *, verify: bool = True) -> list[Check]:
        """A check per channel (its platform's dry call, when ``verify``) and per known token
        expiry (no call needed)."""
        db = self.found.db
        if db is None or not self.found.at_head:
            return [Check("channels", Status.SKIP, "needs the database at the newest schema")]
        with db.read() as s:
            rows = channel_store.channels_listed(s)
        if not rows:
            return [Check("channels", Status.SKIP, "no channel yet")]
        tokens = [c for r in rows if (c := self._token(r)) is not None]
        if not verify:
            return [Check("channels", Status.SKIP, "credentials not checked (--no-channels)"), *tokens]
        keyring = self.found.keyring
        if keyring is None or self.found.no_channels:
            why = self.found.no_channels or "no key opens the credentials"
            return [
                Check(f"channel {r.name}", Status.SKIP, f"credentials not checked: {why}") for r in rows
            ] + tokens
        box = CredentialBox(keyring)
        with ThreadPoolExecutor(max_workers=min(CHANNEL_CHECKS_AT_ONCE, len(rows))) as pool:
            checked = list(
                pool.map(
                    lambda row: self._guarded_one(f"channel {row.name}", lambda: self._channel(row, box)),
                    rows,
                )
            )
        return checked + tokens

    def _channel(self, row: Channel, box: CredentialBox) -> Check:
        name = f"channel {row.name}"
        try:
            cls = connector_class(row.platform)
            credentials = box.open(row.credentials_encrypted)
        except HeraldError as e:
            return Check(
                name, Status.FAIL, str(e), "the credentials were sealed under another HERALD_SECRET_KEY?"
            )
        # What unlocks the account is masked wherever it could show; what names it may show.
        secrets = [v.reveal() for k, v in credentials.items() if k not in cls.identity_keys]
        if not cls.can_verify:
            return Check(
                name, Status.SKIP, f"{cls.title} has no call that checks credentials without posting"
            )
        try:
            connector = cls(
                ConnectorConfig(
                    credentials=credentials,
                    base_url=row.base_url,
                    connect_timeout=CONNECT_TIMEOUT_SECONDS,
                    read_timeout=PLATFORM_READ_TIMEOUT_SECONDS,
                    options=dict(row.options or {}),
                )
            )
        except HeraldError as e:
            return Check(name, Status.FAIL, mask(str(e), secrets))
        try:
            verified = connector.verify()
        except AuthError as e:
            return Check(
                name,
                Status.FAIL,
                f"{cls.title} refused the credentials: {mask(e.detail, secrets)}",
                f"renew them on {cls.title}; then `herald channel resume {row.name}` if it was paused",
            )
        except PermanentError as e:
            return Check(
                name,
                Status.FAIL,
                f"{cls.title} refused: {mask(e.detail, secrets)}",
                "check the channel's ids",
            )
        except PlatformError as e:
            return Check(
                name,
                Status.WARN,
                f"could not check: {cls.title} did not answer ({mask(e.detail, secrets)})",
                "try again later",
            )
        finally:
            connector.close()
        detail = f"{cls.title} accepts them: {mask(verified.account, secrets)}"
        if verified.expires_at is not None:
            # What the platform says of its token now (Meta's debug_token) beats any date on record.
            token = self._expiry(row.name, verified.expires_at)
            if token.status is not Status.OK:
                return Check(name, token.status, f"{detail}; but the token {token.detail}", token.hint)
            detail += f"; the token {token.detail}"
        if verified.warning:
            return Check(name, Status.WARN, f"{detail}; but {mask(verified.warning, secrets)}")
        if row.paused_at is not None:
            return Check(
                name,
                Status.WARN,
                f"{detail}; the channel is paused ({row.pause_reason or 'no reason given'})",
                f"`herald channel resume {row.name}` when it should publish again",
            )
        return Check(name, Status.OK, detail)

    def _token(self, row: Channel) -> Check | None:
        """The channel's token expiry, when it is known (read from the platform by the
        scheduler, or recorded by a person)."""
        if row.token_expires_at is None:
            return None
        return self._expiry(row.name, row.token_expires_at)

    def _expiry(self, channel: str, expires_at: datetime) -> Check:
        now = datetime.fromtimestamp(self.clock(), UTC).replace(tzinfo=None)
        left = expires_at - now
        when = expires_at.strftime("%Y-%m-%d %H:%M UTC")
        name = f"token {channel}"
        hint = f"renew it, then `herald channel set {channel} --token-expires DATE`"
        if left <= timedelta(0):
            return Check(name, Status.FAIL, f"expired {when}", hint)
        if left <= timedelta(days=self.settings.alert_token_warn_days):
            return Check(name, Status.WARN, f"expires {when}, in {_span(left)}", hint)
        return Check(name, Status.OK, f"expires {when}, in {_span(left)}")

    # -- plumbing --------------------------------------------------------------------------

    def _guarded(self, name: str, step: Callable[[], list[Check]]) -> list[Check]:
        """``step``'s checks; a step that breaks is one failed check, not a crashed doctor."""
        try:
            return step()
        except Exception as e:  # a doctor reports what broke; it must not die of it
            log.warning("doctor: the %s check broke", name, exc_info=True)
            return [Check(name, Status.FAIL, f"the check itself failed: {self._masked(e)}")]

    def _guarded_one(self, name: str, step: Callable[[], Check]) -> Check:
        return self._guarded(name, lambda: [step()])[0]

    def _masked(self, e: object) -> str:
        text = e if isinstance(e, str) else (str(e) or type(e).__name__)
        return mask(text, self.found.secrets)

    def _close(self) -> None:
        if self.found.redis is not None:
            self.found.redis.close()
        if self.found.db is not None:
            self.found.db.dispose()


# -- one channel, for the web page's "Check" button ---------------------------------------------

#: Why a process holding only ``HERALD_WEB_KEYS`` checks no channel (the web app, usually).
NO_PRIVATE_KEY = "this process holds HERALD_WEB_KEYS only, which opens no credential"


def check_channel(svc: ServiceBase, name: str, *, actor: Actor, settings: Settings | None = None) -> Check:
    """The doctor's check of one channel (its platform's dry call, then what the token's expiry
    and a pause add), for an admin: one source for the verdict wherever it is shown. Where the
    service's box cannot open credentials (``HERALD_WEB_KEYS`` only) the answer is a skip saying
    so. Raises AccessDenied unless an installation-wide admin, NotFound for an unknown channel.
    Never raises for what the platform answers: a refusal is a failed check, masked."""
    svc._require(actor, Capability.ADMINISTER, None, i18n.N_("checking a channel"))
    with svc.db.read() as s:
        row = channel_store.channel_by_name(s, name)
    if row is None:
        raise NotFound("channel", i18n._("unknown channel %(name)r") % {"name": name})
    if not svc.box.opens:
        return Check(
            f"channel {row.name}",
            Status.SKIP,
            f"credentials not checked: {NO_PRIVATE_KEY}",
            "run `herald doctor` where the workers run (with HERALD_SECRET_KEY) to check channels",
        )
    doctor = Doctor(settings or get_settings())
    return doctor._guarded_one(f"channel {row.name}", lambda: doctor._channel(row, svc.box))


def token_checks(svc: ServiceBase, *, settings: Settings | None = None) -> dict[str, Check]:
    """The doctor's verdict on each channel's known token expiry, by channel name (channels
    whose expiry is not known are absent). Reads SQL only: no platform is called."""
    doctor = Doctor(settings or get_settings())
    with svc.db.read() as s:
        rows = channel_store.channels_listed(s)
    return {r.name: c for r in rows if (c := doctor._token(r)) is not None}


# -- small helpers -----------------------------------------------------------------------------


def _config(client: redis.Redis, name: str) -> str | None:
    """One CONFIG value; None when CONFIG is refused (managed Redis, ACLs, a renamed command)."""
    try:
        answer = cast(dict[str, Any], client.config_get(name))  # Any: redis-py's reply
    except redis.ResponseError:
        return None
    value = answer.get(name)
    return None if value is None else str(value)


def _info(client: redis.Redis, section: str) -> dict[str, Any]:  # Any: INFO's values
    """One INFO section; empty when refused."""
    try:
        return client.info(section)
    except redis.ResponseError:
        return {}


def _disk_usage(path: Path) -> DiskUsage:
    return DiskUsage(*shutil.disk_usage(path))


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def _password(url: str) -> str | None:
    """The password in a URL, or None."""
    if not url.strip():
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def _shown_url(url: str) -> str:
    """``url`` with its password replaced by the mask."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unreadable URL)"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{user}:{MASK}@{host}{port}").geturl()


def _first_line(e: BaseException) -> str:
    """A driver error's own first line, without SQLAlchemy's statement and link."""
    inner = getattr(e, "orig", None) or e
    text = str(inner).strip().splitlines()
    return text[0] if text else type(inner).__name__


def _reason(e: BaseException) -> str:
    return e.strerror if isinstance(e, OSError) and e.strerror else str(e)


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _span(left: timedelta) -> str:
    days = left.total_seconds() / 86400
    return f"{days:.0f} days" if days >= 2 else f"{left.total_seconds() / 3600:.0f} hours"


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:NAMES_SHOWN])
    more = len(names) - NAMES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")
