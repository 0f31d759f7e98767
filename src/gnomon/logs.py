"""Gnomon's own logs: plain text for people, or one JSON object per line for log pipelines.

Records may carry `process_id`, `task_id` and `process_definition_name` through `extra=`; both
formats print them, so a run can be followed through the scheduler's logs.

A record about a Kubernetes resource names it: kopf's per-object loggers (`kopf.objects`, and the
`logger` kopf hands to a handler) attach the resource's reference as `k8s_ref`, and the operator's
own lines pass `extra=about_resource(namespace, name)`, which attaches the same. JSON lines then
carry `namespace` and `name` fields, text lines start the message with `[namespace/name]`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gnomon.settings import LogFormat

CONTEXT_FIELDS = ("process_definition_name", "process_id", "task_id")
RESOURCE_ATTRIBUTE = "k8s_ref"  # where kopf's per-object loggers put the resource's reference


def about_resource(namespace: str | None, name: str) -> dict[str, Any]:
    """`extra=` for a log line about a Kubernetes resource, marked as kopf marks its own."""
    return {RESOURCE_ATTRIBUTE: {"namespace": namespace, "name": name}}


def resource_of(record: logging.LogRecord) -> tuple[str | None, str] | None:
    """The (namespace, name) a record is about, if it is about a resource."""
    reference = getattr(record, RESOURCE_ATTRIBUTE, None)
    if not isinstance(reference, Mapping) or not reference.get("name"):
        return None
    return reference.get("namespace") or None, str(reference["name"])


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        resource = resource_of(record)
        if resource is not None:
            namespace, entry["name"] = resource
            if namespace:
                entry["namespace"] = namespace
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
        resource = resource_of(record)
        if resource is not None:
            namespace, name = resource
            record = logging.makeLogRecord(record.__dict__)  # other handlers see the original
            record.msg = (
                f"[{namespace}/{name}] {record.msg}" if namespace else f"[{name}] {record.msg}"
            )
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
