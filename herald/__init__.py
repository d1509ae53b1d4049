"""Herald: a social media campaign scheduler.

The floors, from the ground up (``docs/architecture.md`` draws them; ``lint-imports`` holds
them): ``herald.core`` (errors, secrets, settings, time, logging); the rooms
``herald.platforms``, ``herald.media``, ``herald.store`` and ``content_queue``; the engine
``herald.delivery`` and ``scheduler``; the service layer (``herald.service``,
``herald.importing``, ``herald.runtime``); the Celery edge ``tasks``; and the edges the
people and processes use: the web app, the CLI, ``herald up``. Arrows only point down.
"""

__version__ = "0.1.0"
