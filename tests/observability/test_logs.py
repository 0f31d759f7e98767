"""Gnomon's own logs: one JSON object per line with process and task ids, or readable text."""

from __future__ import annotations

import io
import json
import logging

import pytest

from gnomon.logs import configure_logging
from gnomon.settings import LogFormat


@pytest.fixture
def captured() -> io.StringIO:
    return io.StringIO()  # the root handler is put back by tests/conftest.py


def emit(fmt: LogFormat, stream: io.StringIO) -> str:
    configure_logging("INFO", fmt)
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    context = {"process_definition_name": "nightly", "process_id": "p-1", "task_id": "t-1"}
    logging.getLogger("gnomon.test").info("started %s", "a run", extra=context)
    return stream.getvalue()


def test_json_logs_are_one_object_per_line_with_ids(captured: io.StringIO) -> None:
    line = emit(LogFormat.JSON, captured).strip()
    entry = json.loads(line)
    assert entry["message"] == "started a run"
    assert entry["level"] == "INFO" and entry["logger"] == "gnomon.test"
    assert (entry["process_definition_name"], entry["process_id"], entry["task_id"]) == (
        "nightly",
        "p-1",
        "t-1",
    )
    assert entry["time"].endswith("+00:00")


def test_text_logs_carry_the_ids(captured: io.StringIO) -> None:
    text = emit(LogFormat.TEXT, captured)
    assert "started a run [process_definition_name=nightly process_id=p-1 task_id=t-1]" in text
