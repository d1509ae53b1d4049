"""The Celery app. ``celery -A tasks worker`` finds it as ``tasks.app``."""

from __future__ import annotations

from celery import Celery

app = Celery("herald", include=["tasks.publish"])
app.config_from_object("celeryconfig")
