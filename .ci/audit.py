"""Known advisories in the locked dependencies (``requirements-dev.lock``), with pip-audit.

Fails when an advisory names a locked release. Where the advisory database cannot be reached
(no network, or an index mirror without vulnerability data), the check is skipped and says so:
it never passes silently as if it had looked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements-dev.lock"


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


def main() -> int:
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "pip-audit"),
            "-r",
            str(LOCK),
            "--require-hashes",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        say(f"pip-audit: SKIPPED, the advisory database could not be reached ({last[:200]})")
        return 0
    deps = report.get("dependencies", [])
    audited = [d for d in deps if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    for d in vulnerable:
        ids = ", ".join(v["id"] for v in d["vulns"])
        say(f"pip-audit: {d['name']} {d['version']}: {ids}")
    if vulnerable:
        return 1
    if not audited:
        say(f"pip-audit: SKIPPED, no advisory data for any of {len(deps)} locked releases here")
        return 0
    say(
        f"pip-audit: {len(audited)} locked releases, no known advisory ({len(deps) - len(audited)} not found)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
