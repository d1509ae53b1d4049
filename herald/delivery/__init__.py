"""The delivery engine: claim, prepare, call, decide, record, take down. No Celery here: the
Celery tasks (``tasks``) drive it, and so can a plain loop."""
