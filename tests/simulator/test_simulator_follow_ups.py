"""Threads replies and Facebook, Instagram and LinkedIn comments in the simulator, driven with
plain ``requests``: the wire shapes, the refusals, the quotas and listings the connectors rely
on (their own tests are in tests/platforms/test_follow_ups.py)."""

from __future__ import annotations

import io
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image

from herald.simulator import Fault, Simulator

THREADS_USER, THREADS_TOKEN = "1234567890", "THQ-herald-token"
PAGE, PAGE_TOKEN = "1234567890", "EAAB-page-token"
OTHER_PAGE, OTHER_PAGE_TOKEN = "2222222222", "EAAB-other-page-token"
IG_USER, IG_TOKEN = "17841400000000000", "IGQ-herald-token"
OTHER_IG_USER, OTHER_IG_TOKEN = "17841400000000001", "IGQ-other-token"
ORG, LI_TOKEN = "urn:li:organization:5515715", "AQV-herald-token"
OTHER_ORG, OTHER_LI_TOKEN = "urn:li:organization:999", "AQV-other-token"

ACCOUNTS: list[dict[str, str]] = [
    {
        "platform": "threads",
        "username": "herald.threads",
        "threads_user_id": THREADS_USER,
        "access_token": THREADS_TOKEN,
    },
    {"platform": "facebook", "username": "HeraldPage", "page_id": PAGE, "page_access_token": PAGE_TOKEN},
    {
        "platform": "facebook",
        "username": "OtherPage",
        "page_id": OTHER_PAGE,
        "page_access_token": OTHER_PAGE_TOKEN,
    },
    {"platform": "instagram", "username": "herald.ig", "ig_user_id": IG_USER, "access_token": IG_TOKEN},
    {
        "platform": "instagram",
        "username": "other.ig",
        "ig_user_id": OTHER_IG_USER,
        "access_token": OTHER_IG_TOKEN,
    },
    {"platform": "linkedin", "username": "herald-org", "organization_urn": ORG, "access_token": LI_TOKEN},
    {
        "platform": "linkedin",
        "username": "other-org",
        "organization_urn": OTHER_ORG,
        "access_token": OTHER_LI_TOKEN,
    },
]


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(platforms=("threads", "facebook", "instagram", "linkedin")) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def clean(sim: Simulator) -> None:
    sim.reset()
    sim.threads_processing_polls = 0
    sim.threads_publish_limit = 250
    sim.threads_reply_limit = 1000
    sim.add_accounts(ACCOUNTS)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def graph_codes(response: requests.Response) -> tuple[int, int, int | None]:
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] and error["fbtrace_id"]
    return response.status_code, error["code"], error.get("error_subcode")


# -- Threads replies ----------------------------------------------------------------------


def threads(sim: Simulator) -> str:
    return sim.url_for("threads") + "/v1.0"


def container(sim: Simulator, **fields: str) -> requests.Response:
    return requests.post(
        f"{threads(sim)}/{THREADS_USER}/threads", headers=bearer(THREADS_TOKEN), data=fields, timeout=5
    )


def publish(sim: Simulator, creation_id: str) -> requests.Response:
    return requests.post(
        f"{threads(sim)}/{THREADS_USER}/threads_publish",
        headers=bearer(THREADS_TOKEN),
        data={"creation_id": creation_id},
        timeout=5,
    )


def thread_post(sim: Simulator, text: str, reply_to: str | None = None) -> str:
    fields = {"media_type": "TEXT", "text": text, **({"reply_to_id": reply_to} if reply_to else {})}
    made = container(sim, **fields)
    assert made.status_code == 200, made.text
    published = publish(sim, made.json()["id"])
    assert published.status_code == 200, published.text
    media_id: str = published.json()["id"]
    return media_id


def threads_get(sim: Simulator, path: str, **params: str) -> dict[str, Any]:
    answer = requests.get(f"{threads(sim)}{path}", headers=bearer(THREADS_TOKEN), params=params, timeout=5)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_threads_reply_records_its_parent_and_root_and_is_listed_apart(sim: Simulator) -> None:
    root = thread_post(sim, "one")
    two = thread_post(sim, "two", reply_to=root)
    three = thread_post(sim, "three", reply_to=two)
    extras = {e.remote_id: dict(e.extra) for e in sim.ledger("threads")}
    assert "reply_to" not in extras[root]
    assert (extras[two]["reply_to"], extras[two]["root_post"]) == (root, root)
    assert (extras[three]["reply_to"], extras[three]["root_post"]) == (two, root)
    # The user's threads leave replies out; the user's replies and a post's replies list them.
    assert [p["id"] for p in threads_get(sim, f"/{THREADS_USER}/threads")["data"]] == [root]
    assert [p["id"] for p in threads_get(sim, "/me/replies")["data"]] == [three, two]
    fields = "id,text,replied_to,root_post,is_reply"
    [listed] = threads_get(sim, f"/{root}/replies", fields=fields)["data"]
    assert listed == {
        "id": two,
        "text": "two",
        "replied_to": {"id": root},
        "root_post": {"id": root},
        "is_reply": True,
    }
    assert threads_get(sim, f"/{root}", fields="is_reply")["is_reply"] is False


def test_a_threads_reply_to_an_unknown_or_deleted_post_is_refused(sim: Simulator) -> None:
    assert graph_codes(container(sim, media_type="TEXT", text="x", reply_to_id="17999999999999999"))[:2] == (
        400,
        100,
    )
    assert graph_codes(container(sim, media_type="TEXT", text="x", reply_to_id="../me"))[:2] == (400, 100)
    root = thread_post(sim, "root")
    made = container(sim, media_type="TEXT", text="late reply", reply_to_id=root).json()["id"]
    deleted = requests.delete(f"{threads(sim)}/{root}", headers=bearer(THREADS_TOKEN), timeout=5)
    assert deleted.status_code == 200
    refused = publish(sim, made)
    assert graph_codes(refused)[:2] == (400, 100)
    assert "does not exist or was deleted" in refused.json()["error"]["error_user_msg"]
    assert [e.text for e in sim.ledger("threads")] == ["root"]


def test_threads_replies_have_their_own_quota(sim: Simulator) -> None:
    sim.threads_publish_limit = 1
    sim.threads_reply_limit = 1
    root = thread_post(sim, "root")  # the one post
    thread_post(sim, "reply", reply_to=root)  # the one reply: the post quota is not touched
    over = publish(sim, container(sim, media_type="TEXT", text="second reply", reply_to_id=root).json()["id"])
    assert graph_codes(over) == (400, 9, 2207042)
    assert "1 replies per 24 hours" in over.json()["error"]["error_user_msg"]
    limit = threads_get(
        sim, f"/{THREADS_USER}/threads_publishing_limit", fields="quota_usage,reply_quota_usage,reply_config"
    )
    assert limit == {
        "data": [
            {
                "quota_usage": 1,
                "reply_quota_usage": 1,
                "reply_config": {"quota_total": 1, "quota_duration": 86400},
            }
        ]
    }


def test_a_carousel_item_cannot_be_a_reply(sim: Simulator) -> None:
    root = thread_post(sim, "root")
    refused = container(
        sim,
        media_type="IMAGE",
        image_url="http://127.0.0.1:9/a.jpg",
        is_carousel_item="true",
        reply_to_id=root,
    )
    assert graph_codes(refused)[:2] == (400, 100)


# -- Facebook comments --------------------------------------------------------------------


def facebook(sim: Simulator) -> str:
    return sim.url_for("facebook") + "/v21.0"


def page_post(sim: Simulator, message: str) -> str:
    answer = requests.post(
        f"{facebook(sim)}/{PAGE}/feed", headers=bearer(PAGE_TOKEN), data={"message": message}, timeout=5
    )
    post_id: str = answer.json()["id"]
    return post_id


def fb_comment(sim: Simulator, post_id: str, message: str, token: str = PAGE_TOKEN) -> requests.Response:
    return requests.post(
        f"{facebook(sim)}/{post_id}/comments", headers=bearer(token), data={"message": message}, timeout=5
    )


def test_facebook_comments_are_listed_read_and_shown(sim: Simulator) -> None:
    post_id = page_post(sim, "Page post")
    first = fb_comment(sim, post_id, "첫 댓글").json()["id"]
    second = fb_comment(sim, post_id, "second", token=OTHER_PAGE_TOKEN).json()["id"]
    assert first.startswith(post_id.split("_")[1] + "_")
    listing = requests.get(
        f"{facebook(sim)}/{post_id}/comments",
        headers=bearer(PAGE_TOKEN),
        params={"order": "reverse_chronological", "fields": "id,message,from"},
        timeout=5,
    ).json()
    assert [(c["id"], c["message"], c["from"]["id"]) for c in listing["data"]] == [
        (second, "second", OTHER_PAGE),
        (first, "첫 댓글", PAGE),
    ]
    node = requests.get(
        f"{facebook(sim)}/{first}", headers=bearer(PAGE_TOKEN), params={"fields": "permalink_url"}, timeout=5
    )
    assert node.json()["permalink_url"].endswith(f"?comment_id={first.split('_')[1]}")
    entry = next(e for e in sim.ledger("facebook") if e.remote_id == first)
    assert entry.extra == {"comment_on": post_id} and entry.text == "첫 댓글"
    page = requests.get(entry.url, timeout=5)
    assert page.status_code == 200 and "첫 댓글" in page.text


def test_facebook_refuses_bad_comments_the_graph_way(sim: Simulator) -> None:
    post_id = page_post(sim, "Page post")
    assert graph_codes(fb_comment(sim, f"{PAGE}_1", "no such post")) == (400, 100, 33)
    assert graph_codes(fb_comment(sim, post_id, "  "))[:2] == (400, 100)
    assert graph_codes(fb_comment(sim, post_id, "x" * 8001))[:2] == (400, 100)
    assert fb_comment(sim, post_id, "x" * 8000).status_code == 200
    assert len(sim.ledger("facebook")) == 2


def test_facebook_comment_deletion_and_faults(sim: Simulator) -> None:
    post_id = page_post(sim, "Page post")
    comment = fb_comment(sim, post_id, "to delete").json()["id"]
    # Another Page may not remove the Page's comment under the Page's own post.
    theirs = requests.delete(f"{facebook(sim)}/{comment}", headers=bearer(OTHER_PAGE_TOKEN), timeout=5)
    assert graph_codes(theirs) == (400, 100, 33)
    assert requests.delete(f"{facebook(sim)}/{comment}", headers=bearer(PAGE_TOKEN), timeout=5).json() == {
        "success": True
    }
    assert sim.deleted("facebook") == {comment}
    sim.inject(Fault("rate_limit", platform="facebook", path="/comments", reset_in=120))
    assert graph_codes(fb_comment(sim, post_id, "throttled"))[:2] == (400, 32)
    assert [e.text for e in sim.ledger("facebook")] == ["Page post", "to delete"]


# -- Instagram comments -------------------------------------------------------------------


def instagram(sim: Simulator) -> str:
    return sim.url_for("instagram") + "/v21.0"


def ig_media(sim: Simulator, photo_url: str) -> str:
    made = requests.post(
        f"{instagram(sim)}/{IG_USER}/media",
        headers=bearer(IG_TOKEN),
        data={"image_url": photo_url, "caption": "사진"},
        timeout=5,
    )
    assert made.status_code == 200, made.text
    published = requests.post(
        f"{instagram(sim)}/{IG_USER}/media_publish",
        headers=bearer(IG_TOKEN),
        data={"creation_id": made.json()["id"]},
        timeout=5,
    )
    media_id: str = published.json()["id"]
    return media_id


@pytest.fixture
def photo_url(sim: Simulator) -> str:
    """A JPEG the simulator can fetch: one it serves itself, uploaded as a LinkedIn image."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "gold").save(out, "JPEG")
    api = sim.url_for("linkedin")
    headers = {
        **bearer(LI_TOKEN),
        "LinkedIn-Version": time.strftime("%Y%m"),
        "X-Restli-Protocol-Version": "2.0.0",
    }
    init = requests.post(
        f"{api}/rest/images",
        params={"action": "initializeUpload"},
        json={"initializeUploadRequest": {"owner": ORG}},
        headers=headers,
        timeout=5,
    ).json()["value"]
    assert (
        requests.put(init["uploadUrl"], data=out.getvalue(), headers=bearer(LI_TOKEN), timeout=5).status_code
        == 201
    )
    return f"{sim.base_url}/_sim/media/linkedin/{init['image']}"


def ig_comment(sim: Simulator, media_id: str, message: str, token: str = IG_TOKEN) -> requests.Response:
    return requests.post(
        f"{instagram(sim)}/{media_id}/comments", headers=bearer(token), data={"message": message}, timeout=5
    )


def test_instagram_comments_on_own_media(sim: Simulator, photo_url: str) -> None:
    media_id = ig_media(sim, photo_url)
    comment = ig_comment(sim, media_id, "#봄 first comment").json()["id"]
    listing = requests.get(
        f"{instagram(sim)}/{media_id}/comments", headers=bearer(IG_TOKEN), timeout=5
    ).json()
    assert [(c["id"], c["text"]) for c in listing["data"]] == [(comment, "#봄 first comment")]
    counted = requests.get(
        f"{instagram(sim)}/{media_id}",
        headers=bearer(IG_TOKEN),
        params={"fields": "comments_count"},
        timeout=5,
    )
    assert counted.json()["comments_count"] == 1
    entry = next(e for e in sim.ledger("instagram") if e.remote_id == comment)
    media_entry = next(e for e in sim.ledger("instagram") if e.remote_id == media_id)
    assert entry.extra == {"comment_on": media_id} and entry.url == media_entry.url
    # Refusals: someone else's media, an empty text, too many hashtags.
    assert graph_codes(ig_comment(sim, media_id, "hi", token=OTHER_IG_TOKEN)) == (400, 100, 33)
    assert graph_codes(ig_comment(sim, media_id, ""))[:2] == (400, 100)
    assert graph_codes(ig_comment(sim, media_id, " ".join(f"#t{i}" for i in range(31))))[:2] == (400, 100)
    # A comment can be deleted; the media cannot (Graph answers as for a missing node).
    assert graph_codes(
        requests.delete(f"{instagram(sim)}/{media_id}", headers=bearer(IG_TOKEN), timeout=5)
    ) == (400, 100, 33)
    assert requests.delete(f"{instagram(sim)}/{comment}", headers=bearer(IG_TOKEN), timeout=5).json() == {
        "success": True
    }
    assert sim.deleted("instagram") == {comment}


# -- LinkedIn comments --------------------------------------------------------------------


def li_headers(token: str = LI_TOKEN) -> dict[str, str]:
    return {**bearer(token), "LinkedIn-Version": time.strftime("%Y%m"), "X-Restli-Protocol-Version": "2.0.0"}


def li_post(sim: Simulator, commentary: str) -> str:
    body = {
        "author": ORG,
        "commentary": commentary,
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED"},
        "lifecycleState": "PUBLISHED",
    }
    answer = requests.post(
        f"{sim.url_for('linkedin')}/rest/posts", json=body, headers=li_headers(), timeout=5
    )
    return answer.headers["x-restli-id"]


def li_comments(sim: Simulator, urn: str) -> str:
    return f"{sim.url_for('linkedin')}/rest/socialActions/{urllib.parse.quote(urn, safe='')}/comments"


def li_comment(sim: Simulator, urn: str, text: str, token: str = LI_TOKEN, **body: Any) -> requests.Response:
    payload = {"actor": ORG, "object": urn, "message": {"text": text}, **body}
    return requests.post(li_comments(sim, urn), json=payload, headers=li_headers(token), timeout=5)


def test_linkedin_comment_create_list_delete(sim: Simulator) -> None:
    urn = li_post(sim, "LinkedIn post")
    created = li_comment(sim, urn, "첫 댓글 (first)")
    assert created.status_code == 201
    body = created.json()
    number = created.headers["x-restli-id"]
    assert body["commentUrn"] == f"urn:li:comment:({urn},{number})" and body["id"] == number
    assert (body["actor"], body["object"], body["message"]["text"]) == (ORG, urn, "첫 댓글 (first)")
    listing = requests.get(
        li_comments(sim, urn), params={"start": 0, "count": 10}, headers=li_headers(), timeout=5
    ).json()
    assert listing["paging"]["total"] == 1 and [c["commentUrn"] for c in listing["elements"]] == [
        body["commentUrn"]
    ]
    entry = next(e for e in sim.ledger("linkedin") if e.remote_id == body["commentUrn"])
    assert entry.extra == {"comment_on": urn}
    one = f"{li_comments(sim, urn)}/{number}"
    # Delete needs the actor, and only the comment's own.
    assert requests.delete(one, headers=li_headers(), timeout=5).status_code == 403
    assert (
        requests.delete(
            one, params={"actor": OTHER_ORG}, headers=li_headers(OTHER_LI_TOKEN), timeout=5
        ).status_code
        == 403
    )
    assert requests.delete(one, params={"actor": ORG}, headers=li_headers(), timeout=5).status_code == 204
    assert requests.delete(one, params={"actor": ORG}, headers=li_headers(), timeout=5).status_code == 404
    assert sim.deleted("linkedin") == {body["commentUrn"]}


def test_linkedin_refuses_bad_comments(sim: Simulator) -> None:
    urn = li_post(sim, "LinkedIn post")
    assert li_comment(sim, urn, "as someone else", actor=OTHER_ORG).status_code == 403
    assert li_comment(sim, urn, "elsewhere", object="urn:li:share:1").status_code == 422
    assert li_comment(sim, urn, " ").status_code == 422
    assert li_comment(sim, urn, "x" * 1251).status_code == 422
    assert li_comment(sim, "urn:li:share:7999999999999999999", "nobody").status_code == 404
    no_version = requests.post(li_comments(sim, urn), json={}, headers=bearer(LI_TOKEN), timeout=5)
    assert no_version.status_code == 400 and no_version.json()["code"] == "VERSION_MISSING"
    assert li_comment(sim, urn, "x" * 1250).status_code == 201
    sim.inject(Fault("error", platform="linkedin", path="/comments", status=503))
    assert li_comment(sim, urn, "hit by a fault").status_code == 503
    assert [e.text for e in sim.ledger("linkedin")] == ["LinkedIn post", "x" * 1250]
