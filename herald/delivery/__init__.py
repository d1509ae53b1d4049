"""The delivery engine, one module per step, and no Celery: the Celery tasks (``tasks``) drive
it, and so can a plain loop over ``ContentQueue.claim_due``.

``deliverer`` (the ``Deliverer`` a worker runs) orchestrates ``claim``, ``prepare``
(payload, photos, draft; ``connectors`` caches the connectors), ``rate``, ``call``,
``decide`` (under ``retry``), ``record`` and ``lease`` (the heartbeat); ``outcomes`` are the
frozen outcome types; ``takedown`` deletes published posts; ``staging`` builds and stages
payloads for the queue; ``factory`` builds a ``Deliverer`` from the settings."""
