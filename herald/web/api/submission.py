"""A post as a client submits it to ``POST /api/v1/posts``: a JSON body (``PostIn``), or a
multipart form with the same fields plus up to four photos, each with its alt text, made into
the service's ``PostRequest``.

FastAPI reads one content type per body, so this reads the request itself, and the operation
declares both (``REQUEST_BODY``). Problems are the API's usual ones: a field that does not fit
its schema is a validation error (422, naming it as ``body.<field>``), a bad value the schema
cannot express is an ``InputError`` naming the field.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from herald.core.errors import InputError
from herald.service import MAX_PHOTOS_PER_POST, PhotoInput, PostRequest
from herald.web.api.schemas import PostIn
from herald.web.api.text import refuse_nul
from herald.web.uploads import read_photo

#: Text fields a form may carry besides the photos (channels repeat; a few dozen is plenty).
MAX_FORM_FIELDS = 200
JSON_TYPE = "application/json"
FORM_TYPE = "multipart/form-data"
#: What may happen to the faces in a photo ("keep": nothing; the campaign's setting applies).
FACE_CHOICES = ("keep", "blur", "pixelate")


class PostForm(BaseModel):
    """``POST /api/v1/posts`` as multipart/form-data: the fields of the JSON body (``channels``
    repeated, ``text_for`` and ``language_for`` as JSON objects) and photos, each with its alt
    text and what to do with the faces in it, in the same order."""

    channels: list[str] = Field(min_length=1)
    text: str = ""
    text_for: str | None = Field(None, description="A JSON object: channel name → its own text")
    at: str | None = Field(None, description="ISO 8601 with a zone", examples=["2025-06-01T09:30:00+09:00"])
    now: bool = False
    campaign: str | None = None
    language: str | None = None
    language_for: str | None = Field(None, description="A JSON object: channel name → its own language")
    thread: bool = False
    first_comment: str | None = None
    next_slot: bool = False
    after: str | None = Field(None, description="With next_slot: at or after this ISO 8601 instant")
    each_channel: bool = False
    local_at: str | None = Field(None, description="A wall-clock time without an offset, read in tz")
    tz: str | None = None
    fold: Literal["first", "second"] | None = None
    shift_gap: bool = False
    repeat: str | None = Field(None, description="An RFC 5545 RRULE with COUNT or UNTIL")
    photos: list[bytes] = Field(default_factory=list, max_length=MAX_PHOTOS_PER_POST)
    alt_text: list[str] = Field(default_factory=list, description="One per photo, in order")
    faces: list[Literal["keep", "blur", "pixelate"]] = Field(
        default_factory=list, description="One per photo, in order (keep: the campaign's setting)"
    )


#: The operation's request body, both ways (``openapi_extra``).
REQUEST_BODY: dict[str, Any] = {  # Any: an OpenAPI fragment
    "required": True,
    "content": {
        JSON_TYPE: {"schema": PostIn.model_json_schema()},
        FORM_TYPE: {
            "schema": PostForm.model_json_schema(),
            "encoding": {"photos": {"contentType": "image/*"}},
        },
    },
}


def _invalid(e: ValidationError) -> RequestValidationError:
    """Pydantic's errors as FastAPI reports a bad body: located under ``body``."""
    return RequestValidationError(
        [{**err, "loc": ("body", *err["loc"])} for err in e.errors(include_url=False, include_input=False)]
    )


def _validated(data: object) -> PostIn:
    if isinstance(data, dict) and "photos" in data:
        raise InputError("photos", f"send photos as {FORM_TYPE}, each file a part named photos")
    try:
        return PostIn.model_validate(data)
    except ValidationError as e:
        raise _invalid(e) from None


def _to_request(body: PostIn, photos: list[PhotoInput]) -> PostRequest:
    chosen = [
        name
        for name, given in (
            ("at", body.at is not None),
            ("local_at", body.local_at is not None),
            ("now", body.now),
            ("next_slot", body.next_slot),
        )
        if given
    ]
    if len(chosen) == 2:
        raise InputError("at", f"give either {chosen[0]} or {chosen[1]}, not both")
    if len(chosen) > 2:
        raise InputError("at", f"give one of at, local_at, now and next_slot, not {' and '.join(chosen)}")
    if not chosen:
        raise InputError(
            "at",
            "give at (ISO 8601 with a zone, e.g. 2025-06-01T09:30:00+09:00), local_at with tz, "
            "now: true or next_slot: true",
        )
    if (body.after is not None or body.each_channel) and not body.next_slot:
        raise InputError(
            "after" if body.after is not None else "each_channel", "after and each_channel go with next_slot"
        )
    if (body.fold is not None or body.shift_gap) and body.local_at is None:
        raise InputError(
            "fold" if body.fold is not None else "shift_gap", "fold and shift_gap go with local_at"
        )
    return PostRequest(
        local_at=body.local_at,
        tz=body.tz or None,
        fold=None if body.fold is None else ("first", "second").index(body.fold),
        gap="forward" if body.shift_gap else "refuse",
        next_slot=body.next_slot,
        after=body.after,
        slot_each=body.each_channel,
        channels=body.channels,
        text=body.text,
        text_for=body.text_for,
        photos=photos,
        at=body.at,
        campaign=body.campaign or None,
        language=body.language or None,
        languages={name: lang for name, lang in body.language_for.items() if lang},
        thread=body.thread,
        first_comment=body.first_comment,
        repeat=body.repeat or None,
    )


async def _from_json(request: Request) -> PostRequest:
    try:
        data = json.loads(await request.body())
    except ValueError:  # bad JSON, or bytes that are not UTF-8
        raise InputError("body", "the body is not JSON") from None
    return _to_request(_validated(data), [])


def _texts(form: FormData, name: str) -> list[str]:
    values = form.getlist(name)
    if not all(isinstance(v, str) for v in values):
        raise InputError(name, f"{name} is text, not a file")
    return [refuse_nul(str(v), name) for v in values]


def _text(form: FormData, name: str) -> str | None:
    values = _texts(form, name)
    if len(values) > 1:
        raise InputError(name, f"give {name} once")
    return values[0] if values else None


async def _from_form(request: Request) -> PostRequest:
    try:
        form = await request.form(max_files=MAX_PHOTOS_PER_POST, max_fields=MAX_FORM_FIELDS)
    except HTTPException as e:  # Starlette's answer to a malformed or oversized form
        too_many = "files" in str(e.detail).lower()
        raise InputError("photos" if too_many else "body", str(e.detail)) from None
    try:
        fields: dict[str, object] = {"channels": _texts(form, "channels")}
        for name in (
            *("text", "at", "now", "campaign", "language", "thread", "first_comment"),
            *("next_slot", "after", "each_channel", "local_at", "tz", "fold", "shift_gap", "repeat"),
        ):
            value = _text(form, name)
            if value is not None:
                fields[name] = value
        for name, what in (("text_for", "text"), ("language_for", "language")):
            given = _text(form, name)
            if given:
                try:
                    fields[name] = json.loads(given)
                except ValueError:
                    raise InputError(name, f"{name} is a JSON object: channel name → {what}") from None
        body = _validated(fields)
        files = form.getlist("photos")
        alts, faces = _texts(form, "alt_text"), _texts(form, "faces")
        if len(alts) > len(files) or len(faces) > len(files):
            raise InputError("alt_text", "more alt texts or face choices than photos")
        photos = []
        for i, part in enumerate(files):
            if not isinstance(part, UploadFile):
                raise InputError("photos", f"photo {i + 1} is not a file")
            face = faces[i] if i < len(faces) else "keep"
            if face not in FACE_CHOICES:
                raise InputError("faces", f"faces in photo {i + 1}: one of {', '.join(FACE_CHOICES)}")
            photos.append(
                PhotoInput(
                    data=await read_photo(part, f"photo {i + 1}"),
                    filename=refuse_nul(part.filename or f"photo{i + 1}", "photos"),
                    alt_text=alts[i].strip() if i < len(alts) else "",
                    protect_faces=None if face == "keep" else face,
                )
            )
        return _to_request(body, photos)
    finally:
        await form.close()


async def submitted_post(request: Request) -> PostRequest:
    """The post in the request, JSON or a multipart form. Raises InputError (or a validation
    error) naming what is wrong, before anything is queued."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == JSON_TYPE or media_type.endswith("+json"):
        return await _from_json(request)
    if media_type == FORM_TYPE:
        return await _from_form(request)
    raise InputError("body", f"send the post as {JSON_TYPE} or {FORM_TYPE}")


SubmittedPost = Annotated[PostRequest, Depends(submitted_post)]
