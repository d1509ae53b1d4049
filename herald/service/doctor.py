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

Its words are the reader's (``herald.core.i18n``): the command's ``HERALD_LANG`` or ``LANG``, the
web request's language. Only ``detail`` and ``hint`` are words; a check's name and its status
are what scripts read (``--format json``), and stay English. What other processes stored is read
for its facts and worded here: the scheduler's verdict on the workers by its counts and names
(never its English ``reason``), a token's expiry from the time SQL keeps.
"""

from __future__ import annotations

import contextvars
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
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

from content_queue.heartbeats import Heartbeats, WorkerBeat
from content_queue.levels import read_levels
from herald.accounts import Actor, Capability
from herald.core.errors import AuthError, ConfigError, HeraldError, NotFound, PermanentError, PlatformError
from herald.core.i18n import (
    DEFAULT_ZONE,
    N_,
    _,
    format_datetime,
    format_number,
    format_percent,
    ngettext,
)
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
    to do about it (None when nothing). ``detail`` and ``hint`` are in the locale that was
    current when the check ran; ``name`` and ``status`` are never translated."""

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
        zone: str = DEFAULT_ZONE,
    ) -> None:
        self.settings = settings
        #: The zone times are shown in (the web page's viewer's; UTC on the command line).
        self.zone = zone
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
            hints.append(_("correct these settings (their defaults stand in for the checks below)"))
        try:
            s.metrics_secret()
        except ConfigError as e:
            fails.append(str(e))
        if s.env == "production":
            for setting, url in (("HERALD_REDIS_URL", s.redis_url), ("HERALD_DATABASE_URL", s.database_url)):
                password = _password(url)
                if password is not None and password.strip().lower() in PLACEHOLDER_KEYS:
                    fails.append(_("%(setting)s has a placeholder password") % {"setting": setting})
                    hints.append(_("make each password with `openssl rand -hex 32`"))
            if not s.redis_url.strip():
                warns.append(_("HERALD_REDIS_URL is not set: every process must find the same Redis"))
            if not s.database_url.strip():
                warns.append(
                    _("HERALD_DATABASE_URL is not set: SQLite, so every process must run on this machine")
                )
            public = urlsplit(s.public_url)
            if public.scheme != "https" or (public.hostname or "") in ("localhost", "127.0.0.1", "::1"):
                warns.append(
                    _(
                        "HERALD_PUBLIC_URL is %(url)s: Instagram and Threads fetch photos from it, so it "
                        "must be a public https address"
                    )
                    % {"url": s.public_url}
                )
        if fails:
            return [Check("configuration", Status.FAIL, "; ".join(fails + warns), "; ".join(hints) or None)]
        if warns:
            return [Check("configuration", Status.WARN, "; ".join(warns))]
        return [
            Check(
                "configuration", Status.OK, _("HERALD_ENV=%(env)s; every setting is valid") % {"env": s.env}
            )
        ]

    def secret_key(self) -> list[Check]:
        s = self.settings
        name = "secret key"
        if s.web_keys.strip() and not s.secret_key.strip():
            try:
                Keyring.from_web_keys(s.web_keys)
            except ConfigError as e:
                self.found.no_channels = _("HERALD_WEB_KEYS is not valid")
                return [Check(name, Status.FAIL, str(e), _("paste what `herald keys web` prints"))]
            self.found.no_channels = _(NO_PRIVATE_KEY)
            return [
                Check(
                    name,
                    Status.WARN,
                    _("only HERALD_WEB_KEYS is set: credentials can be sealed here but not opened"),
                    _(CHECK_WHERE_THE_WORKERS_RUN),
                )
            ]
        if s.secret_key.strip():
            try:
                checked_secret_key(s.secret_key, "HERALD_SECRET_KEY")
                if s.secret_key_previous:
                    checked_secret_key(s.secret_key_previous, "HERALD_SECRET_KEY_PREVIOUS")
                self.found.keyring = s.keyring()
            except ConfigError as e:
                self.found.no_channels = _("the secret key is refused")
                return [Check(name, Status.FAIL, str(e), _("set it to the output of `openssl rand -hex 32`"))]
            if s.secret_key_previous:
                return [
                    Check(
                        name,
                        Status.OK,
                        _("HERALD_SECRET_KEY is set (and HERALD_SECRET_KEY_PREVIOUS, during a rotation)"),
                    )
                ]
            return [Check(name, Status.OK, _("HERALD_SECRET_KEY is set"))]
        if s.env == "production":
            self.found.no_channels = _("no secret key")
            return [
                Check(
                    name,
                    Status.FAIL,
                    _("HERALD_SECRET_KEY is not set: production refuses to start without it"),
                    _("set it to the output of `openssl rand -hex 32`, the same on every machine"),
                )
            ]
        path = s.data_dir / "secret.key"
        if not path.exists():
            self.found.no_channels = _("no secret key yet")
            return [
                Check(
                    name,
                    Status.OK,
                    _("none yet: the first start generates one into %(path)s") % {"path": path},
                )
            ]
        try:
            self.found.keyring = s.keyring()  # the file exists: nothing is generated
        except (ConfigError, OSError) as e:
            self.found.no_channels = _("the secret key is refused")
            return [
                Check(name, Status.FAIL, f"{path}: {_reason(e)}", _("delete it only if no channel uses it"))
            ]
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            return [
                Check(
                    name,
                    Status.WARN,
                    _("%(path)s can be read by other users of this machine") % {"path": path},
                    f"chmod 600 {path}",
                )
            ]
        return [
            Check(name, Status.OK, _("generated, in %(path)s (readable by its owner only)") % {"path": path})
        ]

    def data_directory(self) -> list[Check]:
        path = self.settings.data_dir.resolve()
        name = "data directory"
        if not path.exists():
            return [
                Check(
                    name,
                    Status.WARN,
                    _("%(path)s does not exist") % {"path": path},
                    _("`herald up` and `herald migrate` create it; or set HERALD_DATA_DIR"),
                )
            ]
        if not path.is_dir():
            return [
                Check(
                    name,
                    Status.FAIL,
                    _("%(path)s is not a directory") % {"path": path},
                    _("set HERALD_DATA_DIR to a directory"),
                )
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
                    _("%(path)s is not writable: %(why)s") % {"path": path, "why": _reason(e)},
                    _("give the user Herald runs as write access to it"),
                )
            ]
        return [Check(name, Status.OK, _("%(path)s is writable") % {"path": path})]

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
            return [
                Check(
                    "redis",
                    Status.FAIL,
                    _("HERALD_REDIS_URL is not a Redis URL: %(why)s") % {"why": self._masked(e)},
                )
            ]
        except redis.RedisError as e:
            hint = _("start Redis, or check HERALD_REDIS_URL")
            if not s.redis_url and url == DEFAULT_REDIS_URL:
                hint = _("`herald up` starts an embedded Redis; elsewhere set HERALD_REDIS_URL")
            return [
                Check(
                    "redis",
                    Status.FAIL,
                    _("no answer from %(url)s: %(why)s") % {"url": shown, "why": self._masked(e)},
                    hint,
                )
            ]
        self.found.redis = client
        version = _info(client, "server").get("redis_version")
        return [
            Check(
                "redis",
                Status.OK,
                _("Redis %(version)s answers at %(url)s")
                % {"version": version or _("(version hidden)"), "url": shown},
            ),
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
                _("cannot read maxmemory-policy (CONFIG and INFO refused: a managed Redis?)"),
                _("make sure it is noeviction in your provider's settings"),
            )
        if policy != "noeviction":
            return Check(
                name,
                Status.FAIL,
                _(
                    "maxmemory-policy is %(policy)s: a full Redis would silently drop leases, staged "
                    "posts and hand-over messages"
                )
                % {"policy": policy},
                _("set maxmemory-policy noeviction (redis.conf, or your provider's settings)"),
            )
        if source == "CONFIG":
            return Check(name, Status.OK, _("maxmemory-policy is noeviction"))
        return Check(name, Status.OK, _("maxmemory-policy is noeviction (read from INFO: CONFIG is refused)"))

    def _persistence(self, client: redis.Redis) -> Check:
        name = "redis persistence"
        info = _info(client, "persistence")
        if not info:
            return Check(
                name,
                Status.WARN,
                _("cannot read INFO persistence"),
                _("make sure AOF is on (appendonly yes)"),
            )
        if str(info.get("rdb_last_bgsave_status", "ok")) != "ok":
            return Check(
                name,
                Status.FAIL,
                _(
                    "the last RDB snapshot failed: Redis refuses writes until one succeeds "
                    "(stop-writes-on-bgsave-error)"
                ),
                _("look at Redis's log (a full disk, a permission)"),
            )
        if str(info.get("aof_enabled", "0")) == "1":
            if str(info.get("aof_last_write_status", "ok")) != "ok":
                return Check(
                    name,
                    Status.FAIL,
                    _("AOF is on but its last write failed"),
                    _("look at Redis's log (a full disk?)"),
                )
            fsync = _config(client, "appendfsync")
            if fsync:
                return Check(name, Status.OK, _("AOF is on (appendfsync %(fsync)s)") % {"fsync": fsync})
            return Check(name, Status.OK, _("AOF is on"))
        save = _config(client, "save")
        # Redis's own settings: the same words in every language.
        hint = "appendonly yes, appendfsync everysec"
        if save is None:
            return Check(
                name,
                Status.WARN,
                _(
                    "AOF is off; the snapshot schedule cannot be read (CONFIG refused): SQL is the "
                    "record and the scheduler rebuilds the queue from it, but a restart loses what "
                    "was staged"
                ),
                hint,
            )
        if save.strip():
            return Check(
                name,
                Status.WARN,
                _(
                    "RDB snapshots only (save %(save)s), no AOF: SQL is the record and the scheduler "
                    "rebuilds the queue from it, but a restart loses what was staged since the last one"
                )
                % {"save": save},
                hint,
            )
        return Check(
            name,
            Status.WARN,
            _(
                "no persistence (no AOF, no snapshots): SQL is the record and the scheduler rebuilds "
                "the queue from it, but a restart loses what was staged"
            ),
            hint,
        )

    def _memory(self, client: redis.Redis) -> Check:
        name = "redis memory"
        info = _info(client, "memory")
        used, limit = _int(info.get("used_memory")), _int(info.get("maxmemory"))
        if used is None:
            return Check(name, Status.SKIP, _("cannot read INFO memory"))
        if not limit:
            return Check(
                name,
                Status.OK,
                _("%(used)s used; no maxmemory (the machine's memory is the limit)") % {"used": _size(used)},
            )
        share = used / limit
        detail = _("%(used)s of %(limit)s used (%(share)s)") % {
            "used": _size(used),
            "limit": _size(limit),
            "share": format_percent(share),
        }
        hint = _("raise maxmemory: with noeviction a full Redis refuses new posts and photos")
        if share >= REDIS_MEMORY_FAIL_FRACTION:
            return Check(name, Status.FAIL, detail, hint)
        if share >= REDIS_MEMORY_WARN_FRACTION:
            return Check(name, Status.WARN, detail, hint)
        return Check(name, Status.OK, detail)

    def clock_skew(self) -> list[Check]:
        client = self.found.redis
        if client is None:
            return [Check("clock", Status.SKIP, _("needs Redis"))]
        best: tuple[float, float] | None = None  # (round trip, skew)
        for _sample in range(CLOCK_SAMPLES):
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
        words = {"gap": _seconds(abs(skew)), "trip": _seconds(trip)}
        if skew > 0:
            detail = _("this machine's clock is %(gap)s behind Redis's (round trip %(trip)s)") % words
        else:
            detail = _("this machine's clock is %(gap)s ahead of Redis's (round trip %(trip)s)") % words
        hint = _("run NTP (chrony, systemd-timesyncd) on this machine and on Redis's")
        if off > CLOCK_FAIL_SECONDS:
            return [
                Check(
                    "clock",
                    Status.FAIL,
                    _(
                        "%(detail)s: heartbeats are judged to %(timeout)s s, so a live worker can look "
                        "gone and due times drift"
                    )
                    % {"detail": detail, "timeout": format_number(BEAT_TIMEOUT_SECONDS)},
                    hint,
                )
            ]
        if off > CLOCK_WARN_SECONDS:
            return [
                Check(
                    "clock",
                    Status.WARN,
                    _("%(detail)s: posts go out off their second") % {"detail": detail},
                    hint,
                )
            ]
        return [Check("clock", Status.OK, detail)]

    # -- database --------------------------------------------------------------------------

    def database(self) -> list[Check]:
        url = self.settings.sqlalchemy_url
        try:
            where = location(url)
        except ArgumentError:
            return [Check("database", Status.FAIL, _("HERALD_DATABASE_URL is not a database URL"))]
        shown = where.shown
        # Opening a SQLite file that is not there would create an empty one.
        if where.sqlite_file is not None and not where.sqlite_file.exists():
            return [
                Check(
                    "database",
                    Status.FAIL,
                    _("no database at %(path)s") % {"path": where.sqlite_file},
                    _("run `herald migrate`"),
                ),
                Check("schema", Status.SKIP, _("needs the database")),
            ]
        try:
            db = Database(url)
            current = db.revision()
        except (SQLAlchemyError, OSError) as e:
            return [
                Check(
                    "database",
                    Status.FAIL,
                    _("cannot open %(url)s: %(why)s") % {"url": shown, "why": self._masked(_first_line(e))},
                ),
                Check("schema", Status.SKIP, _("needs the database")),
            ]
        self.found.db = db
        known = revisions()
        head = known[-1]
        out = [
            Check(
                "database",
                Status.OK,
                _("%(database)s answers at %(url)s") % {"database": where.backend, "url": shown},
            )
        ]
        if current is None:
            out.append(
                Check(
                    "schema",
                    Status.FAIL,
                    _("empty: no schema (this Herald's is %(head)s)") % {"head": head},
                    _("run `herald migrate`"),
                )
            )
        elif current not in known:
            out.append(
                Check(
                    "schema",
                    Status.FAIL,
                    _(
                        "at %(current)s, a revision this Herald does not know (its newest is %(head)s): "
                        "a newer Herald migrated it"
                    )
                    % {"current": current, "head": head},
                    _("run the same Herald version everywhere"),
                )
            )
        elif current != head:
            behind = len(known) - 1 - known.index(current)
            out.append(
                Check(
                    "schema",
                    Status.FAIL,
                    ngettext(
                        "at %(current)s, %(n)d revision behind this Herald's %(head)s",
                        "at %(current)s, %(n)d revisions behind this Herald's %(head)s",
                        behind,
                    )
                    % {"current": current, "n": behind, "head": head},
                    _("run `herald migrate` (production does not migrate by itself)"),
                )
            )
        else:
            self.found.at_head = True
            out.append(Check("schema", Status.OK, _("at %(head)s, the newest") % {"head": head}))
        return out

    def disk(self) -> list[Check]:
        try:
            where = location(self.settings.sqlalchemy_url)
        except ArgumentError:
            return [Check("disk", Status.SKIP, _("needs a database URL"))]
        if where.backend != "sqlite":
            return [
                Check(
                    "disk",
                    Status.SKIP,
                    _("photos are stored in the database, on %(host)s: watch that server's disk")
                    % {"host": where.host or _("the database server")},
                )
            ]
        folder = where.sqlite_file.resolve().parent if where.sqlite_file else Path.cwd()
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        usage = self.disk_usage(folder)
        detail = _("%(free)s free of %(total)s under %(folder)s, where the photos are stored") % {
            "free": _size(usage.free),
            "total": _size(usage.total),
            "folder": folder,
        }
        hint = _("free some space, or lower HERALD_PHOTO_RETENTION_DAYS")
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
                Check("workers", Status.SKIP, _("needs Redis")),
                Check("scheduler", Status.SKIP, _("needs Redis")),
            ]
        now = self.clock()
        levels = read_levels(client, now=now)
        verdict = Heartbeats(client).verdict()
        alive = sorted(n for n, age in levels.heartbeat_ages.items() if age <= BEAT_TIMEOUT_SECONDS)
        gone = sorted(n for n, age in levels.heartbeat_ages.items() if age > BEAT_TIMEOUT_SECONDS)
        # The scheduler's verdict is read for its facts (counts, names), never for its ``reason``:
        # that sentence is in the scheduler's language, and this answer is in the reader's.
        health = str(verdict.get("health")) if verdict else None
        start = _("start `herald worker` (or `herald up`), under a supervisor that restarts it")
        if not alive:
            if gone:
                detail = _("no worker is alive (heartbeats stopped: %(names)s): nothing is published") % {
                    "names": _names(gone)
                }
            else:
                detail = _("no worker is alive: nothing is published")
            workers = Check("workers", Status.FAIL, detail, start)
        elif health == "stalled" and verdict is not None:
            workers = Check(
                "workers",
                Status.FAIL,
                _stalled(verdict, Heartbeats(client).read(now=now), now),
                _("restart the deaf workers; docs/deploy.md: 'Every worker needs a supervisor'"),
            )
        elif health == "busy" and verdict is not None:
            workers = Check(
                "workers",
                Status.WARN,
                _busy(verdict, Heartbeats(client).read(now=now), now),
                _("add workers if this lasts"),
            )
        else:
            workers = Check(
                "workers",
                Status.OK,
                _("%(n)d alive: %(names)s") % {"n": len(alive), "names": _names(alive)},
            )
        lag = levels.oldest_due_age
        waited = {"seconds": format_number(round(lag))}
        late = _("the earliest due delivery has waited %(seconds)s s to be handed over") % waited
        if verdict is None:
            detail = _("no scheduler has judged the workers in the last %(seconds)d s: none is running") % {
                "seconds": LIVENESS_TTL_SECONDS
            }
            scheduler = Check(
                "scheduler",
                Status.FAIL,
                f"{detail}; {late}" if lag > 0 else detail,
                _("start `herald scheduler` (or `herald up`)"),
            )
        elif lag >= SCHEDULER_LAG_FAIL_SECONDS or lag >= SCHEDULER_LAG_WARN_SECONDS:
            if health == "stalled":
                late = (
                    _(
                        "the earliest due delivery has waited %(seconds)s s to be handed over (handing "
                        "over is paused while the workers are stalled)"
                    )
                    % waited
                )
            status = Status.FAIL if lag >= SCHEDULER_LAG_FAIL_SECONDS else Status.WARN
            scheduler = Check("scheduler", status, late, _("look at the scheduler's log"))
        else:
            scheduler = Check(
                "scheduler",
                Status.OK,
                _("running; %(due)d due, %(inflight)d in flight, none late")
                % {"due": levels.due, "inflight": levels.inflight},
            )
        return [workers, scheduler]

    # -- channels --------------------------------------------------------------------------

    def channels(self, *, verify: bool = True) -> list[Check]:
        """A check per channel (its platform's dry call, when ``verify``) and per known token
        expiry (no call needed)."""
        db = self.found.db
        if db is None or not self.found.at_head:
            return [Check("channels", Status.SKIP, _("needs the database at the newest schema"))]
        with db.read() as s:
            rows = channel_store.channels_listed(s)
        if not rows:
            return [Check("channels", Status.SKIP, _("no channel yet"))]
        tokens = [c for r in rows if (c := self._token(r)) is not None]
        if not verify:
            return [Check("channels", Status.SKIP, _("credentials not checked (--no-channels)")), *tokens]
        keyring = self.found.keyring
        if keyring is None or self.found.no_channels:
            why = self.found.no_channels or _("no key opens the credentials")
            return [
                Check(f"channel {r.name}", Status.SKIP, _("credentials not checked: %(why)s") % {"why": why})
                for r in rows
            ] + tokens
        box = CredentialBox(keyring)

        def check(row: Channel) -> Check:
            return self._guarded_one(f"channel {row.name}", lambda: self._channel(row, box))

        with ThreadPoolExecutor(max_workers=min(CHANNEL_CHECKS_AT_ONCE, len(rows))) as pool:
            # Each check runs in a copy of this context: a pool's threads do not inherit it, and
            # the language the answer is in is a context variable (``herald.core.i18n``).
            futures = [pool.submit(contextvars.copy_context().run, check, row) for row in rows]
            checked = [f.result() for f in futures]
        return checked + tokens

    def _channel(self, row: Channel, box: CredentialBox) -> Check:
        name = f"channel {row.name}"
        try:
            cls = connector_class(row.platform)
            credentials = box.open(row.credentials_encrypted)
        except HeraldError as e:
            return Check(
                name, Status.FAIL, str(e), _("the credentials were sealed under another HERALD_SECRET_KEY?")
            )
        # What unlocks the account is masked wherever it could show; what names it may show.
        secrets = [v.reveal() for k, v in credentials.items() if k not in cls.identity_keys]
        platform = cls.title
        if not cls.can_verify:
            return Check(
                name,
                Status.SKIP,
                _("%(platform)s has no call that checks credentials without posting")
                % {"platform": platform},
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
                _("%(platform)s refused the credentials: %(why)s")
                % {"platform": platform, "why": mask(e.detail, secrets)},
                _("renew them on %(platform)s; then `herald channel resume %(channel)s` if it was paused")
                % {"platform": platform, "channel": row.name},
            )
        except PermanentError as e:
            return Check(
                name,
                Status.FAIL,
                _("%(platform)s refused: %(why)s") % {"platform": platform, "why": mask(e.detail, secrets)},
                _("check the channel's ids"),
            )
        except PlatformError as e:
            return Check(
                name,
                Status.WARN,
                _("could not check: %(platform)s did not answer (%(why)s)")
                % {"platform": platform, "why": mask(e.detail, secrets)},
                _("try again later"),
            )
        finally:
            connector.close()
        detail = _("%(platform)s accepts them: %(account)s") % {
            "platform": platform,
            "account": mask(verified.account, secrets),
        }
        if verified.expires_at is not None:
            # What the platform says of its token now (Meta's debug_token) beats any date on record.
            token = self._expiry(row.name, verified.expires_at, of_channel=True)
            if token.status is not Status.OK:
                return Check(
                    name,
                    token.status,
                    _("%(detail)s; but %(problem)s") % {"detail": detail, "problem": token.detail},
                    token.hint,
                )
            detail = f"{detail}; {token.detail}"
        if verified.warning:
            return Check(
                name,
                Status.WARN,
                _("%(detail)s; but %(problem)s")
                % {"detail": detail, "problem": mask(verified.warning, secrets)},
            )
        if row.paused_at is not None:
            return Check(
                name,
                Status.WARN,
                _("%(detail)s; the channel is paused (%(reason)s)")
                % {"detail": detail, "reason": row.pause_reason or _("no reason given")},
                _("`herald channel resume %(channel)s` when it should publish again") % {"channel": row.name},
            )
        return Check(name, Status.OK, detail)

    def _token(self, row: Channel) -> Check | None:
        """The channel's token expiry, when it is known (read from the platform by the
        scheduler, or recorded by a person)."""
        if row.token_expires_at is None:
            return None
        return self._expiry(row.name, row.token_expires_at)

    def _expiry(self, channel: str, expires_at: datetime, *, of_channel: bool = False) -> Check:
        """The check of a token that expires at ``expires_at`` (naive UTC, as SQL keeps it).
        ``of_channel``: worded to follow a channel's check ("the token expires ...")."""
        now = datetime.fromtimestamp(self.clock(), UTC).replace(tzinfo=None)
        left = expires_at - now
        words = {"when": format_datetime(expires_at, self.zone), "left": _span(left)}
        name = f"token {channel}"
        hint = _("renew it, then `herald channel set %(channel)s --token-expires DATE`") % {
            "channel": channel
        }
        if left <= timedelta(0):
            gone = _("the token expired %(when)s") if of_channel else _("expired %(when)s")
            return Check(name, Status.FAIL, gone % words, hint)
        if of_channel:
            detail = _("the token expires %(when)s, in %(left)s") % words
        else:
            detail = _("expires %(when)s, in %(left)s") % words
        if left <= timedelta(days=self.settings.alert_token_warn_days):
            return Check(name, Status.WARN, detail, hint)
        return Check(name, Status.OK, detail)

    # -- plumbing --------------------------------------------------------------------------

    def _guarded(self, name: str, step: Callable[[], list[Check]]) -> list[Check]:
        """``step``'s checks; a step that breaks is one failed check, not a crashed doctor."""
        try:
            return step()
        except Exception as e:  # a doctor reports what broke; it must not die of it
            log.warning("doctor: the %s check broke", name, exc_info=True)
            return [
                Check(name, Status.FAIL, _("the check itself failed: %(why)s") % {"why": self._masked(e)})
            ]

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
NO_PRIVATE_KEY = N_("this process holds HERALD_WEB_KEYS only, which opens no credential")
#: What to do about it.
CHECK_WHERE_THE_WORKERS_RUN = N_(
    "run `herald doctor` where the workers run (with HERALD_SECRET_KEY) to check channels"
)


def check_channel(
    svc: ServiceBase,
    name: str,
    *,
    actor: Actor,
    settings: Settings | None = None,
    zone: str = DEFAULT_ZONE,
) -> Check:
    """The doctor's check of one channel (its platform's dry call, then what the token's expiry
    and a pause add), for an admin: one source for the verdict wherever it is shown, in the
    current locale, times on the wall clock of ``zone``. Where the service's box cannot open
    credentials (``HERALD_WEB_KEYS`` only) the answer is a skip saying so. Raises AccessDenied
    unless an installation-wide admin, NotFound for an unknown channel. Never raises for what
    the platform answers: a refusal is a failed check, masked."""
    svc._require(actor, Capability.ADMINISTER, None, N_("checking a channel"))
    with svc.db.read() as s:
        row = channel_store.channel_by_name(s, name)
    if row is None:
        raise NotFound("channel", _("unknown channel %(name)r") % {"name": name})
    if not svc.box.opens:
        return Check(
            f"channel {row.name}",
            Status.SKIP,
            _("credentials not checked: %(why)s") % {"why": _(NO_PRIVATE_KEY)},
            _(CHECK_WHERE_THE_WORKERS_RUN),
        )
    doctor = Doctor(settings or get_settings(), zone=zone)
    return doctor._guarded_one(f"channel {row.name}", lambda: doctor._channel(row, svc.box))


def token_checks(
    svc: ServiceBase, *, settings: Settings | None = None, zone: str = DEFAULT_ZONE
) -> dict[str, Check]:
    """The doctor's verdict on each channel's known token expiry, by channel name (channels
    whose expiry is not known are absent), worded now in the current locale, times on the wall
    clock of ``zone``: SQL keeps the expiry as a time (whoever read it: the scheduler's
    companion thread, or a person), never as a sentence. Reads SQL only: no platform is called."""
    doctor = Doctor(settings or get_settings(), zone=zone)
    with svc.db.read() as s:
        rows = channel_store.channels_listed(s)
    return {r.name: c for r in rows if (c := doctor._token(r)) is not None}


# -- the scheduler's verdict, in the reader's words --------------------------------------------


def _describe_workers(beats: Sequence[WorkerBeat], now: float) -> str:
    """What each worker is doing, from its heartbeat (as the scheduler's log describes it)."""
    parts = []
    for b in beats:
        if b.last_taken_at is None:
            took = _("never took a message")
        else:
            took = _("last took %(seconds)s s ago") % {"seconds": format_number(round(now - b.last_taken_at))}
        link = _("connected") if b.connected else _("not connected to the broker")
        parts.append(
            _("%(name)s (%(took)s, %(inflight)d/%(capacity)d busy, %(link)s)")
            % {"name": b.name, "took": took, "inflight": b.inflight, "capacity": b.capacity, "link": link}
        )
    return "; ".join(parts)


def _verdict_names(verdict: Mapping[str, object], key: str) -> set[str]:
    names = verdict.get(key)
    return {str(n) for n in names} if isinstance(names, list) else set()


def _stalled(verdict: Mapping[str, object], beats: Sequence[WorkerBeat], now: float) -> str:
    """The scheduler's verdict "stalled" (stored in Redis), from its facts."""
    waiting = _int(verdict.get("waiting")) or 0
    words = {"n": waiting, "seconds": format_number(round(_float(verdict.get("stuck_seconds"))))}
    deaf = _verdict_names(verdict, "workers_deaf")
    if not deaf:
        return (
            ngettext(
                "%(n)d message has waited %(seconds)s s and no worker is alive",
                "%(n)d messages have waited %(seconds)s s and no worker is alive",
                waiting,
            )
            % words
        )
    shown = _describe_workers([b for b in beats if b.name in deaf], now) or _names(sorted(deaf))
    return ngettext(
        "%(n)d message has waited %(seconds)s s and no worker took it; deaf (free slots, nothing "
        "taken): %(workers)s",
        "%(n)d messages have waited %(seconds)s s and no worker took one; deaf (free slots, "
        "nothing taken): %(workers)s",
        waiting,
    ) % {**words, "workers": shown}


def _busy(verdict: Mapping[str, object], beats: Sequence[WorkerBeat], now: float) -> str:
    """The scheduler's verdict "busy" (stored in Redis), from its facts."""
    waiting = _int(verdict.get("waiting")) or 0
    alive = _verdict_names(verdict, "workers_alive")
    shown = _describe_workers([b for b in beats if b.name in alive], now) or _names(sorted(alive))
    return ngettext(
        "%(n)d message waits; every live worker is full (%(workers)s)",
        "%(n)d messages wait; every live worker is full (%(workers)s)",
        waiting,
    ) % {"n": waiting, "workers": shown}


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


def _float(value: object) -> float:
    try:
        return float(str(value)) if value is not None else 0.0
    except ValueError:
        return 0.0


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
        return _("(unreadable URL)")
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
    """Bytes in binary units, the number written the current locale's way (``1.5 GiB``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{format_number(round(n, 0 if unit == 'B' else 1))} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _seconds(value: float) -> str:
    """A short duration: milliseconds under a second (``250 ms``), else seconds (``3.2 s``)."""
    if value < 1:
        return f"{format_number(round(value * 1000))} ms"
    return f"{format_number(round(value, 1))} s"


def _span(left: timedelta) -> str:
    """How long is left: days from two on, else hours."""
    days = left.total_seconds() / 86400
    if days >= 2:
        n = round(days)
        return ngettext("%(n)d day", "%(n)d days", n) % {"n": n}
    hours = round(left.total_seconds() / 3600)
    return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:NAMES_SHOWN])
    more = len(names) - NAMES_SHOWN
    if more > 0:
        return _("%(names)s and %(n)d more") % {"names": shown, "n": more}
    return shown
