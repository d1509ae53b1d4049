"""Signing in and out through the real app: the sign-in form's own CSRF token, a new session id
at every step that grants more, sign-out ending the session, the second factor (and its first
setup where admins must have one), throttling, and the cookie's flags behind a proxy."""

from __future__ import annotations

from collections.abc import Iterator
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from fastapi.testclient import TestClient

from herald.core.settings import get_settings, reset_settings
from herald.web import create_app
from tests.web import ADMIN, BASE_URL, MANAGER, PASSWORD, STAFF, add_people, csrf_of

SESSION = "herald_session"


@pytest.fixture
def app(herald: Any) -> Any:
    add_people(herald)
    return create_app(herald)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as c:
        yield c


def _login(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_the_form_has_the_contract_fields(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    for field in ('name="email"', 'name="password"', 'type="hidden" name="csrf_token"'):
        assert field in page.text
    assert page.headers["cache-control"] == "no-store"


def _set_session(r: Any) -> str:
    """The session id a response sets."""
    cookie = SimpleCookie()
    cookie.load(r.headers["set-cookie"])
    return cookie[SESSION].value


def test_sign_in_sets_a_new_session_and_sign_out_ends_it(client: TestClient, herald: Any) -> None:
    form = client.get("/login")
    login = SimpleCookie()
    login.load(form.headers["set-cookie"])
    client.cookies.clear()
    # A session id planted in the browser (by a sibling subdomain, say) is never promoted.
    r = client.post(
        "/login",
        data={"email": STAFF, "password": PASSWORD, "csrf_token": csrf_of(form.text)},
        headers={"Cookie": f"herald_login={login['herald_login'].value}; {SESSION}=planted-by-an-attacker"},
    )
    assert (r.status_code, r.headers["location"]) == (303, "/")
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    sid = _set_session(r)
    assert sid != "planted-by-an-attacker" and len(sid) >= 32
    assert client.get("/").status_code == 200
    # Signed in, the sign-in page sends you on.
    assert client.get("/login").headers["location"] == "/"
    token = csrf_of(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token}).headers["location"] == "/login"
    assert herald.session(sid) is None
    client.cookies.set(SESSION, sid)  # a copy of the old cookie is worth nothing now
    assert client.get("/").headers["location"] == "/login"


def test_wrong_password_and_unknown_email_read_the_same(client: TestClient) -> None:
    wrong = _login(client, STAFF, "not the password")
    unknown = _login(client, "nobody@herald.test", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.text and "Wrong email or password." in unknown.text
    assert SESSION not in client.cookies


def test_a_sign_in_post_without_the_forms_token_is_refused(client: TestClient, app: Any) -> None:
    r = client.post("/login", data={"email": STAFF, "password": PASSWORD, "csrf_token": "x" * 64})
    assert r.status_code == 403 and SESSION not in client.cookies
    # Another browser's token does not fit this browser's cookie.
    other = TestClient(app, base_url=BASE_URL)
    token = csrf_of(other.get("/login").text)
    client.cookies.clear()
    r = client.post("/login", data={"email": STAFF, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 403


def test_twenty_wrong_passwords_lock_the_account_for_a_while(client: TestClient) -> None:
    statuses = [_login(client, MANAGER, f"wrong {i}").status_code for i in range(20)]
    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
    right = _login(client, MANAGER)
    assert right.status_code == 429 and int(right.headers["retry-after"]) > 0
    assert "too many failed sign-ins" in right.text
    assert SESSION not in client.cookies
    # Other accounts are not locked by it.
    assert _login(client, STAFF).status_code == 303


def test_a_second_factor_is_asked_and_a_code_is_good_once(client: TestClient, herald: Any) -> None:
    uri = herald.enable_second_factor(ADMIN)
    totp = pyotp.TOTP(parse_qs(urlsplit(uri).query)["secret"][0])
    r = _login(client, ADMIN)
    assert r.headers["location"] == "/login/code"
    pending = client.cookies[SESSION]
    # Half signed in is not signed in.
    assert client.get("/").headers["location"] == "/login"
    assert client.get("/api/v1/me").status_code == 401
    page = client.get("/login/code")
    token = csrf_of(page.text)
    bad = client.post("/login/code", data={"code": "000000", "csrf_token": token})
    assert bad.status_code == 401 and "Wrong or already used code." in bad.text
    code = totp.now()
    ok = client.post("/login/code", data={"code": code, "csrf_token": token})
    assert ok.headers["location"] == "/"
    assert client.cookies[SESSION] != pending and herald.session(pending) is None
    assert client.get("/").status_code == 200
    # The same code again, in another browser: refused.
    other = TestClient(client.app, base_url=BASE_URL, follow_redirects=False)
    _login(other, ADMIN)
    replay = other.post(
        "/login/code", data={"code": code, "csrf_token": csrf_of(other.get("/login/code").text)}
    )
    assert replay.status_code == 401


def test_admins_set_up_a_second_factor_when_the_setting_says_so(
    herald: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(herald, "require_admin_second_factor", True)
    add_people(herald)
    client = TestClient(create_app(herald), base_url=BASE_URL, follow_redirects=False)
    r = _login(client, ADMIN)
    assert r.headers["location"] == "/login/setup"
    page = client.get("/login/setup").text
    uri = page.split('id="setup-uri">', 1)[1].split("<", 1)[0].replace("&amp;", "&")
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    sealed = page.split('name="sealed" value="', 1)[1].split('"', 1)[0]
    token = csrf_of(page)
    # A tampered candidate is refused; the right code for the shown secret signs in.
    tampered = client.post(
        "/login/code",
        data={"code": pyotp.TOTP(secret).now(), "sealed": sealed[:-4] + "AAAA", "csrf_token": token},
    )
    assert tampered.status_code == 401
    ok = client.post(
        "/login/code", data={"code": pyotp.TOTP(secret).now(), "sealed": sealed, "csrf_token": token}
    )
    assert ok.headers["location"] == "/", ok.text
    assert client.get("/").status_code == 200
    # Staff are not asked.
    staff = TestClient(client.app, base_url=BASE_URL, follow_redirects=False)
    assert _login(staff, STAFF).headers["location"] == "/"


def test_the_cookie_is_secure_behind_a_trusted_proxy_only(
    herald: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_people(herald)
    monkeypatch.setenv("HERALD_TRUSTED_PROXIES", "10.0.0.0/8")
    reset_settings()
    app = create_app(herald, settings=get_settings())
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}

    def session_cookie(peer: str) -> str:
        # Cookies by hand: a Secure cookie is not sent back by a client that spoke http.
        c = TestClient(app, base_url=BASE_URL, follow_redirects=False, client=(peer, 5000), headers=https)
        form = c.get("/login")
        login = SimpleCookie()
        login.load(form.headers["set-cookie"])
        c.cookies.clear()
        r = c.post(
            "/login",
            data={"email": STAFF, "password": PASSWORD, "csrf_token": csrf_of(form.text)},
            headers={"Cookie": f"herald_login={login['herald_login'].value}"},
        )
        assert r.status_code == 303, r.text
        return str(r.headers["set-cookie"])

    assert "Secure" in session_cookie("10.1.2.3")
    # The same headers from anyone else are not believed.
    assert "Secure" not in session_cookie("198.51.100.7")
