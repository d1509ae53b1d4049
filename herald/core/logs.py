"""Logging set-up: one call, text or JSON lines, and a filter that redacts every secret value
the process knows (``herald.secret.known_secrets``) from messages, arguments and tracebacks."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from herald.core.secret import MASK, known_secrets

#: LogRecord attributes that are not "extra" fields.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact(text: str) -> str:
    for value in known_secrets():
        if value in text:
            text = text.replace(value, MASK)
    return text


_installed = False


def install_redaction() -> None:
    """Redact secrets when a record is created, so every handler (files, pytest's capture,
    Celery's) sees the redacted text, not only ours."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if known_secrets():
            try:
                message = record.getMessage()
            except Exception:  # a bad format string: leave it to the handler to report
                return record
            redacted = redact(message)
            if redacted != message:
                record.msg, record.args = redacted, None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in vars(record).items():
            if k not in _STANDARD and not k.startswith("_"):
                out[k] = v
        if record.exc_text:
            out["exc"] = record.exc_text
        return redact(json.dumps(out, default=str, ensure_ascii=False))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]  # TextIO parameter
    """Writes to whatever ``sys.stderr`` is at emit time (test runners swap it). Being of
    this class is also how ``setup_logging`` recognises its own handler."""

    @property
    def stream(self) -> Any:  # Any: a text stream
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Configure the root logger once: stderr, redacted, text or JSON."""
    install_redaction()
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, _StderrHandler):
            root.removeHandler(h)
    handler = _StderrHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.setLevel(level.upper())
    root.addHandler(handler)
    # Lower the root level if needed, never raise it (a test harness may want more).
    root.setLevel(min(root.level or logging.WARNING, logging.getLevelName(level.upper())))
    # Libraries that log request URLs or bodies at DEBUG could carry tokens: keep them quiet.
    for noisy in ("urllib3", "requests_oauthlib", "oauthlib", "tweepy", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
