"""The JSON API, ``/api/v1``: bearer tokens (or a signed-in browser with its CSRF header),
problem-details errors, cursor pages. Its schema is ``/api/v1/openapi.json``.

One module per resource: ``channels``, ``campaigns``, ``posts`` (and ``actions`` on one),
``stops`` (the emergency stop), ``log`` (with statistics), ``audit``, ``users`` (with
``/me``); their shapes in ``schemas``, pages in ``cursor``, errors in ``problems``, a post's two
body types in ``submission``, the text it takes in ``text``, the security scheme it declares in
``bearer``, and the OpenAPI document of the API alone in ``document``.
"""

from fastapi import APIRouter
from fastapi.routing import APIRoute

from herald.web.api import actions, audit, campaigns, channels, log, posts, stops, users
from herald.web.api.bearer import BearerDeclared
from herald.web.api.problems import PROBLEM_RESPONSES
from herald.web.api.text import PlainParameters

API_PREFIX = "/api/v1"


def _operation_id(route: APIRoute) -> str:
    """Operation ids clients generate method names from: the operation's function name."""
    return route.endpoint.__name__


# Every operation declares the bearer scheme (it refuses nothing itself: the actor dependency
# of each operation answers 401/403) and the problem answers, and refuses NUL in its parameters.
router = APIRouter(
    prefix=API_PREFIX,
    responses=PROBLEM_RESPONSES,
    dependencies=[BearerDeclared, PlainParameters],
    generate_unique_id_function=_operation_id,
)
for module in (channels, campaigns, posts, actions, stops, log, audit, users):
    router.include_router(module.router)

__all__ = ["API_PREFIX", "router"]
