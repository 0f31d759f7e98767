"""Gnomon's own logs: plain text for people, or one JSON object per line for log pipelines.

Records may carry `process_id`, `task_id` and `process_definition_name` through `extra=`; both
formats print them, so a run can be followed through the scheduler's logs.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from gnomon.settings import LogFormat

CONTEXT_FIELDS = ("process_definition_name", "process_id", "task_id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = [f"{n}={getattr(record, n)}" for n in CONTEXT_FIELDS if getattr(record, n, None)]
        return f"{text} [{' '.join(context)}]" if context else text


def configure_logging(level: str, fmt: LogFormat) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == LogFormat.JSON else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Alembic narrates every plugin it loads at INFO; only its warnings matter to an operator.
    quiet = logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING
    logging.getLogger("alembic").setLevel(quiet)
    logging.getLogger("httpx").setLevel(quiet)  # one INFO line per request it sends
