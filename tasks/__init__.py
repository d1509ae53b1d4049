"""Celery app and the publish tasks. ``celery -A tasks worker`` works from the project root."""

from tasks.app import app
from tasks.publish import dispatch, publish, publish_many

__all__ = ["app", "dispatch", "publish", "publish_many"]
