"""The service layer: what the CLI and the web app may do. They only queue; they never publish.

Every method validates everything first and writes nothing until all input is known to be
good, so bad input changes nothing (``InputError`` names the bad field). SQL is written (and
committed) before Redis is staged; if staging fails the scheduler's consistency check stages it
later. The service has no SQL of its own: it calls the store's queries, named for what they
answer, and answers with the frozen dataclasses of ``herald.service.answers``.

``Herald`` is made of one part per noun, each a module here sharing ``ServiceBase``'s store,
queue and credential box: channels, queueing (with drafts and photos), a person's actions on a
post, the log and statistics, campaigns, health, and accounts (people, roles, tokens, sign-in,
the audit log).
"""

from __future__ import annotations

from herald.service.accounts import Accounts, SignedIn, WebSessionInfo
from herald.service.actions import Actions
from herald.service.alerts import Alerts, AlertTargetInfo, AlertTestResult
from herald.service.answers import (
    Answer,
    AuditEntry,
    CampaignDefaults,
    CampaignInfo,
    Cancelled,
    ChannelInfo,
    CheckResult,
    CreatedToken,
    LogEntry,
    PlatformStats,
    PostSummary,
    QueueHealth,
    TakedownResult,
    TokenInfo,
    UserInfo,
    VariantInfo,
)
from herald.service.approvals import Approvals
from herald.service.backup import BackupInfo, Backups, Restored, TableCount, open_backup
from herald.service.calendar import Calendar, CalendarEntry, CalendarPost, CalendarRange, Rescheduled
from herald.service.campaigns import FACE_MODES, MAX_CAMPAIGN_NAME_CHARS, Campaigns
from herald.service.channels import MAX_NAME_CHARS, Channels
from herald.service.controls import Controls
from herald.service.drafts import MAX_PHOTOS_PER_POST, PAST_GRACE_SECONDS
from herald.service.edits import Edited, Edits
from herald.service.health import Health
from herald.service.keys import Keys
from herald.service.log import Log
from herald.service.queueing import BULK_CHUNK, MAX_REFUSALS_SHOWN, Queueing
from herald.service.requests import PhotoInput, PostRequest
from herald.service.schedules import Schedules
from herald.service.series import SeriesActions, SeriesCancelled
from herald.service.stops import Stops
from herald.store import states

#: Delivery states, for filters and "can it still be cancelled" (the edges import them from here).
STATUSES = states.ALL
PENDING_STATES = states.PENDING


class Herald(
    Edits,
    Controls,
    Channels,
    Queueing,
    Schedules,
    Stops,
    Actions,
    SeriesActions,
    Approvals,
    Log,
    Campaigns,
    Health,
    Accounts,
    Keys,
    Alerts,
    Calendar,
):
    """The service layer over one store and one content queue: ``Herald(db, queue, keyring)``."""


__all__ = [
    "AlertTargetInfo",
    "AlertTestResult",
    "AuditEntry",
    "BackupInfo",
    "Backups",
    "Restored",
    "TableCount",
    "open_backup",
    "CalendarEntry",
    "CalendarPost",
    "CalendarRange",
    "Rescheduled",
    "Edited",
    "CreatedToken",
    "SignedIn",
    "TokenInfo",
    "UserInfo",
    "WebSessionInfo",
    "BULK_CHUNK",
    "MAX_NAME_CHARS",
    "MAX_CAMPAIGN_NAME_CHARS",
    "MAX_PHOTOS_PER_POST",
    "MAX_REFUSALS_SHOWN",
    "PAST_GRACE_SECONDS",
    "PENDING_STATES",
    "STATUSES",
    "Answer",
    "CampaignDefaults",
    "CampaignInfo",
    "FACE_MODES",
    "Cancelled",
    "ChannelInfo",
    "CheckResult",
    "Herald",
    "LogEntry",
    "PhotoInput",
    "PlatformStats",
    "PostRequest",
    "PostSummary",
    "SeriesCancelled",
    "QueueHealth",
    "TakedownResult",
    "VariantInfo",
]
