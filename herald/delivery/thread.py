"""Publishing a delivery that goes out in several parts: a thread, or a post and its first
comment. Each part exactly once, in order, each later one under the right parent.

The parts' progress is in SQL (``store.parts``), not in the worker:

1. Before a part's platform call, its ``sent_at`` is committed, checked against the claim's
   attempt token. A worker that lost its claim learns it here and sends nothing.
2. After the call, the part's remote id (and, for Bluesky, its CID) is committed the same way.
3. A part with ``sent_at`` and no remote id may be out (the worker died, or the answer was
   lost): the next try looks it up first (``call`` with ``takeover``), as a single post's
   taken-over claim does, and sends it only if the platform says it is not there.

Parts already out are never sent again; a later part is never sent before the one it answers is
recorded, so its parent is always known. Each part takes a slot of the channel's posting rate.
The delivery's outcome is the thread's: published (remote id and URL of part 1) once every
part is out; otherwise the outcome of the part that stopped it, its message naming the part,
and a retry goes on from there.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from herald.delivery.call import Sent, call
from herald.delivery.decide import decide, deferral
from herald.delivery.outcomes import Failed, Kept, Outcome, Published, Retry, Uncertain, log_fields
from herald.delivery.prepare import Job
from herald.delivery.rate import RateGate
from herald.delivery.retry import RetryPolicy
from herald.platforms import Connector, Draft
from herald.platforms import Published as Out
from herald.platforms.base import Reply
from herald.store.db import Database
from herald.store.parts import mark_part_published, mark_sent, parts_of

log = logging.getLogger(__name__)


def part_key(idempotency_key: str, position: int) -> str:
    """The idempotency key of part ``position``: the delivery's own for part 1, then one per part,
    the same on every try (Mastodon's Idempotency-Key, Bluesky's record key come from it)."""
    return idempotency_key if position == 1 else f"{idempotency_key}.{position}"


def publish_thread(
    db: Database, connector: Connector, job: Job, first: Draft, gate: RateGate, policy: RetryPolicy
) -> Outcome:
    """Send every part of ``job`` not yet out, in order (``first`` is part 1's draft, with the
    photos). Returns the thread's outcome."""
    c, payload = job.claim, job.payload
    texts = [payload.text, *payload.parts]
    n = len(texts)
    fields = log_fields(c, payload)
    with db.read() as s:
        known = parts_of(s, [c.delivery_id]).get(c.delivery_id, [])
    if [p.text for p in known] != texts:
        # The payload is built from these rows, so this is a bug or a hand-edited database.
        log.error("delivery %s: its parts in SQL do not match its payload", c.delivery_id, extra=fields)
        return Failed(c, payload, "the thread's parts in the database do not match its payload", None, 0.0)
    cls = type(connector)
    out: list[Out] = []
    reconciled = False
    started = time.monotonic()
    for position, (text, state) in enumerate(zip(texts, known, strict=True), 1):
        if state.remote_id is not None:
            out.append(Out(state.remote_id, state.remote_url or "", state.remote_cid))
            continue
        if position > 1:
            until = gate.until(job.channel, connector, c, part=position)
            if until is not None:
                return deferral(job, until)
        draft = first
        if position > 1:
            parent = out[-1] if cls.follow_up == "thread" else out[0]
            draft = Draft(
                text=text,
                idempotency_key=part_key(payload.idempotency_key, position),
                language=payload.language,
                reply_to=Reply(root=out[0], parent=parent),
            )
        look_first = state.maybe_out
        if not look_first:
            with db.session() as s:
                ours = mark_sent(s, c.delivery_id, c.token, position)
            if not ours:
                log.warning(
                    "delivery %s: claim lost before part %d of %d; leaving it to its new holder",
                    c.delivery_id,
                    position,
                    n,
                    extra=fields,
                )
                return Kept(c)
        result = call(connector, draft, takeover=look_first, fields={**fields, "part": position})
        if not isinstance(result, Sent):
            gate.note(job.channel.id, result.error)
            # Judged as a single post would be, with "an earlier try may be out" meaning this part.
            part_job = dataclasses.replace(job, claim=dataclasses.replace(c, takeover=look_first))
            return _naming_part(decide(part_job, result, policy), position, n, done=len(out))
        with db.session() as s:
            ours = mark_part_published(
                s,
                c.delivery_id,
                c.token,
                position,
                remote_id=result.post.remote_id,
                url=result.post.url,
                cid=result.post.cid,
            )
        if not ours:
            # Out, but our claim was taken over meanwhile: the new holder finds it by a look-up.
            log.warning(
                "delivery %s: part %d of %d is out as %s but the claim was lost",
                c.delivery_id,
                position,
                n,
                result.post.remote_id,
                extra=fields,
            )
            return Kept(c)
        reconciled = reconciled or result.reconciled
        out.append(result.post)
        log.info(
            "delivery %s: part %d of %d out as %s",
            c.delivery_id,
            position,
            n,
            result.post.remote_id,
            extra={**fields, "part": position, "remote_id": result.post.remote_id},
        )
    ms = (time.monotonic() - started) * 1000
    return Published(c, payload, out[0].remote_id, out[0].url, reconciled, ms)


def _naming_part(outcome: Outcome, position: int, n: int, *, done: int) -> Outcome:
    """``outcome`` with its message saying which part stopped the thread and how many are out."""
    what = f"part {position} of {n}" + (f" ({done} out before it)" if done else "")
    if isinstance(outcome, Retry | Failed | Uncertain):
        return dataclasses.replace(outcome, error=f"{what}: {outcome.error}")
    return outcome
