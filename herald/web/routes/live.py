"""Live pages: the dashboard, its queue and the log update without a reload.

How: polling with ETags, not server-sent events. A page with live parts (elements marked
``data-live``, see ``static/live.js``) asks ``/live/version`` every few seconds with the ETag
it was last given; the answer is ``304 Not Modified`` (no body) until a delivery, a post or a
pause changes (``service.changes``), and only then does the page fetch its live parts again:
a fragment of its own (``/live/health``, ``/live/upcoming``) or the page's own URL, from which
it takes the parts by id. Why not SSE: a stream holds a connection and a server thread per
open tab for as long as it is open (the sync routes run in a bounded thread pool), proxies
buffer or cut idle streams unless each is configured for them, and browsers allow six
connections per host over HTTP/1.1; a short request every few seconds passes any proxy, is
served by any of several uvicorn workers (the version lives in the database, not in one
process), and recovers from a restart by itself.

Every route here needs a signed-in person (``CanView``); without one the answer is 401
(``/live/`` answers like the API, never with the sign-in page), and each part shows only what
the person may see. The version says only that something changed somewhere, never what.
Fragments carry an ETag of their body, so an unchanged one costs a 304.
"""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from herald.core.errors import InputError
from herald.service.changes import data_version
from herald.web import panels
from herald.web.auth import CanDraft, CanView
from herald.web.deps import ServiceDep
from herald.web.progress import board_for, job_id
from herald.web.templating import PagesDep

router = APIRouter(tags=["live"], include_in_schema=False)

#: Where the live routes live: their errors are answered as the API's are (``web.app``).
LIVE_PREFIX = "/live/"
#: Caches may keep an answer only to ask again with its ETag (pages are otherwise no-store).
REVALIDATE = "no-cache, private"


def etag_matches(request: Request, etag: str) -> bool:
    """Does the request's ``If-None-Match`` name ``etag`` (weak or strong, or ``*``)?"""
    given = request.headers.get("if-none-match", "")
    tags = {t.strip().removeprefix("W/") for t in given.split(",") if t.strip()}
    return "*" in tags or etag in tags


def conditional(request: Request, response: Response) -> Response:
    """``response`` with an ETag of its body, or 304 without the body if the client has it."""
    etag = '"' + hashlib.sha256(bytes(response.body)).hexdigest()[:20] + '"'
    headers = {"ETag": etag, "Cache-Control": REVALIDATE, "Vary": "Cookie, Authorization"}
    if etag_matches(request, etag):
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return response


@router.get("/live/version", name="live_version")
def live_version(request: Request, actor: CanView, svc: ServiceDep) -> Response:
    """``{"version": "..."}``: it changes when anything a live page shows may have changed.
    304 while it has not (the ETag is the version)."""
    version = data_version(svc)
    etag = f'"{version}"'
    headers = {"ETag": etag, "Cache-Control": REVALIDATE, "Vary": "Cookie, Authorization"}
    if etag_matches(request, etag):
        return Response(status_code=304, headers=headers)
    return JSONResponse({"version": version}, headers=headers)


@router.get("/live/health", name="live_health")
def live_health(request: Request, actor: CanView, svc: ServiceDep, pages: PagesDep) -> Response:
    """The dashboard's health panel alone (``_health.html``), read now."""
    return conditional(request, pages.render("_health.html", panels.health_context(svc)))


@router.get("/live/upcoming", name="live_upcoming")
def live_upcoming(
    request: Request,
    actor: CanView,
    svc: ServiceDep,
    pages: PagesDep,
    campaign: str = "",
    upcoming_after: str = "",
) -> Response:
    """The dashboard's "Queued and upcoming" alone (``_upcoming.html``): the page of it the
    dashboard shows for ``campaign`` and ``upcoming_after``, and what is paused."""
    context = {
        **panels.upcoming_context(svc, actor, campaign=campaign.strip() or None, after=upcoming_after),
        "channels": svc.list_channels(),
    }
    return conditional(request, pages.render("_upcoming.html", context))


@router.get("/live/progress/{job}", name="live_progress")
def live_progress(request: Request, job: str, actor: CanDraft, svc: ServiceDep) -> Response:
    """How far the person's long job has got (a CSV import): ``{"phase", "done", "total"}``.
    "sending" until the job reports anything: the file is still on its way (or the id is not
    one of this person's jobs: another's is never read). 422 for what is not a job id."""
    if job_id(job) is None:
        raise InputError("job", "not a job id")
    found = board_for(request, svc).read(job)
    body = found.to_dict() if found is not None else {"phase": "sending", "done": 0, "total": 0}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
