"""docker-compose.yml is a server's shape and keeps the private parts private: nothing is
published beyond the host's loopback unless the operator opts in, Redis and PostgreSQL are not
published at all, every secret comes from .env (committed as .env.example, placeholders only),
Redis never evicts the queue, and every long-running service has a health check.

Where Docker Compose is installed, `docker compose config` validates the file as Compose itself
reads it; everywhere, the YAML is parsed and each requirement asserted."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from herald.core.errors import ConfigError
from herald.core.keyring import Keyring
from herald.core.settings import checked_secret_key

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
HERALD_SERVICES = ("migrate", "scheduler", "worker", "web", "photos")
#: ${NAME}, ${NAME:-default}, ${NAME:?error}, ${NAME-default}, ${NAME?error}
VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])[^}]*)?\}")


def _services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def _env_example() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            out[name.strip()] = value.strip()
    return out


def _interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's substitution, as far as this file uses it: the value when set and non-empty,
    else the `:-` default (an unset `:?` variable is an error, as in Compose)."""

    def one(m: re.Match[str]) -> str:
        name, op = m.group(1), m.group(2)
        value = env.get(name, "")
        if value:
            return value
        if op == ":?":
            raise AssertionError(f"{name} is required and unset")
        return m.group(0).split(":-", 1)[1][:-1] if op == ":-" else ""

    return VAR.sub(one, text)


def _published_addresses(service: dict[str, Any], env: dict[str, str]) -> list[str]:
    return [_interpolate(str(p), env).rsplit(":", 2)[0] for p in service.get("ports", [])]


def test_only_the_web_app_the_photo_server_and_flower_are_published_and_on_loopback() -> None:
    services = _services()
    published = {name for name, svc in services.items() if svc.get("ports")}
    assert published == {"web", "photos", "flower"}
    # Defaults (nothing in the environment) and the committed example: loopback everywhere.
    for env in ({}, _env_example()):
        for name in published:
            assert _published_addresses(services[name], env) == ["127.0.0.1"], name
    # The operator's opt-in reaches the web app and the photo server; Flower stays local.
    opt_in = {"HERALD_WEB_BIND": "0.0.0.0", "HERALD_PHOTOS_BIND": "0.0.0.0"}
    assert _published_addresses(services["web"], opt_in) == ["0.0.0.0"]
    assert _published_addresses(services["photos"], opt_in) == ["0.0.0.0"]
    assert _published_addresses(services["flower"], opt_in) == ["127.0.0.1"]
    assert services["photos"]["command"][:2] == ["herald", "photos"]
    env = services["web"]["environment"]
    for name in ("HERALD_ALLOWED_HOSTS", "HERALD_TRUSTED_PROXIES", "HERALD_PUBLIC_URL"):
        assert name in env
    assert "8601" in env["HERALD_PUBLIC_URL"]


def test_only_the_processes_that_publish_hold_the_secret_key() -> None:
    """The web app and the photo server face the internet: they get HERALD_WEB_KEYS, which opens
    no credential; the scheduler, the workers and the migration hold HERALD_SECRET_KEY."""
    services = _services()
    for name in ("web", "photos"):
        env = services[name]["environment"]
        assert "HERALD_SECRET_KEY" not in env and "HERALD_SECRET_KEY_PREVIOUS" not in env
        assert "herald keys web" in env["HERALD_WEB_KEYS"]
    for name in ("scheduler", "worker", "migrate"):
        env = services[name]["environment"]
        assert "HERALD_SECRET_KEY" in env and "HERALD_WEB_KEYS" not in env
        assert env["HERALD_ENV"] == "production"
    assert "HERALD_SECRET_KEY" not in services["flower"].get("environment", {})


def test_redis_keeps_the_queue_never_evicts_it_and_is_not_reachable_from_outside() -> None:
    redis = _services()["redis"]
    command = [str(c) for c in redis["command"]]
    flags = dict(zip(command[1::2], command[2::2], strict=False))
    assert flags["--appendonly"] == "yes"
    assert flags["--maxmemory-policy"] == "noeviction"
    assert "HERALD_REDIS_PASSWORD:?" in flags["--requirepass"]
    assert any(str(v).endswith(":/data") for v in redis["volumes"])
    assert "ports" not in redis


def test_postgres_keeps_its_data_and_its_password_comes_from_env() -> None:
    services = _services()
    pg = services["postgres"]
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in pg["volumes"])
    assert "ports" not in pg
    assert "HERALD_POSTGRES_PASSWORD:?" in pg["environment"]["POSTGRES_PASSWORD"]
    url = services["worker"]["environment"]["HERALD_DATABASE_URL"]
    assert "${HERALD_POSTGRES_PASSWORD:?" in url and "herald:herald@" not in url


def test_every_secret_has_no_default_in_the_compose_file() -> None:
    """A forgotten secret stops `docker compose up` with a message, never falls back to a value
    anyone could read here."""
    text = COMPOSE.read_text()
    for name in (
        "HERALD_SECRET_KEY",
        "HERALD_WEB_KEYS",
        "HERALD_REDIS_PASSWORD",
        "HERALD_POSTGRES_PASSWORD",
        "FLOWER_BASIC_AUTH",
    ):
        uses = [m for m in VAR.finditer(text) if m.group(1) == name]
        assert uses, name
        assert all(m.group(2) == ":?" for m in uses), name


def test_the_others_wait_for_the_one_shot_migration() -> None:
    services = _services()
    migrate = services["migrate"]
    assert migrate["command"] == ["herald", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("scheduler", "worker", "web", "photos"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["redis"]["condition"] == "service_healthy", name
        assert services[name]["restart"] == "unless-stopped", name


def test_two_schedulers_and_scalable_workers() -> None:
    services = _services()
    assert services["scheduler"]["deploy"]["replicas"] == 2
    worker = services["worker"]
    assert worker["command"][:2] == ["herald", "worker"]
    # Scalable: nothing that two copies could not share.
    assert "container_name" not in worker and "ports" not in worker


def test_every_long_running_service_has_a_health_check_that_probes_the_real_thing() -> None:
    services = _services()
    for name, svc in services.items():
        if name == "migrate":
            continue  # a one-shot: its exit status is its health
        assert "test" in svc.get("healthcheck", {}), name
    checks = {
        name: " ".join(map(str, svc.get("healthcheck", {}).get("test", []))) for name, svc in services.items()
    }
    assert "redis-cli ping" in checks["redis"]
    assert "pg_isready" in checks["postgres"]
    assert "127.0.0.1:8600/healthz" in checks["web"]
    assert "127.0.0.1:8601/healthz" in checks["photos"]
    assert "/healthcheck" in checks["flower"]
    for name, port in (("scheduler", "9464"), ("worker", "9465")):
        assert "HERALD_METRICS_PORT" in checks[name] and "/metrics" in checks[name]
        env = services[name]["environment"]
        assert env["HERALD_METRICS_PORT"] == port
        assert env["HERALD_METRICS_HOST"] == "0.0.0.0"


def test_the_health_probes_run_as_python_and_compile() -> None:
    """The Herald probes are one-liners for the image's own python (the slim image has no curl):
    each must at least be valid Python."""
    for name, svc in _services().items():
        test = svc.get("healthcheck", {}).get("test", [])
        if test[1:3] == ["python", "-c"]:
            compile(test[3], f"{name} healthcheck", "exec")


def test_flower_is_opt_in_pinned_and_behind_basic_auth() -> None:
    flower = _services()["flower"]
    assert flower["profiles"] == ["flower"]
    image = flower["image"]
    assert image.startswith("mher/flower:") and re.fullmatch(r"mher/flower:\d+\.\d+\.\d+", image)
    assert "FLOWER_BASIC_AUTH:?" in flower["environment"]["FLOWER_BASIC_AUTH"]
    assert any("@redis:6379" in str(c) for c in flower["command"])


def test_every_variable_the_compose_file_reads_is_in_env_example() -> None:
    used = {m.group(1) for m in VAR.finditer(COMPOSE.read_text())}
    example = _env_example()
    assert used - set(example) == set()
    assert set(example) - used == set(), "variables in .env.example that compose never reads"


def test_env_example_holds_placeholders_that_production_refuses_and_no_real_key() -> None:
    example = _env_example()
    with pytest.raises(ConfigError, match="HERALD_SECRET_KEY"):
        checked_secret_key(example["HERALD_SECRET_KEY"], "HERALD_SECRET_KEY")
    with pytest.raises(ConfigError, match="HERALD_WEB_KEYS"):
        Keyring.from_web_keys(example["HERALD_WEB_KEYS"])
    for name, value in example.items():
        assert not re.search(r"[0-9a-fA-F]{24,}|[A-Za-z0-9+/_=-]{40,}", value), name
        assert "herald-web-keys" not in value, name
    for name in ("HERALD_REDIS_PASSWORD", "HERALD_POSTGRES_PASSWORD"):
        assert "change-me" in example[name]
    assert example["FLOWER_BASIC_AUTH"].endswith(":change-me")


def test_the_real_env_file_is_ignored_and_kept_out_of_the_image() -> None:
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()
    assert "COPY . " not in DOCKERFILE.read_text()


def test_the_image_is_slim_non_root_and_installs_only_hashed_pins() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    assert "--require-hashes -r requirements.lock" in text
    assert "--no-deps --no-build-isolation" in text
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")


def _docker_compose() -> list[str] | None:
    if shutil.which("docker") is None:
        return None
    try:
        done = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return ["docker", "compose"] if done.returncode == 0 else None


def test_docker_compose_accepts_the_file_with_the_example_env() -> None:
    compose = _docker_compose()
    if compose is None:
        pytest.skip("`docker compose version` does not work here: the schema tests above stand in")
    done = subprocess.run(
        [*compose, "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE), "--profile", "flower", "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr


def test_docker_compose_refuses_the_file_without_the_secrets(tmp_path: Path) -> None:
    """The attacker's (or the hurried operator's) case: no .env at all. Compose stops and names
    the missing secret instead of starting with a default."""
    compose = _docker_compose()
    if compose is None:
        pytest.skip("`docker compose version` does not work here: test_every_secret_has_no_default stands in")
    empty = tmp_path / "empty.env"
    empty.write_text("")
    done = subprocess.run(
        [*compose, "-f", str(COMPOSE), "--env-file", str(empty), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    assert done.returncode != 0
    assert "in .env" in done.stderr
