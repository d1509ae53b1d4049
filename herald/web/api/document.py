"""The API's OpenAPI document, ``/api/v1/openapi.json``: its operations only (the app's HTML
pages and forms are not part of it), each error answer declared as what it is sent as
(``application/problem+json``), every operation with the bearer scheme.

``openapi_document()`` builds it once per process from the API's router; the app serves it
(``app.openapi = openapi_document``).
"""

from __future__ import annotations

import functools
from typing import Any

from fastapi import FastAPI

from herald.web.api import router
from herald.web.api.problems import problem_json_only

TITLE = "Herald API"
VERSION = "1"
DESCRIPTION = (
    "Herald's JSON API. Authenticate with a personal API token (`herald token create`) in "
    "`Authorization: Bearer <token>`. Errors are problem details (RFC 9457). Every list is a "
    "page: pass `next_cursor` back as `cursor` for the next one."
)


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The document of the API's operations (built on first use)."""
    # An app of the API alone: FastAPI builds the document of every route an app has.
    alone = FastAPI(title=TITLE, version=VERSION, description=DESCRIPTION, openapi_url=None)
    alone.include_router(router)
    return problem_json_only(alone.openapi())
