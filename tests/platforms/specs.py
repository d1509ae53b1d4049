"""The eight platforms as the connector tests set them up: credentials, simulator accounts and
settings, and the draft their tests send (see ``harness.PlatformSpec``).

Texts mix Korean and English, so that counting, encoding and offsets are exercised on every
platform. A constant a platform's tests need besides its spec is named after the platform.
"""

from __future__ import annotations

import time

from herald.platforms.base import Connector, Photo
from herald.platforms.bluesky import BlueskyConnector
from herald.platforms.facebook import FacebookConnector
from herald.platforms.instagram import InstagramConnector
from herald.platforms.linkedin import LinkedInConnector
from herald.platforms.mastodon import MastodonConnector
from herald.platforms.telegram import TelegramConnector
from herald.platforms.threads import ThreadsConnector
from herald.platforms.x import XConnector
from tests.platforms.harness import PlatformSpec, jpeg, png

#: The plain text most platforms' tests send.
TEXT = "안녕하세요, Herald! 봄 캠페인이 시작됩니다. Spring campaign starts today."

X = PlatformSpec(
    connector=XConnector,
    username="alice",
    credentials={
        "api_key": "x-api-key-0123456789",
        "api_secret": "x-api-secret-abcdefghijklmnop",
        "access_token": "x-access-token-9876543210",
        "access_token_secret": "x-access-secret-zyxwvutsrq",
    },
    secret_keys=("api_key", "api_secret", "access_token", "access_token_secret"),
    text=TEXT,
    settings={"x_async_media": 0},
    create=("/2/tweets", "POST"),
    retry_tolerance=1.5,  # epoch-second resolution of the reset headers
)

MASTODON = PlatformSpec(
    connector=MastodonConnector,
    username="alice",
    credentials={"access_token": "mastodon-token-0123456789abcdef"},
    secret_keys=("access_token",),
    text=TEXT,
    language="ko",
    settings={"mastodon_async_media": 0},
    create=("/api/v1/statuses", None),
)

BLUESKY_HANDLE = "alice.bsky.social"
BLUESKY_FRIEND = "bob.bsky.social"
BLUESKY_URL = "https://example.com/spring?utm=herald"
BLUESKY = PlatformSpec(
    connector=BlueskyConnector,
    username=BLUESKY_HANDLE,
    credentials={"handle": BLUESKY_HANDLE, "app_password": "abcd-efgh-ijkl-mnop"},
    secret_keys=("app_password",),
    # Korean before the link, so that character and byte offsets differ; "@nobody.example" does
    # not resolve and stays plain text.
    text=f"안녕하세요, Herald! 봄 캠페인 {BLUESKY_URL} 시작 #herald @{BLUESKY_FRIEND} 그리고 @nobody.example",
    language="ko",
    others=({"username": BLUESKY_FRIEND, "handle": BLUESKY_FRIEND, "app_password": "bob0-bob0-bob0-bob0"},),
    settings={"bluesky_access_jwt_seconds": 7200, "bluesky_blob_max_bytes": 1_000_000},
    create=("/xrpc/com.atproto.repo.createRecord", None),
    retry_tolerance=1.5,  # epoch-second resolution of the reset headers
)

TELEGRAM_BOT = "123456:ABC-herald-bot-token_0123"
TELEGRAM_PRIVATE_CHANNEL = "-1001234567890"
TELEGRAM = PlatformSpec(
    connector=TelegramConnector,
    username="herald_channel",
    credentials={"bot_token": TELEGRAM_BOT, "chat_id": "@herald_channel"},
    secret_keys=("bot_token",),
    text="안녕하세요, Herald! 봄 캠페인이 시작됩니다. Spring campaign starts today (#herald).",
    language="ko",
    others=(
        {"username": "private_channel", "bot_token": TELEGRAM_BOT, "chat_id": TELEGRAM_PRIVATE_CHANNEL},
        {
            "username": "other_channel",
            "bot_token": "654321:XYZ-other-bot-token_9876",
            "chat_id": "@other_channel",
        },
    ),
    retry_tolerance=0.0,  # Telegram sends whole seconds
    token_in_url=True,
)

FACEBOOK_PAGE_ID = "1234567890"
FACEBOOK = PlatformSpec(
    connector=FacebookConnector,
    username="HeraldPage",
    credentials={"page_id": FACEBOOK_PAGE_ID, "page_access_token": "EAAB-page-token-0123456789abcdef"},
    secret_keys=("page_access_token",),
    text=TEXT,
    create=("/feed", "POST"),
)

INSTAGRAM = PlatformSpec(
    connector=InstagramConnector,
    username="herald.ig",
    credentials={"ig_user_id": "17841400000000000", "access_token": "IGQ-instagram-token-0123456789abcdef"},
    secret_keys=("access_token",),
    text="안녕하세요, Herald! 봄 캠페인이 시작됩니다. Spring campaign starts today. #herald #봄",
    # Both inside Instagram's 4:5 .. 1.91:1.
    photos=(
        Photo(jpeg(64, 48, (200, 30, 30)), "image/jpeg", 64, 48, "빨간 사각형 (a red square)", "red.jpg"),
        Photo(jpeg(60, 64, (30, 30, 200)), "image/jpeg", 60, 64, "A blue square, 파란 사각형", "blue.jpg"),
    ),
    settings={"instagram_processing_polls": 0, "instagram_publish_limit": 100},
    create=("/media_publish", "POST"),
    photo_required=True,
)

LINKEDIN_ORG = "urn:li:organization:5515715"
LINKEDIN_EXPIRED_ORG = "urn:li:organization:7777777"
LINKEDIN_EXPIRED_TOKEN = "linkedin-expired-token-0000000000"
LINKEDIN = PlatformSpec(
    connector=LinkedInConnector,
    username="herald-org",
    credentials={"organization_urn": LINKEDIN_ORG, "access_token": "linkedin-token-0123456789abcdef"},
    secret_keys=("access_token",),
    # Parentheses, "#" and "@" are little-text markup: unescaped, LinkedIn cuts the text at "(".
    text="안녕하세요, Herald! 봄 캠페인 (Spring campaign) starts today #herald @everyone",
    language="ko",
    others=(
        {
            "username": "expired-org",
            "organization_urn": LINKEDIN_EXPIRED_ORG,
            "access_token": LINKEDIN_EXPIRED_TOKEN,
            "expires_at": str(time.time() - 60),
        },
    ),
    create=("/rest/posts", "POST"),
    retry_tolerance=5.0,  # 429s say "until midnight UTC", computed a moment apart
)

THREADS = PlatformSpec(
    connector=ThreadsConnector,
    username="herald.threads",
    credentials={"threads_user_id": "1234567890", "access_token": "THQ-threads-token-0123456789abcdef"},
    secret_keys=("access_token",),
    text="안녕하세요, Herald! 봄 캠페인이 시작됩니다 🌸 Spring campaign starts today.",
    photos=(
        Photo(jpeg(64, 48, (200, 30, 30)), "image/jpeg", 64, 48, "빨간 사각형 (a red square)", "red.jpg"),
        Photo(png(48, 64), "image/png", 48, 64, "A green square, 초록 사각형", "green.png"),
    ),
    settings={"threads_processing_polls": 0, "threads_publish_limit": 250},
    create=("/threads_publish", "POST"),
)

SPECS: dict[str, PlatformSpec[Connector]] = {
    spec.name: spec for spec in (X, MASTODON, BLUESKY, TELEGRAM, FACEBOOK, INSTAGRAM, LINKEDIN, THREADS)
}
