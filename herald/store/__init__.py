"""The SQL store: models, every query (a module per noun, each function named for what it
answers), the delivery state machine's transitions, migrations, credential encryption. SQL is
Herald's source of truth."""

from herald.store.crypto import CredentialBox
from herald.store.db import Database, migrate
from herald.store.models import (
    Attempt,
    Base,
    Campaign,
    Channel,
    Delivery,
    Membership,
    PhotoBlob,
    Post,
    PostPhoto,
    PostVariant,
    utcnow,
)

__all__ = [
    "Attempt",
    "Base",
    "Campaign",
    "Channel",
    "CredentialBox",
    "Database",
    "Delivery",
    "Membership",
    "PhotoBlob",
    "Post",
    "PostPhoto",
    "PostVariant",
    "migrate",
    "utcnow",
]
