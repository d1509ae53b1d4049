"""Roles, what each allows, and the actor behind a request: the one table every check reads.

A person holds a role per campaign (staff, manager or admin), or installation-wide (a
membership without a campaign: that role in every campaign, and for posts of no campaign). An
installation-wide admin also holds what belongs to no campaign: channels and their credentials,
users, campaigns and settings. Roles are ordered: each allows what the one below does, and more.

An API token is the actor of its user, narrowed to a role and, if it says so, to campaigns
(``Scope``): it never allows more than its user holds.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


class Role(enum.StrEnum):
    STAFF = "staff"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise ValueError(f"unknown role {value!r}: one of {', '.join(r.value for r in cls)}") from None


_RANKS = {Role.STAFF: 1, Role.MANAGER: 2, Role.ADMIN: 3}


class Capability(enum.StrEnum):
    #: See a campaign's posts and queue.
    VIEW = "view"
    #: Draft, edit, queue (or submit for approval) posts.
    DRAFT = "draft"
    #: Approve a post, or send it back with a comment.
    APPROVE = "approve"
    #: Cancel, retry, mark as sent, release, take down.
    ACT = "act"
    #: Review the delivery log and the audit log, and export them.
    REVIEW = "review"
    #: Campaign settings; installation-wide: channels, credentials, users, campaigns.
    ADMINISTER = "administer"


CAPABILITIES: Mapping[Role, frozenset[Capability]] = MappingProxyType(
    {
        Role.STAFF: frozenset({Capability.VIEW, Capability.DRAFT}),
        Role.MANAGER: frozenset(
            {Capability.VIEW, Capability.DRAFT, Capability.APPROVE, Capability.ACT, Capability.REVIEW}
        ),
        Role.ADMIN: frozenset(Capability),
    }
)

#: The key of an installation-wide role in ``Actor.roles``.
EVERYWHERE: None = None


@dataclass(frozen=True)
class Scope:
    """What an API token may do: at most ``role``, and only in ``campaigns`` if given."""

    role: Role
    campaigns: frozenset[int] | None = None


@dataclass(frozen=True)
class Actor:
    """Who is acting, and the roles they hold (campaign id, or None for installation-wide)."""

    user_id: int | None
    email: str
    roles: Mapping[int | None, Role] = field(default_factory=dict)
    scope: Scope | None = None
    #: The command line and the processes themselves: every capability, nothing to check.
    system: bool = False

    def role_in(self, campaign_id: int | None) -> Role | None:
        """The highest role held for ``campaign_id`` (None: a post of no campaign)."""
        if self.system:
            return Role.ADMIN
        if self.scope is not None and self.scope.campaigns is not None:
            if campaign_id is None or campaign_id not in self.scope.campaigns:
                return None
        held = [r for r in (self.roles.get(campaign_id), self.roles.get(EVERYWHERE)) if r is not None]
        if not held:
            return None
        best = max(held, key=lambda r: r.rank)
        if self.scope is not None and self.scope.role.rank < best.rank:
            return self.scope.role
        return best

    def can(self, capability: Capability, campaign_id: int | None = None) -> bool:
        role = self.role_in(campaign_id)
        return role is not None and capability in CAPABILITIES[role]

    @property
    def is_admin(self) -> bool:
        """An installation-wide admin (channels, users, campaigns, settings)."""
        return self.can(Capability.ADMINISTER, EVERYWHERE)

    def campaigns_where(self, capability: Capability, known: Iterable[int]) -> frozenset[int] | None:
        """The campaigns (of ``known``) where the actor has ``capability``; None means "every
        campaign and posts of none" (an installation-wide role that allows it)."""
        if self.can(capability, EVERYWHERE) and (self.scope is None or self.scope.campaigns is None):
            return None
        return frozenset(c for c in known if self.can(capability, c))


SYSTEM = Actor(user_id=None, email="system", system=True)
