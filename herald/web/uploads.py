"""Photo uploads as the web reads them: the multipart parser has already spooled each file to
disk (past 1 MiB); here a file over the photo limit is refused by its size alone, before a byte
of it is read into memory, and no more than the limit is ever read."""

from __future__ import annotations

from starlette.datastructures import UploadFile

from herald.core.errors import PhotoError
from herald.core.i18n import _
from herald.media.limits import MAX_PHOTO_BYTES


async def read_photo(upload: UploadFile, name: str) -> bytes:
    """The bytes of an uploaded photo. Raises PhotoError (naming ``name``) when it is larger
    than ``MAX_PHOTO_BYTES``."""
    too_large = PhotoError(
        _("%(name)s: larger than %(mib)d MiB") % {"name": name, "mib": MAX_PHOTO_BYTES // (1024 * 1024)}
    )
    if upload.size is not None and upload.size > MAX_PHOTO_BYTES:
        raise too_large
    data = await upload.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        raise too_large
    return data
