"""Facebook Page (Graph API): ``POST /{page-id}/feed`` with the message; with photos, each is
uploaded first as an unpublished photo (``POST /{page-id}/photos``, ``published=false``, alt
text in ``alt_text_custom``) and attached to the feed post through ``attached_media``.

Facebook has no idempotency key (``idempotent = False``); error 506 catches some exact
duplicates only. After an uncertain outcome ``reconcile`` looks for the message among the Page's
latest posts (``published_posts``: the Page's own, newest first; ``feed`` also holds visitors'
posts). Unpublished photos of a try whose feed call never landed are invisible and
harmless.

**First comments** (``follow_up = "comment"``): a draft with ``reply_to`` becomes a comment of the
Page under ``reply_to.root`` (``POST /{page-post-id}/comments`` with ``message``, answered
``{"id": "{post-id}_{comment-id}"}``), text only, at most ``MAX_COMMENT_CHARACTERS``. Its URL is the
post's with ``?comment_id=``. ``reconcile`` reads the post's comments (newest first) for one of
the Page with the same message; ``delete`` takes a comment id like a post id.
"""

from __future__ import annotations

import json
import logging
import time

from herald.core.errors import AuthError, PermanentError, PlatformError, UncertainError
from herald.media import PhotoRules
from herald.platforms import http
from herald.platforms.base import Draft, Photo, Published, TextCount
from herald.platforms.comments import commented_post
from herald.platforms.graph import GraphConnector, comparable

log = logging.getLogger(__name__)

#: Hosts of the real API: posts made through them live at ``PUBLIC_URL_ROOT``.
REAL_API_HOSTS = frozenset({"https://graph.facebook.com"})
PUBLIC_URL_ROOT = "https://www.facebook.com"
#: A comment's text limit: the widely cited 8,000 characters [unconfirmed in Meta's current
#: reference, which names no limit].
MAX_COMMENT_CHARACTERS = 8000


class FacebookConnector(GraphConnector):
    name = "facebook"
    title = "Facebook"
    default_base_url = "https://graph.facebook.com"
    #: Meta's tokens expire (a long-lived user token after 60 days): ``debug_token`` says when.
    reads_token_expiry = True
    credential_keys = ("page_id", "page_access_token")
    token_key = "page_access_token"
    node_key = "page_id"
    identity_keys = ("page_id",)
    #: The widely cited post length limit (not re-confirmed in Meta's current docs).
    max_text = 63_206
    text_unit = "characters"
    #: No documented cap on ``attached_media`` that matters; Herald posts at most 4 photos.
    max_photos = 4
    #: "Static images must be < 10 MB"; JPEG, PNG, GIF, BMP, TIFF (renditions write JPEG or PNG).
    photo_rules = PhotoRules(
        max_bytes=10_000_000 - 1,
        mime_types=frozenset({"image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff"}),
        platform="Facebook",
    )
    idempotent = False
    can_delete = True
    #: Publishing volume is governed by throttles and spam systems (error 368), not a quota.
    posts_per_window = None
    #: How many of the Page's latest posts ``reconcile`` searches.
    RECONCILE_LOOKBACK_POSTS = 25
    #: A long post continues as one first comment of the Page under it.
    follow_up = "comment"

    @classmethod
    def count_text(cls, text: str) -> TextCount:
        return TextCount(len(text), cls.max_text, cls.text_unit)

    @classmethod
    def count_follow_up(cls, text: str) -> TextCount:
        return TextCount(len(text), MAX_COMMENT_CHARACTERS, cls.text_unit)

    # -- calls -----------------------------------------------------------------------------

    def publish(self, draft: Draft) -> Published:
        """Upload the photos unpublished, then create the feed post.

        Raises ``AuthError`` (code 190, a missing permission); ``PermanentError`` (a draft that
        does not fit ``validate``, before any call; refused content; 368 policy block; 506
        duplicate, after which the caller should ``reconcile``); ``RetryableError`` (throttles
        with ``retry_after``, 5xx or no answer before the feed call); ``UncertainError`` (5xx,
        timeout or dropped connection on the feed call). A draft with ``reply_to`` is a first
        comment (see the module docstring), with the same errors for its one call.
        """
        if draft.reply_to is not None:
            return self._comment(draft)
        problems = self.validate_draft(draft)
        if problems:
            # Queue-time validation should have caught this; the platform would refuse it too.
            raise PermanentError(self.name, "; ".join(problem.message for problem in problems))
        started = time.monotonic()
        photo_ids = [self._upload(photo) for photo in draft.photos]
        data: dict[str, str] = {}
        if draft.text:
            data["message"] = draft.text
        for index, photo_id in enumerate(photo_ids):
            data[f"attached_media[{index}]"] = json.dumps({"media_fbid": photo_id})
        answer = self._call("POST", f"/{self.node}/feed", create=True, data=data)
        remote_id = http.string_at(answer, "id")
        if remote_id is None:
            # A 2xx without an id: something answered, but we cannot tell what.
            raise UncertainError(self.name, "the feed answer had no post id", status=200)
        log.info(
            "published platform=%s remote_id=%s photos=%d duration_ms=%d",
            self.name,
            remote_id,
            len(photo_ids),
            (time.monotonic() - started) * 1000,
            extra={"platform": self.name, "remote_id": remote_id},
        )
        return Published(remote_id=remote_id, url=self._permalink(remote_id))

    def reconcile(self, draft: Draft) -> Published | None:
        """Look for ``draft``'s message among the Page's ``RECONCILE_LOOKBACK_POSTS`` latest
        posts: ``Published`` if one matches, ``None`` if none does (the caller may publish
        again). A draft without text cannot be told apart from other photo posts:
        ``UncertainError``. Raises ``AuthError`` if the credentials are refused and
        ``UncertainError`` if the lookup fails otherwise. A first comment is looked for among
        all the post's comments: absent from them is ``None``."""
        if draft.reply_to is not None:
            return self._find_first_comment(draft)
        wanted = comparable(draft.text)
        if not wanted:
            raise UncertainError(
                self.name, "a post without text cannot be found again among the Page's posts"
            )
        try:
            answer = self._call(
                "GET",
                f"/{self.node}/published_posts",
                create=False,
                params={
                    "fields": "id,message,created_time,permalink_url",
                    "limit": str(self.RECONCILE_LOOKBACK_POSTS),
                },
            )
        except AuthError:
            raise
        except PlatformError as exc:
            raise UncertainError(
                self.name, f"could not list the Page's posts: {exc.detail}", status=exc.status
            ) from exc
        posts = answer.get("data")
        for post in posts if isinstance(posts, list) else []:
            remote_id = http.string_at(post, "id")
            message = http.string_at(post, "message")
            if remote_id is not None and message is not None and comparable(message) == wanted:
                log.info(
                    "reconciled platform=%s remote_id=%s",
                    self.name,
                    remote_id,
                    extra={"platform": self.name, "remote_id": remote_id},
                )
                url = http.string_at(post, "permalink_url") or self.post_url(remote_id)
                return Published(remote_id=remote_id, url=url)
        return None

    def delete(self, remote_id: str) -> None:
        """Delete a post (``DELETE /{page-id}_{post-id}``) or a comment (``DELETE
        /{post-id}_{comment-id}``). One that no longer exists counts as deleted."""
        self._delete_node(remote_id)

    def comment_url(self, post: Published, comment_id: str) -> str:
        """A comment's address: its post's with ``?comment_id=`` (the part of the comment id
        after the post's, which is how facebook.com links to a comment)."""
        base = post.url or self.post_url(post.remote_id)
        separator = "&" if "?" in base else "?"
        return f"{base}{separator}comment_id={comment_id.rsplit('_', 1)[-1]}"

    def _comment(self, draft: Draft) -> Published:
        post = commented_post(self, draft)
        comment_id = self._comment_on(post.remote_id, draft.text)
        log.info(
            "commented platform=%s remote_id=%s on=%s",
            self.name,
            comment_id,
            post.remote_id,
            extra={"platform": self.name, "remote_id": comment_id},
        )
        return Published(remote_id=comment_id, url=self.comment_url(post, comment_id))

    def _find_first_comment(self, draft: Draft) -> Published | None:
        assert draft.reply_to is not None
        post = draft.reply_to.root
        # Newest first: the comment looked for was made moments ago.
        found = self._find_comment(
            post.remote_id,
            draft.text,
            text_field="message",
            author=self.node,
            params={"order": "reverse_chronological", "filter": "toplevel"},
        )
        return None if found is None else Published(remote_id=found, url=self.comment_url(post, found))

    def post_url(self, remote_id: str) -> str:
        """The post's address without asking: ``https://www.facebook.com/{page-id}_{post-id}``
        (Facebook redirects it to the post) against the real API, on the overridden host
        otherwise (the simulator). Used when ``permalink_url`` cannot be read."""
        root = PUBLIC_URL_ROOT if self.base_url in REAL_API_HOSTS else self.base_url
        return f"{root}/{remote_id}"

    def _permalink(self, remote_id: str) -> str:
        """``permalink_url``, which Meta recommends over built addresses. Asked after the post
        exists, so a failure must not fail the publish: it falls back to ``post_url``."""
        try:
            answer = self._call("GET", f"/{remote_id}", create=False, params={"fields": "permalink_url"})
        except PlatformError as exc:
            log.warning(
                "no permalink platform=%s remote_id=%s: %s",
                self.name,
                remote_id,
                exc.detail,
                extra={"platform": self.name, "remote_id": remote_id},
            )
            return self.post_url(remote_id)
        return http.string_at(answer, "permalink_url") or self.post_url(remote_id)

    # -- photos ----------------------------------------------------------------------------

    def _upload(self, photo: Photo) -> str:
        """Upload one photo unpublished; its id, to attach. Not the create call: an unpublished
        photo is invisible until a feed post attaches it."""
        data = {"published": "false"}
        if photo.alt_text:
            data["alt_text_custom"] = photo.alt_text
        answer = self._call(
            "POST",
            f"/{self.node}/photos",
            create=False,
            data=data,
            files={"source": (photo.filename, photo.data, photo.mime_type)},
        )
        photo_id = http.string_at(answer, "id")
        if photo_id is None:
            raise PermanentError(self.name, "the photo upload answer had no id")
        return photo_id
