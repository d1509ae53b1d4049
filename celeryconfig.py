"""Every Celery setting, read from Herald's one settings object (``herald.settings``).

Future posts are never Celery ETA tasks: with a Redis broker those sit in worker memory and are
re-delivered after the visibility timeout. The scheduler hands over only what is due now.
"""

from __future__ import annotations

from herald.runtime import redis_url
from herald.settings import get_settings

_settings = get_settings()

broker_url = redis_url(_settings)
#: Results are not read (outcomes live in SQL); the backend exists for inspection tools only.
result_backend = broker_url
task_ignore_result = True

task_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True

#: Acknowledge after the task ran, one message at a time per process: a killed worker's
#: message is re-delivered, and the SQL compare-and-set makes the re-delivery harmless.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
#: Longest time a publish may take before Celery gives up on it (the lease reaper and the SQL
#: state machine recover the delivery).
task_time_limit = 300
task_soft_time_limit = 240
#: The broker's own redelivery is a last resort (our leases are seconds); keep it above the
#: task time limit so a slow task is not duplicated by the broker.
broker_transport_options = {"visibility_timeout": 3600}
broker_connection_retry_on_startup = True
worker_hijack_root_logger = False
worker_send_task_events = False
task_default_queue = "herald"
