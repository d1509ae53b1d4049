"""A short property-based run of the JSON API against its own schema (``/api/v1/openapi.json``),
in process, as an admin with a bearer token: for every operation, requests generated from the
schema (valid ones, and ones that break it) never get a 5xx, and every answer has a status the
operation declares, the content type it declares for that status, and a body its schema allows.

Short by design (a few examples per operation, a fixed seed): ``make test`` runs it every time;
a longer run is ``schemathesis run`` against a live server.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from herald.core.settings import reset_settings
from herald.service import PostRequest
from herald.web import create_app
from tests.web import ADMIN, add_channels, add_people, settle

#: The host name schemathesis's in-process client sends.
ASGI_HOST = "testserver"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: Examples per operation and mode; small, so that the whole file stays well under a minute.
EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 3}


#: Bodies that succeed, so that success answers are checked against their schemas too (the
#: generated ones rarely name a channel or platform that exists).
GOOD_BODIES = {
    ("POST", "/api/v1/posts"): {"channels": ["m1", "x1"], "text": "hello", "now": True},
    ("POST", "/api/v1/channels"): {
        "name": "m2",
        "platform": "mastodon",
        "credentials": {"access_token": "tok-fuzz-1"},
        "base_url": "http://127.0.0.1:9/mastodon",
    },
    ("POST", "/api/v1/posts/{post_id}/mark-sent"): {"channel": "m1", "url": "https://social.example/@h/2"},
}


def _run(
    operation: Any,
    mode: GenerationMode,
    headers: dict[str, str],
    *,
    examples: int | None = None,
    expect: int | None = None,
    **fixed: Any,
) -> None:
    @seed(20260101)
    @settings(
        max_examples=examples or EXAMPLES[mode],
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is shown as found
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    def run(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        assert expect is None or response.status_code == expect, response.text

    run()


@pytest.fixture
def app(herald: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The app over ``herald``, answering the host name schemathesis's ASGI client sends."""
    monkeypatch.setenv("HERALD_ALLOWED_HOSTS", f"localhost,{ASGI_HOST}")
    reset_settings()
    return create_app(herald)


def test_every_operation_keeps_to_its_schema(herald: Any, app: Any) -> None:
    add_channels(herald)
    add_people(herald)
    herald.set_campaign("spring", requires_approval=True)
    posts = [
        herald.add_post(PostRequest(channels=["m1", "x1"], text=f"{i}", campaign="spring")) for i in range(3)
    ]
    settle(herald, posts[1], "uncertain", error="timed out")
    settle(herald, posts[2], "published", url="https://social.example/@herald/1")
    # Left alone by the generated cases, for the one known-good call that needs it.
    unsure = herald.add_post(PostRequest(channels=["m1"], text="?", campaign="spring"))
    settle(herald, unsure, "uncertain", error="timed out")
    headers = {"Authorization": f"Bearer {herald.create_token(ADMIN).token.reveal()}"}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app).include(path_regex=r"^/api/v1/")
    ran = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in EXAMPLES:
            _run(operation, mode, headers)
            if "{post_id}" in operation.path and mode is GenerationMode.POSITIVE:
                # Real posts too, so that actions reach the service, not only its 404.
                for post in posts:
                    _run(operation, mode, headers, examples=3, path_parameters={"post_id": post})
        good = GOOD_BODIES.get((operation.method.upper(), operation.path))
        if good is not None:
            where = {"path_parameters": {"post_id": unsure}} if "{post_id}" in operation.path else {}
            fixed = {"body": good, "media_type": "application/json", **where}
            expect = 201 if operation.path in ("/api/v1/posts", "/api/v1/channels") else 200
            _run(operation, GenerationMode.POSITIVE, headers, examples=1, expect=expect, **fixed)
        ran += 1
    assert ran >= 20
