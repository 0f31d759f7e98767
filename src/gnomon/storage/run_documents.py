"""Runs as JSON-ready documents: what `GET /api/processes/` and `/api/tasks/` send.

The same rows as `runs` reads, in the same order, turned straight into the wire shape (dicts
of text and numbers, in the models' field order, optional fields left out when empty, times as
`format_wire_time` writes them) instead of into `Process` models that pydantic then walks to
serialise. A listing of 100 runs is ~1,600 rows; building a model for each and formatting each
time through pydantic's Python serializer was two thirds of the request's CPU time (cProfile
with bench/api.py). tests/api/test_run_documents.py holds the two shapes equal.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlmodel import Session

from gnomon.domain.enums import ProcessStatus, TaskStatus
from gnomon.domain.times import format_wire_time
from gnomon.errors import NotFoundError
from gnomon.storage import _run_statements as run_sql
from gnomon.storage.runs import ProcessQuery, TaskQuery

Document = dict[str, Any]
"""A wire object as plain values: str, int, bool, None, lists and dicts of them."""

_CANONICAL_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def process_documents(*, session: Session, query: ProcessQuery) -> list[Document]:
    """`list_processes` as documents."""
    run = query.statements()
    return _read(session, session.execute(run.processes).all(), run)


def process_document(*, session: Session, process_id: str) -> Document:
    """`get_process` as a document."""
    run = run_sql.one_process(process_id)
    rows = session.execute(run.processes).all()
    if not rows:
        raise NotFoundError("process", process_id)
    return _read(session, rows, run)[0]


def task_documents(*, session: Session, query: TaskQuery) -> list[Document]:
    """`find_tasks` as documents."""
    tasks_statement, ids = query.statements()
    tasks = session.execute(tasks_statement).all()
    children = _children(session, ids)
    return [_task(task, children) for task in tasks]


def _read(session: Session, rows: Sequence[Any], run: run_sql.RunStatements) -> list[Document]:
    tasks = session.execute(run.tasks).all()
    children = _children(session, run.task_ids)
    by_process: dict[str, list[Document]] = defaultdict(list)
    for task in tasks:
        by_process[task.process_id].append(_task(task, children))
    return [_process(row, by_process.get(row.process_id, [])) for row in rows]


@dataclass
class _Children:
    logs: dict[str, list[Document]]
    metadata: dict[str, list[Document]]
    states: dict[str, list[Document]]


def _children(session: Session, task_ids: Any) -> _Children:
    # `.all()`: iterating a result fetches one row per call, 1,200 calls through SQLAlchemy and
    # the driver for a listing.
    selected = run_sql.children(task_ids)
    logs = session.execute(selected.logs).all()
    metadata = session.execute(selected.metadata).all()
    states = session.execute(selected.states).all()
    return _Children(
        logs=_entries(logs, "log_entry_id", "source", "message"),
        metadata=_entries(metadata, "metadata_entry_id", "key", "value"),
        states={
            task_id: _execution_state(task_id, status, handle, format_wire_time(as_of), details)
            for task_id, status, handle, as_of, details in states
        },
    )


def _entries(
    rows: Iterable[Any], id_field: str, first: str, second: str
) -> dict[str, list[Document]]:
    """Log or metadata entries by task id, from rows of (id, task id, when, first, second)."""
    entries: dict[str, list[Document]] = defaultdict(list)
    for entry_id, task_id, when, one, two in rows:
        entries[task_id].append(
            {id_field: _uuid(entry_id), "when": format_wire_time(when), first: one, second: two}
        )
    return entries


def _execution_state(
    task_id: str, status: str, handle: str | None, when: str, details: dict[str, Any]
) -> list[Document]:
    return [
        {"metadata_entry_id": task_id, "when": when, "key": key, "value": value}
        for key, value in run_sql.execution_state_pairs(status, handle, details)
    ]


def _process(row: Any, tasks: list[Document]) -> Document:
    document: Document = {
        "process_id": _uuid(row.process_id),
        "process_definition_name": row.process_definition_name,
        "start_time": format_wire_time(row.started_at),
    }
    if row.ended_at is not None:
        document["end_time"] = format_wire_time(row.ended_at)
    document["status"] = ProcessStatus(row.status).value
    document["task"] = tasks
    if row.scheduling_error is not None:
        document["scheduling_error"] = row.scheduling_error
    return document


def _task(row: Any, children: _Children) -> Document:
    document: Document = {
        "task_id": _uuid(row.task_id),
        "process_id": _uuid(row.process_id),
        "process_definition_name": row.process_definition_name,
        "task_definition_name": row.task_definition_name,
        "start_time": format_wire_time(row.started_at),
    }
    if row.ended_at is not None:
        document["end_time"] = format_wire_time(row.ended_at)
    document["previous_attempt_count"] = row.previous_attempts
    document["log_entries"] = children.logs.get(row.task_id, [])
    document["metadata_entries"] = children.metadata.get(row.task_id, [])
    state = children.states.get(row.task_id)
    if state is not None:
        document["execution_state"] = state
    document["status"] = TaskStatus(row.status).value
    if row.reason is not None:
        document["reason"] = row.reason
    return document


def _uuid(stored: str) -> str:
    """The id as `uuid.UUID` writes it; ids are stored that way, so the check is all it costs."""
    return stored if _CANONICAL_UUID.fullmatch(stored) else str(uuid.UUID(stored))
