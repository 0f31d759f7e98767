"""Read side of runs: processes expanded with their tasks, log, metadata and executor state.

Sundial made one round trip per task ("RBAR"); here a listing costs five statements whatever the
number of rows: processes, then tasks, log entries, metadata and executor state, each selected
through a subquery of the same process filter.

Rows are read as plain columns and turned into wire models without validating them again: the
store only holds what validation let in. (Building ORM objects and re-validating every log line
was most of a listing's cost, measured with bench/api.py.) The REST API skips the models too and
reads the same statements (`_run_statements`) into JSON-ready documents (`run_documents`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from gnomon.domain.enums import ProcessStatus, TaskStatus
from gnomon.domain.runs import ExecutionStateEntry, LogEntry, MetadataEntry, Process, Task
from gnomon.domain.times import as_utc
from gnomon.errors import NotFoundError
from gnomon.storage import _run_statements as run_sql


@dataclass(frozen=True)
class ProcessQuery:
    """Filters of `GET /api/processes/`; start and end bound the process start time."""

    process_definition_name: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    max_records: int | None = None
    statuses: Sequence[ProcessStatus] = field(default_factory=tuple)

    def statements(self) -> run_sql.RunStatements:
        return run_sql.listing(
            process_definition_name=self.process_definition_name,
            start_time=self.start_time,
            end_time=self.end_time,
            max_records=self.max_records,
            statuses={s.value for s in self.statuses},
        )


@dataclass(frozen=True)
class TaskQuery:
    """Filters of `GET /api/tasks/`; start and end bound the task start time."""

    process_definition_name: str
    task_definition_name: str
    statuses: Sequence[TaskStatus] = field(default_factory=tuple)
    start_time: datetime | None = None
    end_time: datetime | None = None
    limit: int | None = None

    def statements(self) -> tuple[Any, Any]:
        """The attempts, newest first, and their ids (a subquery)."""
        return run_sql.latest_tasks(
            process_definition_name=self.process_definition_name,
            task_definition_name=self.task_definition_name,
            statuses={value.value for s in self.statuses for value in s.stored()},
            start_time=self.start_time,
            end_time=self.end_time,
            limit=self.limit,
        )


def list_processes(*, session: Session, query: ProcessQuery) -> list[Process]:
    """Processes matching `query`, newest first, each with every attempt of every task."""
    run = query.statements()
    return _read(session, session.execute(run.processes).all(), run)


def get_process(*, session: Session, process_id: str) -> Process:
    run = run_sql.one_process(process_id)
    rows = session.execute(run.processes).all()
    if not rows:
        raise NotFoundError("process", process_id)
    return _read(session, rows, run)[0]


def find_tasks(*, session: Session, query: TaskQuery) -> list[Task]:
    """The most recent attempts meeting `query` (Sundial's intended `findTasks`)."""
    tasks_statement, ids = query.statements()
    tasks = session.execute(tasks_statement).all()
    children = _children(session, ids)
    return [_to_task(task, children) for task in tasks]


def _read(session: Session, rows: Sequence[Any], run: run_sql.RunStatements) -> list[Process]:
    tasks = session.execute(run.tasks).all()
    return _assemble(session, rows, tasks, run.task_ids)


@dataclass
class _Children:
    logs: dict[str, list[LogEntry]]
    metadata: dict[str, list[MetadataEntry]]
    states: dict[str, list[ExecutionStateEntry]]


def _children(session: Session, task_ids: Any) -> _Children:
    selected = run_sql.children(task_ids)
    logs: dict[str, list[LogEntry]] = defaultdict(list)
    for entry_id, task_id, when, source, message in session.execute(selected.logs):
        logs[task_id].append(
            LogEntry.model_construct(
                log_entry_id=uuid.UUID(entry_id), when=as_utc(when), source=source, message=message
            )
        )
    metadata: dict[str, list[MetadataEntry]] = defaultdict(list)
    for entry_id, task_id, when, key, value in session.execute(selected.metadata):
        metadata[task_id].append(
            MetadataEntry.model_construct(
                metadata_entry_id=uuid.UUID(entry_id), when=as_utc(when), key=key, value=value
            )
        )
    states = {
        task_id: _execution_state(task_id, status, handle, as_of, details)
        for task_id, status, handle, as_of, details in session.execute(selected.states)
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
    return [
        ExecutionStateEntry.model_construct(
            metadata_entry_id=task_id, when=as_utc(as_of), key=k, value=v
        )
        for k, v in run_sql.execution_state_pairs(status, handle, details)
    ]
