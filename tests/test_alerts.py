"""Issue 17, alerts: through apprise to each campaign's targets and the installation's, for a
failed or uncertain delivery, a token about to expire or refused, workers gone or stalled, the
scheduler lagging; deduplicated, rate-limited per target with a summary, each in the audit log.

Real parts only: an SMTP sink (aiosmtpd) and a webhook sink (http.server) on loopback reached
through apprise's ``mailto://`` and ``json://``; SQLite and PostgreSQL; the failed delivery goes
through the real worker and dispatcher (whose alert duty sends it). The clock is injected into
the sender and the token check; nothing sleeps.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from typer.testing import CliRunner

from bench.harness import wait_for
from herald.alerts import AlertSender, Limits, check_tokens, raise_alert
from herald.alerts.alert import Alert, Kind
from herald.cli import app as cli
from herald.core.errors import AccessDenied, InputError, NotFound
from herald.embedded import free_port
from herald.service import PostRequest
from herald.simulator import Fault
from herald.store.models import AlertMessage, AuditEvent, utcnow
from scheduler.liveness import Alarms, Health, Verdict
from tests.web import PASSWORD, actor_of

runner = CliRunner()

MASTODON_TOKEN = "alerts-mastodon-token-41c9e2"
#: The secret part of the webhook URL (a webhook's path is its password).
HOOK_SECRET = "hook-secret-7f2a9c41d0"
SMTP_PASSWORD = "smtp-password-93be17"


@pytest.fixture
def db_url(any_db_url: str) -> str:
    return any_db_url


# -- the sinks ---------------------------------------------------------------------------------


class SmtpSink:
    """An SMTP server on loopback that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.port = free_port()
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802  # aiosmtpd's hook
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=herald@example.org&to=ops@example.org"

    def texts(self) -> list[str]:
        out = []
        for m in list(self.messages):
            body = next(p for p in m.walk() if p.get_content_type() == "text/plain")
            payload = body.get_payload(decode=True)
            assert isinstance(payload, bytes)
            out.append(f"{m['Subject']}\n{payload.decode()}")
        return out


class WebhookSink:
    """An HTTP server on loopback that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  # http.server's hook
                n = int(self.headers.get("Content-Length", "0"))
                sink.calls.append((self.path, json.loads(self.rfile.read(n))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_port}/alerts/{HOOK_SECRET}"

    def messages(self) -> list[str]:
        return [f"{body['title']}\n{body['message']}" for _, body in self.calls]


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


@pytest.fixture
def hook() -> Iterator[WebhookSink]:
    sink = WebhookSink()
    sink.thread.start()
    yield sink
    sink.server.shutdown()
    sink.server.server_close()


@pytest.fixture
def sender(herald: Any) -> AlertSender:
    return AlertSender(herald.db, herald.box, limits=Limits(dedup_seconds=3600, per_target_per_hour=20))


def _audit(herald: Any, prefix: str = "alert") -> list[AuditEvent]:
    with herald.db.read() as s:
        return [
            e
            for e in s.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()
            if e.action.startswith(prefix)
        ]


def _queue(herald: Any, alert: Alert, **kw: Any) -> int:
    with herald.db.session() as s:
        return raise_alert(s, alert, **kw)


def _alert(n: int, key: str | None = None, campaign_id: int | None = None) -> Alert:
    return Alert(Kind.SYSTEM, f"alert number {n}", f"body {n}", key or f"k{n}", campaign_id)


# -- a failed delivery through the real worker -------------------------------------------------


def test_a_failed_delivery_mails_and_calls_the_webhook_once_without_secrets(
    herald: Any, sim: Any, running: Any, smtp: SmtpSink, hook: WebhookSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    herald.set_campaign("spring")
    herald.add_alert_target(smtp.url())
    herald.add_alert_target(hook.url(), campaign="spring")
    sim.add_account("mastodon", username="unify_kr", access_token=MASTODON_TOKEN)
    herald.add_channel(
        "kr-mastodon", "mastodon", {"access_token": MASTODON_TOKEN}, base_url=sim.url_for("mastodon")
    )
    sim.inject(Fault(kind="error", platform="mastodon", path="/api/v1/statuses", status=422, count=None))
    herald.add_post(PostRequest(channels=["kr-mastodon"], text="refused by the platform", campaign="spring"))

    # The worker records "failed" and queues the alert; the scheduler's alert duty sends it.
    assert wait_for(lambda: len(smtp.messages) >= 1 and len(hook.calls) >= 1, timeout=30)
    (mail,) = smtp.texts()
    (call,) = hook.messages()
    for text in (mail, call):
        assert "kr-mastodon" in text and "mastodon" in text and "failed" in text
        assert "spring" in text and "422" in text
        for secret in (MASTODON_TOKEN, HOOK_SECRET, smtp.url(), hook.url()):
            assert secret not in text
    # Once: another pass sends nothing more.
    assert AlertSender(herald.db, herald.box).drain().alerts == []
    assert len(smtp.messages) == 1 and len(hook.calls) == 1
    # The sender writes its audit event once both targets answered: wait for it too.
    assert wait_for(lambda: any(e.action == "alert.sent" for e in _audit(herald)), timeout=30)
    (event,) = [e for e in _audit(herald) if e.action == "alert.sent"]
    assert event.detail["kind"] == "delivery-failed"
    assert sorted(t["outcome"] for t in event.detail["targets"]) == ["sent", "sent"]
    everything = json.dumps([e.detail for e in _audit(herald)]) + caplog.text
    assert HOOK_SECRET not in everything and MASTODON_TOKEN not in everything
    assert "127.0.0.1" in json.dumps(event.detail)  # targets are named by scheme and host


def test_a_refused_token_alerts_at_once_and_the_channel_is_paused(
    herald: Any, sim: Any, running: Any, hook: WebhookSink
) -> None:
    herald.add_alert_target(hook.url())
    herald.add_channel(
        "bad-m", "mastodon", {"access_token": "revoked-token-55aa77"}, base_url=sim.url_for("mastodon")
    )
    herald.add_post(PostRequest(channels=["bad-m"], text="will not go out"))
    assert wait_for(lambda: len(hook.calls) >= 2, timeout=30)
    titles = sorted(body["title"] for _, body in hook.calls)
    assert len(titles) == 2
    assert "credentials refused; channel paused" in titles[0]
    assert "post failed on bad-m (mastodon)" in titles[1] and "401" in hook.messages()[0] + hook.messages()[1]
    subjects = "\n".join(hook.messages())
    assert "herald channel resume bad-m" in subjects
    (ch,) = [c for c in herald.list_channels() if c.name == "bad-m"]
    assert ch.paused
    assert "revoked-token-55aa77" not in subjects


# -- tokens about to expire --------------------------------------------------------------------


def test_a_token_expiring_in_three_days_alerts_once(
    herald: Any, sim: Any, smtp: SmtpSink, hook: WebhookSink, sender: AlertSender
) -> None:
    herald.add_alert_target(smtp.url())
    herald.add_alert_target(hook.url())
    now = utcnow().replace(microsecond=0)
    for name, days in (("fb-page", 3), ("far-off", 30)):
        herald.add_channel(
            name,
            "facebook",
            {"page_id": "1", "page_access_token": f"fb-token-{name}-xyz"},
            base_url=sim.url_for("facebook"),
        )
        herald.set_token_expiry(name, now + timedelta(days=days))

    assert check_tokens(herald.db, now=now) == 1
    assert check_tokens(herald.db, now=now + timedelta(hours=2)) == 0  # run twice: one alert
    sender.drain(now=now + timedelta(hours=2))
    sender.drain(now=now + timedelta(hours=3))
    assert len(smtp.messages) == 1 and len(hook.calls) == 1
    (mail,) = smtp.texts()
    assert "fb-page" in mail and "facebook" in mail and "expires in 3 days" in mail
    assert "far-off" not in mail and "fb-token" not in mail
    # The next day it says so again (once a day until renewed) ...
    assert check_tokens(herald.db, now=now + timedelta(days=1)) == 1
    # ... and not once the new date is set.
    herald.set_token_expiry("fb-page", now + timedelta(days=60))
    assert check_tokens(herald.db, now=now + timedelta(days=2)) == 0


def test_a_meta_token_about_to_expire_is_read_from_the_platform_and_alerts(
    herald: Any, sim: Any, smtp: SmtpSink, hook: WebhookSink, sender: AlertSender
) -> None:
    """Issue 17: nobody has to remember Meta's 60 days. The scheduler's reader asks
    ``debug_token`` (the simulator answers as Graph does), stores the date, and the hourly check
    alerts by mail and webhook; a token that never expires, or a platform that will not say,
    leaves no date and no alert."""
    from herald.delivery.connectors import Connectors
    from herald.delivery.expiry import read_token_expiry

    herald.add_alert_target(smtp.url())
    herald.add_alert_target(hook.url())
    soon = int(utcnow().timestamp() // 1 + 3 * 86400 + 3600)
    sim.add_account(
        "facebook",
        username="page-soon",
        page_id="5101",
        page_access_token="meta-soon-77ab",
        expires_at=str(soon),
    )
    sim.add_account("facebook", username="page-never", page_id="5102", page_access_token="meta-never-88cd")
    sim.add_account("instagram", username="ig-mute", ig_user_id="5103", access_token="meta-mute-99ef")
    for name, platform, creds in (
        ("fb-soon", "facebook", {"page_id": "5101", "page_access_token": "meta-soon-77ab"}),
        ("fb-never", "facebook", {"page_id": "5102", "page_access_token": "meta-never-88cd"}),
        ("ig-mute", "instagram", {"ig_user_id": "5103", "access_token": "meta-mute-99ef"}),
    ):
        herald.add_channel(name, platform, creds, base_url=sim.url_for(platform))
    # Instagram's Graph refuses debug_token to this token (not the app's developer): unknown.
    sim.inject(Fault(kind="error", platform="instagram", path="/debug_token", status=400))
    herald.set_token_expiry("ig-mute", utcnow() + timedelta(days=40))  # a person's date stays

    read = {r.channel: r.expires_at for r in read_token_expiry(herald.db, Connectors(herald.box))}
    assert set(read) == {"fb-soon", "fb-never"}
    assert read["fb-never"] is None
    assert read["fb-soon"] is not None
    assert abs(read["fb-soon"].replace(tzinfo=UTC).timestamp() - soon) < 1
    with herald.db.read() as s:
        from herald.store.models import Channel

        stored = {c.name: c.token_expires_at for c in s.execute(select(Channel)).scalars()}
    assert stored["fb-never"] is None
    assert stored["fb-soon"] is not None and abs((stored["fb-soon"] - read["fb-soon"]).total_seconds()) < 1
    assert stored["ig-mute"] is not None
    now = utcnow()
    assert check_tokens(herald.db, now=now) == 1
    sender.drain(now=now)
    assert wait_for(lambda: len(smtp.messages) == 1 and len(hook.calls) == 1, timeout=10)
    (mail,) = smtp.texts()
    assert "fb-soon" in mail and "expires in 3 days" in mail
    assert "meta-soon-77ab" not in mail and "meta-soon-77ab" not in json.dumps(hook.calls)


def test_token_expiry_from_the_command_line(herald: Any, sim: Any, herald_env: Any) -> None:
    r = runner.invoke(
        cli,
        [
            "channel", "add", "th", "--platform", "mastodon", "--credential", "access_token=tok-123456",
            "--base-url", sim.url_for("mastodon"), "--token-expires", "2027-02-01",
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["channel", "set", "th", "--token-expires", "2027-03-01T12:00:00+09:00"])
    assert r.exit_code == 0, r.output
    with herald.db.read() as s:
        from herald.store.channels import channel_by_name

        ch = channel_by_name(s, "th")
        assert ch is not None and ch.token_expires_at is not None
        assert ch.token_expires_at.isoformat() == "2027-03-01T03:00:00"
    for bad in ("tomorrow", "2027-13-01", "2027-03-01T12:00:00"):
        r = runner.invoke(cli, ["channel", "set", "th", "--token-expires", bad])
        assert r.exit_code == 2 and "token-expires" in r.output, r.output
    r = runner.invoke(cli, ["channel", "set", "nope", "--token-expires", "2027-01-01"])
    assert r.exit_code == 2 and "unknown channel" in r.output


# -- dedup and the rate limit ------------------------------------------------------------------


def test_the_same_alert_goes_out_once_per_dedup_window(
    herald: Any, hook: WebhookSink, sender: AlertSender
) -> None:
    herald.add_alert_target(hook.url())
    now = utcnow()
    for _ in range(3):
        _queue(herald, _alert(1, key="workers-stalled"), now=now)
    done = sender.drain(now=now)
    assert [a.outcome for a in done.alerts] == ["sent", "duplicate", "duplicate"]
    assert len(hook.calls) == 1
    # After the window, the same key goes out again.
    _queue(herald, _alert(1, key="workers-stalled"), now=now + timedelta(minutes=61))
    assert [a.outcome for a in sender.drain(now=now + timedelta(minutes=61)).alerts] == ["sent"]
    assert len(hook.calls) == 2
    suppressed = [e for e in _audit(herald) if e.action == "alert.suppressed"]
    assert len(suppressed) == 2 and all("dedup" in e.detail["reason"] for e in suppressed)


def test_a_target_gets_at_most_n_an_hour_and_a_summary_of_the_rest(herald: Any, hook: WebhookSink) -> None:
    herald.add_alert_target(hook.url())
    sender = AlertSender(herald.db, herald.box, limits=Limits(per_target_per_hour=3))
    now = utcnow()
    for n in range(10):
        _queue(herald, _alert(n), now=now)
    done = sender.drain(now=now)
    assert [a.outcome for a in done.alerts] == ["sent"] * 2 + ["limited"] * 8
    assert len(hook.calls) == 3, "two alerts and one summary"
    summary = hook.messages()[-1]
    assert "and 8 more" in summary and "alert number 2" in summary and "alert number 9" in summary
    # Within the hour nothing more reaches it, and no second summary.
    for n in range(10, 15):
        _queue(herald, _alert(n), now=now + timedelta(minutes=10))
    assert {a.outcome for a in sender.drain(now=now + timedelta(minutes=10)).alerts} == {"limited"}
    assert len(hook.calls) == 3
    # An hour later: the held-back ones in one summary.
    later = sender.drain(now=now + timedelta(minutes=61))
    assert later.alerts == [] and len(later.summaries) == 1
    assert "and 5 more" in hook.messages()[-1]
    assert len(hook.calls) == 4
    limited = [e for e in _audit(herald) if e.action == "alert.suppressed"]
    assert len(limited) == 13 and all("rate limit" in e.detail["reason"] for e in limited)


def test_campaign_alerts_go_to_the_campaign_and_the_installation_only(
    herald: Any, smtp: SmtpSink, hook: WebhookSink, sender: AlertSender
) -> None:
    herald.set_campaign("spring")
    herald.set_campaign("autumn")
    herald.add_alert_target(hook.url(), campaign="spring")
    herald.add_alert_target(smtp.url(), campaign="autumn")
    with herald.db.read() as s:
        from herald.store.campaigns import campaign_ids_by_name

        ids = campaign_ids_by_name(s)
    _queue(herald, _alert(1, campaign_id=ids["spring"]))
    _queue(herald, _alert(2))  # the installation's own: no installation-wide target
    done = sender.drain()
    assert [a.outcome for a in done.alerts] == ["sent", "unrouted"]
    assert len(hook.calls) == 1 and smtp.messages == []
    unrouted = [e for e in _audit(herald) if e.action == "alert.suppressed"]
    assert "no alert target" in unrouted[0].detail["reason"]


def test_a_target_that_does_not_answer_is_a_failed_alert(
    herald: Any, sender: AlertSender, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    herald.add_alert_target(f"json://127.0.0.1:{free_port()}/webhooks/{HOOK_SECRET}")
    _queue(herald, _alert(1))
    (sent,) = sender.drain().alerts
    assert sent.outcome == "failed" and sent.targets[0].error
    (event,) = [e for e in _audit(herald) if e.action == "alert.failed"]
    assert HOOK_SECRET not in json.dumps(event.detail)
    # apprise names the URL it posts to in its own log lines: redacted there too.
    assert "/webhooks/" in caplog.text and HOOK_SECRET not in caplog.text


# -- the scheduler's verdicts ------------------------------------------------------------------


def test_no_worker_alive_and_a_lagging_scheduler_alert_once_each_until_they_clear() -> None:
    alarms = Alarms(started=1000.0, lag_bound=60.0, grace=60.0)
    none = Verdict(Health.OK, 0, 0.0)
    assert alarms.changes(now=1030.0, verdict=none, lag=0.0) == []  # starting up
    (told,) = alarms.changes(now=1061.0, verdict=none, lag=0.0)
    assert told[0] == "no-worker-alive"
    assert alarms.changes(now=1100.0, verdict=none, lag=0.0) == []  # once
    (lag,) = alarms.changes(now=1101.0, verdict=none, lag=75.0)
    assert lag[0] == "scheduler-lagging" and "75 s" in lag[1]
    assert alarms.changes(now=1102.0, verdict=none, lag=80.0) == []
    assert alarms.changes(now=1103.0, verdict=none, lag=10.0) == []  # cleared ...
    assert [k for k, _ in alarms.changes(now=1104.0, verdict=none, lag=70.0)] == ["scheduler-lagging"]
    alarms.changes(now=1105.0, verdict=none, lag=0.0)
    # A stall is its own alert: no lag alert during it, nor from the stale due time just after.
    stalled = Verdict(Health.STALLED, 5, 90.0)
    assert alarms.changes(now=1106.0, verdict=stalled, lag=95.0) == []
    assert alarms.changes(now=1107.0, verdict=none, lag=96.0) == []
    assert [k for k, _ in alarms.changes(now=1108.0, verdict=none, lag=70.0)] == ["scheduler-lagging"]


def test_the_dispatchers_alerts_are_queued_and_sent(
    herald: Any, hook: WebhookSink, sender: AlertSender
) -> None:
    from herald.alerts import Outbox

    herald.add_alert_target(hook.url())
    outbox = Outbox(herald.db)
    outbox("workers-stalled", "3 messages have waited 70 s and no worker is alive")
    outbox("no-worker-alive", "no worker has been alive for 61 s")
    assert [a.outcome for a in sender.drain().alerts] == ["sent", "sent"]
    assert "no worker is alive" in hook.messages()[0]


# -- targets: who may add them, and what is refused ---------------------------------------------


@pytest.mark.parametrize(
    "url, says",
    [
        ("file:///etc/passwd", "only network services"),
        ("windows://", "only network services"),
        ("dbus://", "only network services"),
        ("syslog://", "only network services"),
        ("FILE:///etc/shadow", "only network services"),
        ("/etc/passwd", "without a scheme"),
        ("tgram://123456:ABCDEF/123?template=/etc/passwd", "may not name a file"),
        ("json://hooks.example.org/x?attach=file:///etc/passwd", "may not name a file"),
        ("jsons://hooks.example.org/x?:X-Header=..%2F..%2Fetc", "may not name a file"),
        ("json://169.254.169.254/latest/meta-data", "link-local"),
        ("json://[fe80::1]/x", "link-local"),
        ("json://0.0.0.0/x", "link-local"),
        ("json://metadata.google.internal/x", "metadata"),
        ("json:///no-host", "names no host"),
        ("json://host:99999/x", "malformed"),
        ("json://host/x y", "without spaces"),
        ("", "required"),
    ],
)
def test_a_hostile_target_is_refused_naming_the_problem(herald: Any, url: str, says: str) -> None:
    with pytest.raises(InputError) as e:
        herald.add_alert_target(url)
    assert e.value.field == "url" and says in str(e.value)
    if len(url) > 12:  # the message names the problem, never the URL (it may hold a secret)
        assert url not in str(e.value)
    assert herald.list_alert_targets() == []


def test_production_refuses_clear_text_targets_off_this_machine(herald: Any) -> None:
    herald.plain_http_base_urls = False
    with pytest.raises(InputError, match="sends in the clear"):
        herald.add_alert_target(f"mailto://user:{SMTP_PASSWORD}@smtp.example.org")
    with pytest.raises(InputError, match="jsons://"):
        herald.add_alert_target("json://hooks.example.org/x")
    assert herald.add_alert_target("mailtos://user:pw@smtp.example.org?to=a@example.org")
    assert herald.add_alert_target("json://127.0.0.1:9/local")


def test_who_may_manage_targets(herald: Any, hook: WebhookSink) -> None:
    herald.set_campaign("spring")
    herald.set_campaign("autumn")
    herald.add_user("admin@herald.test", PASSWORD, "admin")
    herald.add_user("manager@herald.test", PASSWORD, "manager", ["spring"])
    herald.add_user("staff@herald.test", PASSWORD, "staff", ["spring"])
    admin = actor_of(herald, "admin@herald.test")
    manager = actor_of(herald, "manager@herald.test")
    staff = actor_of(herald, "staff@herald.test")
    everywhere = herald.add_alert_target(hook.url(), actor=admin)
    mine = herald.add_alert_target(hook.url(), campaign="spring", actor=manager)
    with pytest.raises(AccessDenied, match="admin role everywhere"):
        herald.add_alert_target(hook.url(), actor=manager)
    with pytest.raises(AccessDenied):
        herald.add_alert_target(hook.url(), campaign="autumn", actor=manager)
    with pytest.raises(AccessDenied):
        herald.add_alert_target(hook.url(), campaign="spring", actor=staff)
    with pytest.raises(NotFound):
        herald.add_alert_target(hook.url(), campaign="winter", actor=admin)
    assert [t.id for t in herald.list_alert_targets(actor=manager)] == [mine]
    assert {t.id for t in herald.list_alert_targets(actor=admin)} == {everywhere, mine}
    assert herald.list_alert_targets(actor=staff) == []
    with pytest.raises(NotFound):  # one they cannot see is not there for them
        herald.remove_alert_target(everywhere, actor=manager)
    with pytest.raises(AccessDenied, match="manager role in this campaign"):
        herald.remove_alert_target(mine, actor=staff)
    with pytest.raises(NotFound):
        herald.remove_alert_target(999, actor=admin)
    herald.remove_alert_target(mine, actor=manager)
    assert [t.id for t in herald.list_alert_targets(actor=admin)] == [everywhere]
    actions = [e.action for e in _audit(herald, "alert-target")]
    assert actions == ["alert-target.add", "alert-target.add", "alert-target.remove"]


# -- the command line --------------------------------------------------------------------------


def test_the_cli_adds_lists_tests_and_removes_without_showing_the_url(
    herald: Any, herald_env: Any, hook: WebhookSink, smtp: SmtpSink
) -> None:
    r = runner.invoke(cli, ["alert", "test"])
    assert r.exit_code == 1 and "no alert target" in r.output
    r = runner.invoke(cli, ["alert", "add", "--url-stdin"], input=hook.url() + "\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["alert", "add", smtp.url()])
    assert r.exit_code == 0, r.output
    listed = runner.invoke(cli, ["alert", "list", "--format", "json"])
    assert listed.exit_code == 0
    rows = json.loads(listed.output)
    assert [row["shown"] for row in rows] == [
        f"json://127.0.0.1:{hook.server.server_port}",
        f"mailto://127.0.0.1:{smtp.port}",
    ]
    table = runner.invoke(cli, ["alert", "list"]).output
    tested = runner.invoke(cli, ["alert", "test"])
    assert tested.exit_code == 0, tested.output
    assert tested.output.count(": sent") == 2
    assert len(hook.calls) == 1 and len(smtp.messages) == 1 and "test alert" in hook.messages()[0]
    # Twice in a row is fine: a person asked (no dedup for tests).
    assert runner.invoke(cli, ["alert", "test"]).exit_code == 0 and len(hook.calls) == 2
    for out in (listed.output, table, tested.output):
        assert HOOK_SECRET not in out and "ops@example.org" not in out
    refused = runner.invoke(cli, ["alert", "add", "file:///etc/passwd"])
    assert refused.exit_code == 2 and "only network services" in refused.output
    r = runner.invoke(cli, ["alert", "remove", str(rows[0]["id"])])
    assert r.exit_code == 0
    assert runner.invoke(cli, ["alert", "remove", str(rows[0]["id"])]).exit_code == 2
    r = runner.invoke(cli, ["alert", "test", "--campaign", "nope"])
    assert r.exit_code == 2 and "unknown campaign" in r.output


def test_the_web_process_queues_a_test_alert_for_the_scheduler(
    herald: Any, hook: WebhookSink, sender: AlertSender
) -> None:
    """A process holding only the web keys seals targets it cannot read: its test alert waits
    for the scheduler."""
    from herald.core.keyring import Keyring
    from herald.core.settings import get_settings
    from herald.store.crypto import CredentialBox

    herald.add_alert_target(hook.url())
    web_box = CredentialBox(Keyring.from_web_keys(get_settings().keyring().web_keys()))
    real, herald.box = herald.box, web_box
    try:
        done = herald.test_alert()
        assert done.outcome == "queued" and hook.calls == []
        herald.add_alert_target(hook.url())  # the web app can add one it cannot read
    finally:
        herald.box = real
    assert [a.outcome for a in sender.drain().alerts] == ["sent"]
    assert len(hook.calls) == 2  # both targets, one of them sealed by the web app
    with herald.db.read() as s:
        assert s.execute(select(AlertMessage.outcome)).scalars().all() == ["sent"]


def test_the_migration_goes_down_and_up_again(herald: Any, db_url: str) -> None:
    from alembic import command

    from herald.store.db import alembic_config

    cfg = alembic_config(db_url)
    command.downgrade(cfg, "0013")
    command.upgrade(cfg, "head")
    herald.add_alert_target("json://127.0.0.1:9/after-the-round-trip")
    assert len(herald.list_alert_targets()) == 1
