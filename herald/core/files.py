"""Files Herald makes are the installation's own: the database, stored photos, the generated
key, the embedded Redis's data and backups are readable by the user Herald runs as and nobody
else. Every Herald process sets its umask to 077 first (``private_files``); the folders and the
SQLite file it makes are also set to 0700 and 0600 explicitly, whatever umask a supervisor gave.
"""

from __future__ import annotations

import os
from pathlib import Path

#: New files: owner read/write only; new folders: owner only.
UMASK = 0o077
FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_files() -> None:
    """Make every file and folder this process creates from now on private to its user."""
    os.umask(UMASK)


def private_folder(path: Path) -> Path:
    """``path`` made (with its parents) and set to 0700."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(FOLDER_MODE)
    return path


def private_file(path: Path) -> None:
    """An existing file set to 0600 (a database someone made before, say)."""
    if path.exists():
        path.chmod(FILE_MODE)
