"""One router per resource: ``pages`` (dashboard, compose), ``posts`` (and the dashboard's
actions on them), ``campaigns``, ``log``, ``channels``, ``health``, ``media``."""
