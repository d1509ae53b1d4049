"""Errors of the JSON API as problem details (RFC 9457): ``application/problem+json`` with
``type``, ``title``, ``status`` and ``detail``, and for bad input ``errors``, one per field.

One shape for every error the API answers (401, 403, 404, 409, 413, 422, 429), declared in
the OpenAPI document by ``PROBLEM_RESPONSES`` so clients can rely on it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from herald.core.errors import InputError

PROBLEM_TYPE = "application/problem+json"
#: Titles by status, as a client shows them.
TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    422: "Invalid input",
    429: "Too many attempts",
}


class FieldProblem(BaseModel):
    field: str = Field(description="What was wrong: a body field, a query parameter, or 'request'")
    message: str


class Problem(BaseModel):
    """An error answer."""

    type: str = Field(default="about:blank", description="A URI naming the kind of problem")
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] = Field(default_factory=list)


def problem(
    status: int,
    detail: str,
    *,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(title=TITLES.get(status, "Error"), status=status, detail=detail, errors=errors or [])
    return JSONResponse(body.model_dump(), status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def _declared(description: str) -> dict[str, Any]:
    # "model" registers Problem among the components (FastAPI then also lists it under the
    # route's own media type, application/json; ``problem_json_only`` takes that out).
    ref = {"$ref": "#/components/schemas/Problem"}
    return {"model": Problem, "description": description, "content": {PROBLEM_TYPE: {"schema": ref}}}


def problem_json_only(doc: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with each error answer of the API declared as what it is sent as,
    ``application/problem+json`` only. (FastAPI lists a response's model under the route's
    media type too; call this on the generated document.)"""
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for status, answer in operation.get("responses", {}).items():
                content = answer.get("content", {}) if status[:1] in ("4", "5") else {}
                if PROBLEM_TYPE in content:
                    content.pop("application/json", None)
    return doc


#: The error answers every operation declares (pass as ``responses=`` to a router).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _declared("No valid API token (or session)"),
    403: _declared("The token's role does not allow this"),
    422: _declared("Invalid input: `errors` names each field"),
}
#: Added by operations on one thing (``/posts/{id}``): it may not exist, or not be in a state
#: that allows the action.
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _declared("No such thing, or not yours to see")}
CONFLICT: dict[int | str, dict[str, Any]] = {409: _declared("Its state does not allow this now")}


class ProblemRoute(APIRoute):
    """An API operation whose framework errors are problems too: a body FastAPI cannot read at
    all (bytes that are not UTF-8 JSON) is bad input naming ``body`` (422, as any other bad
    body), never a bare ``{"detail": ...}``. Errors of our own reach the app's handlers as
    they are."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException as e:
                if e.status_code == 400:
                    raise InputError("body", f"the body cannot be read: {e.detail}") from None
                return problem(e.status_code, str(e.detail), headers=dict(e.headers or {}))

        return answer
