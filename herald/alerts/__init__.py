"""Alerts: telling a person, through apprise (mail, webhooks, Telegram, Slack, Matrix ...), that
something needs them: a failed or uncertain delivery, a token about to expire or refused, workers
stalled or gone, the scheduler falling behind.

Whoever decides an alert queues it in SQL (``outbox``), in its own transaction; the scheduler's
alert duty (``duty``) sends what is queued (``sender``): deduplicated, rate-limited per target,
each in the audit log. Targets are sealed apprise URLs, checked against an allow-list of network
services (``targets``).
"""

from herald.alerts.alert import Alert, ChannelRevoked, DeliveryProblem, Kind, trial_alert
from herald.alerts.duty import AlertDuty, alert_duties
from herald.alerts.expiry import WARN_DAYS, check_tokens
from herald.alerts.outbox import Outbox, raise_alert, raise_delivery_alerts
from herald.alerts.sender import AlertSender, AppriseTransport, Drained, Limits, Sent, TargetResult
from herald.alerts.targets import SCHEMES, TargetUrl, check_target_url

__all__ = [
    "SCHEMES",
    "WARN_DAYS",
    "alert_duties",
    "Alert",
    "AlertDuty",
    "AlertSender",
    "AppriseTransport",
    "ChannelRevoked",
    "DeliveryProblem",
    "Drained",
    "Kind",
    "Limits",
    "Outbox",
    "Sent",
    "TargetResult",
    "TargetUrl",
    "check_target_url",
    "check_tokens",
    "raise_alert",
    "raise_delivery_alerts",
    "trial_alert",
]
