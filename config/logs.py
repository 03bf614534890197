"""Log formatters: one line per event, as text or as JSON (``LOG_FORMAT``).

Events about a ticket carry ``ticket_id`` and ``user`` (the acting user's name, or
``system``) as fields of the log record (``logger.info(..., extra={...})``), so a log
pipeline can follow one ticket from intake to execution across the web and worker
processes. Messages stay on one line: a newline in untrusted text (a ticket title, an
exception message) cannot forge a second log line. The values of the project's secrets
(``config.secrets``) are blanked out of every line, whoever logged them (a library that
echoes a URL it could not parse, an exception message quoting a setting).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

# Fields an event may carry, written in this order after the standard ones.
EVENT_FIELDS = ("event", "ticket_id", "user", "category", "status", "pattern", "task")
# Everything a LogRecord has on its own; the rest came from ``extra``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    extras = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES}
    ordered = {k: extras.pop(k) for k in EVENT_FIELDS if k in extras}
    ordered.update(sorted(extras.items()))
    return ordered


REDACTED = "[redacted]"


def redact(text: str) -> str:
    """``text`` with the value of every project secret replaced by ``[redacted]``."""
    try:
        from config.secrets import secret_values

        values = secret_values()
    except Exception:  # settings not configured yet (a log line at start-up): nothing known
        return text
    for value in values:
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the event's fields, and the
    exception (type and traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "process": record.process,
        }
        line.update(_extras(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        # default=str: a field that is not JSON (a date, a Decimal) is written, not dropped.
        return redact(json.dumps(line, default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    """``time level logger message key=value ...`` on one line (newlines escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        text = f"{_timestamp(record)} {record.levelname} {record.name} {record.getMessage()}"
        if fields:
            text = f"{text} {fields}"
        text = text.replace("\r", "\\r").replace("\n", "\\n")
        if record.exc_info:
            # A traceback is the one multi-line exception: readers expect it as Python wrote it.
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return redact(text)
