"""``herald``: the command line. Every command goes through the service layer; none publishes.

Imports marked "lazy: start-up cost" stay inside the commands that use them: the service layer
brings OpenCV, Pillow and SQLAlchemy (about a second), so ``herald --help`` and ``herald log``
do not pay for what ``herald post add`` needs.
"""

from herald.cli import (
    alerts,
    backup,
    campaigns,
    channels,
    doctor,
    keys,
    log,
    posts,
    processes,
    schedules,
    stops,
    users,
)
from herald.cli.app import app

app.add_typer(users.user_app, name="user")
app.add_typer(users.token_app, name="token")
app.add_typer(keys.keys_app, name="keys")
app.add_typer(schedules.schedule_app, name="schedule")
app.add_typer(alerts.alert_app, name="alert")

__all__ = [
    "alerts",
    "app",
    "backup",
    "campaigns",
    "channels",
    "doctor",
    "keys",
    "log",
    "main",
    "posts",
    "processes",
    "schedules",
    "stops",
    "users",
]


def main() -> None:  # pragma: no cover - console entry
    app()
