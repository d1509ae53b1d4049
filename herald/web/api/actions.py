"""``/api/v1/posts/{post_id}/<action>``: what a person does to a post. Managers: cancel, take
down, retry a failed or uncertain delivery, release a held one, mark an uncertain one as sent,
approve a pending post or send it back with a note; its author: resubmit one sent back.

404: no such post (or channel); 409: the post is not in a state that allows the action
(nothing to retry, not waiting for approval, ...). The service checks the role in the post's
campaign (403).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from herald.service.pages import post_summary
from herald.web.api.posts import PostId
from herald.web.api.problems import CONFLICT, NOT_FOUND, ProblemRoute
from herald.web.api.schemas import (
    CancelledOut,
    MarkSentIn,
    OnChannel,
    PostOut,
    QueuedOut,
    ReturnIn,
    TakedownOut,
)
from herald.web.auth import CanAct, CanApprove, CanDraft
from herald.web.deps import ServiceDep
from herald.web.security import CsrfHeaderDep

router = APIRouter(route_class=ProblemRoute, tags=["actions"], dependencies=[CsrfHeaderDep])

#: An optional body naming one channel; without it, every channel of the post.
Channel = Annotated[OnChannel | None, Body()]
BOTH = {**NOT_FOUND, **CONFLICT}


@router.post("/posts/{post_id}/cancel", response_model=CancelledOut, responses=NOT_FOUND)
def cancel(post_id: PostId, svc: ServiceDep, actor: CanAct) -> CancelledOut:
    """Cancel what has not gone out. Deliveries already publishing or done are reported in
    ``too_late``, not touched."""
    return CancelledOut.of(svc.cancel_post(post_id, actor=actor))


@router.post("/posts/{post_id}/takedown", response_model=TakedownOut, responses=NOT_FOUND)
def takedown(post_id: PostId, svc: ServiceDep, actor: CanAct, body: Channel = None) -> TakedownOut:
    """Pull the post from every channel (or ``channel``): published copies are deleted by the
    workers, pending ones cancelled."""
    return TakedownOut.of(svc.takedown(post_id, channel=body.channel if body else None, actor=actor))


@router.post("/posts/{post_id}/retry", response_model=QueuedOut, responses=BOTH)
def retry(post_id: PostId, svc: ServiceDep, actor: CanAct, body: Channel = None) -> QueuedOut:
    """Send failed and uncertain deliveries again (for an uncertain one, after checking the
    platform that the post is not there). 409 when there are none."""
    ids = svc.requeue(post_id, channel=body.channel if body else None, what="retry", actor=actor)
    return QueuedOut(deliveries=ids)


@router.post("/posts/{post_id}/release", response_model=QueuedOut, responses=BOTH)
def release(post_id: PostId, svc: ServiceDep, actor: CanAct, body: Channel = None) -> QueuedOut:
    """Send held deliveries now (a missed window, a paused channel that is fixed). 409 when
    there are none."""
    ids = svc.requeue(post_id, channel=body.channel if body else None, what="release", actor=actor)
    return QueuedOut(deliveries=ids)


@router.post("/posts/{post_id}/mark-sent", response_model=PostOut, responses=BOTH)
def mark_sent(post_id: PostId, body: MarkSentIn, svc: ServiceDep, actor: CanAct) -> PostOut:
    """A person found the uncertain post on the platform: record it as published there. 409
    when the post has no uncertain delivery on that channel."""
    svc.confirm_published(post_id, body.channel, url=body.url, actor=actor)
    return PostOut.of(post_summary(svc, post_id, actor=actor))


@router.post("/posts/{post_id}/approve", response_model=PostOut, responses=BOTH)
def approve(post_id: PostId, svc: ServiceDep, actor: CanApprove) -> PostOut:
    """Approve a pending post: its deliveries are queued. 409 when it is not pending."""
    svc.approve_post(post_id, actor=actor)
    return PostOut.of(post_summary(svc, post_id, actor=actor))


@router.post("/posts/{post_id}/return", response_model=PostOut, responses=BOTH)
def return_post(post_id: PostId, body: ReturnIn, svc: ServiceDep, actor: CanApprove) -> PostOut:
    """Send a pending post back to its author with a note. 409 when it is not pending."""
    svc.return_post(post_id, body.note, actor=actor)
    return PostOut.of(post_summary(svc, post_id, actor=actor))


@router.post("/posts/{post_id}/resubmit", response_model=PostOut, responses=BOTH)
def resubmit(post_id: PostId, svc: ServiceDep, actor: CanDraft) -> PostOut:
    """Submit a post that was sent back for approval again. 409 when it was not sent back."""
    svc.resubmit_post(post_id, actor=actor)
    return PostOut.of(post_summary(svc, post_id, actor=actor))
