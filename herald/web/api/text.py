"""Text the API takes: any but NUL (``\\x00``), which PostgreSQL cannot keep in a text column: a
request carrying one would pass every check and then fail its write with a server error. It is
refused first, as bad input naming the field (422).

Body fields use ``Text``; path and query parameters are checked for every operation by
``PlainParameters`` (on the API's router).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import AfterValidator

from herald.core.errors import InputError

NUL = "\x00"
WHY = "must not contain NUL characters (\\x00)"


def _no_nul(value: str) -> str:
    if NUL in value:
        raise ValueError(WHY)
    return value


#: A body's text field.
Text = Annotated[str, AfterValidator(_no_nul)]


def refuse_nul(value: str, field: str) -> str:
    """``value``, unless it holds a NUL: then InputError naming ``field``."""
    if NUL in value:
        raise InputError(field, f"{field} {WHY}")
    return value


def plain_parameters(request: Request) -> None:
    """Refuse a path or query parameter holding a NUL (InputError naming it)."""
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        if isinstance(value, str):
            refuse_nul(value, name)


PlainParameters = Depends(plain_parameters)
