"""People, roles, API tokens, sign-in and the audit log.

Signing in checks the password (argon2; a wrong email costs as long as a wrong password), then
the second factor when the person has one. Failures are counted per account and per address
(``content_queue.throttle``); over the limit, sign-in answers ``TooManyAttempts`` whatever the
password. A session is a random id in a cookie, stored as its digest, rotated at sign-in and
after the second factor, ended at sign-out or when the password changes.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from content_queue.throttle import SignInThrottle
from herald.accounts import (
    SYSTEM,
    Actor,
    Capability,
    Role,
    Scope,
    hash_password,
    hash_token,
    new_api_token,
    new_session_id,
    new_totp_secret,
    password_needs_rehash,
    totp_uri,
    verify_password,
    verify_totp,
)
from herald.accounts.passwords import DECOY_HASH, check_password_rules
from herald.core.errors import AccessDenied, ConfigError, Conflict, InputError, NotSignedIn, TooManyAttempts
from herald.core.i18n import LOCALES, N_, _, pgettext
from herald.core.secret import Secret
from herald.service.answers import AuditEntry, CreatedToken, TokenInfo, UserInfo, iso
from herald.service.base import ServiceBase
from herald.store import audit, sessions, tokens, users
from herald.store.campaigns import campaign_ids_by_name, campaign_names_by_id
from herald.store.models import ApiToken, User, utcnow

#: A plausible email: something, @, a dotted domain; no spaces or angle brackets.
EMAIL_RE = re.compile(
    r"^[^\s@<>\x00-\x1f\x7f]{1,64}@[^\s@<>\x00-\x1f\x7f]{1,255}\.[^\s@<>.\x00-\x1f\x7f]{1,63}$"
    r"|^[^\s@<>\x00-\x1f\x7f]{1,64}@localhost$"
)
#: Failed sign-ins allowed in ``SIGN_IN_WINDOW_SECONDS``, per account and per address.
MAX_FAILURES_PER_ACCOUNT = 10
MAX_FAILURES_PER_ADDRESS = 20
SIGN_IN_WINDOW_SECONDS = 15 * 60.0
#: The first admin ``herald up`` makes on an empty installation.
FIRST_ADMIN_EMAIL = "admin@localhost"
MAX_TOKEN_NAME_CHARS = 100
AUDIT_PAGE = 100
#: A session's "last seen" is written at most this often (and at most a tenth of the idle
#: time): most page views then only read.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class SignedIn:
    """A correct password: ``second_factor`` says a code is still needed."""

    user_id: int
    email: str
    second_factor: bool


@dataclass(frozen=True)
class WebSessionInfo:
    actor: Actor
    csrf_secret: str
    pending_second_factor: bool
    #: The language the person chose on their account page (None: as their browser asks).
    locale: str | None = None


class Accounts(ServiceBase):
    # -- people ------------------------------------------------------------------------------

    def add_user(
        self,
        email: str,
        password: str,
        role: str,
        campaigns: Sequence[str] = (),
        *,
        actor: Actor = SYSTEM,
    ) -> UserInfo:
        """A new person with ``role`` in ``campaigns`` (none: everywhere). Refuses a bad email,
        a weak password, an unknown role or campaign, or an email already in use."""
        self._require(actor, Capability.ADMINISTER, None, N_("adding a person"))
        email = users.normalise_email(email)
        if not EMAIL_RE.match(email):
            raise InputError("email", _("%(email)r is not an email address") % {"email": email})
        problem = check_password_rules(password)
        if problem:
            raise InputError("password", problem)
        parsed = _role(role)
        with self.db.session() as s:
            ids = self._campaign_ids(s, campaigns)
            try:
                user = users.add_user(s, email=email, password_hash=hash_password(password))
            except IntegrityError:
                raise InputError("email", _("%(email)s already has an account") % {"email": email}) from None
            users.set_roles(s, user.id, parsed.value, _where(ids))
            audit.record(
                s,
                actor=actor.email,
                action="user.add",
                target_type="user",
                target_id=email,
                detail={"role": parsed.value, "campaigns": list(campaigns) or ["(everywhere)"]},
            )
            s.flush()
            s.refresh(user)
            return self._user_info(s, user)

    def set_role(
        self, email: str, role: str, campaigns: Sequence[str] = (), *, actor: Actor = SYSTEM
    ) -> UserInfo:
        self._require(actor, Capability.ADMINISTER, None, N_("changing a person's role"))
        parsed = _role(role)
        with self.db.session() as s:
            user = self._user(s, email)
            ids = self._campaign_ids(s, campaigns)
            if None in _where(ids) and parsed is not Role.ADMIN and users.everywhere_admins(s) == [user.id]:
                raise Conflict(
                    "role",
                    _("%(email)s is the last admin; make someone else admin first") % {"email": user.email},
                )
            users.set_roles(s, user.id, parsed.value, _where(ids))
            audit.record(
                s,
                actor=actor.email,
                action="user.role",
                target_type="user",
                target_id=user.email,
                detail={"role": parsed.value, "campaigns": list(campaigns) or ["(everywhere)"]},
            )
            s.flush()
            s.refresh(user)
            return self._user_info(s, user)

    def set_password(self, email: str, password: str, *, actor: Actor = SYSTEM) -> None:
        """A new password; every session of the person ends."""
        if actor.system is False and actor.email != users.normalise_email(email):
            self._require(actor, Capability.ADMINISTER, None, N_("changing another person's password"))
        problem = check_password_rules(password)
        if problem:
            raise InputError("password", problem)
        with self.db.session() as s:
            user = self._user(s, email)
            users.set_password(s, user, hash_password(password))
            sessions.end_sessions_of(s, user.id)
            audit.record(
                s, actor=actor.email, action="user.password", target_type="user", target_id=user.email
            )

    def set_locale(self, email: str, locale: str | None, *, actor: Actor = SYSTEM) -> None:
        """The language ``email`` reads Herald in: one of ``LOCALES``, or None for "as the
        browser asks". A person sets their own; an admin, anyone's."""
        if actor.system is False and actor.email != users.normalise_email(email):
            self._require(actor, Capability.ADMINISTER, None, N_("changing another person's language"))
        if locale is not None and locale not in LOCALES:
            raise InputError(
                "locale", _("choose a language Herald speaks: %(locales)s") % {"locales": ", ".join(LOCALES)}
            )
        with self.db.session() as s:
            users.set_locale(s, self._user(s, email), locale)

    def check_password(self, email: str, password: str, *, address: str) -> None:
        """Is this the person's password? (Before changing it, say.) Failures count towards
        the sign-in limits, as a sign-in's do; nothing else is recorded. Raises
        ``TooManyAttempts`` or ``NotSignedIn``."""
        email = users.normalise_email(email)
        self._throttled(email, address)
        with self.db.read() as s:
            user = users.user_by_email(s, email)
            good = verify_password(user.password_hash if user else DECOY_HASH, password)
        if user is None or not good:
            self._failed(email, address)
            raise NotSignedIn(_("wrong password"))

    def list_users(self, *, actor: Actor = SYSTEM) -> list[UserInfo]:
        self._require(actor, Capability.ADMINISTER, None, N_("listing people"))
        with self.db.read() as s:
            return [self._user_info(s, u) for u in users.users_listed(s)]

    def ensure_first_admin(self) -> tuple[str, str] | None:
        """On an installation with nobody: an admin with a new random password, returned once
        as (email, password) to be shown to the person starting Herald. Otherwise None."""
        with self.db.read() as s:
            if users.user_count(s):
                return None
        password = secrets.token_urlsafe(15)
        try:
            self.add_user(FIRST_ADMIN_EMAIL, password, Role.ADMIN.value)
        except InputError:  # another process made it first
            return None
        return FIRST_ADMIN_EMAIL, password

    # -- second factor -----------------------------------------------------------------------

    def enable_second_factor(self, email: str, *, actor: Actor = SYSTEM) -> str:
        """A new TOTP secret for the person; returns the otpauth:// URI to put in their app."""
        if actor.system is False and actor.email != users.normalise_email(email):
            self._require(actor, Capability.ADMINISTER, None, N_("setting another person's second factor"))
        secret = new_totp_secret()
        with self.db.session() as s:
            user = self._user(s, email)
            users.set_second_factor(s, user, self.secrets.seal({"totp": Secret(secret)}))
            audit.record(
                s, actor=actor.email, action="user.second-factor", target_type="user", target_id=user.email
            )
            return totp_uri(secret, user.email)

    # -- signing in --------------------------------------------------------------------------

    def sign_in(self, email: str, password: str, *, address: str) -> SignedIn:
        """Check a password. Raises ``TooManyAttempts`` over the limits (before looking at the
        password), ``NotSignedIn`` for a wrong email or password (the same message for both)."""
        email = users.normalise_email(email)
        self._throttled(email, address)
        with self.db.session() as s:
            user = users.user_by_email(s, email)
            good = verify_password(user.password_hash if user else DECOY_HASH, password)
            if user is None or not good or user.disabled_at is not None:
                self._failed(email, address)
                raise NotSignedIn(_("wrong email or password"))
            if password_needs_rehash(user.password_hash):
                users.set_password(s, user, hash_password(password))
            second = user.totp_secret_encrypted is not None
            if not second:
                users.note_login(s, user)
                audit.record(
                    s, actor=user.email, action="user.sign-in", target_type="user", target_id=user.email
                )
            self.throttle.clear("account", email)
            return SignedIn(user.id, user.email, second)

    def check_second_factor(self, user_id: int, code: str, *, address: str) -> None:
        """Accept a TOTP code once. Raises ``NotSignedIn`` for a wrong or reused code and
        ``TooManyAttempts`` over the limits."""
        with self.db.session() as s:
            user = users.user_by_id(s, user_id)
            if user is None or user.totp_secret_encrypted is None:
                raise NotSignedIn(_("no second factor is set for this account"))
            self._throttled(user.email, address)
            secret = self.secrets.open(user.totp_secret_encrypted)["totp"].reveal()
            step = verify_totp(secret, code, last_step=user.totp_last_step)
            if step is None:
                self._failed(user.email, address)
                raise NotSignedIn(_("wrong or already used code"))
            users.note_login(s, user, totp_step=step)
            audit.record(s, actor=user.email, action="user.sign-in", target_type="user", target_id=user.email)

    def second_factor_candidate(self, user_id: int) -> tuple[str, str]:
        """For a person setting up their second factor on the web: a new TOTP secret as an
        otpauth:// URI, and the secret sealed for their user id (carried by the form, so
        nothing is stored until a code from it is accepted: ``confirm_second_factor``)."""
        with self.db.read() as s:
            user = users.user_by_id(s, user_id)
            if user is None:
                raise NotSignedIn(_("sign in first"))
            email = user.email
        secret = new_totp_secret()
        sealed = self.secrets.seal({"totp": Secret(secret), "user": Secret(str(user_id))})
        return totp_uri(secret, email), sealed.decode("ascii")

    def confirm_second_factor(self, user_id: int, sealed: str, code: str, *, address: str) -> None:
        """Store the candidate secret once a code from it is right (and count that code as
        used). Raises ``NotSignedIn`` for a wrong code or a candidate not made for this user."""
        try:
            opened = self.secrets.open(sealed.encode("ascii"))
        except (ConfigError, UnicodeEncodeError):
            raise NotSignedIn(_("this setup form has expired; reload it")) from None
        if opened.get("user", Secret("")).reveal() != str(user_id) or "totp" not in opened:
            raise NotSignedIn(_("this setup form was not made for this account"))
        with self.db.session() as s:
            user = users.user_by_id(s, user_id)
            if user is None:
                raise NotSignedIn(_("sign in first"))
            self._throttled(user.email, address)
            step = verify_totp(opened["totp"].reveal(), code, last_step=None)
            if step is None:
                self._failed(user.email, address)
                raise NotSignedIn(_("wrong code"))
            users.set_second_factor(s, user, self.secrets.seal({"totp": opened["totp"]}))
            users.note_login(s, user, totp_step=step)
            audit.record(
                s, actor=user.email, action="user.second-factor", target_type="user", target_id=user.email
            )
            audit.record(s, actor=user.email, action="user.sign-in", target_type="user", target_id=user.email)

    def needs_second_factor_setup(self, user_id: int) -> bool:
        """An admin without a second factor where the settings require one."""
        if not self.require_admin_second_factor:
            return False
        with self.db.read() as s:
            user = users.user_by_id(s, user_id)
            if user is None:
                return False
            return self._actor(user).is_admin and user.totp_secret_encrypted is None

    # -- web sessions ------------------------------------------------------------------------

    def start_session(self, user_id: int, *, pending_second_factor: bool = False) -> tuple[str, str]:
        """A new session: (the id for the cookie, the secret its CSRF tokens are signed with)."""
        sid, digest = new_session_id()
        csrf = secrets.token_hex(32)
        with self.db.session() as s:
            sessions.add_session(
                s,
                id_hash=digest,
                user_id=user_id,
                csrf_secret=csrf,
                lifetime=self.session_lifetime,
                pending_second_factor=pending_second_factor,
            )
        return sid, csrf

    def session(self, sid: str) -> WebSessionInfo | None:
        """The session behind a cookie (and its person's roles), or None; seen now.

        Read without writing: "seen" is written only once the last write is older than
        ``touch_every`` (a page view is then a read transaction, which on SQLite neither waits
        for the writer nor holds it up), so the idle clock runs at most that much early."""
        digest = hash_token(sid)
        now = utcnow()
        with self.db.read() as s:
            row = sessions.live_session(s, digest, idle=self.session_idle, now=now)
            if row is None:
                return None
            user = users.user_by_id(s, row.user_id)
            stale = now - row.last_seen_at >= touch_every(self.session_idle)
            info = (
                None
                if user is None or user.disabled_at is not None
                else WebSessionInfo(
                    self._actor(user), row.csrf_secret, row.pending_second_factor, user.locale
                )
            )
        if info is None:
            with self.db.session() as s:
                sessions.end_session(s, digest)
            return None
        if stale:
            with self.db.session() as s:
                sessions.touch_session(s, digest, now=now)
        return info

    def end_session(self, sid: str) -> None:
        with self.db.session() as s:
            sessions.end_session(s, hash_token(sid))

    # -- API tokens --------------------------------------------------------------------------

    def create_token(
        self,
        email: str,
        *,
        name: str = "api",
        role: str | None = None,
        campaigns: Sequence[str] = (),
        actor: Actor = SYSTEM,
    ) -> CreatedToken:
        """A new API token for ``email``: at most ``role`` (default: their highest), in
        ``campaigns`` only if given. The token itself is in the answer, and nowhere else ever."""
        if actor.system is False and actor.email != users.normalise_email(email):
            self._require(actor, Capability.ADMINISTER, None, N_("making a token for another person"))
        name = name.strip() or "api"
        if len(name) > MAX_TOKEN_NAME_CHARS:
            raise InputError(
                "name", _("a token name has at most %(max)d characters") % {"max": MAX_TOKEN_NAME_CHARS}
            )
        with self.db.session() as s:
            user = self._user(s, email)
            held = self._actor(user)
            best = max((r for r in held.roles.values()), key=lambda r: r.rank, default=None)
            if best is None:
                raise InputError(
                    "email", _("%(email)s holds no role; give one first") % {"email": user.email}
                )
            scope_role = _role(role) if role else best
            if scope_role.rank > best.rank:
                raise InputError(
                    "role",
                    _("%(email)s is at most %(role)s; a token cannot be more")
                    % {"email": user.email, "role": pgettext("role", best.value)},
                )
            ids = self._campaign_ids(s, campaigns)
            token, digest, shown = new_api_token()
            row = tokens.add_token(
                s,
                user_id=user.id,
                name=name,
                token_hash=digest,
                shown=shown,
                role=scope_role.value,
                campaigns=ids or None,
            )
            audit.record(
                s,
                actor=actor.email,
                action="token.create",
                target_type="token",
                target_id=shown,
                detail={"for": user.email, "name": name, "role": scope_role.value},
            )
            return CreatedToken(token=Secret(token), info=self._token_info(s, row))

    def tokens_of(self, email: str, *, actor: Actor = SYSTEM) -> list[TokenInfo]:
        if actor.system is False and actor.email != users.normalise_email(email):
            self._require(actor, Capability.ADMINISTER, None, N_("listing another person's tokens"))
        with self.db.read() as s:
            return [self._token_info(s, t) for t in tokens.tokens_of(s, self._user(s, email).id)]

    def revoke_token(self, token_id: int, *, actor: Actor = SYSTEM) -> bool:
        only = None if actor.system or actor.is_admin else actor.user_id
        with self.db.session() as s:
            done = tokens.revoke_token(s, token_id, user_id=only)
            if done:
                audit.record(
                    s, actor=actor.email, action="token.revoke", target_type="token", target_id=token_id
                )
            return done

    def token_actor(self, token: str) -> Actor | None:
        """The actor behind a bearer token, or None (unknown, revoked, or its person disabled)."""
        with self.db.session() as s:
            row = tokens.live_token_by_hash(s, hash_token(token))
            if row is None:
                return None
            user = users.user_by_id(s, row.user_id)
            if user is None or user.disabled_at is not None:
                return None
            tokens.note_token_used(s, row.id)
            scope = Scope(Role(row.role), frozenset(row.campaigns) if row.campaigns is not None else None)
            base = self._actor(user)
            return Actor(user.id, f"{user.email} (token {row.shown})", base.roles, scope)

    # -- the audit log -----------------------------------------------------------------------

    def audit_log(
        self, *, actor: Actor = SYSTEM, before_id: int | None = None, limit: int = AUDIT_PAGE
    ) -> list[AuditEntry]:
        """Events the actor may review, newest first (``before_id`` continues a page)."""
        with self.db.read() as s:
            names = campaign_names_by_id(s)
            where = actor.campaigns_where(Capability.REVIEW, names)
            if where is not None and not where and not actor.is_admin:
                raise AccessDenied(_("the audit log needs the manager role in a campaign"))
            filters = audit.AuditFilters(
                campaigns=where,
                include_global=actor.is_admin,
                # Posts of no campaign are for installation-wide roles: theirs to review too.
                include_posts_of_none=actor.can(Capability.REVIEW, None),
            )
            rows = audit.events_listed(s, filters, before_id=before_id, limit=max(1, min(limit, 1000)))
            return [
                AuditEntry(
                    id=r.id,
                    at=iso(r.at) or "",
                    actor=r.actor,
                    action=r.action,
                    target_type=r.target_type,
                    target_id=r.target_id,
                    campaign=names.get(r.campaign_id) if r.campaign_id is not None else None,
                    detail=dict(r.detail or {}),
                )
                for r in rows
            ]

    # -- helpers -----------------------------------------------------------------------------

    @property
    def throttle(self) -> SignInThrottle:
        return SignInThrottle(self.queue.redis, self.queue.keys)

    def _throttled(self, email: str, address: str) -> None:
        wait = max(
            self.throttle.wait(
                "account", email, limit=MAX_FAILURES_PER_ACCOUNT, window=SIGN_IN_WINDOW_SECONDS
            ),
            self.throttle.wait(
                "address", address, limit=MAX_FAILURES_PER_ADDRESS, window=SIGN_IN_WINDOW_SECONDS
            ),
        )
        if wait > 0:
            raise TooManyAttempts(
                _("too many failed sign-ins; try again in %(minutes).0f minutes") % {"minutes": wait / 60},
                wait,
            )

    def _failed(self, email: str, address: str) -> None:
        self.throttle.note_failure("account", email, window=SIGN_IN_WINDOW_SECONDS)
        self.throttle.note_failure("address", address, window=SIGN_IN_WINDOW_SECONDS)

    def _user(self, s: object, email: str) -> User:
        user = users.user_by_email(s, email)  # type: ignore[arg-type]  # a Session
        if user is None:
            raise InputError("email", _("no account for %(email)s") % {"email": users.normalise_email(email)})
        return user

    @staticmethod
    def _actor(user: User) -> Actor:
        return Actor(user.id, user.email, {m.campaign_id: Role(m.role) for m in user.memberships})

    def _campaign_ids(self, s: object, names: Sequence[str]) -> list[int]:
        if not names:
            return []
        known = campaign_ids_by_name(s)  # type: ignore[arg-type]  # a Session
        unknown = [n for n in names if n not in known]
        if unknown:
            have = ", ".join(sorted(known)) or _("none yet")
            raise InputError(
                "campaign",
                _("no campaign named %(names)s (existing: %(existing)s)")
                % {"names": ", ".join(unknown), "existing": have},
            )
        return [known[n] for n in names]

    def _user_info(self, s: object, user: User) -> UserInfo:
        names = campaign_names_by_id(s)  # type: ignore[arg-type]  # a Session
        return UserInfo(
            email=user.email,
            roles=tuple(
                (names.get(m.campaign_id) if m.campaign_id is not None else None, m.role)
                for m in user.memberships
            ),
            second_factor=user.totp_secret_encrypted is not None,
            disabled=user.disabled_at is not None,
            created_at=iso(user.created_at) or "",
            last_login_at=iso(user.last_login_at),
        )

    def _token_info(self, s: object, row: ApiToken) -> TokenInfo:
        names = campaign_names_by_id(s)  # type: ignore[arg-type]  # a Session
        return TokenInfo(
            id=row.id,
            name=row.name,
            shown=row.shown,
            role=row.role,
            campaigns=None if row.campaigns is None else tuple(names.get(c, str(c)) for c in row.campaigns),
            created_at=iso(row.created_at) or "",
            last_used_at=iso(row.last_used_at),
            revoked=row.revoked_at is not None,
        )


def _where(campaign_ids: list[int]) -> list[int | None]:
    """Campaigns to set a role in; none named means everywhere."""
    return list(campaign_ids) if campaign_ids else [None]


def _role(value: str) -> Role:
    try:
        return Role.parse(value)
    except ValueError as e:
        raise InputError("role", str(e)) from None


def touch_every(idle: timedelta) -> timedelta:
    """How stale a session's "last seen" may get before it is written again."""
    return min(TOUCH_EVERY, idle / 10)


__all__ = ["Accounts", "SignedIn", "WebSessionInfo"]
