"""Platform connectors: one module per platform, all subclassing ``platforms.base.Connector``.

``REGISTRY`` maps each platform's key (also its module name and log field) to its class.
This room imports nothing from Celery, SQL or Redis.
"""

from __future__ import annotations

from herald.platforms.base import (
    Connector,
    ConnectorConfig,
    Draft,
    Photo,
    PhotoInfo,
    Problem,
    Published,
    Reply,
    TextCount,
    Verified,
)
from herald.platforms.registry import REGISTRY, connector_class, platform_names

__all__ = [
    "REGISTRY",
    "Connector",
    "ConnectorConfig",
    "Draft",
    "Photo",
    "PhotoInfo",
    "Problem",
    "Published",
    "Reply",
    "TextCount",
    "Verified",
    "connector_class",
    "platform_names",
]
