"""The Celery app. ``celery -A tasks worker`` finds it as ``tasks.app``.

Besides the tasks, the app carries the worker's liveness (``tasks.watchdog``: a heartbeat of
what it took, a watchdog for a deaf consumer), its metrics port (``tasks.metrics``), and hands
logging to Herald's own set-up, so that Celery's lines (reconnections, unrecoverable errors)
and Herald's share one format, one level and the redaction of secrets.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import setup_logging

from herald.core.files import private_files
from herald.core.logs import setup_logging as herald_logging
from herald.core.settings import get_settings
from tasks import metrics  # noqa: F401  # connects the signals that serve a worker's metrics
from tasks.watchdog import ConsumerWatch, WatchdogStep

# `celery -A tasks worker` does not pass through the CLI: its files are private too.
private_files()

app = Celery("herald", include=["tasks.publish"])
app.config_from_object("celeryconfig")
app.steps["worker"].add(WatchdogStep)
app.steps["consumer"].add(ConsumerWatch)


@setup_logging.connect
def _setup_logging(loglevel: Any = None, **_: Any) -> None:
    settings = get_settings()
    level = logging.getLevelName(loglevel) if isinstance(loglevel, int) else (loglevel or settings.log_level)
    herald_logging(str(level), settings.log_format)
