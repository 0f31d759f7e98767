"""Read side of runs: processes expanded with their tasks, log, metadata and executor state.

Sundial made one round trip per task ("RBAR"); here a listing costs five statements whatever the
number of rows: processes, then tasks, log entries, metadata and executor state, each selected
through a subquery of the same process filter.

Rows are read as plain columns and turned into wire models without validating them again: the
store only holds what validation let in. (Building ORM objects and re-validating every log line
was most of a listing's cost, measured with bench/api.py.)
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from gnomon.domain.enums import ProcessStatus, TaskStatus
from gnomon.domain.runs import ExecutionStateEntry, LogEntry, MetadataEntry, Process, Task
from gnomon.domain.times import as_utc
from gnomon.errors import NotFoundError
from gnomon.storage.tables import (
    ExecutorStateRow,
    ProcessRow,
    TaskLogRow,
    TaskMetadataRow,
    TaskRow,
)

_PROCESS = ProcessRow.__table__.c  # type: ignore[attr-defined]
_TASK = TaskRow.__table__.c  # type: ignore[attr-defined]
_LOG = TaskLogRow.__table__.c  # type: ignore[attr-defined]
_META = TaskMetadataRow.__table__.c  # type: ignore[attr-defined]
_STATE = ExecutorStateRow.__table__.c  # type: ignore[attr-defined]
_PROCESS_COLUMNS = (
    _PROCESS.process_id,
    _PROCESS.process_definition_name,
    _PROCESS.started_at,
    _PROCESS.ended_at,
    _PROCESS.status,
    _PROCESS.scheduling_error,
)
_TASK_COLUMNS = (
    _TASK.task_id,
    _TASK.process_id,
    _TASK.process_definition_name,
    _TASK.task_definition_name,
    _TASK.started_at,
    _TASK.ended_at,
    _TASK.previous_attempts,
    _TASK.status,
    _TASK.reason,
)


@dataclass(frozen=True)
class ProcessQuery:
    """Filters of `GET /api/processes/`; start and end bound the process start time."""

    process_definition_name: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    max_records: int | None = None
    statuses: Sequence[ProcessStatus] = field(default_factory=tuple)


@dataclass(frozen=True)
class TaskQuery:
    """Filters of `GET /api/tasks/`; start and end bound the task start time."""

    process_definition_name: str
    task_definition_name: str
    statuses: Sequence[TaskStatus] = field(default_factory=tuple)
    start_time: datetime | None = None
    end_time: datetime | None = None
    limit: int | None = None


def list_processes(*, session: Session, query: ProcessQuery) -> list[Process]:
    """Processes matching `query`, newest first, each with every attempt of every task."""
    ids = _process_ids(query)
    rows = session.execute(
        sa.select(*_PROCESS_COLUMNS)
        .where(_PROCESS.process_id.in_(ids))
        .order_by(_PROCESS.started_at.desc(), _PROCESS.process_id)
    ).all()
    task_ids = sa.select(_TASK.task_id).where(_TASK.process_id.in_(ids))
    tasks = session.execute(
        sa.select(*_TASK_COLUMNS).where(_TASK.process_id.in_(ids)).order_by(_TASK.started_at)
    ).all()
    return _assemble(session, rows, tasks, task_ids)


def get_process(*, session: Session, process_id: str) -> Process:
    rows = session.execute(
        sa.select(*_PROCESS_COLUMNS).where(_PROCESS.process_id == process_id)
    ).all()
    if not rows:
        raise NotFoundError("process", process_id)
    task_ids = sa.select(_TASK.task_id).where(_TASK.process_id == process_id)
    tasks = session.execute(
        sa.select(*_TASK_COLUMNS).where(_TASK.process_id == process_id).order_by(_TASK.started_at)
    ).all()
    return _assemble(session, rows, tasks, task_ids)[0]


def find_tasks(*, session: Session, query: TaskQuery) -> list[Task]:
    """The most recent attempts meeting `query` (Sundial's intended `findTasks`)."""
    ids = (
        sa.select(_TASK.task_id)
        .where(
            _TASK.process_definition_name == query.process_definition_name,
            _TASK.task_definition_name == query.task_definition_name,
            *_range(_TASK.started_at, query.start_time, query.end_time),
        )
        .order_by(_TASK.started_at.desc())
        .limit(query.limit)
    )
    if query.statuses:
        stored = {value.value for s in query.statuses for value in s.stored()}
        ids = ids.where(_TASK.status.in_(stored))
    tasks = session.execute(
        sa.select(*_TASK_COLUMNS).where(_TASK.task_id.in_(ids)).order_by(_TASK.started_at.desc())
    ).all()
    children = _children(session, ids)
    return [_to_task(task, children) for task in tasks]


def _process_ids(query: ProcessQuery) -> Any:
    ids = sa.select(_PROCESS.process_id).where(
        *_range(_PROCESS.started_at, query.start_time, query.end_time)
    )
    if query.process_definition_name is not None:
        ids = ids.where(_PROCESS.process_definition_name == query.process_definition_name)
    if query.statuses:
        ids = ids.where(_PROCESS.status.in_({s.value for s in query.statuses}))
    return ids.order_by(_PROCESS.started_at.desc()).limit(query.max_records)


def _range(column: Any, start: datetime | None, end: datetime | None) -> list[Any]:
    clauses = []
    if start is not None:
        clauses.append(col(column) >= start)
    if end is not None:
        clauses.append(col(column) <= end)
    return clauses


@dataclass
class _Children:
    logs: dict[str, list[LogEntry]]
    metadata: dict[str, list[MetadataEntry]]
    states: dict[str, list[ExecutionStateEntry]]


def _children(session: Session, task_ids: Any) -> _Children:
    logs: dict[str, list[LogEntry]] = defaultdict(list)
    for entry_id, task_id, when, source, message in session.execute(
        sa.select(_LOG.log_entry_id, _LOG.task_id, _LOG.when, _LOG.source, _LOG.message)
        .where(_LOG.task_id.in_(task_ids))
        .order_by(_LOG.when)
    ):
        logs[task_id].append(
            LogEntry.model_construct(
                log_entry_id=uuid.UUID(entry_id), when=as_utc(when), source=source, message=message
            )
        )
    metadata: dict[str, list[MetadataEntry]] = defaultdict(list)
    for entry_id, task_id, when, key, value in session.execute(
        sa.select(_META.metadata_entry_id, _META.task_id, _META.when, _META.key, _META.value)
        .where(_META.task_id.in_(task_ids))
        .order_by(_META.when)
    ):
        metadata[task_id].append(
            MetadataEntry.model_construct(
                metadata_entry_id=uuid.UUID(entry_id), when=as_utc(when), key=key, value=value
            )
        )
    states = {
        task_id: _execution_state(task_id, status, handle, as_of, details)
        for task_id, status, handle, as_of, details in session.execute(
            sa.select(
                _STATE.task_id, _STATE.status, _STATE.handle, _STATE.as_of, _STATE.details
            ).where(_STATE.task_id.in_(task_ids))
        )
    }
    return _Children(logs, metadata, states)


def _assemble(
    session: Session, rows: Iterable[Any], tasks: Iterable[Any], task_ids: Any
) -> list[Process]:
    children = _children(session, task_ids)
    by_process: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        by_process[task.process_id].append(_to_task(task, children))
    return [
        Process.model_construct(
            process_id=uuid.UUID(row.process_id),
            process_definition_name=row.process_definition_name,
            start_time=as_utc(row.started_at),
            end_time=_maybe_utc(row.ended_at),
            status=ProcessStatus(row.status),
            task=by_process.get(row.process_id, []),
            scheduling_error=row.scheduling_error,
        )
        for row in rows
    ]


def _to_task(row: Any, children: _Children) -> Task:
    return Task.model_construct(
        task_id=uuid.UUID(row.task_id),
        process_id=uuid.UUID(row.process_id),
        process_definition_name=row.process_definition_name,
        task_definition_name=row.task_definition_name,
        start_time=as_utc(row.started_at),
        end_time=_maybe_utc(row.ended_at),
        previous_attempt_count=row.previous_attempts,
        log_entries=children.logs.get(row.task_id, []),
        metadata_entries=children.metadata.get(row.task_id, []),
        execution_state=children.states.get(row.task_id),
        status=TaskStatus(row.status),
        reason=row.reason,
    )


def _maybe_utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def _execution_state(
    task_id: str, status: str, handle: str | None, as_of: datetime, details: dict[str, Any]
) -> list[ExecutionStateEntry]:
    """Sundial's shape: entries keyed by the task id, one per key, `status` first."""
    pairs = [("status", status)]
    if handle and handle not in details.values():
        pairs.append(("handle", handle))
    pairs += [(key, str(value)) for key, value in sorted(details.items())]
    return [
        ExecutionStateEntry.model_construct(
            metadata_entry_id=task_id, when=as_utc(as_of), key=k, value=v
        )
        for k, v in pairs
    ]
