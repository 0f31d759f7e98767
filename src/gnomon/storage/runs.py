"""Read side of runs: processes expanded with their tasks, log, metadata and executor state.

Sundial made one round trip per task ("RBAR"); here a listing costs five statements whatever the
number of rows: processes, then tasks, log entries, metadata and executor state, each selected
through a subquery of the same process filter.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from gnomon.domain.enums import ProcessStatus, TaskStatus
from gnomon.domain.runs import ExecutionStateEntry, LogEntry, MetadataEntry, Process, Task
from gnomon.errors import NotFoundError
from gnomon.storage.tables import (
    ExecutorStateRow,
    ProcessRow,
    TaskLogRow,
    TaskMetadataRow,
    TaskRow,
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
    rows = session.exec(
        select(ProcessRow)
        .where(col(ProcessRow.process_id).in_(ids))
        .order_by(col(ProcessRow.started_at).desc(), col(ProcessRow.process_id))
    ).all()
    task_ids = select(TaskRow.task_id).where(col(TaskRow.process_id).in_(ids))
    tasks = session.exec(
        select(TaskRow).where(col(TaskRow.process_id).in_(ids)).order_by(col(TaskRow.started_at))
    ).all()
    return _assemble(session, rows, tasks, task_ids)


def get_process(*, session: Session, process_id: str) -> Process:
    row = session.get(ProcessRow, process_id)
    if row is None:
        raise NotFoundError("process", process_id)
    task_ids = select(TaskRow.task_id).where(col(TaskRow.process_id) == process_id)
    tasks = session.exec(
        select(TaskRow)
        .where(col(TaskRow.process_id) == process_id)
        .order_by(col(TaskRow.started_at))
    ).all()
    return _assemble(session, [row], tasks, task_ids)[0]


def find_tasks(*, session: Session, query: TaskQuery) -> list[Task]:
    """The most recent attempts meeting `query` (Sundial's intended `findTasks`)."""
    ids = (
        select(TaskRow.task_id)
        .where(
            col(TaskRow.process_definition_name) == query.process_definition_name,
            col(TaskRow.task_definition_name) == query.task_definition_name,
            *_range(TaskRow.started_at, query.start_time, query.end_time),
        )
        .order_by(col(TaskRow.started_at).desc())
        .limit(query.limit)
    )
    if query.statuses:
        ids = ids.where(col(TaskRow.status).in_({s.stored().value for s in query.statuses}))
    tasks = session.exec(
        select(TaskRow)
        .where(col(TaskRow.task_id).in_(ids))
        .order_by(col(TaskRow.started_at).desc())
    ).all()
    children = _children(session, ids)
    return [_to_task(task, children) for task in tasks]


def _process_ids(query: ProcessQuery) -> Any:
    ids = select(ProcessRow.process_id).where(
        *_range(ProcessRow.started_at, query.start_time, query.end_time)
    )
    if query.process_definition_name is not None:
        ids = ids.where(col(ProcessRow.process_definition_name) == query.process_definition_name)
    if query.statuses:
        ids = ids.where(col(ProcessRow.status).in_({s.value for s in query.statuses}))
    return ids.order_by(col(ProcessRow.started_at).desc()).limit(query.max_records)


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
    states: dict[str, ExecutorStateRow]


def _children(session: Session, task_ids: Any) -> _Children:
    logs: dict[str, list[LogEntry]] = defaultdict(list)
    for log in session.exec(
        select(TaskLogRow)
        .where(col(TaskLogRow.task_id).in_(task_ids))
        .order_by(col(TaskLogRow.when))
    ):
        logs[log.task_id].append(
            LogEntry(
                log_entry_id=log.log_entry_id, when=log.when, source=log.source, message=log.message
            )
        )
    metadata: dict[str, list[MetadataEntry]] = defaultdict(list)
    for entry in session.exec(
        select(TaskMetadataRow)
        .where(col(TaskMetadataRow.task_id).in_(task_ids))
        .order_by(col(TaskMetadataRow.when))
    ):
        metadata[entry.task_id].append(
            MetadataEntry(
                metadata_entry_id=entry.metadata_entry_id,
                when=entry.when,
                key=entry.key,
                value=entry.value,
            )
        )
    states = {
        state.task_id: state
        for state in session.exec(
            select(ExecutorStateRow).where(col(ExecutorStateRow.task_id).in_(task_ids))
        )
    }
    return _Children(logs, metadata, states)


def _assemble(
    session: Session, rows: Sequence[ProcessRow], tasks: Sequence[TaskRow], task_ids: Any
) -> list[Process]:
    children = _children(session, task_ids)
    by_process: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        by_process[task.process_id].append(_to_task(task, children))
    return [
        Process(
            process_id=row.process_id,
            process_definition_name=row.process_definition_name,
            start_time=row.started_at,
            end_time=row.ended_at,
            status=ProcessStatus(row.status),
            task=by_process.get(row.process_id, []),
        )
        for row in rows
    ]


def _to_task(row: TaskRow, children: _Children) -> Task:
    return Task(
        task_id=row.task_id,
        process_id=row.process_id,
        process_definition_name=row.process_definition_name,
        task_definition_name=row.task_definition_name,
        start_time=row.started_at,
        end_time=row.ended_at,
        previous_attempt_count=row.previous_attempts,
        log_entries=children.logs.get(row.task_id, []),
        metadata_entries=children.metadata.get(row.task_id, []),
        execution_state=_execution_state(children.states.get(row.task_id)),
        status=TaskStatus(row.status),
        reason=row.reason,
    )


def _execution_state(state: ExecutorStateRow | None) -> list[ExecutionStateEntry] | None:
    """Sundial's shape: entries keyed by the task id, one per key, `status` first."""
    if state is None:
        return None
    pairs = [("status", state.status)]
    if state.handle:
        pairs.append(("handle", state.handle))
    pairs += [(key, str(value)) for key, value in sorted(state.details.items())]
    return [
        ExecutionStateEntry(metadata_entry_id=state.task_id, when=state.as_of, key=k, value=v)
        for k, v in pairs
    ]


def process_exists(*, session: Session, process_id: str) -> bool:
    return session.get(ProcessRow, process_id) is not None
