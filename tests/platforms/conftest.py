"""Fixtures of the connector harness (``harness.py``), for the platform a test module names
with its own ``platform`` fixture, or for each of the eight in turn (``test_connectors.py``).

Connector tests see every library log line: Herald's logging set-up (run by CLI tests in the
same session) quiets urllib3, oauthlib and tweepy, whose DEBUG lines are exactly where a
leaked credential would show up."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from herald.platforms.base import Connector
from herald.simulator import Simulator
from tests.platforms.harness import Harness, PhotoServer, PlatformSpec
from tests.platforms.specs import SPECS

QUIETED = ("urllib3", "requests_oauthlib", "oauthlib", "tweepy")


@pytest.fixture(autouse=True)
def _library_logs_audible() -> Iterator[None]:
    saved = {name: logging.getLogger(name).level for name in QUIETED}
    for name in QUIETED:
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture(scope="module", params=sorted(SPECS))
def platform(request: pytest.FixtureRequest) -> str:
    """Each platform in turn; a ``test_<platform>.py`` overrides this with its own."""
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def spec(platform: str) -> PlatformSpec[Connector]:
    return SPECS[platform]


@pytest.fixture(scope="module")
def platform_simulator(spec: PlatformSpec[Connector]) -> Iterator[Simulator]:
    """The platform's simulator, one per module and platform, serving over HTTP."""
    simulator = Simulator(platforms=(spec.name,)).start()
    yield simulator
    simulator.stop()


@pytest.fixture(scope="module")
def photo_server() -> Iterator[PhotoServer]:
    server = PhotoServer()
    yield server
    server.stop()


@pytest.fixture
def harness(
    spec: PlatformSpec[Connector], platform_simulator: Simulator, request: pytest.FixtureRequest
) -> Harness[Connector]:
    """The harness on a fresh simulator: what earlier tests posted, armed and changed is gone."""
    server = request.getfixturevalue("photo_server") if spec.connector.needs_public_photo_url else None
    bound = Harness(spec, platform_simulator, server)
    bound.reset()
    return bound


@pytest.fixture
def sim(harness: Harness[Connector]) -> Simulator:
    """The platform's simulator, fresh (see ``harness``)."""
    return harness.sim


@pytest.fixture
def connector(harness: Harness[Connector]) -> Iterator[Connector]:
    """The platform's connector with the spec's credentials, pointed at the simulator."""
    built = harness.make()
    yield built
    built.close()


@pytest.fixture
def leak_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log line, DEBUG and up (urllib3's request lines too), with the process-wide
    redaction (``herald.core.logs``, installed by the root conftest) switched off, so that a
    leak test checks the connectors themselves, not the safety net behind them."""
    previous = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    try:
        yield caplog
    finally:
        logging.setLogRecordFactory(previous)
