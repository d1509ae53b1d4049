"""The service's answers made from store rows: one builder per answer, whichever query read
the row (a list, a page, one record)."""

from __future__ import annotations

from herald.service.answers import LogEntry, PartEntry, PostSummary, VariantInfo, iso
from herald.store.log import LogRow
from herald.store.models import Post


def post_summary(p: Post) -> PostSummary:
    """A post (its deliveries with their channels, its photos, campaign and variants loaded)."""
    channel_name = {d.channel_id: d.channel.name for d in p.deliveries}
    return PostSummary(
        id=p.id,
        text=p.text,
        campaign=p.campaign.name if p.campaign else None,
        scheduled_at=iso(p.scheduled_at),
        photos=len(p.photos),
        deliveries={d.channel.name: d.state for d in p.deliveries},
        approval=p.approval,
        approved_by=p.approved_by,
        approved_at=iso(p.approved_at),
        approval_note=p.approval_note,
        created_by=p.created_by,
        series_id=p.series_id,
        occurrence=p.occurrence,
        language=p.language,
        variants={
            channel_name[v.channel_id]: VariantInfo(text=v.text, language=v.language)
            for v in sorted(p.variants, key=lambda v: v.id)
            if v.channel_id in channel_name
        },
    )


def log_entry(row: LogRow) -> LogEntry:
    """One delivery of the log."""
    published = row.published_at
    return LogEntry(
        post_id=row.post_id,
        delivery_id=row.delivery_id,
        campaign=row.campaign,
        channel=row.channel,
        platform=row.platform,
        status=row.state,
        text=row.text,
        scheduled_at=iso(row.scheduled_at),
        due_at=iso(row.due_at),
        published_at=iso(published),
        lateness_seconds=(published - row.scheduled_at).total_seconds() if published else None,
        remote_id=row.remote_id,
        remote_url=row.remote_url,
        attempts=row.attempts,
        error=row.last_error,
        approval=row.approval,
        approved_by=row.approved_by,
        approved_at=iso(row.approved_at),
        created_by=row.created_by,
        parts=tuple(
            PartEntry(
                position=part.position,
                text=part.text,
                status="published" if part.out else "sending" if part.maybe_out else "waiting",
                remote_id=part.remote_id,
                remote_url=part.remote_url,
                published_at=iso(part.published_at),
            )
            for part in row.parts
        ),
        series_id=row.series_id,
        occurrence=row.occurrence,
        language=row.language,
    )
