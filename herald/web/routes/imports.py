"""``/import``: bulk import from the browser — a CSV file and the photos it names, checked as
a whole: every problem is listed with its line, and nothing is queued unless every row fits.
The same parsing and rules as ``herald post import`` (``herald.importing``), the file's encoding
detected or chosen from a menu; photos are matched by file name among the uploaded files, never
read from the server's disk."""

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from herald.core.errors import InputError
from herald.importing import (
    MAX_CSV_BYTES,
    MAX_PHOTO_FILE_BYTES,
    base_name,
    import_posts,
    parse_csv,
    uploaded_photos,
)
from herald.web.auth import CanDraft
from herald.web.deps import MAX_IMPORT_PHOTOS, FormDep, ServiceDep
from herald.web.security import CsrfDep
from herald.web.templating import Pages, PagesDep

router = APIRouter(tags=["import"])

#: The encoding menu: (value, label); values are names ``herald.importing.decode`` knows.
IMPORT_ENCODINGS = (
    ("auto", "Detect (UTF-8, else Korean Excel's CP949)"),
    ("utf-8", "UTF-8"),
    ("cp949", "CP949 / EUC-KR (Korean Excel)"),
    ("utf-16", "UTF-16 (with BOM)"),
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
async def import_submit(actor: CanDraft, svc: ServiceDep, pages: PagesDep, form: FormDep) -> HTMLResponse:
    upload = form.get("csv")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(pages, problems=["choose a CSV file"], status_code=422)
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
    try:
        parsed = parse_csv(raw, photo=uploaded_photos(photos), name=name, encoding=encoding)
        outcome = import_posts(svc, parsed, dry_run=dry_run, actor=actor)
    except InputError as e:
        return _page(pages, problems=[str(e)], name=name, status_code=422, encoding=encoding)
    if outcome.problems:
        return _page(pages, problems=outcome.problems, name=name, status_code=422, encoding=encoding)
    if dry_run:
        return _page(pages, checked=outcome.rows, name=name)
    return _page(pages, queued=outcome.post_ids, name=name)
