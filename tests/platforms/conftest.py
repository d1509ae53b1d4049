"""Connector tests see every library log line: Herald's logging set-up (run by CLI tests in
the same session) quiets urllib3, oauthlib and tweepy, whose DEBUG lines are exactly where a
leaked credential would show up."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

QUIETED = ("urllib3", "requests_oauthlib", "oauthlib", "tweepy")


@pytest.fixture(autouse=True)
def _library_logs_audible() -> Iterator[None]:
    saved = {name: logging.getLogger(name).level for name in QUIETED}
    for name in QUIETED:
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)
