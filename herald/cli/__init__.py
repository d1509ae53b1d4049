"""``herald``: the command line. Every command goes through the service layer; none publishes.

Imports marked "lazy: start-up cost" stay inside the commands that use them: the service layer
brings OpenCV, Pillow and SQLAlchemy (about a second), so ``herald --help`` and ``herald log``
do not pay for what ``herald post add`` needs.
"""

from herald.cli import campaigns, channels, log, posts, processes
from herald.cli.app import app

__all__ = ["app", "campaigns", "channels", "log", "main", "posts", "processes"]


def main() -> None:  # pragma: no cover - console entry
    app()
