"""Threat: a dependency release with a known advisory, or a tampered download. The declared
floors are past the advisories we know of; every dependency is installed from a lock file that
pins each release and the hash of each file (``make install``, the Dockerfile); the lock files
hold everything pyproject asks for; ``make lint`` runs pip-audit over the lock (.ci/audit.py)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
#: First releases without the advisories named in issue 15 (and found since).
FLOORS = {
    "fastapi": "0.115",
    "starlette": "0.49.1",
    "python-multipart": "0.0.18",
    "requests": "2.32.4",
    "cryptography": "44.0.1",
    "h11": "0.16",
    "jinja2": "3.1.6",
    "urllib3": "2.5",
    "pillow": "11.3",
}


def _pins(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """name → (version, hashes) of every pinned requirement."""
    text = lock.read_text()
    out: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        m = re.match(r"([A-Za-z0-9_.\-]+)==([^\s\\;]+)", block)
        if m:
            out[m.group(1).lower().replace("_", "-")] = (
                m.group(2),
                re.findall(r"--hash=sha256:([0-9a-f]{64})", block),
            )
    return out


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in ("postgres",):
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return reqs


def test_floors_are_past_known_advisories() -> None:
    declared = {r.name.lower(): r for r in _declared()}
    for name, floor in FLOORS.items():
        spec = declared[name].specifier
        assert not spec.contains(str(Version(floor).release[0]) + ".0.0") or Version(floor) <= Version("0"), (
            name
        )
        lows = [Version(s.version) for s in spec if s.operator in (">=", ">", "==")]
        assert lows and min(lows) >= Version(floor), f"{name}: {spec} admits releases before {floor}"


def test_the_lock_pins_every_dependency_with_hashes() -> None:
    for lock in ("requirements.lock", "requirements-dev.lock"):
        pins = _pins(ROOT / lock)
        assert len(pins) > 50, lock
        for name, (version, hashes) in pins.items():
            assert hashes, f"{lock}: {name}=={version} has no hash"
        for req in _declared():
            name = req.name.lower().replace("_", "-")
            assert name in pins, f"{lock} lacks {name}"
            assert req.specifier.contains(pins[name][0], prereleases=True), (
                f"{lock}: {name}=={pins[name][0]} vs {req}"
            )


def test_installs_go_through_the_lock_with_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements.lock" in makefile
    assert "--require-hashes -r requirements-dev.lock" in makefile
    assert "--require-hashes -r requirements.lock" in (ROOT / "Dockerfile").read_text()
    assert ".ci/audit.py" in makefile
