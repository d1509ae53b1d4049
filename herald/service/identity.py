"""Who is asking: the person behind an actor, the roles they hold as the request may use them
(narrowed by the API token's scope, if a token was used), and that scope."""

from __future__ import annotations

from dataclasses import dataclass

from herald.accounts import Actor
from herald.core.errors import NotSignedIn
from herald.service.answers import Answer
from herald.service.base import ServiceBase
from herald.store.campaigns import campaign_names_by_id
from herald.store.users import user_by_id


@dataclass(frozen=True)
class Identity(Answer):
    email: str
    #: (campaign name, or None for everywhere; role) the request may act with: the person's
    #: roles, narrowed to what the token allows when a token was used.
    roles: tuple[tuple[str | None, str], ...]
    #: The token's limits (None: signed in by a session, not a token).
    token_role: str | None = None
    #: Campaign names the token is limited to (None: every campaign of its person).
    token_campaigns: tuple[str, ...] | None = None


def identity(svc: ServiceBase, *, actor: Actor) -> Identity:
    """The person behind ``actor`` and what they may act as. Raises NotSignedIn for an actor
    that is not a person (the processes themselves) or one that is gone."""
    if actor.user_id is None:
        raise NotSignedIn("no person is signed in")
    with svc.db.read() as s:
        user = user_by_id(s, actor.user_id)
        if user is None:
            raise NotSignedIn("no person is signed in")
        names = campaign_names_by_id(s)
    scoped = actor.scope.campaigns if actor.scope and actor.scope.campaigns is not None else frozenset()
    roles: list[tuple[str | None, str]] = []

    def order(campaign_id: int | None) -> tuple[bool, str]:  # installation-wide first, then by name
        return (campaign_id is not None, "" if campaign_id is None else names.get(campaign_id, ""))

    for campaign_id in sorted(set(actor.roles) | scoped, key=order):
        role = actor.role_in(campaign_id)
        if role is not None and (campaign_id is None or campaign_id in names):
            roles.append((None if campaign_id is None else names[campaign_id], role.value))
    scope = actor.scope
    return Identity(
        email=user.email,
        roles=tuple(roles),
        token_role=scope.role.value if scope else None,
        token_campaigns=(
            None
            if scope is None or scope.campaigns is None
            else tuple(sorted(names[c] for c in scope.campaigns if c in names))
        ),
    )


__all__ = ["Identity", "identity"]
