"""Every Celery setting, read from Herald's one settings object (``herald.settings``).

Future posts are never Celery ETA tasks: with a Redis broker those sit in worker memory and are
re-delivered after the visibility timeout. The scheduler hands over only what is due now.
"""

from __future__ import annotations

import ssl

from content_queue.keys import HANDOVER_QUEUE
from herald.core.settings import get_settings, redis_url

_settings = get_settings()

broker_url = redis_url(_settings)
#: kombu's Redis transport with a closed-transport failure made recoverable (see tasks/broker.py).
broker_transport = "tasks.broker:Transport"
if broker_url.startswith("rediss://"):
    #: TLS to Redis checks the server's certificate (kombu's default for rediss:// does not).
    broker_use_ssl = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    redis_backend_use_ssl = broker_use_ssl
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
#: A worker rides out a broker outage of any length, at start-up and while running: it retries
#: for ever (Celery's default gives up after 100 tries) and says so in its log each time.
broker_connection_retry_on_startup = True
broker_connection_retry = True
broker_connection_max_retries = None
#: On a lost connection, let running publishes finish: each holds its delivery under a lease
#: in SQL and Redis, so the broker's copy of the message is not what keeps it safe.
worker_cancel_long_running_tasks_on_connection_loss = False
#: Logging is Herald's (tasks/app.py); nothing is printed, so nothing needs redirecting.
worker_hijack_root_logger = False
worker_redirect_stdouts = False
worker_send_task_events = False
task_default_queue = HANDOVER_QUEUE
