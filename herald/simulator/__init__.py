"""A local platform simulator speaking X API v2 and Mastodon's wire protocol.

Used by the test-suite (in-process, or over HTTP from other processes through the control API
and ``SimulatorClient``) and by ``make run``'s sandbox channel (``python -m herald.simulator
--sandbox``). Each platform lives under its own path prefix: ``{base_url}/mastodon``,
``{base_url}/x``.
"""

from __future__ import annotations

from herald.simulator.limits import PostLimit, RateViolation
from herald.simulator.server import (
    BUILTIN_PLATFORMS,
    SANDBOX_ACCOUNTS,
    Account,
    Fault,
    FaultKind,
    LedgerEntry,
    LedgerMedia,
    Platform,
    RequestRecord,
    Simulator,
    SimulatorClient,
    register_platform,
)

__all__ = [
    "BUILTIN_PLATFORMS",
    "SANDBOX_ACCOUNTS",
    "Account",
    "Fault",
    "FaultKind",
    "LedgerEntry",
    "LedgerMedia",
    "Platform",
    "PostLimit",
    "RateViolation",
    "RequestRecord",
    "Simulator",
    "SimulatorClient",
    "register_platform",
]
