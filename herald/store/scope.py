"""Which campaigns a query may see: a person's reach, applied in SQL so that lists, logs and
counts never show what their role does not cover."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_

from herald.store.models import Post


@dataclass(frozen=True)
class Reach:
    """Posts of ``campaigns`` (None: every campaign), and those of no campaign when
    ``no_campaign``."""

    campaigns: frozenset[int] | None = None
    no_campaign: bool = True

    @property
    def everything(self) -> bool:
        return self.campaigns is None and self.no_campaign

    def covers(self, campaign_id: int | None) -> bool:
        """Whether posts of ``campaign_id`` (None: of no campaign) are within reach: ``where``
        in Python, for lists already read (the dashboard's counts)."""
        if campaign_id is None:
            return self.no_campaign
        return self.campaigns is None or campaign_id in self.campaigns

    def where(self) -> Any:  # Any: a SQLAlchemy boolean clause
        """The condition on ``Post`` (None when everything may be seen)."""
        if self.everything:
            return None
        parts = []
        if self.campaigns is None:
            parts.append(Post.campaign_id.is_not(None))
        elif self.campaigns:
            parts.append(Post.campaign_id.in_(sorted(self.campaigns)))
        if self.no_campaign:
            parts.append(Post.campaign_id.is_(None))
        if not parts:
            return Post.campaign_id.in_([])
        return or_(*parts) if len(parts) > 1 else parts[0]


EVERYTHING = Reach()
