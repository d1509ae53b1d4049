"""The import-linter contract (pyproject.toml) names every part of Herald, and the installed
wheel adds no top-level name but Herald's own and the three the user asked for."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _contract() -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")
    return {"roots": config["root_packages"], "layers": layers["layers"]}


def _parts() -> set[str]:
    """Every module and package directly under ``herald``, and the other root packages."""
    found = {"scheduler", "tasks", "content_queue"}
    for p in (ROOT / "herald").iterdir():
        if p.name.startswith(("_", ".")) or p.name == "py.typed":
            continue
        if p.is_dir() and (p / "__init__.py").exists():
            found.add(f"herald.{p.name}")
        elif p.suffix == ".py":
            found.add(f"herald.{p.stem}")
    return found


def test_the_layers_contract_names_every_part() -> None:
    contract = _contract()
    named = {m.strip() for layer in contract["layers"] for m in str(layer).split("|")}  # type: ignore[attr-defined]
    assert _parts() - named == set(), "add these to the layers contract in pyproject.toml"
    assert named - _parts() == set(), "the contract names parts that do not exist"
    assert set(contract["roots"]) == {"herald", "scheduler", "tasks", "content_queue"}  # type: ignore[arg-type]


@pytest.mark.timeout(300)
def test_the_wheel_installs_only_herald_and_the_named_parts(tmp_path: Path) -> None:
    # A copy of the sources, so the build's own files (build/, *.egg-info) stay out of the tree.
    src = tmp_path / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "var", "__pycache__", "*.egg-info", "build", ".*_cache"
        ),
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(src)],
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = tmp_path.glob("herald-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        top_level = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
        tops = set(z.read(top_level).decode().split())
        record = next(n for n in names if n.endswith(".dist-info/RECORD"))
        paths = {line.split(",", 1)[0] for line in z.read(record).decode().splitlines()}
    assert tops == {"herald", "scheduler", "tasks", "content_queue", "celeryconfig"}, tops
    roots = {p.split("/", 1)[0] for p in paths if not p.split("/", 1)[0].endswith(".dist-info")}
    assert roots == {"herald", "scheduler", "tasks", "content_queue", "celeryconfig.py"}, roots
    # The migrations, templates, styles and Lua scripts travel with the code.
    assert any(p.startswith("herald/store/migrations/versions/") for p in paths)
    assert any(p.startswith("herald/web/templates/") for p in paths)


#: What the service layer and the edges may take from SQLAlchemy: its errors (to translate
#: them) and the Session type (to pass a transaction to the store). Queries are the store's.
SQL_ALLOWED = {"sqlalchemy.exc", "sqlalchemy.orm.Session"}


def test_only_the_store_writes_sql() -> None:
    found = []
    for top in ("herald/service", "herald/importing.py", "herald/runtime.py", "herald/web", "herald/cli"):
        path = ROOT / top
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            for node in ast.walk(ast.parse(file.read_text(), str(file))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                    names = {f"{node.module}.{a.name}" for a in node.names}
                    if node.module not in SQL_ALLOWED and not names <= SQL_ALLOWED:
                        found.append(f"{file.relative_to(ROOT)}:{node.lineno}: {sorted(names)}")
                elif isinstance(node, ast.Import) and any(
                    a.name.startswith("sqlalchemy") for a in node.names
                ):
                    found.append(f"{file.relative_to(ROOT)}:{node.lineno}: import sqlalchemy")
    assert found == [], "queries belong in herald/store/, named for what they answer"
