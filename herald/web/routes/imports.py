"""``/import``: bulk import from the browser — a CSV file and the photos it names, checked as
a whole: every problem is listed with its line, and nothing is queued unless every row fits.
The same parsing and rules as ``herald post import`` (``herald.importing``), the file's encoding
detected or chosen from a menu; photos are matched by file name among the uploaded files, never
read from the server's disk."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from herald.core.errors import InputError
from herald.core.i18n import N_, _
from herald.importing import (
    MAX_CSV_BYTES,
    MAX_PHOTO_FILE_BYTES,
    Outcome,
    base_name,
    import_posts,
    parse_csv,
    uploaded_photos,
)
from herald.web.auth import CanDraft
from herald.web.deps import MAX_IMPORT_PHOTOS, FormDep, ServiceDep
from herald.web.progress import board_for, job_id
from herald.web.security import CsrfDep
from herald.web.templating import Pages, PagesDep

router = APIRouter(tags=["import"])

#: The encoding menu: (value, label); values are names ``herald.importing.decode`` knows.
IMPORT_ENCODINGS = (
    # Labels translated where the page shows them (``_(label)`` in import.html).
    ("auto", N_("Detect (UTF-8, else Korean Excel's CP949)")),
    ("utf-8", N_("UTF-8")),
    ("cp949", N_("CP949 / EUC-KR (Korean Excel)")),
    ("utf-16", N_("UTF-16 (with BOM)")),
)


def _page(
    pages: Pages,
    *,
    problems: list[str] | None = None,
    queued: list[str] | None = None,
    checked: int | None = None,
    name: str = "",
    status_code: int = 200,
    encoding: str = "auto",
) -> HTMLResponse:
    context = {
        "encoding": encoding,
        "encodings": IMPORT_ENCODINGS,
        "active": "import",
        "problems": problems or [],
        "queued": queued or [],
        "checked": checked,
        "name": name,
        "max_photos": MAX_IMPORT_PHOTOS,
    }
    return pages.render("import.html", context, status_code=status_code)


@router.get("/import", response_class=HTMLResponse, name="import_posts")
def import_page(actor: CanDraft, pages: PagesDep) -> HTMLResponse:
    return _page(pages)


@router.post("/import", response_class=HTMLResponse, dependencies=[CsrfDep], name="import_submit")
async def import_submit(
    request: Request, actor: CanDraft, svc: ServiceDep, pages: PagesDep, form: FormDep
) -> HTMLResponse:
    """Check the file, and queue its posts unless only a check was asked for. The work runs in
    a thread (the server keeps answering meanwhile, among others the page's progress polls);
    a form naming a ``progress`` job reports each step there (``web.progress``)."""
    upload = form.get("csv")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(pages, problems=[_("choose a CSV file")], status_code=422)
    name = base_name(upload.filename)
    raw = await upload.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        return _page(
            pages, problems=[f"{name}: larger than {MAX_CSV_BYTES} bytes"], name=name, status_code=422
        )
    photos: dict[str, bytes] = {}
    too_big: list[str] = []
    for part in form.getlist("photos"):
        if isinstance(part, UploadFile) and part.filename:
            photo_name = base_name(part.filename)
            data = await part.read(MAX_PHOTO_FILE_BYTES + 1)
            if len(data) > MAX_PHOTO_FILE_BYTES:
                too_big.append(f"{photo_name}: larger than {MAX_PHOTO_FILE_BYTES} bytes")
            photos[photo_name] = data
    if too_big:
        return _page(pages, problems=too_big, name=name, status_code=422)
    dry_run = form.get("dry_run") is not None
    given = form.get("encoding")
    encoding = given if isinstance(given, str) and given else "auto"
    if encoding not in dict(IMPORT_ENCODINGS):
        known = ", ".join(dict(IMPORT_ENCODINGS))
        return _page(pages, problems=[f"encoding: choose one of {known}"], name=name, status_code=422)
    job = job_id(form.get("progress"))
    board = board_for(request, svc) if job is not None else None

    def report(phase: str, done: int = 0, total: int = 0) -> None:
        if board is not None and job is not None:
            board.report(job, phase, done, total)

    def work() -> Outcome:
        report("reading")
        parsed = parse_csv(raw, photo=uploaded_photos(photos), name=name, encoding=encoding)
        return import_posts(svc, parsed, dry_run=dry_run, progress=report, actor=actor)

    try:
        outcome = await run_in_threadpool(work)
    except InputError as e:
        report("failed")
        return _page(pages, problems=[str(e)], name=name, status_code=422, encoding=encoding)
    if outcome.problems:
        report("failed")
    else:
        report("done", outcome.rows, outcome.rows)
    if outcome.problems:
        return _page(pages, problems=outcome.problems, name=name, status_code=422, encoding=encoding)
    if dry_run:
        return _page(pages, checked=outcome.rows, name=name)
    return _page(pages, queued=outcome.post_ids, name=name)
