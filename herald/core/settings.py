"""The one settings object, read from the environment (``HERALD_*``) and an optional ``.env``.

Embedded mode (the default, ``HERALD_ENV=development``) needs nothing: SQLite under the data
directory, an embedded Redis started by ``herald up``, and a secret key generated once into the
data directory (mode 0600). Every mode refuses a secret key shorter than ``MIN_SECRET_KEY_CHARS`` or a
known placeholder; production also refuses to run without one set.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from herald.core.errors import ConfigError
from herald.core.i18n import _
from herald.core.keyring import Keyring
from herald.core.secret import Secret

#: The conventional local Redis, when neither a URL nor an embedded Redis is known.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
#: The file in the data directory where a running ``herald up`` writes its embedded Redis URL.
EMBEDDED_URL_FILE = "embedded-redis.url"

#: Secret keys that are never accepted (placeholders from docs and compose).
PLACEHOLDER_KEYS = frozenset({"", "changeme", "change-me", "secret", "dev", "development"})
#: The shortest secret key accepted, in every mode: 32 characters is 128 bits of hex.
MIN_SECRET_KEY_CHARS = 32
#: The shortest ``HERALD_METRICS_TOKEN`` accepted: 16 characters, and long enough that the log
#: filter redacts it (``herald.core.secret.MIN_REDACT_CHARS``).
MIN_METRICS_TOKEN_CHARS = 16
#: Where each kind of process serves its metrics when ``HERALD_METRICS_PORT`` is not set. A
#: prefork worker's children take the ports after the worker's (``docs/deploy.md``).
DEFAULT_METRICS_PORTS = {"scheduler": 9464, "worker": 9465}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HERALD_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    #: Empty means "embedded": ``herald up`` starts a private redis-server and sets this.
    redis_url: str = ""
    secret_key: str = Field(default="", repr=False)
    #: During a key rotation: the key credentials were sealed with before ``secret_key``; read
    #: (never written) until ``herald keys rotate`` has re-sealed everything.
    secret_key_previous: str = Field(default="", repr=False)
    #: ``herald keys rotate``: re-seal under this key instead of ``secret_key`` (the other way
    #: to rotate; ``--new-key-file`` does the same).
    new_secret_key: str = Field(default="", repr=False)
    #: The web app's share of the keys (``herald keys web``), given instead of ``secret_key`` to a
    #: process that must seal channel credentials but never read them.
    web_keys: str = Field(default="", repr=False)
    #: Public base URL of the web app (links, Instagram/Threads photo URLs later).
    public_url: str = "http://127.0.0.1:8600"
    web_host: str = "127.0.0.1"
    web_port: int = 8600
    #: How long a worker may hold a claimed delivery before the reaper hands it out again.
    lease_seconds: float = 30.0
    #: Most deliveries one scheduler claim takes.
    claim_batch: int = 500
    #: Retries of a retryable failure before the delivery fails for good.
    max_attempts: int = 8
    #: First retry delay (doubles each time, with jitter, capped at ``retry_max_seconds``).
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 900.0
    #: How often the scheduler checks that Redis still holds what SQL says is queued.
    consistency_interval_seconds: float = 30.0
    #: Threads of each ``herald worker`` process (prefork: child processes).
    worker_concurrency: int = Field(default=4, ge=1)
    #: The Celery pool of ``herald worker``: threads, prefork or solo (``herald.core.shape``).
    worker_pool: Literal["threads", "prefork", "solo"] = "threads"
    #: Processes ``herald worker`` runs (default: one per usable core under threads).
    worker_processes: int | None = Field(default=None, ge=1)
    #: PostgreSQL connections each process keeps. Default: from the threads that use them (a
    #: worker: its concurrency under ``--pool threads``, one per prefork child; the scheduler:
    #: its dispatcher; the web app: 10), see ``herald.store.db.pool_size_for``.
    db_pool_size: int | None = Field(default=None, ge=1)
    #: A worker whose consumer takes nothing for this long while messages wait and it has free
    #: slots is deaf: its watchdog ends it so that its supervisor starts a fresh one. 0: off.
    worker_watchdog_seconds: float = 20.0
    #: The scheduler calls the workers stalled when messages wait this long with none taken
    #: (default: two leases).
    liveness_bound_seconds: float | None = None
    #: Photo bytes are dropped this many days after every post using them is done (published,
    #: failed, cancelled, taken down); 0 keeps them for ever. Nothing pending is ever touched.
    photo_retention_days: int = 30
    #: Host names the web app answers to (comma list); any other Host header gets 400.
    allowed_hosts: str = "localhost,127.0.0.1"
    #: Addresses of reverse proxies whose X-Forwarded-Proto / X-Forwarded-For are believed
    #: (comma list of IPs or CIDR networks); empty: none.
    trusted_proxies: str = ""
    #: A web session lasts at most this many hours, and ends after this many idle minutes.
    session_hours: float = 12.0
    session_idle_minutes: float = 120.0
    #: Admins must set up a second factor (TOTP) before they can do anything else.
    require_admin_second_factor: bool = False
    #: What a new campaign starts with unless its creator says otherwise (``herald campaign
    #: set``): the one place for an installation's safe defaults, shown on the campaigns page.
    #: Alt text on every photo; faces: "review" holds a post whose photos show faces for a
    #: person who may approve, "blur" / "pixelate" hide them, "off" keeps them.
    campaign_require_alt_text: bool = True
    campaign_protect_faces: Literal["blur", "pixelate", "review", "off"] = "review"
    #: Alerts (``herald alert``): the same alert goes out at most once per this many seconds;
    #: a target gets at most this many an hour (the last a summary of those held back); a
    #: channel's token alerts from this many days before it expires.
    alert_dedup_seconds: float = Field(default=3600.0, ge=0)
    alert_rate_per_hour: int = Field(default=20, ge=1)
    alert_token_warn_days: float = Field(default=7.0, ge=0)
    log_level: str = "INFO"
    #: ``text`` for people, ``json`` for one object per line (``herald.core.logs``).
    log_format: Literal["text", "json"] = "text"
    #: Bearer token that lets a client other than loopback read the web app's ``/metrics``;
    #: empty: loopback only. Never logged or shown (``metrics_secret``).
    metrics_token: str = Field(default="", repr=False)
    #: The port a worker or scheduler serves its own metrics on (``DEFAULT_METRICS_PORTS`` when
    #: unset; 0: off), and the address it listens on (loopback unless told otherwise).
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, v: Path) -> Path:
        return v.expanduser()

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_name(cls, v: object) -> object:
        # HERALD_LOG_FORMAT=JSON is as clear as json (herald.core.logs.FORMATS).
        return v.strip().lower() if isinstance(v, str) else v

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'herald.db').resolve()}"

    def secret(self) -> Secret:
        """The credential-encryption key; generated into the data dir in development. Raises
        ConfigError for a key that is too short or a placeholder (in every mode), or none in
        production."""
        key = self.secret_key
        if self.env == "production" and not key.strip():
            raise ConfigError(
                _(
                    "HERALD_SECRET_KEY must be set to a random value of at least %(n)d characters in "
                    "production (e.g. `openssl rand -hex 32`)"
                )
                % {"n": MIN_SECRET_KEY_CHARS}
            )
        if key:
            return checked_secret_key(key, "HERALD_SECRET_KEY")
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return checked_secret_key(path.read_text().strip(), str(path))

    def previous_secrets(self) -> tuple[Secret, ...]:
        """The key credentials may still be sealed with during a rotation
        (``HERALD_SECRET_KEY_PREVIOUS``), checked like the current one; none when unset."""
        key = self.secret_key_previous
        return (checked_secret_key(key, "HERALD_SECRET_KEY_PREVIOUS"),) if key else ()

    def metrics_secret(self) -> Secret | None:
        """``HERALD_METRICS_TOKEN`` as a Secret, or None when unset. Raises ConfigError (naming
        the setting, never its value) for one shorter than ``MIN_METRICS_TOKEN_CHARS``."""
        token = self.metrics_token.strip()
        if not token:
            return None
        if len(token) < MIN_METRICS_TOKEN_CHARS:
            raise ConfigError(
                _("HERALD_METRICS_TOKEN must be at least %(n)d characters (e.g. `openssl rand -hex 24`)")
                % {"n": MIN_METRICS_TOKEN_CHARS}
            )
        return Secret(token)

    def metrics_port_for(self, role: Literal["scheduler", "worker"]) -> int:
        """The port ``role`` serves its metrics on; 0 means off."""
        return DEFAULT_METRICS_PORTS[role] if self.metrics_port is None else self.metrics_port

    def keyring(self) -> Keyring:
        """This process's keys: derived from ``HERALD_SECRET_KEY`` (and the previous key) when
        it is set, or generated outside production; else the web app's share,
        ``HERALD_WEB_KEYS``, which seals credentials but cannot open them."""
        if self.web_keys.strip() and not self.secret_key.strip():
            return Keyring.from_web_keys(self.web_keys)
        return Keyring.from_masters(self.secret(), self.previous_secrets())


def checked_secret_key(key: str, name: str) -> Secret:
    """``key`` as a Secret. Raises ConfigError (naming ``name``, never the key) if it is a
    placeholder or shorter than ``MIN_SECRET_KEY_CHARS``."""
    if key.strip().lower() in PLACEHOLDER_KEYS or len(key.strip()) < MIN_SECRET_KEY_CHARS:
        raise ConfigError(
            _("%(name)s must be a random value of at least %(n)d characters (e.g. `openssl rand -hex 32`)")
            % {"name": name, "n": MIN_SECRET_KEY_CHARS}
        )
    return Secret(key)


def check_internet_facing(settings: Settings) -> None:
    """In production a process that faces the internet (the web app, the photo server) holds
    ``HERALD_WEB_KEYS`` and never ``HERALD_SECRET_KEY``, which opens every channel's
    credentials. Raises ConfigError otherwise (or for a malformed ``HERALD_WEB_KEYS``), and in
    every mode for a ``HERALD_METRICS_TOKEN`` too short to guard ``/metrics``."""
    settings.metrics_secret()
    if settings.env != "production":
        return
    if settings.secret_key.strip() or settings.secret_key_previous.strip():
        raise ConfigError(
            _(
                "in production the web app and the photo server must not hold HERALD_SECRET_KEY, "
                "which opens every channel's credentials: give them HERALD_WEB_KEYS instead "
                "(`herald keys web` prints it where HERALD_SECRET_KEY is set)"
            )
        )
    if not settings.web_keys.strip():
        raise ConfigError(
            _(
                "in production the web app and the photo server need HERALD_WEB_KEYS "
                "(`herald keys web` prints it where HERALD_SECRET_KEY is set)"
            )
        )
    settings.keyring()


def redis_url(settings: Settings | None = None) -> str:
    """The Redis URL: the setting, else the embedded Redis of a running ``herald up``, else the
    conventional local one."""
    settings = settings or get_settings()
    if settings.redis_url:
        return settings.redis_url
    marker = settings.data_dir / EMBEDDED_URL_FILE
    if marker.exists():
        return marker.read_text().strip()
    return DEFAULT_REDIS_URL


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests and ``herald up`` change the environment)."""
    get_settings.cache_clear()
