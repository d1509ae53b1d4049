"""The JSON API, ``/api/v1``, over a real service (Redis + SQLite) through the real app.

Each operation for the role it is meant for; 401 without a token or with a revoked one, 403 for
a role too small, 404/409/422 as problem details; credentials never in an answer; a browser's
session works too but must send its CSRF header to change anything; every list walks whole
through its cursors, and a cursor that is not one is a 422 naming ``cursor``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient

from herald.core.settings import reset_settings
from herald.service import STATUSES, PostRequest
from herald.web import create_app
from herald.web.api.document import openapi_document
from herald.web.api.schemas import Status
from herald.web.middleware import SECURITY_HEADERS
from tests.web import (
    ADMIN,
    ALL_TOKENS,
    BASE_URL,
    MANAGER,
    PASSWORD,
    PEOPLE,
    STAFF,
    X_CREDENTIALS,
    add_channels,
    csrf_of,
    jpeg_bytes,
    settle,
    web_client,
)

API = "/api/v1"
KOREAN = "안녕하세요 hello"
#: 150 Hangul syllables weigh 300 on X (CJK counts double), over its 280; Mastodon counts 150.
OVER_X_LIMIT = "가" * 150
PROBLEM = "application/problem+json"
FORM = "multipart/form-data; boundary=b"

Client = Callable[..., TestClient]


@pytest.fixture
def app(herald: Any) -> Any:
    add_channels(herald)
    return create_app(herald)


@pytest.fixture
def person(herald: Any) -> Callable[[str], str]:
    """``person(email)``: one of the fixture people (``PEOPLE``), added on first use (hashing a
    password is most of a test's setup, so only the people a test uses are made)."""
    added: set[str] = set()

    def ensure(email: str) -> str:
        if email in PEOPLE and email not in added:
            herald.add_user(email, PASSWORD, PEOPLE[email])
            added.add(email)
        return email

    return ensure


@pytest.fixture
def as_(app: Any, herald: Any, person: Callable[[str], str]) -> Iterator[Client]:
    """``as_(email, **token_options)``: a client carrying a new API token of that person
    (``as_()``: no token at all)."""
    made: list[TestClient] = []

    def client(email: str | None = None, **options: Any) -> TestClient:
        c = TestClient(app, base_url=BASE_URL, follow_redirects=False)
        if email is not None:
            token = herald.create_token(person(email), **options).token.reveal()
            c.headers["Authorization"] = f"Bearer {token}"
        made.append(c)
        return c

    yield client
    for c in made:
        c.close()


def problem_of(r: Any, status: int) -> dict[str, Any]:
    """The problem-details body of an error answer, checked for its shape."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith(PROBLEM), r.headers["content-type"]
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    assert isinstance(body["errors"], list)
    return body


def fields_of(r: Any, status: int = 422) -> dict[str, str]:
    """The ``errors`` of a problem answer, field → message."""
    return {e["field"]: e["message"] for e in problem_of(r, status)["errors"]}


def walk(client: TestClient, path: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, a page of ``limit`` at a time through its cursors."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        r = client.get(path, params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        page = r.json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert page["items"], "a page with a next cursor is never empty"
    raise AssertionError("the cursors never ended")


def operations(client: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every operation of the API's schema, path parameters filled in."""
    doc = client.get(f"{API}/openapi.json").json()
    out = []
    for path, ops in doc["paths"].items():
        if path.startswith(API):
            for method in ops:
                out.append((method.upper(), path.replace("{post_id}", "x").replace("{name}", "x")))
    return out


# -- the schema ----------------------------------------------------------------------------------

EXPECTED_OPERATIONS = {
    ("GET", "/channels"),
    ("POST", "/channels"),
    ("POST", "/channels/{name}/resume"),
    ("GET", "/channels/{name}/schedule"),
    ("PUT", "/channels/{name}/schedule"),
    ("GET", "/campaigns"),
    ("POST", "/campaigns"),
    ("PATCH", "/campaigns/{name}"),
    ("GET", "/posts"),
    ("POST", "/posts"),
    ("GET", "/posts/{post_id}"),
    *(
        ("POST", f"/posts/{{post_id}}/{action}")
        for action in ("cancel", "takedown", "retry", "release", "mark-sent", "approve", "return", "resubmit")
    ),
    ("POST", "/stop"),
    ("POST", "/resume"),
    ("GET", "/log"),
    ("GET", "/stats"),
    ("GET", "/audit"),
    ("GET", "/users"),
    ("GET", "/me"),
}


def test_schema_declares_bearer_tokens_and_problems_on_every_operation(as_: Client) -> None:
    doc = as_().get(f"{API}/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    [(scheme_name, scheme)] = schemes.items()
    assert scheme["type"] == "http" and scheme["scheme"].lower() == "bearer"
    found = set()
    for path, ops in doc["paths"].items():
        if not path.startswith(API):
            continue
        for method, op in ops.items():
            found.add((method.upper(), path.removeprefix(API)))
            assert {scheme_name: []} in op["security"], (method, path)
            expected = {"401", "403", "422"}
            if "{" in path:
                expected.add("404")
            assert expected <= set(op["responses"]), (method, path, sorted(op["responses"]))
            for status in set(op["responses"]) - {"200", "201"}:
                content = op["responses"][status]["content"]
                assert PROBLEM in content, (method, path, status)
                assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert found == EXPECTED_OPERATIONS
    body = doc["paths"][f"{API}/posts"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    form = body["multipart/form-data"]["schema"]["properties"]
    assert form["photos"]["items"]["format"] == "binary" and "alt_text" in form
    # Credentials may be written, never read.
    assert doc["components"]["schemas"]["ChannelIn"]["properties"]["credentials"]["writeOnly"] is True
    assert "credentials" not in doc["components"]["schemas"]["ChannelOut"]["properties"]
    assert "409" in doc["paths"][f"{API}/posts/{{post_id}}/approve"]["post"]["responses"]


def test_the_api_document_holds_the_api_alone() -> None:
    """What ``/api/v1/openapi.json`` serves once the app uses ``openapi_document``: no page in
    it, every error answer declared as problem+json only, operation ids to name methods by."""
    doc = openapi_document()
    assert {(m.upper(), p.removeprefix(API)) for p, ops in doc["paths"].items() for m in ops} == (
        EXPECTED_OPERATIONS
    )
    ids = []
    for ops in doc["paths"].values():
        for op in ops.values():
            ids.append(op["operationId"])
            for status, answer in op["responses"].items():
                if status.startswith("4"):
                    assert set(answer["content"]) == {PROBLEM}, (op["operationId"], status)
    assert len(set(ids)) == len(ids) and "get_post" in ids


def test_the_schema_knows_every_delivery_state() -> None:
    assert set(get_args(Status)) == set(STATUSES)


# -- who may call ------------------------------------------------------------------------------


def test_every_operation_answers_401_without_a_valid_token(as_: Client, herald: Any, person: Any) -> None:
    made = herald.create_token(person(ADMIN), name="soon revoked")
    revoked = as_()
    revoked.headers["Authorization"] = f"Bearer {made.token.reveal()}"
    assert revoked.get(f"{API}/me").status_code == 200
    assert herald.revoke_token(made.info.id)
    anonymous, garbage, basic = as_(), as_(), as_()
    garbage.headers["Authorization"] = "Bearer not-a-token"
    basic.headers["Authorization"] = "Basic " + base64.b64encode(b"admin:pw").decode()
    ops = operations(anonymous)
    assert len(ops) == len(EXPECTED_OPERATIONS)
    for client in (anonymous, revoked, garbage, basic):
        for method, path in ops:
            r = client.request(method, path, json={})
            problem_of(r, 401)
            assert r.headers["www-authenticate"] == "Bearer", (method, path)


#: (who, method, path, body): a role too small for the operation.
TOO_SMALL = [
    (STAFF, "POST", "/posts/{post}/approve", None),
    (STAFF, "POST", "/posts/{post}/return", {"note": "no"}),
    (STAFF, "POST", "/posts/{post}/cancel", None),
    (STAFF, "POST", "/posts/{post}/takedown", None),
    (STAFF, "POST", "/posts/{post}/retry", None),
    (STAFF, "POST", "/posts/{post}/mark-sent", {"channel": "m1"}),
    (STAFF, "GET", "/log", None),
    (STAFF, "GET", "/stats", None),
    (STAFF, "GET", "/audit", None),
    (STAFF, "POST", "/channels", {"name": "m9", "platform": "mastodon", "credentials": {}}),
    (MANAGER, "POST", "/channels", {"name": "m9", "platform": "mastodon", "credentials": {}}),
    (MANAGER, "POST", "/channels/m1/resume", None),
    (MANAGER, "PUT", "/channels/m1/schedule", {"slots": "daily 03:00"}),
    (STAFF, "PUT", "/channels/m1/schedule", {"slots": "daily 03:00"}),
    (STAFF, "POST", "/campaigns", {"name": "new"}),
    (MANAGER, "PATCH", "/campaigns/spring", {"requires_approval": True}),
    (MANAGER, "GET", "/users", None),
    (STAFF, "GET", "/users", None),
]


def test_a_role_too_small_is_refused_with_403(as_: Client, herald: Any) -> None:
    post = herald.add_post(PostRequest(channels=["m1"], text="hi", campaign="spring"))
    clients = {email: as_(email) for email in (STAFF, MANAGER)}
    for email, method, path, body in TOO_SMALL:
        r = clients[email].request(method, API + path.format(post=post), json=body)
        assert "role" in problem_of(r, 403)["detail"], (email, method, path)
    assert herald.list_posts()[0].deliveries == {"m1": "queued"}
    assert [c.name for c in herald.list_channels()] == ["m1", "x1"]
    assert [c.name for c in herald.list_campaigns()] == ["spring"]


def test_a_token_is_never_more_than_its_scope(as_: Client, herald: Any) -> None:
    herald.set_campaign("spring")
    post = herald.add_post(PostRequest(channels=["m1"], text="hi", campaign="spring"))
    as_staff = as_(ADMIN, role="staff")
    problem_of(as_staff.post(f"{API}/posts/{post}/cancel"), 403)
    problem_of(as_staff.get(f"{API}/log"), 403)
    elsewhere = as_(MANAGER, campaigns=["spring"])
    assert elsewhere.post(f"{API}/posts/{post}/cancel").status_code == 200
    other = herald.add_post(PostRequest(channels=["m1"], text="no campaign"))
    problem_of(elsewhere.post(f"{API}/posts/{other}/cancel"), 403)
    problem_of(elsewhere.get(f"{API}/posts/{other}"), 404)


# -- a browser's session -----------------------------------------------------------------------


def test_a_signed_in_browser_needs_its_csrf_header_to_change_anything(
    app: Any, herald: Any, person: Any
) -> None:
    # ``app`` adds the channels; the browser gets an app of its own over them.
    person(MANAGER)
    with web_client(herald, MANAGER) as browser:
        r = browser.get(f"{API}/me")
        assert r.status_code == 200 and r.json() == {
            "email": MANAGER,
            "roles": [{"campaign": None, "role": "manager"}],
            "token": None,
        }
        assert browser.get(f"{API}/posts").status_code == 200
        body = {"channels": ["m1"], "text": "from the browser", "now": True}
        problem_of(browser.post(f"{API}/posts", json=body), 403)
        problem_of(browser.post(f"{API}/posts", json=body, headers={"X-CSRF-Token": "forged"}), 403)
        assert herald.list_posts() == []
        token = csrf_of(browser.get("/", follow_redirects=True).text)
        r = browser.post(f"{API}/posts", json=body, headers={"X-CSRF-Token": token})
        assert r.status_code == 201, r.text
        post = r.json()["id"]
        problem_of(browser.post(f"{API}/posts/{post}/cancel"), 403)
        assert browser.post(f"{API}/posts/{post}/cancel", headers={"X-CSRF-Token": token}).status_code == 200


def test_a_bearer_call_needs_no_csrf_header(as_: Client) -> None:
    r = as_(STAFF).post(f"{API}/posts", json={"channels": ["m1"], "text": "hi", "now": True})
    assert r.status_code == 201, r.text


# -- channels ----------------------------------------------------------------------------------


def test_channels_show_credential_names_never_values(as_: Client, herald: Any) -> None:
    admin = as_(ADMIN)
    r = admin.post(
        f"{API}/channels",
        json={
            "name": "m2",
            "platform": "mastodon",
            "credentials": {"access_token": "tok-new-999888"},
            "base_url": "http://127.0.0.1:9/mastodon",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json() == {
        "id": r.json()["id"],
        "name": "m2",
        "platform": "mastodon",
        "base_url": "http://127.0.0.1:9/mastodon",
        "paused": False,
        "pause_reason": None,
        "credential_keys": ["access_token"],
    }
    channels = {c["name"]: c for c in walk(as_(STAFF), f"{API}/channels", 2)}
    assert list(channels) == ["m1", "m2", "x1"]
    assert channels["x1"]["credential_keys"] == sorted(X_CREDENTIALS)
    assert "tok-new-999888" not in admin.get(f"{API}/audit").text

    taken = admin.post(
        f"{API}/channels", json={"name": "m2", "platform": "mastodon", "credentials": {"access_token": "t"}}
    )
    assert "already exists" in fields_of(taken, 409)["name"]


#: (body, field, words of the message) of channels refused.
BAD_CHANNELS = [
    ({"name": "m3", "platform": "myspace", "credentials": {}}, "platform", "unknown platform"),
    ({"name": "m3", "platform": "mastodon", "credentials": {}}, "credential", "access_token"),
    (
        {"name": "m3", "platform": "mastodon", "credentials": {"access_token": "t", "pin": "1234"}},
        "credential",
        "does not use",
    ),
    ({"name": "m 3", "platform": "mastodon", "credentials": {"access_token": "t"}}, "name", "pattern"),
    (
        {
            "name": "m3",
            "platform": "mastodon",
            "credentials": {"access_token": "t"},
            "base_url": "ftp://x",
        },
        "base_url",
        "http",
    ),
    ({"name": "m3", "platform": "mastodon"}, "credentials", "required"),
    (
        {"name": "m3", "platform": "mastodon", "credentials": {"access_token": 5}},
        "credentials.access_token",
        "",
    ),
]


def test_channel_input_errors_name_the_field(as_: Client, herald: Any) -> None:
    admin = as_(ADMIN)
    for body, field, message in BAD_CHANNELS:
        r = admin.post(f"{API}/channels", json=body)
        errors = fields_of(r)
        assert message.lower() in errors.get(field, "?").lower(), (body, errors)
        assert "1234" not in r.text
    assert [c.name for c in herald.list_channels()] == ["m1", "x1"]


def test_resume_a_paused_channel(as_: Client, herald: Any) -> None:
    from herald.store.deliveries import pause_channel

    post = herald.add_post(PostRequest(channels=["m1"], text="held back"))
    [channel_id] = [c.id for c in herald.list_channels() if c.name == "m1"]
    with herald.db.session() as s:
        pause_channel(s, channel_id, "token refused")
    settle(herald, post, "held", error="channel paused")
    admin = as_(ADMIN)
    [m1] = [c for c in admin.get(f"{API}/channels").json()["items"] if c["name"] == "m1"]
    assert (m1["paused"], m1["pause_reason"]) == (True, "token refused")
    r = admin.post(f"{API}/channels/m1/resume")
    assert r.status_code == 200 and r.json() == {"released": 1}
    assert herald.list_posts()[0].deliveries == {"m1": "queued"}
    problem_of(admin.post(f"{API}/channels/nope/resume"), 404)


# -- campaigns ---------------------------------------------------------------------------------


def test_the_emergency_stop_is_one_call_for_those_who_may_act(as_: Client, herald: Any) -> None:
    herald.set_campaign("봄", require_alt_text=False)
    herald.set_campaign("berlin", require_alt_text=False)
    herald.add_user("kim@herald.test", PASSWORD, "manager", ["봄"])
    at = datetime.now(UTC) + timedelta(hours=1)
    ours = herald.add_post(PostRequest(channels=["m1"], text="봄", at=at, campaign="봄"))
    theirs = herald.add_post(PostRequest(channels=["m1"], text="berlin", at=at, campaign="berlin"))
    kim = as_("kim@herald.test")
    assert problem_of(as_(STAFF).post(f"{API}/stop", json={"campaign": "봄"}), 403)
    assert problem_of(kim.post(f"{API}/stop"), 403)  # everything needs an installation-wide role
    assert problem_of(kim.post(f"{API}/stop", json={"campaign": "nowhere"}), 404)
    assert "takedown_since_seconds" in fields_of(
        kim.post(f"{API}/stop", json={"campaign": "봄", "takedown_since_seconds": 5})
    )
    assert {d.status for d in herald.delivery_log()} == {"queued"}  # none of that changed a thing

    r = kim.post(f"{API}/stop", json={"campaign": "봄"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "scope": "봄",
        "held": 1,
        "in_flight": 0,
        "settled": True,
        "stop_seconds": r.json()["stop_seconds"],
        "taken_down": [],
    }
    assert herald.delivery_log(post_id=ours)[0].status == "held"
    assert herald.delivery_log(post_id=theirs)[0].status == "queued"
    r = kim.post(f"{API}/resume", json={"campaign": "봄"})
    assert r.status_code == 200 and r.json() == {"scope": "봄", "released": 1}
    assert herald.delivery_log(post_id=ours)[0].status == "queued"


def test_campaigns_are_made_and_changed_by_admins(as_: Client, herald: Any) -> None:
    admin = as_(ADMIN)
    r = admin.post(
        f"{API}/campaigns", json={"name": "봄", "timezone": "Asia/Seoul", "requires_approval": True}
    )
    assert r.status_code == 201, r.text
    assert r.json() == {
        "name": "봄",
        "timezone": "Asia/Seoul",
        "late_tolerance_seconds": r.json()["late_tolerance_seconds"],
        "require_alt_text": True,  # the installation's defaults for a new campaign
        "protect_faces": "review",
        "requires_approval": True,
        "paused": False,
    }
    assert "already exists" in fields_of(admin.post(f"{API}/campaigns", json={"name": "봄"}), 409)["name"]
    r = admin.patch(f"{API}/campaigns/봄", json={"protect_faces": "blur", "requires_approval": False})
    assert r.status_code == 200
    assert (r.json()["protect_faces"], r.json()["requires_approval"], r.json()["timezone"]) == (
        "blur",
        False,
        "Asia/Seoul",
    )
    assert "unknown campaign" in fields_of(admin.patch(f"{API}/campaigns/여름", json={}), 404)["campaign"]
    assert (
        "time zone"
        in fields_of(admin.patch(f"{API}/campaigns/봄", json={"timezone": "Nowhere/Land"}))["timezone"]
    )
    assert "late_tolerance_seconds" in fields_of(
        admin.patch(f"{API}/campaigns/봄", json={"late_tolerance_seconds": -1})
    )
    assert [c["name"] for c in walk(as_(STAFF), f"{API}/campaigns", 1)] == ["spring", "봄"]


def test_campaign_staff_see_only_their_campaigns(as_: Client, herald: Any) -> None:
    for name in ("a", "b", "c"):
        herald.set_campaign(name)
    herald.add_user("b-staff@herald.test", PASSWORD, "staff", ["b"])
    assert [c["name"] for c in walk(as_(ADMIN), f"{API}/campaigns", 2)] == ["a", "b", "c", "spring"]
    assert [c["name"] for c in walk(as_("b-staff@herald.test"), f"{API}/campaigns", 2)] == ["b"]


# -- posts ---------------------------------------------------------------------------------------


def test_queue_list_and_get_posts(as_: Client, herald: Any) -> None:
    staff = as_(STAFF)
    herald.set_campaign("summer")
    r = staff.post(f"{API}/posts", json={"channels": ["m1"], "text": KOREAN, "now": True})
    assert r.status_code == 201, r.text
    now = r.json()
    assert r.headers["location"] == f"{BASE_URL}{API}/posts/{now['id']}"
    assert (now["text"], now["deliveries"], now["approval"]) == (KOREAN, {"m1": "queued"}, "approved")
    assert now["created_by"].startswith(f"{STAFF} (token ")
    r = staff.post(
        f"{API}/posts",
        json={
            "channels": ["m1", "x1"],
            "text": "later",
            "text_for": {"x1": "later on X"},
            "at": "2099-06-01T09:30:00+09:00",
            "campaign": "summer",
        },
    )
    assert r.status_code == 201, r.text
    later = r.json()
    assert later["scheduled_at"] == "2099-06-01T00:30:00Z" and later["campaign"] == "summer"

    assert [p["id"] for p in walk(staff, f"{API}/posts", 10)] == [later["id"], now["id"]]
    assert [p["id"] for p in walk(staff, f"{API}/posts", 10, campaign="summer")] == [later["id"]]
    assert staff.get(f"{API}/posts/{now['id']}").json() == now
    problem_of(staff.get(f"{API}/posts/nope"), 404)
    log = {
        r["channel"]: r["text"]
        for r in as_(MANAGER).get(f"{API}/log", params={"post_id": later["id"]}).json()["items"]
    }
    assert log == {"m1": "later", "x1": "later on X"}


#: (JSON body, field, words of the message) of posts refused.
BAD_POSTS = [
    ({"channels": ["m1"], "text": "hi", "at": "2099-06-01T09:30:00"}, "at", "timezone"),
    ({"channels": ["m1"], "text": "hi"}, "at", "now: true"),
    ({"channels": ["m1"], "text": "hi", "now": True, "at": "2099-06-01T09:30:00Z"}, "at", "not both"),
    ({"channels": ["m1"], "text": "hi", "at": "2001-06-01T09:30:00Z"}, "at", "in the past"),
    ({"channels": ["nope"], "text": "hi", "now": True}, "channel", "unknown channel"),
    ({"channels": ["x1"], "text": OVER_X_LIMIT, "now": True}, "post", "X allows 280"),
    ({"channels": ["m1"], "text": "hi", "now": True, "photos": ["a.jpg"]}, "photos", "multipart"),
    ({"channels": ["m1"], "text": "hi", "now": True, "colour": "red"}, "colour", "Extra inputs"),
    ({"text": "hi", "now": True}, "channels", "Field required"),
    ({"channels": [], "text": "hi", "now": True}, "channels", "at least 1"),
    ([1, 2], "body", "valid dictionary"),
]
#: (body, content type) of posts that are neither JSON nor a multipart form.
UNREADABLE_POSTS = [
    # A cross-site form can send text/plain without a preflight, never application/json.
    (b'{"channels": ["m1"], "text": "hi", "now": true}', "text/plain"),
    (b'{"channels": ["m1"], "text": "hi", "now": tru', "application/json"),
    (b"\xff\xfe\x00", "application/json"),
    (b"", "application/json"),
    (b"channels=m1&text=hi&now=1", "application/x-www-form-urlencoded"),
]


def test_post_errors_name_the_field(as_: Client, herald: Any) -> None:
    staff = as_(STAFF)
    for body, field, message in BAD_POSTS:
        errors = fields_of(staff.post(f"{API}/posts", json=body))
        assert message in errors.get(field, "?"), (body, errors)
    assert herald.list_posts() == []


def test_a_post_must_be_json_or_a_multipart_form(as_: Client, herald: Any) -> None:
    staff = as_(STAFF)
    for content, content_type in UNREADABLE_POSTS:
        r = staff.post(f"{API}/posts", content=content, headers={"content-type": content_type})
        assert "body" in fields_of(r), (content, content_type)
    assert herald.list_posts() == []


def _alt_texts(herald: Any, post_id: str) -> list[str]:
    from sqlalchemy import select

    from herald.store.models import PostPhoto

    with herald.db.session() as s:
        return list(
            s.execute(
                select(PostPhoto.alt_text).where(PostPhoto.post_id == post_id).order_by(PostPhoto.position)
            ).scalars()
        )


def test_a_post_with_photos_and_alt_text_as_a_multipart_form(as_: Client, herald: Any) -> None:
    r = as_(STAFF).post(
        f"{API}/posts",
        data={
            "channels": ["m1", "x1"],
            "text": "two photos",
            "text_for": '{"x1": "two photos on X"}',
            "at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            "alt_text": ["a blue square", "a wider one"],
            "faces": ["keep", "blur"],
        },
        files=[
            ("photos", ("one.jpg", jpeg_bytes(), "image/jpeg")),
            ("photos", ("two.jpg", jpeg_bytes((96, 48)), "image/jpeg")),
        ],
    )
    assert r.status_code == 201, r.text
    post = r.json()
    assert (post["photos"], post["deliveries"]) == (2, {"m1": "queued", "x1": "queued"})
    assert _alt_texts(herald, post["id"]) == ["a blue square", "a wider one"]


#: (form fields, files, field, words of the message) of multipart posts refused.
BAD_FORMS = [
    ({"channels": "m1", "now": "1"}, [("photos", ("a.jpg", b"not a photo", "image/jpeg"))], "photo", ""),
    (
        {"channels": "m1", "now": "1"},
        [("photos", (f"{i}.jpg", jpeg_bytes(), "image/jpeg")) for i in range(5)],
        "photos",
        "",
    ),
    (
        {"channels": "m1", "now": "1", "alt_text": ["a", "b"]},
        [("photos", ("a.jpg", jpeg_bytes(), "image/jpeg"))],
        "alt_text",
        "more alt",
    ),
    (
        {"channels": "m1", "now": "1", "faces": "melt"},
        [("photos", ("a.jpg", jpeg_bytes(), "image/jpeg"))],
        "faces",
        "blur",
    ),
    (
        {"channels": "m1", "now": "maybe"},
        [("photos", ("a.jpg", jpeg_bytes(), "image/jpeg"))],
        "now",
        "boolean",
    ),
    (
        {"channels": "m1", "now": "1", "text_for": "{"},
        [("photos", ("a.jpg", jpeg_bytes(), "image/jpeg"))],
        "text_for",
        "JSON",
    ),
    ({"now": "1"}, [("photos", ("a.jpg", jpeg_bytes(), "image/jpeg"))], "channels", "at least 1"),
    ({"channels": "m1", "now": "1"}, [("text", ("a.txt", b"hi", "text/plain"))], "text", "not a file"),
]


def test_multipart_errors_name_the_field(as_: Client, herald: Any) -> None:
    staff = as_(STAFF)
    for data, files, field, message in BAD_FORMS:
        errors = fields_of(staff.post(f"{API}/posts", data=data, files=files))
        assert message in errors.get(field, "?"), (data, field, errors)


def test_each_channel_may_have_its_own_language(as_: Client, herald: Any) -> None:
    """``language_for`` beside ``text_for``: a channel's own language, returned with its text
    under ``variants``; a body without it is as before (``language`` for every channel)."""
    staff = as_(STAFF)
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = staff.post(
        f"{API}/posts",
        json={
            "channels": ["m1", "x1"],
            "text": "Peace starts with listening.",
            "language": "en",
            "text_for": {"m1": KOREAN},
            "language_for": {"m1": "ko"},
            "at": later,
        },
    )
    assert r.status_code == 201, r.text
    post = r.json()
    assert post["language"] == "en" and post["variants"] == {"m1": {"text": KOREAN, "language": "ko"}}
    assert staff.get(f"{API}/posts/{post['id']}").json() == post
    rows = {e.channel: e.delivery_id for e in herald.delivery_log(post_id=post["id"])}
    staged = herald.queue.payloads(list(rows.values()))
    assert {n: staged[d].language for n, d in rows.items()} == {"m1": "ko", "x1": "en"}
    log = as_(MANAGER).get(f"{API}/log", params={"post_id": post["id"]}).json()["items"]
    assert {e["channel"]: (e["text"], e["language"]) for e in log} == {
        "m1": (KOREAN, "ko"),
        "x1": ("Peace starts with listening.", "en"),
    }

    r = staff.post(
        f"{API}/posts",
        data={"channels": ["m1", "x1"], "text": "form", "language_for": '{"x1": "en-GB"}', "at": later},
        files=[("photos", ("one.jpg", jpeg_bytes(), "image/jpeg"))],
    )
    assert r.status_code == 201, r.text
    assert r.json()["variants"] == {"x1": {"text": "form", "language": "en-GB"}}
    old = staff.post(
        f"{API}/posts", json={"channels": ["m1"], "text": "plain", "language": "ko", "at": later}
    )
    assert old.status_code == 201 and (old.json()["language"], old.json()["variants"]) == ("ko", {})


#: Languages a hostile or careless client may send for one channel.
HOSTILE_LANGUAGES = [
    "k" * 5000,
    "en-US-" + "a" * 11,
    "ko;DROP TABLE posts",
    "<img src=x onerror=alert(1)>",
    "ko\u202e",
    "../../etc/passwd",
    "ko_KR",
    "한국어",
]


def test_a_hostile_language_is_refused_by_channel_and_nothing_is_queued(as_: Client, herald: Any) -> None:
    staff = as_(STAFF)
    for value in HOSTILE_LANGUAGES:
        r = staff.post(
            f"{API}/posts",
            json={"channels": ["m1", "x1"], "text": "hi", "now": True, "language_for": {"x1": value}},
        )
        errors = fields_of(r)
        assert errors["language-for"].startswith("channel x1: "), (value, errors)
        assert "is not a language tag" in errors["language-for"], (value, errors)
        assert len(r.text) < 2000  # a long value is not repeated whole
    errors = fields_of(
        staff.post(f"{API}/posts", json={"channels": ["m1"], "text": "hi", "now": True, "language": "korean"})
    )
    assert "'korean' is not a language tag" in errors["language"]
    for bad in ({"m1": 5}, "ko", ["ko"]):
        r = staff.post(
            f"{API}/posts", json={"channels": ["m1"], "text": "hi", "now": True, "language_for": bad}
        )
        assert any(f.startswith("language_for") for f in fields_of(r)), bad
    r = staff.post(
        f"{API}/posts",
        data={"channels": "m1", "now": "1", "language_for": "{"},
        files=[("photos", ("a.jpg", jpeg_bytes(), "image/jpeg"))],
    )
    assert "JSON" in fields_of(r)["language_for"]
    assert herald.list_posts() == []
    assert herald.list_posts() == []


def test_a_campaign_that_requires_alt_text_refuses_a_photo_without(as_: Client, herald: Any) -> None:
    herald.set_campaign("careful", require_alt_text=True)
    r = as_(STAFF).post(
        f"{API}/posts",
        data={"channels": "m1", "now": "true", "campaign": "careful"},
        files=[("photos", ("a.jpg", jpeg_bytes(), "image/jpeg"))],
    )
    assert "requires alt text" in fields_of(r)["alt"]


# -- approval --------------------------------------------------------------------------------------


def test_staff_posts_wait_for_approval_then_are_queued(as_: Client, herald: Any) -> None:
    herald.set_campaign("gated", requires_approval=True)
    staff, manager = as_(STAFF), as_(MANAGER)
    body = {"channels": ["m1", "x1"], "text": "please", "now": True, "campaign": "gated"}
    pending = staff.post(f"{API}/posts", json=body).json()
    assert (pending["approval"], pending["deliveries"]) == ("pending", {"m1": "scheduled", "x1": "scheduled"})
    assert [p["id"] for p in walk(manager, f"{API}/posts", 5, approval="pending")] == [pending["id"]]
    problem_of(staff.post(f"{API}/posts/{pending['id']}/approve"), 403)

    r = manager.post(f"{API}/posts/{pending['id']}/approve")
    assert r.status_code == 200, r.text
    assert (r.json()["approval"], r.json()["approved_by"], r.json()["deliveries"]) == (
        "approved",
        r.json()["approved_by"],
        {"m1": "queued", "x1": "queued"},
    )
    assert r.json()["approved_by"].startswith(MANAGER)
    assert "not waiting" in fields_of(manager.post(f"{API}/posts/{pending['id']}/approve"), 409)["post"]
    problem_of(manager.post(f"{API}/posts/nope/approve"), 404)
    # A manager's own post needs no approval.
    assert manager.post(f"{API}/posts", json=body).json()["approval"] == "approved"


def test_a_post_sent_back_is_resubmitted(as_: Client, herald: Any) -> None:
    herald.set_campaign("gated", requires_approval=True)
    staff, manager = as_(STAFF), as_(MANAGER)
    body = {"channels": ["m1"], "text": "please", "now": True, "campaign": "gated"}
    post = staff.post(f"{API}/posts", json=body).json()["id"]
    assert "note" in fields_of(manager.post(f"{API}/posts/{post}/return", json={"note": "  "}))
    assert "note" in fields_of(manager.post(f"{API}/posts/{post}/return", json={}))
    problem_of(staff.post(f"{API}/posts/{post}/resubmit"), 409)
    r = manager.post(f"{API}/posts/{post}/return", json={"note": "너무 길어요"})
    assert (r.json()["approval"], r.json()["approval_note"]) == ("returned", "너무 길어요")
    problem_of(manager.post(f"{API}/posts/{post}/return", json={"note": "again"}), 409)
    r = staff.post(f"{API}/posts/{post}/resubmit")
    assert r.status_code == 200 and r.json()["approval"] == "pending"
    problem_of(staff.post(f"{API}/posts/{post}/resubmit"), 409)


# -- actions on a post -------------------------------------------------------------------------


def test_cancel_and_take_down(as_: Client, herald: Any) -> None:
    manager = as_(MANAGER)
    queued = herald.add_post(PostRequest(channels=["m1", "x1"], text="bye"))
    r = manager.post(f"{API}/posts/{queued}/cancel")
    assert r.status_code == 200 and len(r.json()["cancelled"]) == 2 and r.json()["too_late"] == []
    assert herald.list_posts()[0].deliveries == {"m1": "cancelled", "x1": "cancelled"}
    problem_of(manager.post(f"{API}/posts/nope/cancel"), 404)

    out = herald.add_post(PostRequest(channels=["m1", "x1"], text="out"))
    settle(herald, out, "published", url="https://social.example/@herald/1")
    assert (
        "was not queued"
        in fields_of(manager.post(f"{API}/posts/{out}/takedown", json={"channel": "nope"}), 404)["channel"]
    )
    r = manager.post(f"{API}/posts/{out}/takedown", json={"channel": "m1"})
    assert r.status_code == 200 and r.json()["deleting"] == ["m1"]
    r = manager.post(f"{API}/posts/{out}/takedown")
    assert r.status_code == 200 and "x1" in r.json()["deleting"] + r.json()["cannot_delete"]


def test_retry_release_and_mark_sent(as_: Client, herald: Any) -> None:
    manager = as_(MANAGER)
    failed = herald.add_post(PostRequest(channels=["x1"], text="x"))
    settle(herald, failed, "failed", error="HTTP 503")
    problem_of(manager.post(f"{API}/posts/{failed}/retry", json={"channel": "nope"}), 404)
    r = manager.post(f"{API}/posts/{failed}/retry", json={"channel": "x1"})
    assert r.status_code == 200 and len(r.json()["deliveries"]) == 1
    assert "no failed or uncertain" in fields_of(manager.post(f"{API}/posts/{failed}/retry"), 409)["post"]

    held = herald.add_post(PostRequest(channels=["m1"], text="late"))
    settle(herald, held, "held", error="missed its window")
    r = manager.post(f"{API}/posts/{held}/release")
    assert r.status_code == 200 and len(r.json()["deliveries"]) == 1
    problem_of(manager.post(f"{API}/posts/{held}/release"), 409)

    unsure = herald.add_post(PostRequest(channels=["m1"], text="?"))
    settle(herald, unsure, "uncertain", error="timed out")
    url = "https://social.example/@herald/7"
    assert "url" in fields_of(
        manager.post(f"{API}/posts/{unsure}/mark-sent", json={"channel": "m1", "url": "javascript:x"})
    )
    assert "channel" in fields_of(manager.post(f"{API}/posts/{unsure}/mark-sent", json={"url": url}))
    r = manager.post(f"{API}/posts/{unsure}/mark-sent", json={"channel": "m1", "url": url})
    assert r.status_code == 200 and r.json()["deliveries"] == {"m1": "published"}
    problem_of(manager.post(f"{API}/posts/{unsure}/mark-sent", json={"channel": "m1"}), 409)
    [row] = manager.get(f"{API}/log", params={"post_id": unsure}).json()["items"]
    assert (row["status"], row["remote_url"]) == ("published", url)


# -- the log, statistics, the audit log ----------------------------------------------------------


def test_log_and_its_filters(as_: Client, herald: Any) -> None:
    manager = as_(MANAGER)
    a = herald.add_post(PostRequest(channels=["m1", "x1"], text="both", campaign="spring"))
    b = herald.add_post(PostRequest(channels=["m1"], text="one"))
    settle(herald, b, "published", url="https://social.example/@herald/2")
    rows = walk(manager, f"{API}/log", 2)
    assert len(rows) == 3
    assert {(r["post_id"], r["channel"]) for r in walk(manager, f"{API}/log", 5, channel="x1")} == {(a, "x1")}
    published = walk(manager, f"{API}/log", 5, status="published")
    assert [(r["post_id"], r["remote_url"]) for r in published] == [(b, "https://social.example/@herald/2")]
    assert {r["post_id"] for r in walk(manager, f"{API}/log", 5, campaign="spring")} == {a}
    assert {r["platform"] for r in walk(manager, f"{API}/log", 5, platform="x")} == {"x"}
    assert "status" in fields_of(manager.get(f"{API}/log", params={"status": "exploded"}))
    assert "limit" in fields_of(manager.get(f"{API}/log", params={"limit": 0}))
    assert "limit" in fields_of(manager.get(f"{API}/log", params={"limit": 10_000}))


def test_stats(as_: Client, herald: Any) -> None:
    p = herald.add_post(PostRequest(channels=["m1"], text="one", campaign="spring"))
    settle(herald, p, "published", url="https://social.example/@herald/3")
    herald.add_post(PostRequest(channels=["m1"], text="two", campaign="spring"))
    herald.add_post(PostRequest(channels=["x1"], text="three"))
    rows = walk(as_(MANAGER), f"{API}/stats", 1)
    assert rows == [
        {"campaign": None, "platform": "x", "counts": {"queued": 1}, "success_rate": None},
        {
            "campaign": "spring",
            "platform": "mastodon",
            "counts": {"published": 1, "queued": 1},
            "success_rate": 1.0,
        },
    ]


def test_audit_log_for_managers(as_: Client, herald: Any) -> None:
    manager = as_(MANAGER)
    # (Events of posts of no campaign are installation-wide: admins see them.)
    post = herald.add_post(PostRequest(channels=["m1"], text="bye", campaign="spring"))
    assert manager.post(f"{API}/posts/{post}/cancel").status_code == 200
    events = walk(manager, f"{API}/audit", 3)
    ids = [e["id"] for e in events]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    [cancel] = [e for e in events if e["action"] == "post.cancel"]
    assert (cancel["target_id"], cancel["actor"].split(" ")[0]) == (post, MANAGER)
    assert cancel["detail"] == {"cancelled": 1, "too_late": 0}


# -- people --------------------------------------------------------------------------------------


def test_users_for_admins(as_: Client, herald: Any, person: Any) -> None:
    for email in (MANAGER, STAFF):
        person(email)
    users = walk(as_(ADMIN), f"{API}/users", 2)
    assert [u["email"] for u in users] == sorted([ADMIN, MANAGER, STAFF])
    assert set(users[0]) == {"email", "roles", "second_factor", "disabled", "created_at", "last_login_at"}
    assert {u["email"]: u["roles"] for u in users}[STAFF] == [{"campaign": None, "role": "staff"}]


def test_me_says_what_the_token_may_act_as(as_: Client, herald: Any) -> None:
    herald.set_campaign("spring")
    herald.set_campaign("autumn")
    r = as_(ADMIN, role="manager", campaigns=["spring"]).get(f"{API}/me")
    assert r.json() == {
        "email": ADMIN,
        "roles": [{"campaign": "spring", "role": "manager"}],
        "token": {"role": "manager", "campaigns": ["spring"]},
    }
    r = as_(STAFF).get(f"{API}/me")
    assert r.json() == {
        "email": STAFF,
        "roles": [{"campaign": None, "role": "staff"}],
        "token": {"role": "staff", "campaigns": None},
    }


# -- pages -----------------------------------------------------------------------------------------


def test_posts_and_log_walk_whole_without_duplicates_or_gaps(as_: Client, herald: Any) -> None:
    soon = datetime.now(UTC) + timedelta(days=1)
    ids = []
    for i in range(23):
        # Ties in the scheduled time (three posts a minute): the id breaks them.
        at = soon + timedelta(minutes=i // 3)
        ids.append(herald.add_post(PostRequest(channels=["m1", "x1"], text=f"post {i}", at=at)))
    manager = as_(MANAGER)
    for limit in (1, 4, 500):
        posts = walk(manager, f"{API}/posts", limit)
        assert sorted(p["id"] for p in posts) == sorted(ids)
        assert len({p["id"] for p in posts}) == 23
        keys = [(p["scheduled_at"], p["id"]) for p in posts]
        assert keys == sorted(keys, reverse=True)
        log = walk(manager, f"{API}/log", limit)
        assert len({r["delivery_id"] for r in log}) == len(log) == 46


def test_a_page_holds_still_while_posts_are_added(as_: Client, herald: Any) -> None:
    soon = datetime.now(UTC) + timedelta(days=1)
    old = [herald.add_post(PostRequest(channels=["m1"], text=f"{i}", at=soon)) for i in range(6)]
    manager = as_(MANAGER)
    first = manager.get(f"{API}/posts", params={"limit": 3}).json()
    # Newer posts come before the cursor: the rest of the walk neither repeats nor skips.
    herald.add_post(PostRequest(channels=["m1"], text="newer", at=soon + timedelta(hours=1)))
    rest = walk(manager, f"{API}/posts", 3, cursor=first["next_cursor"])
    assert sorted(p["id"] for p in first["items"] + rest) == sorted(old)


def test_lists_stay_within_what_the_token_may_see(as_: Client, herald: Any) -> None:
    for name in ("a", "b"):
        herald.set_campaign(name)
    herald.add_user("a-manager@herald.test", PASSWORD, "manager", ["a"])
    mine = [herald.add_post(PostRequest(channels=["m1"], text=f"a{i}", campaign="a")) for i in range(5)]
    others = [herald.add_post(PostRequest(channels=["m1"], text=f"b{i}", campaign="b")) for i in range(5)]
    others.append(herald.add_post(PostRequest(channels=["m1"], text="none")))
    client = as_("a-manager@herald.test")
    assert sorted(p["id"] for p in walk(client, f"{API}/posts", 2)) == sorted(mine)
    assert sorted(r["post_id"] for r in walk(client, f"{API}/log", 2)) == sorted(mine)
    assert [r["campaign"] for r in walk(client, f"{API}/stats", 2)] == ["a"]
    assert {e["campaign"] for e in walk(client, f"{API}/audit", 2)} <= {"a"}
    for post in others:
        problem_of(client.get(f"{API}/posts/{post}"), 404)
        problem_of(client.post(f"{API}/posts/{post}/cancel"), 403)


def test_short_lists_walk_whole_too(as_: Client, herald: Any, person: Any) -> None:
    for email in (MANAGER, STAFF):
        person(email)
    for i in range(4):
        herald.add_channel(f"extra{i}", "mastodon", {"access_token": "t"}, base_url="http://127.0.0.1:9/m")
        herald.set_campaign(f"c{i}")
        herald.add_post(PostRequest(channels=[f"extra{i}", "x1"], text="hi", campaign=f"c{i}"))
    herald.add_user("person@herald.test", PASSWORD, "staff")
    herald.add_post(PostRequest(channels=["m1"], text="of no campaign"))
    admin = as_(ADMIN)
    for path, key, count in [
        ("/channels", "name", 6),
        ("/campaigns", "name", 5),  # and the fixtures' "spring"
        ("/users", "email", 4),
        ("/stats", None, 9),
        ("/audit", "id", None),
    ]:
        every = walk(admin, API + path, 500)
        for limit in (1, 3):
            assert walk(admin, API + path, limit) == every, (path, limit)
        if key is not None:
            assert len({row[key] for row in every}) == len(every)
        if count is not None:
            assert len(every) == count, path
    stats = walk(admin, f"{API}/stats", 2)
    assert [(r["campaign"], r["platform"]) for r in stats[:3]] == [
        (None, "mastodon"),
        ("c0", "mastodon"),
        ("c0", "x"),
    ]


def _cursor(client: TestClient, path: str) -> str:
    cursor: str = client.get(API + path, params={"limit": 1}).json()["next_cursor"]
    assert cursor
    return cursor


def test_a_cursor_that_is_not_one_is_refused(as_: Client, herald: Any) -> None:
    for i in range(3):
        herald.add_post(PostRequest(channels=["m1", "x1"], text=f"{i}", campaign="spring"))
    admin = as_(ADMIN)
    posts_cursor = _cursor(admin, "/posts")
    flipped = posts_cursor[:-3] + ("A" if posts_cursor[-3] != "A" else "B") + posts_cursor[-2:]
    forged = base64.urlsafe_b64encode(b'["posts",["2001-01-01T00:00:00","x"]]').decode().rstrip("=")
    bad = [
        "garbage",
        "!!!",
        "é",
        "%00",
        "A" * 5000,
        flipped,
        forged,
        posts_cursor + "A",
        _cursor(admin, "/log"),  # another list's
    ]
    for path in ("/posts", "/log", "/channels", "/campaigns", "/users", "/stats", "/audit"):
        for cursor in bad:
            if path == "/log" and cursor == bad[-1]:
                continue
            errors = fields_of(admin.get(API + path, params={"cursor": cursor}))
            assert list(errors) == ["cursor"], (path, cursor, errors)


# -- what never leaves -------------------------------------------------------------------------


def test_no_credential_value_in_any_answer(as_: Client, herald: Any) -> None:
    p = herald.add_post(PostRequest(channels=["m1", "x1"], text=KOREAN))
    settle(herald, p, "failed", error="HTTP 401: token refused")
    admin = as_(ADMIN)
    secret = "tok-brand-new-777"
    responses = [
        admin.get(f"{API}/openapi.json"),
        admin.post(
            f"{API}/channels",
            json={"name": "m5", "platform": "mastodon", "credentials": {"access_token": secret}},
        ),
        admin.post(
            f"{API}/channels",
            json={"name": "m5", "platform": "mastodon", "credentials": {"access_token": secret}},
        ),
        admin.post(
            f"{API}/channels",
            json={"name": "m6", "platform": "mastodon", "credentials": {"access_token": secret, "x": secret}},
        ),
        admin.post(
            f"{API}/channels",
            json={"name": "m 7", "platform": "mastodon", "credentials": {"access_token": secret}},
        ),
        admin.post(f"{API}/channels", json={"name": "m8", "platform": "mastodon", "credentials": [secret]}),
        admin.post(
            f"{API}/channels",
            json={"name": "m8", "platform": "mastodon", "credentials": {"access_token": [secret]}},
        ),
        admin.get(f"{API}/channels"),
        admin.get(f"{API}/posts"),
        admin.get(f"{API}/posts/{p}"),
        admin.get(f"{API}/log"),
        admin.get(f"{API}/stats"),
        admin.get(f"{API}/audit"),
        admin.get(f"{API}/users"),
        admin.get(f"{API}/me"),
        admin.post(f"{API}/posts", json={"channels": ["x1"], "text": OVER_X_LIMIT, "now": True}),
        admin.post(f"{API}/posts/{p}/retry", json={"channel": "x1"}),
    ]
    for r in responses:
        assert r.status_code < 500, (r.request.url, r.text)
        blob = r.text + "\n".join(f"{k}: {v}" for k, v in r.headers.items())
        for value in (*ALL_TOKENS, secret, PASSWORD):
            assert value not in blob, (r.request.url, value)


def test_security_headers_on_api_answers(as_: Client) -> None:
    admin = as_(ADMIN)
    for r in (admin.get(f"{API}/posts"), admin.post(f"{API}/posts", json={}), as_().get(f"{API}/me")):
        for name, value in SECURITY_HEADERS.items():
            assert r.headers.get(name) == value, (r.request.url, name)


# -- every database ----------------------------------------------------------------------------


def raw_form(fields: list[tuple[bytes, bytes]], photo: tuple[bytes, bytes] | None = None) -> bytes:
    """A multipart body as a client may send it (the test client's encoder would escape a NUL)."""
    parts = [b'Content-Disposition: form-data; name="%s"\r\n\r\n%s' % field for field in fields]
    if photo is not None:
        name, data = photo
        head = b'Content-Disposition: form-data; name="photos"; filename="%s"\r\n' % name
        parts.append(head + b"Content-Type: image/jpeg\r\n\r\n" + data)
    return b"".join(b"--b\r\n" + part + b"\r\n" for part in parts) + b"--b--\r\n"


@pytest.fixture
def herald_on_any_db(any_db_url: str, herald_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    from herald.runtime import service

    monkeypatch.setenv("HERALD_DATABASE_URL", any_db_url)
    reset_settings()
    return service()


def test_pages_walk_on_every_database(herald_on_any_db: Any) -> None:
    herald = herald_on_any_db
    add_channels(herald)
    herald.add_user(MANAGER, PASSWORD, "manager")
    soon = datetime.now(UTC) + timedelta(days=1)
    ids = [
        herald.add_post(PostRequest(channels=["m1", "x1"], text=f"{i}", at=soon + timedelta(minutes=i // 4)))
        for i in range(11)
    ]
    with TestClient(create_app(herald), base_url=BASE_URL) as client:
        client.headers["Authorization"] = f"Bearer {herald.create_token(MANAGER).token.reveal()}"
        posts = walk(client, f"{API}/posts", 3)
        assert sorted(p["id"] for p in posts) == sorted(ids) and len(posts) == 11
        log = walk(client, f"{API}/log", 3)
        assert len({r["delivery_id"] for r in log}) == len(log) == 22
        problem_of(client.get(f"{API}/posts", params={"cursor": "garbage"}), 422)


def test_what_the_database_cannot_keep_is_refused_first(herald_on_any_db: Any) -> None:
    """PostgreSQL cannot keep a NUL in a text column, nor a campaign name longer than its audit
    events' target; the API refuses them as bad input, never with a server error after the
    other checks passed."""
    herald = herald_on_any_db
    add_channels(herald)
    herald.add_user(ADMIN, PASSWORD, "admin")
    text = raw_form([(b"channels", b"m1"), (b"now", b"1"), (b"text", b"a\x00b")])
    photo = raw_form([(b"channels", b"m1"), (b"now", b"1")], (b"a\x00.jpg", jpeg_bytes()))
    with TestClient(create_app(herald), base_url=BASE_URL, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {herald.create_token(ADMIN).token.reveal()}"
        for r, field in [
            (client.post(f"{API}/posts", json={"channels": ["m1"], "text": "a\x00b", "now": True}), "text"),
            (client.post(f"{API}/posts", json={"channels": ["m1\x00"], "now": True}), "channels.0"),
            (client.post(f"{API}/posts", content=text, headers={"content-type": FORM}), "text"),
            (client.post(f"{API}/posts", content=photo, headers={"content-type": FORM}), "photos"),
            (client.post(f"{API}/campaigns", json={"name": "a\x00b"}), "name"),
            (client.post(f"{API}/campaigns", json={"name": "c" * 101}), "name"),
            (
                client.post(f"{API}/posts", json={"channels": ["m1"], "now": True, "campaign": "c" * 101}),
                "campaign",
            ),
            (client.patch(f"{API}/campaigns/a%00b", json={}), "name"),
            (client.get(f"{API}/posts", params={"campaign": "a\x00b"}), "campaign"),
            (client.get(f"{API}/posts/a%00b"), "post_id"),
            (client.get(f"{API}/log", params={"channel": "\x00"}), "channel"),
            (
                client.post(
                    f"{API}/channels",
                    json={"name": "m2", "platform": "mastodon", "credentials": {"access_token": "\x00"}},
                ),
                "credentials.access_token",
            ),
        ]:
            assert field in fields_of(r), (r.request.url, r.text)
        assert herald.list_posts() == [] and len(herald.list_channels()) == 2
