"""Named dependencies for the routes: the service, and the submitted form (parsed once, with
limits). Security, page rendering and form shaping have modules of their own
(``security``, ``templating``, ``forms``)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from herald.service import MAX_PHOTOS_PER_POST, Herald

#: Form limits, enforced while parsing: the four photos, and generously many text fields
#: (one text variant per channel, alt texts, the rest of the form).
MAX_FORM_FILES = MAX_PHOTOS_PER_POST
#: Photos one import form may carry (with its CSV file).
MAX_IMPORT_PHOTOS = 200
#: The route whose form carries a CSV file and its photos.
IMPORT_ROUTE = "import_submit"
MAX_FORM_FIELDS = 1000


# -- the service -------------------------------------------------------------------------------


class ServiceHolder:
    """The app's one ``Herald``: given, or built on first use (so importing the app or starting
    uvicorn does not touch the database or Redis)."""

    def __init__(self, service: Herald | None, factory: Callable[[], Herald]) -> None:
        self._service = service
        self._factory = factory
        self._lock = threading.Lock()

    def get(self) -> Herald:
        if self._service is None:
            with self._lock:
                if self._service is None:
                    self._service = self._factory()
        return self._service


def get_service(request: Request) -> Herald:
    holder: ServiceHolder = request.app.state.services
    return holder.get()


ServiceDep = Annotated[Herald, Depends(get_service)]


# -- the form ----------------------------------------------------------------------------------


async def read_form(request: Request) -> AsyncIterator[FormData]:
    """The submitted form, parsed once per request with limits; its spooled files are closed
    after the response."""
    route = request.scope.get("route")
    files = MAX_IMPORT_PHOTOS + 1 if getattr(route, "name", None) == IMPORT_ROUTE else MAX_FORM_FILES
    form = await request.form(max_files=files, max_fields=MAX_FORM_FIELDS)
    try:
        yield form
    finally:
        await form.close()


FormDep = Annotated[FormData, Depends(read_form)]
