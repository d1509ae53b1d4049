"""Accounts and approval at the service layer, on SQLite and PostgreSQL: roles per campaign or
everywhere, what each allows (one table), sign-in with its throttle and second factor, tokens,
approval keeping posts out of the content queue, and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest

from herald.accounts import SYSTEM, Capability, Role
from herald.core.errors import AccessDenied, Conflict, InputError, NotSignedIn, TooManyAttempts
from herald.service import PostRequest
from herald.store import states

PASSWORD = "correct horse battery staple"


@pytest.fixture
def db_url(any_db_url: str) -> str:
    return any_db_url


@pytest.fixture
def team(herald: Any) -> dict[str, Any]:
    """Two campaigns, two channels, and one person per role."""
    herald.set_campaign("unification", requires_approval=True)
    herald.set_campaign("berlin")
    herald.add_channel("kr-m", "mastodon", {"access_token": "tok-1"}, base_url="http://127.0.0.1:9")
    herald.add_channel("kr-x", "mastodon", {"access_token": "tok-2"}, base_url="http://127.0.0.1:9")
    herald.add_user("staff@example.org", PASSWORD, "staff", ["unification"])
    herald.add_user("manager@example.org", PASSWORD, "manager", ["unification"])
    herald.add_user("admin@example.org", PASSWORD, "admin")
    herald.add_user("berlin@example.org", PASSWORD, "manager", ["berlin"])
    actors = {}
    for email in ("staff@example.org", "manager@example.org", "admin@example.org", "berlin@example.org"):
        signed = herald.sign_in(email, PASSWORD, address="10.0.0.1")
        sid, _ = herald.start_session(signed.user_id)
        actors[email.split("@")[0]] = herald.session(sid).actor
    return actors


def _post(campaign: str | None = "unification", text: str = "평화 통일 / peace") -> PostRequest:
    return PostRequest(
        channels=["kr-m", "kr-x"], text=text, at=datetime.now(UTC) + timedelta(hours=1), campaign=campaign
    )


def test_roles_allow_what_the_table_says(team: dict[str, Any], herald: Any) -> None:
    staff, manager, admin, berlin = (team[k] for k in ("staff", "manager", "admin", "berlin"))
    assert {c.name for c in herald.list_campaigns()} == {"unification", "berlin"}
    (staff_campaign,) = staff.roles
    assert staff.role_in(staff_campaign) is Role.STAFF and staff.role_in(None) is None
    assert staff.can(Capability.DRAFT, staff_campaign) and not staff.can(Capability.APPROVE, staff_campaign)
    assert manager.can(Capability.APPROVE, staff_campaign) and not manager.is_admin
    assert admin.is_admin and admin.can(Capability.ACT, staff_campaign)
    assert not berlin.can(Capability.VIEW, staff_campaign)
    # Each sees only their campaigns.
    assert [c.name for c in herald.list_campaigns(actor=staff)] == ["unification"]
    assert {c.name for c in herald.list_campaigns(actor=admin)} == {"unification", "berlin"}


def test_approval_keeps_staff_posts_out_of_the_queue_until_a_manager_says(
    team: dict[str, Any], herald: Any
) -> None:
    staff, manager, berlin = team["staff"], team["manager"], team["berlin"]
    pid = herald.add_post(_post(), actor=staff)
    (post,) = herald.list_posts(actor=staff)
    assert (post.id, post.approval, post.created_by) == (pid, "pending", "staff@example.org")
    assert set(post.deliveries.values()) == {states.SCHEDULED}
    assert herald.queue.counts() == {"due": 0, "inflight": 0}  # nothing unapproved in Redis
    with pytest.raises(AccessDenied, match="manager role"):
        herald.approve_post(pid, actor=staff)
    with pytest.raises(AccessDenied):
        herald.approve_post(pid, actor=berlin)  # a manager, of another campaign
    herald.return_post(pid, "add the English source", actor=manager)
    (post,) = herald.list_posts(actor=staff)
    assert (post.approval, post.approval_note) == ("returned", "add the English source")
    with pytest.raises(InputError, match="not waiting"):
        herald.approve_post(pid, actor=manager)
    herald.resubmit_post(pid, actor=staff)
    ids = herald.approve_post(pid, actor=manager)
    assert len(ids) == 2 and herald.queue.counts()["due"] == 2
    (entry, _) = herald.delivery_log(post_id=pid, actor=manager)
    assert (entry.approval, entry.approved_by, entry.status) == (
        "approved",
        "manager@example.org",
        states.QUEUED,
    )
    # A manager's own post needs nobody's approval.
    own = herald.add_post(_post(text="from a manager"), actor=manager)
    assert herald.delivery_log(post_id=own)[0].status == states.QUEUED


def test_staff_cannot_act_review_or_administer(team: dict[str, Any], herald: Any) -> None:
    staff = team["staff"]
    pid = herald.add_post(_post(campaign="unification"), actor=team["manager"])
    for call in (
        lambda: herald.cancel_post(pid, actor=staff),
        lambda: herald.takedown(pid, actor=staff),
        lambda: herald.requeue(pid, what="retry", actor=staff),
        lambda: herald.add_channel("x2", "mastodon", {"access_token": "t"}, actor=staff),
        lambda: herald.set_campaign("unification", requires_approval=False, actor=staff),
        lambda: herald.add_user("new@example.org", PASSWORD, "staff", actor=staff),
        lambda: herald.add_post(_post(campaign="berlin"), actor=staff),
    ):
        with pytest.raises(AccessDenied):
            call()
    # A campaign that does not exist is refused by name, for everyone (a typo must not make one).
    with pytest.raises(InputError, match="no campaign named 'brand-new'.*berlin, unification"):
        herald.add_post(_post(campaign="brand-new"), actor=staff)
    assert herald.delivery_log(actor=staff) == []  # reviewing the log is a manager's
    assert len(herald.delivery_log(actor=team["manager"])) == 2
    assert herald.delivery_log(actor=team["berlin"]) == []
    assert herald.cancel_post(pid, actor=team["manager"]).cancelled


def test_sign_in_throttle_and_second_factor(team: dict[str, Any], herald: Any) -> None:
    with pytest.raises(NotSignedIn, match="wrong email or password"):
        herald.sign_in("nobody@example.org", PASSWORD, address="10.0.0.9")
    for _ in range(9):
        with pytest.raises(NotSignedIn):
            herald.sign_in("staff@example.org", "wrong password!!", address="10.0.0.9")
    # The tenth failure for this account; then even the right password waits.
    with pytest.raises(NotSignedIn):
        herald.sign_in("staff@example.org", "wrong password!!", address="10.0.0.9")
    with pytest.raises(TooManyAttempts) as e:
        herald.sign_in("staff@example.org", PASSWORD, address="10.0.0.10")
    assert e.value.retry_after > 0
    uri = herald.enable_second_factor("admin@example.org")
    secret = pyotp.parse_uri(uri).secret
    signed = herald.sign_in("admin@example.org", PASSWORD, address="10.0.0.2")
    assert signed.second_factor
    with pytest.raises(NotSignedIn):
        herald.check_second_factor(signed.user_id, "000000", address="10.0.0.2")
    code = pyotp.TOTP(secret).now()
    herald.check_second_factor(signed.user_id, code, address="10.0.0.2")
    with pytest.raises(NotSignedIn, match="already used"):
        herald.check_second_factor(signed.user_id, code, address="10.0.0.2")


def test_sessions_and_tokens(team: dict[str, Any], herald: Any) -> None:
    signed = herald.sign_in("manager@example.org", PASSWORD, address="10.0.0.3")
    sid, csrf = herald.start_session(signed.user_id)
    assert herald.session(sid).csrf_secret == csrf
    herald.set_password("manager@example.org", "another long passphrase")
    assert herald.session(sid) is None  # a new password ends every session
    made = herald.create_token("manager@example.org", name="ci", role="staff")
    assert "hrd_" in made.token.reveal() and made.token.reveal() not in repr(made)
    actor = herald.token_actor(made.token.reveal())
    (campaign,) = actor.roles
    assert actor.can(Capability.DRAFT, campaign) and not actor.can(Capability.APPROVE, campaign)
    assert herald.revoke_token(made.info.id)
    assert herald.token_actor(made.token.reveal()) is None
    with pytest.raises(InputError, match="at most manager"):
        herald.create_token("manager@example.org", role="admin")


def _last_seen(herald: Any, sid: str) -> datetime:
    from sqlalchemy import select

    from herald.accounts.tokens import hash_token
    from herald.store.models import WebSession

    with herald.db.read() as s:
        return s.execute(
            select(WebSession.last_seen_at).where(WebSession.id_hash == hash_token(sid))
        ).scalar_one()


def _age(herald: Any, sid: str, by: timedelta) -> None:
    """Move the session's "last seen" back by ``by`` (as if the person had been away)."""
    from sqlalchemy import update

    from herald.accounts.tokens import hash_token
    from herald.store.models import WebSession

    was = _last_seen(herald, sid)
    with herald.db.session() as s:
        s.execute(
            update(WebSession).where(WebSession.id_hash == hash_token(sid)).values(last_seen_at=was - by)
        )


def test_a_page_view_writes_last_seen_only_when_it_is_stale_and_idle_sessions_end(
    team: dict[str, Any], herald: Any
) -> None:
    from herald.service.accounts import touch_every

    herald.session_idle = timedelta(minutes=30)
    every = touch_every(herald.session_idle)
    assert every == timedelta(seconds=60)
    signed = herald.sign_in("staff@example.org", PASSWORD, address="10.0.0.4")
    sid, _ = herald.start_session(signed.user_id)
    first = _last_seen(herald, sid)
    assert herald.session(sid) is not None
    assert _last_seen(herald, sid) == first  # fresh: read, nothing written
    _age(herald, sid, every)
    assert herald.session(sid) is not None
    assert _last_seen(herald, sid) > first - every  # stale: written again
    # Away for longer than the idle time: signed out, whenever "seen" was last written.
    _age(herald, sid, herald.session_idle + timedelta(seconds=1))
    assert herald.session(sid) is None
    # A short idle time writes more often: a tenth of it.
    assert touch_every(timedelta(minutes=2)) == timedelta(seconds=12)


def test_audit_log_says_who_did_what(team: dict[str, Any], herald: Any) -> None:
    pid = herald.add_post(_post(), actor=team["staff"])
    herald.approve_post(pid, actor=team["manager"])
    herald.cancel_post(pid, actor=team["manager"])
    seen = [(e.actor, e.action) for e in herald.audit_log(actor=team["manager"])]
    assert seen[:3] == [
        ("manager@example.org", "post.cancel"),
        ("manager@example.org", "post.approve"),
        ("staff@example.org", "post.submit"),
    ]
    # Managers see their campaigns' events; only admins see channels and people.
    assert not any(a == "channel.add" for _, a in seen)
    assert any(e.action == "channel.add" for e in herald.audit_log(actor=team["admin"]))
    with pytest.raises(AccessDenied):
        herald.audit_log(actor=team["staff"])
    older = herald.audit_log(
        actor=team["admin"], before_id=herald.audit_log(actor=team["admin"], limit=1)[0].id
    )
    assert older and all(e.id < herald.audit_log(actor=team["admin"], limit=1)[0].id for e in older)


def test_first_admin_once(herald: Any) -> None:
    made = herald.ensure_first_admin()
    assert made is not None and made[0] == "admin@localhost" and len(made[1]) >= 16
    assert herald.ensure_first_admin() is None
    assert herald.sign_in(*made, address="127.0.0.1").email == "admin@localhost"


def test_system_actor_may_do_anything() -> None:
    assert SYSTEM.is_admin and SYSTEM.can(Capability.APPROVE, 42)


def test_the_last_admin_cannot_be_demoted(team: dict[str, Any], herald: Any) -> None:
    with pytest.raises(Conflict, match="last admin"):
        herald.set_role("admin@example.org", "manager", actor=team["admin"])
    # A campaign role beside it is fine; with a second admin, the first may step down.
    herald.set_role("admin@example.org", "staff", ["berlin"], actor=team["admin"])
    herald.set_role("manager@example.org", "admin", actor=team["admin"])
    herald.set_role("admin@example.org", "manager", actor=team["admin"])
    roles = {u.email: set(u.roles) for u in herald.list_users()}
    assert roles["admin@example.org"] == {(None, "manager"), ("berlin", "staff")}
    assert (None, "admin") in roles["manager@example.org"]


def test_checking_a_password_counts_failures_and_records_nothing(team: dict[str, Any], herald: Any) -> None:
    before = len(herald.audit_log())
    herald.check_password("staff@example.org", PASSWORD, address="10.0.0.9")
    with pytest.raises(NotSignedIn):
        herald.check_password("staff@example.org", "wrong", address="10.0.0.9")
    assert len(herald.audit_log()) == before
    for _ in range(10):
        with pytest.raises((NotSignedIn, TooManyAttempts)):
            herald.check_password("staff@example.org", "wrong", address="10.0.0.9")
    with pytest.raises(TooManyAttempts):
        herald.check_password("staff@example.org", PASSWORD, address="10.0.0.9")


def test_an_installation_wide_manager_reviews_posts_of_no_campaign(team: dict[str, Any], herald: Any) -> None:
    herald.add_user("chief@example.org", PASSWORD, "manager")
    signed = herald.sign_in("chief@example.org", PASSWORD, address="10.0.0.1")
    chief = herald.session(herald.start_session(signed.user_id)[0]).actor
    post_id = herald.add_post(_post(campaign=None), actor=team["admin"])
    events = herald.audit_log(actor=chief)
    assert any(e.target_id == post_id for e in events)
    # People and channels are the admins' business.
    assert not any(e.target_type in ("user", "channel") for e in events)
    assert not any(e.target_id == post_id for e in herald.audit_log(actor=team["manager"]))


def test_only_the_test_suite_hashes_cheaply(
    herald: Any, herald_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``HERALD_ENV=test`` (this suite) uses the cheapest argon2id; any other environment
    today's parameters (argon2-cffi's defaults: 64 MiB, 3 passes)."""
    from herald.accounts.passwords import hash_password
    from herald.core.settings import get_settings, reset_settings
    from herald.runtime import service

    assert hash_password("a long enough passphrase").startswith("$argon2id$v=19$m=8,t=1,p=1$")
    monkeypatch.setenv("HERALD_ENV", "development")
    reset_settings()
    try:
        service(get_settings())
        assert hash_password("a long enough passphrase").startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    finally:
        monkeypatch.setenv("HERALD_ENV", "test")
        reset_settings()
        service(get_settings())
