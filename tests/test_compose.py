"""docker-compose.yml keeps the private parts private: the web app is published on the host's
loopback only, the one service on every interface is the photo server, and the settings that
make the web app safe to expose behind a proxy are passed through."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def test_only_the_photo_server_is_published_beyond_loopback() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    published = {name: svc.get("ports", []) for name, svc in services.items() if svc.get("ports")}
    assert set(published) == {"web", "photos"}
    assert all(str(p).startswith("127.0.0.1:") for p in published["web"])
    assert services["photos"]["command"][:2] == ["herald", "photos"]
    env = services["web"]["environment"]
    for name in ("HERALD_ALLOWED_HOSTS", "HERALD_TRUSTED_PROXIES", "HERALD_PUBLIC_URL"):
        assert name in env
    assert "8601" in env["HERALD_PUBLIC_URL"]


def test_only_the_processes_that_publish_hold_the_secret_key() -> None:
    """The web app and the photo server face the internet: they get HERALD_WEB_KEYS, which opens
    no credential; the scheduler, the workers and the migration hold HERALD_SECRET_KEY."""
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    for name in ("web", "photos"):
        env = services[name]["environment"]
        assert "HERALD_SECRET_KEY" not in env and "HERALD_SECRET_KEY_PREVIOUS" not in env
        assert "herald keys web" in env["HERALD_WEB_KEYS"]
    for name in ("scheduler", "worker", "migrate"):
        env = services[name]["environment"]
        assert "HERALD_SECRET_KEY" in env and "HERALD_WEB_KEYS" not in env
        assert env["HERALD_ENV"] == "production"
