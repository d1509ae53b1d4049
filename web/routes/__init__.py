"""One router per resource: ``pages`` (dashboard, compose), ``posts``, ``log``, ``channels``,
``health``."""
