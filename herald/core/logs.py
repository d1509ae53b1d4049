"""Logging set-up: one call (``setup_logging``) for every process, text for people or one JSON
object per line for machines, and no secret in either.

Every log line goes through one stderr handler whose formatter is structlog's
``ProcessorFormatter``: lines from structlog loggers (``get_logger``) and from every stdlib
logger (Herald's own ``logging.getLogger`` users, Celery, uvicorn once its own configuration is
off) meet the same processors, so they share a format, a level and the redaction processor
(``herald.core.redaction.redact_event``), which runs after exceptions are rendered to text and
right before the renderer.

A second net works where our handler is not the only one: a log record factory
(``install_redaction``) scrubs each record's message and traceback (``redaction.scrub``) the
moment it is made, so pytest's capture, Celery's and any other handler see the scrubbed text
too. Values passed as ``extra=`` are set on the record after the factory runs: only the
processor sees them, so they are redacted in our output alone.

``fmt="json"``: ``{"ts", "level", "logger", "msg", ...extra fields, "exc"}``, one per line.
``fmt="text"``: ``2026-03-01 09:00:02,683 WARNING herald.delivery.record: delivery 1 failed ...``
(a structlog event's own fields follow as ``key=value``; stdlib ``extra`` fields are left to JSON).
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import structlog

from herald.core.redaction import redact_event, scrub

#: The formats ``setup_logging`` writes (``HERALD_LOG_FORMAT``).
FORMATS: Final = ("text", "json")
#: LogRecord attributes that are not "extra" fields (``color_message``: uvicorn's copy of the
#: message with terminal colours; ``_logger``/``_name``: structlog's hand-over).
_STANDARD: Final = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
#: The keys a rendered line leads with, in this order.
_LEADING: Final = ("ts", "level", "logger", "msg")
#: Libraries that log request URLs or bodies at DEBUG: quiet unless a test turns them up.
NOISY: Final = ("urllib3", "requests_oauthlib", "oauthlib", "tweepy", "alembic")

Processor = Callable[[Any, str, Any], Any]  # Any: structlog's logger and event dict


def redact(text: str) -> str:
    """``text`` without the secrets it shows (``herald.core.redaction.scrub``)."""
    return scrub(text)


# -- the record factory ------------------------------------------------------------------------

_installed = False


def _scrub_record(record: logging.LogRecord) -> None:
    if isinstance(record.msg, Mapping):
        # A structlog event on its way to ProcessorFormatter: it must stay a dict, and its
        # exc_info stay what format_exc_info reads.
        record.msg = redact_event(None, record.levelname.lower(), dict(record.msg))
    else:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler to report
            return
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[1] is not None:
        # What Formatter.formatException would print, scrubbed; handlers use exc_text as is.
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_text = scrub(text)


def install_redaction() -> None:
    """Scrub secrets when a record is created, so every handler (files, pytest's capture,
    Celery's) sees the scrubbed text, not only ours."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _scrub_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


# -- the processors --------------------------------------------------------------------------


def _record_fields(*, extras: bool, ts: Callable[[float], str]) -> Processor:
    """Time, level and logger from the LogRecord (the same for structlog's lines and stdlib's);
    with ``extras``, a stdlib record's ``extra=`` fields too."""

    def processor(_logger: Any, _method: str, event_dict: Any) -> Any:
        record: logging.LogRecord | None = event_dict.get("_record")
        if record is None:
            return event_dict
        event_dict["ts"] = ts(record.created)
        event_dict["level"] = record.levelname
        event_dict["logger"] = record.name
        if extras and not event_dict.get("_from_structlog"):
            for key, value in vars(record).items():
                if key not in _STANDARD and not key.startswith("_") and key not in event_dict:
                    event_dict[key] = value
        return event_dict

    return processor


def _iso_ts(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat()


def _local_ts(created: float) -> str:
    # The stdlib's asctime: local time, milliseconds after a comma.
    return datetime.fromtimestamp(created).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]


def _exception_key(_logger: Any, _method: str, event_dict: Any) -> Any:
    """``exc`` for the traceback (the key Herald's JSON lines always used), ``stack`` for a
    stack asked for with ``stack_info``."""
    if "exception" in event_dict:
        event_dict["exc"] = event_dict.pop("exception")
    stack = event_dict.pop("stack_info", None)
    if isinstance(stack, str):
        event_dict["stack"] = stack
    return event_dict


def _message_key(_logger: Any, _method: str, event_dict: Any) -> Any:
    if "event" in event_dict:
        event_dict["msg"] = event_dict.pop("event")
    return event_dict


def _ordered(event_dict: Mapping[str, Any]) -> dict[str, Any]:
    lead = {k: event_dict[k] for k in _LEADING if k in event_dict}
    tail = {k: event_dict[k] for k in ("exc", "stack") if k in event_dict}
    rest = {k: v for k, v in event_dict.items() if k not in lead and k not in tail}
    return {**lead, **rest, **tail}


def _render_json(_logger: Any, _method: str, event_dict: Any) -> str:
    return json.dumps(_ordered(event_dict), default=str, ensure_ascii=False)


def _text_value(value: object) -> str:
    if isinstance(value, str):
        return (
            value if value and not any(c.isspace() for c in value) else json.dumps(value, ensure_ascii=False)
        )
    return json.dumps(value, default=str, ensure_ascii=False)


def _render_text(_logger: Any, _method: str, event_dict: Any) -> str:
    fields = _ordered(event_dict)
    ts, level, logger = (fields.pop(k, "") for k in ("ts", "level", "logger"))
    line = f"{ts} {level} {logger}: {fields.pop('msg', '')}"
    tail = [str(fields.pop(k)) for k in ("exc", "stack") if k in fields]
    if fields:
        line += " " + " ".join(f"{k}={_text_value(v)}" for k, v in fields.items())
    return "\n".join([line, *tail])


def formatter_processors(fmt: str) -> list[Processor]:
    """What ``ProcessorFormatter`` runs on every line, in order, ending with the renderer.
    ``redact_event`` comes after the traceback is text and before anything is rendered."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    json_lines = fmt == "json"
    return [
        _record_fields(extras=json_lines, ts=_iso_ts if json_lines else _local_ts),
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.format_exc_info,
        _exception_key,
        redact_event,
        _message_key,
        _render_json if json_lines else _render_text,
    ]


def build_formatter(fmt: str) -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(processors=formatter_processors(fmt))


_configured = False


def configure_structlog() -> None:
    """Route structlog loggers into the stdlib's, so that they meet the handler and its
    formatter like every other line (and are dropped below the logger's level first)."""
    global _configured
    if _configured:
        return
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    _configured = True


def get_logger(name: str) -> Any:  # Any: structlog's BoundLogger proxy
    """A structlog logger named ``name`` (``log.info("sent", delivery_id=7)``)."""
    configure_structlog()
    return structlog.stdlib.get_logger(name)


# -- the handler -----------------------------------------------------------------------------


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
    """Configure the root logger: one stderr handler, redacted, text or JSON (``FORMATS``).
    Called again, it replaces its handler (a Celery worker calls it after the CLI did)."""
    install_redaction()
    configure_structlog()
    formatter = build_formatter(fmt)
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, _StderrHandler):
            root.removeHandler(h)
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    handler.setLevel(level.upper())
    root.addHandler(handler)
    # Lower the root level if needed, never raise it (a test harness may want more).
    root.setLevel(min(root.level or logging.WARNING, logging.getLevelName(level.upper())))
    # Libraries that log request URLs or bodies at DEBUG could carry tokens: keep them quiet.
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
