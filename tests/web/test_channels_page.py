"""``/channels`` (issue 18): an admin adds a channel from the web and checks it with its
platform's dry call, over a real service and the platform simulator, signed in through the real
sign-in form. The attacker's side beside it: other roles and forged forms refused, hostile
names and URLs refused by name, and no credential ever on a page or in the logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from herald.core.settings import reset_settings
from herald.web.zones import ZONE_COOKIE
from tests.conftest import SECRET_KEY
from tests.web import ADMIN, MANAGER, PASSWORD, STAFF, add_people, csrf_of, web_client

#: The Mastodon token of the simulator's account: never on a page.
TOKEN = "page-mastodon-token-9f3a7c"
#: Telegram's bot token (a secret) and chat id (names the chat: may be shown).
BOT_TOKEN = "123456:page-telegram-bot-token-55aa"
CHAT_ID = "-1001234567890"


@pytest.fixture
def people(herald: Any) -> None:
    add_people(herald)


@pytest.fixture
def admin(herald: Any, people: None) -> Iterator[TestClient]:
    with web_client(herald, ADMIN) as c:
        yield c


def add_form(client: TestClient, platform: str = "mastodon", **data: Any) -> Any:
    """Post the add form as the page offers it for ``platform`` (its CSRF token)."""
    token = csrf_of(client.get("/channels", params={"platform": platform}).text)
    return client.post(
        "/channels", data={"csrf_token": token, "platform": platform, **data}, follow_redirects=False
    )


def mastodon(client: TestClient, sim: Any, name: str = "m-web", token: str = TOKEN, **extra: Any) -> Any:
    return add_form(
        client, name=name, credential_access_token=token, base_url=sim.url_for("mastodon"), **extra
    )


def check(client: TestClient, name: str) -> Any:
    token = csrf_of(client.get("/channels").text)
    return client.post(f"/channels/{name}/check", data={"csrf_token": token})


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# -- adding and checking --------------------------------------------------------------------------


def test_an_admin_adds_a_mastodon_channel_and_its_check_says_it_works(
    herald: Any, admin: TestClient, sim: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.add_account("mastodon", username="page_kr", access_token=TOKEN)
    page = admin.get("/channels", params={"platform": "mastodon"}).text
    assert 'href="/channels" aria-current="page"' in page
    assert 'type="password" id="add-access_token" name="credential_access_token"' in page
    r = mastodon(admin, sim)
    assert r.status_code == 303 and r.headers["location"] == "/channels"
    added = next(c for c in herald.list_channels() if c.name == "m-web")
    assert added.platform == "mastodon" and added.credentials == ("access_token",)
    assert added.base_url == sim.url_for("mastodon")
    listed = admin.get("/channels").text
    assert "Channel m-web is ready" in text_of(listed)
    assert '<th scope="row">m-web</th>' in listed and sim.url_for("mastodon") in listed
    r = check(admin, "m-web")
    assert r.status_code == 200
    said = text_of(r.text)
    assert "Channel m-web: Works" in said and "Mastodon accepts them" in said and "page_kr" in said
    for body in (page, listed, r.text, caplog.text):
        assert TOKEN not in body


def test_a_revoked_credential_is_reported_in_words_without_the_secret(
    herald: Any, admin: TestClient, sim: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.add_account("mastodon", username="page_kr", access_token=TOKEN)
    revoked = TOKEN + "-revoked"
    assert mastodon(admin, sim, "m-old", token=revoked).status_code == 303
    r = check(admin, "m-old")
    said = text_of(r.text)
    assert "Channel m-old: Does not work" in said and "Mastodon refused the credentials" in said
    assert "What to do: renew them on Mastodon" in said
    assert revoked not in r.text and revoked not in caplog.text


def test_identity_credentials_are_plain_fields_and_come_back_secrets_do_not(
    herald: Any, admin: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    page = admin.get("/channels", params={"platform": "telegram"}).text
    assert 'type="text" id="add-chat_id" name="credential_chat_id"' in page
    assert 'type="password" id="add-bot_token" name="credential_bot_token"' in page
    # Refused (a space in the name): the form comes back with the chat id, without the token.
    r = add_form(
        admin,
        "telegram",
        name="bad name",
        credential_bot_token=BOT_TOKEN,
        credential_chat_id=CHAT_ID,
        options="rate_limit=30/60",
    )
    assert r.status_code == 422
    assert "channel name must be 1–100 characters without spaces" in r.text
    assert f'value="{CHAT_ID}"' in r.text and "rate_limit=30/60" in r.text
    assert 'value="bad name"' in r.text
    assert BOT_TOKEN not in r.text and BOT_TOKEN not in caplog.text
    assert herald.list_channels() == []


def test_a_channel_on_the_default_api_root_says_default(herald: Any, admin: TestClient) -> None:
    assert add_form(admin, "telegram", name="tg", credential_bot_token=BOT_TOKEN, credential_chat_id=CHAT_ID)
    listed = admin.get("/channels").text
    row = listed[listed.index('<th scope="row">tg</th>') :]
    assert "default" in text_of(row[: row.index("</tr>")]) and BOT_TOKEN not in listed


# -- the attacker's side ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", [STAFF, MANAGER])
def test_other_roles_are_refused_and_see_no_link(herald: Any, people: None, sim: Any, who: str) -> None:
    with web_client(herald, who) as c:
        assert 'href="/channels"' not in c.get("/").text
        assert c.get("/channels").status_code == 403
        token = csrf_of(c.get("/account").text)
        r = c.post(
            "/channels",
            data={
                "csrf_token": token,
                "platform": "mastodon",
                "name": "sneaky",
                "credential_access_token": TOKEN,
                "base_url": sim.url_for("mastodon"),
            },
        )
        assert r.status_code == 403 and TOKEN not in r.text
        herald.add_channel("m1", "mastodon", {"access_token": TOKEN}, base_url=sim.url_for("mastodon"))
        assert c.post("/channels/m1/check", data={"csrf_token": token}).status_code == 403
    assert [ch.name for ch in herald.list_channels()] == ["m1"]


def test_signed_out_is_sent_to_sign_in(herald: Any) -> None:
    with web_client(herald, None) as c:
        r = c.get("/channels", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"


def test_a_form_without_its_csrf_token_is_refused(herald: Any, admin: TestClient, sim: Any) -> None:
    data = {"platform": "mastodon", "name": "forged", "credential_access_token": TOKEN}
    r = admin.post("/channels", data=data)
    assert r.status_code == 403 and TOKEN not in r.text
    r = admin.post("/channels", data={**data, "csrf_token": "0" * 64})
    assert r.status_code == 403
    herald.add_channel("m1", "mastodon", {"access_token": TOKEN}, base_url=sim.url_for("mastodon"))
    assert admin.post("/channels/m1/check").status_code == 403
    assert [ch.name for ch in herald.list_channels()] == ["m1"]


@pytest.mark.parametrize(
    ("fields", "field_label", "said"),
    [
        ({"base_url": "javascript:alert(1)"}, "Base URL", "base URL must start with http:// or https://"),
        ({"base_url": "file:///etc/passwd"}, "Base URL", "base URL must start with http:// or https://"),
        ({"base_url": "https://ok.example/\x07"}, "Base URL", "base URL must start with"),
        ({"name": 'say"hi'}, "Name", "without spaces, double quotes or control characters"),
        ({"name": "tab\there"}, "Name", "without spaces"),
        ({"name": "x" * 101}, "Name", "1–100 characters"),
        ({"name": ""}, "Name", "1–100 characters"),
        ({"credential_access_token": "  "}, "Credentials", "mastodon needs credential(s): access_token"),
        ({"options": "rate_limit=fast"}, "Options", "rate_limit must be N/SECONDS"),
        ({"options": "no equals sign"}, "Options", "line 1: expected KEY=VALUE"),
    ],
)
def test_hostile_input_is_refused_by_name_and_nothing_is_added(
    herald: Any, admin: TestClient, sim: Any, fields: dict[str, str], field_label: str, said: str
) -> None:
    data = {"name": "m-web", "credential_access_token": TOKEN, "base_url": sim.url_for("mastodon"), **fields}
    r = add_form(admin, "mastodon", **data)
    assert r.status_code == 422, r.text
    assert "Not added." in r.text and f"{field_label}: " in text_of(r.text) and said in r.text
    assert TOKEN not in r.text
    assert "javascript:alert" not in r.text or 'href="javascript' not in r.text
    assert herald.list_channels() == []


def test_an_unknown_platform_is_refused(herald: Any, admin: TestClient) -> None:
    r = add_form(admin, "myspace", name="old", credential_access_token=TOKEN)
    assert r.status_code == 422 and "choose one of the platforms offered" in r.text
    assert TOKEN not in r.text and herald.list_channels() == []
    # A platform given in the query string that is not one is just not chosen.
    assert "credential_" not in admin.get("/channels", params={"platform": "<script>"}).text


def test_a_markup_name_is_shown_as_text(herald: Any, admin: TestClient, sim: Any) -> None:
    assert mastodon(admin, sim, name="<b>bold</b>").status_code == 303
    page = admin.get("/channels").text
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page


def test_a_duplicate_name_is_refused(herald: Any, admin: TestClient, sim: Any) -> None:
    assert mastodon(admin, sim).status_code == 303
    r = mastodon(admin, sim, token=TOKEN + "-second")
    assert r.status_code == 409 and "a channel named &#39;m-web&#39; already exists" in r.text
    assert TOKEN not in r.text
    assert [c.name for c in herald.list_channels()] == ["m-web"]


def test_checking_an_unknown_channel_says_so(herald: Any, admin: TestClient) -> None:
    r = check(admin, "nope")
    assert r.status_code == 404 and "unknown channel &#39;nope&#39;" in r.text


# -- in the viewer's language and zone ---------------------------------------------------------


def test_the_doctors_words_are_in_the_viewers_language_and_zone(
    herald: Any, admin: TestClient, sim: Any
) -> None:
    """A token's expiry is kept in SQL as a time and worded in the request: a Korean page says
    it in Korean, in the viewer's zone; the same page in English says it in English. A check's
    verdict is worded in the request's language too."""
    sim.add_account("mastodon", username="page_kr", access_token=TOKEN)
    assert mastodon(admin, sim, "m-ko").status_code == 303
    herald.set_token_expiry("m-ko", datetime(2099, 3, 2, 0, 30))
    admin.cookies.set(ZONE_COOKIE, "Asia/Seoul")
    korean = text_of(admin.get("/channels", headers={"Accept-Language": "ko"}).text)
    assert "2099. 3. 2. 오전 9:30:00 +09:00에 만료(" in korean and "일 남음)" in korean, korean
    english = text_of(admin.get("/channels", headers={"Accept-Language": "en"}).text)
    assert "expires 2099-03-02T09:30:00+09:00, in " in english and " days" in english

    token = csrf_of(admin.get("/channels").text)
    r = admin.post("/channels/m-ko/check", data={"csrf_token": token}, headers={"Accept-Language": "ko"})
    said = text_of(r.text)
    assert r.status_code == 200 and "Mastodon이(가) 자격 증명을 받아들입니다: " in said and "page_kr" in said
    sim.add_account("mastodon", username="page_kr", access_token=TOKEN + "-new")
    r = admin.post("/channels/m-ko/check", data={"csrf_token": token}, headers={"Accept-Language": "ko"})
    said = text_of(r.text)
    assert "Mastodon이(가) 자격 증명을 거부했습니다" in said and "Mastodon에서 자격 증명을 갱신하세요" in said
    assert TOKEN not in r.text


# -- a web process holding only HERALD_WEB_KEYS -----------------------------------------------------


def test_with_the_web_keys_only_adding_works_and_checking_says_where_to_check(
    herald_env: dict[str, str], sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from herald.core.keyring import Keyring
    from herald.core.secret import Secret
    from herald.runtime import service

    web_keys = Keyring.from_masters(Secret(SECRET_KEY)).web_keys()
    monkeypatch.delenv("HERALD_SECRET_KEY")
    monkeypatch.setenv("HERALD_WEB_KEYS", web_keys)
    reset_settings()
    web = service()
    assert not web.box.opens
    web.add_user(ADMIN, PASSWORD, "admin", [])
    sim.add_account("mastodon", username="page_kr", access_token=TOKEN)
    with web_client(web, ADMIN) as c:
        assert mastodon(c, sim).status_code == 303
        calls = len(sim.requests_seen())
        r = check(c, "m-web")
        said = text_of(r.text)
        assert "Channel m-web: Not checked" in said and "HERALD_WEB_KEYS only" in said
        assert "herald doctor" in said and TOKEN not in r.text
        assert len(sim.requests_seen()) == calls  # nothing reached the platform
    # What the web process sealed, a process with the key opens and checks.
    monkeypatch.delenv("HERALD_WEB_KEYS")
    monkeypatch.setenv("HERALD_SECRET_KEY", SECRET_KEY)
    reset_settings()
    from herald.accounts import SYSTEM
    from herald.service.doctor import check_channel

    assert check_channel(service(), "m-web", actor=SYSTEM).status == "ok"


@pytest.mark.parametrize("name", ["a/b", "q?x=1", "h#1", "50%", "한국"])
def test_any_name_the_service_takes_can_be_checked(
    herald: Any, admin: TestClient, sim: Any, name: str
) -> None:
    sim.add_account("mastodon", username="page_kr", access_token=TOKEN)
    assert mastodon(admin, sim, name=name).status_code == 303
    page = admin.get("/channels").text
    action = re.search(r'<form method="post" action="([^"]+/check)"', page)
    assert action is not None
    r = admin.post(action.group(1).replace("&amp;", "&"), data={"csrf_token": csrf_of(page)})
    assert r.status_code == 200 and "Works" in text_of(r.text), r.text
