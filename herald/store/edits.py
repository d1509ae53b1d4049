"""A post's text changed after it was queued (``herald.service.edits``): the rows read for an
edit, and the edit written as one compare-and-set over the deliveries that take it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, selectinload

from herald.store.models import Delivery, DeliveryPart, Post, PostPhoto, PostVariant
from herald.store.parts import NewPart, add_parts


def posts_to_edit(s: Session, post_ids: Sequence[str]) -> list[Post]:
    """The posts with what an edit reads: deliveries with their channels and parts, photos with
    their bytes, the channels' own texts and the campaign."""
    return list(
        s.execute(
            select(Post)
            .where(Post.id.in_(list(post_ids)))
            .options(
                selectinload(Post.deliveries).selectinload(Delivery.channel),
                selectinload(Post.deliveries).selectinload(Delivery.parts),
                selectinload(Post.photos).selectinload(PostPhoto.blob),
                selectinload(Post.variants),
                selectinload(Post.campaign),
            )
        ).scalars()
    )


def write_edit(
    s: Session,
    post_id: str,
    delivery_ids: Sequence[int],
    *,
    editable: Sequence[str],
    text: str,
    own_texts: Mapping[int, str],
    parts: Sequence[NewPart],
    now: datetime,
    own_languages: Mapping[int, str] | None = None,
) -> bool:
    """Give post ``post_id`` its new ``text`` (and the channels of ``delivery_ids`` their own
    texts, ``own_texts`` by channel id, their own languages, ``own_languages``, and their
    threads' ``parts``), bumping its version. A channel with a language of its own and no text
    of its own keeps ``text`` in its variant.
    Only while every one of ``delivery_ids`` is still in an ``editable`` state: False (and
    nothing written; the caller rolls back) if a worker took one meanwhile."""
    held = s.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(delivery_ids)), Delivery.state.in_(list(editable)))
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]  # CursorResult of an UPDATE
    if held != len(delivery_ids):
        return False
    s.execute(
        update(Post)
        .where(Post.id == post_id)
        .values(text=text, version=Post.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    channel_ids = list(
        s.execute(select(Delivery.channel_id).where(Delivery.id.in_(list(delivery_ids)))).scalars()
    )
    s.execute(
        delete(PostVariant).where(PostVariant.post_id == post_id, PostVariant.channel_id.in_(channel_ids))
    )
    own_languages = own_languages or {}
    for channel_id in dict.fromkeys([*own_texts, *own_languages]):
        s.add(
            PostVariant(
                post_id=post_id,
                channel_id=channel_id,
                text=own_texts.get(channel_id, text),
                language=own_languages.get(channel_id),
            )
        )
    s.execute(delete(DeliveryPart).where(DeliveryPart.delivery_id.in_(list(delivery_ids))))
    add_parts(s, parts)
    return True
