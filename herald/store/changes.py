"""A mark that moves whenever what the pages show is written: the latest ``updated_at`` and the
highest id of the deliveries, the latest ``updated_at`` of the posts, and the paused channels
and campaigns. Live pages poll it (``web.routes.live``) and read the page again only when it
moved.

Every transition of a delivery and every change of a post writes its ``updated_at``
(``store.deliveries``, ``store.decisions``, ``store.pauses``, ``store.edits``); a pause or a
resume of a channel or campaign changes how many are paused or since when. What the mark does
not see is a row removed by retention, which only ever removes the oldest: no live page shows
them.

Cost: ``max(updated_at)`` is one step down an index on ``updated_at`` where there is one, and
a scan of the table where there is none; the channels and campaigns are short lists.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from herald.store.models import Campaign, Channel, Delivery, Post


def change_mark(s: Session) -> str:
    """The mark as one string (equal marks: nothing the pages show has changed)."""
    parts = (
        select(func.max(Delivery.updated_at)).scalar_subquery(),
        select(func.max(Delivery.id)).scalar_subquery(),
        select(func.max(Post.updated_at)).scalar_subquery(),
        select(func.count(Channel.paused_at)).scalar_subquery(),
        select(func.max(Channel.paused_at)).scalar_subquery(),
        select(func.count(Campaign.paused_at)).scalar_subquery(),
        select(func.max(Campaign.paused_at)).scalar_subquery(),
    )
    row = s.execute(select(*parts)).one()
    return "|".join("" if v is None else str(v) for v in row)
