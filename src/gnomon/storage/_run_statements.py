"""The statements that read runs, shared by the two shapes they are read into.

`runs` turns the rows into wire models (for the scheduler, the operator and tests) and
`run_documents` into JSON-ready values (for the REST API); both must read the same rows in the
same order, so the statements are written once, here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

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
class RunStatements:
    """Processes, their attempts (oldest first), and the ids of those attempts (a subquery)."""

    processes: Any
    tasks: Any
    task_ids: Any


@dataclass(frozen=True)
class ChildStatements:
    """Log entries and metadata (oldest first) and the executor's state of some attempts."""

    logs: Any
    metadata: Any
    states: Any


def listing(
    *,
    process_definition_name: str | None,
    start_time: datetime | None,
    end_time: datetime | None,
    max_records: int | None,
    statuses: set[str],
) -> RunStatements:
    """The processes a listing shows, newest first, each through a subquery of the filter."""
    ids = sa.select(_PROCESS.process_id).where(
        *time_range(_PROCESS.started_at, start_time, end_time)
    )
    if process_definition_name is not None:
        ids = ids.where(_PROCESS.process_definition_name == process_definition_name)
    if statuses:
        ids = ids.where(_PROCESS.status.in_(statuses))
    ids = ids.order_by(_PROCESS.started_at.desc()).limit(max_records)
    return RunStatements(
        processes=sa.select(*_PROCESS_COLUMNS)
        .where(_PROCESS.process_id.in_(ids))
        .order_by(_PROCESS.started_at.desc(), _PROCESS.process_id),
        tasks=sa.select(*_TASK_COLUMNS).where(_TASK.process_id.in_(ids)).order_by(_TASK.started_at),
        task_ids=sa.select(_TASK.task_id).where(_TASK.process_id.in_(ids)),
    )


def one_process(process_id: str) -> RunStatements:
    return RunStatements(
        processes=sa.select(*_PROCESS_COLUMNS).where(_PROCESS.process_id == process_id),
        tasks=sa.select(*_TASK_COLUMNS)
        .where(_TASK.process_id == process_id)
        .order_by(_TASK.started_at),
        task_ids=sa.select(_TASK.task_id).where(_TASK.process_id == process_id),
    )


def latest_tasks(
    *,
    process_definition_name: str,
    task_definition_name: str,
    statuses: set[str],
    start_time: datetime | None,
    end_time: datetime | None,
    limit: int | None,
) -> tuple[Any, Any]:
    """The most recent attempts of one task definition, newest first, and their ids."""
    ids = (
        sa.select(_TASK.task_id)
        .where(
            _TASK.process_definition_name == process_definition_name,
            _TASK.task_definition_name == task_definition_name,
            *time_range(_TASK.started_at, start_time, end_time),
        )
        .order_by(_TASK.started_at.desc())
        .limit(limit)
    )
    if statuses:
        ids = ids.where(_TASK.status.in_(statuses))
    tasks = (
        sa.select(*_TASK_COLUMNS).where(_TASK.task_id.in_(ids)).order_by(_TASK.started_at.desc())
    )
    return tasks, ids


def children(task_ids: Any) -> ChildStatements:
    """The log entries, metadata and executor states of the attempts `task_ids` selects.
    Entries that share a time come in the order of their ids, as the log pages order them, so
    the order never depends on a plan."""
    return ChildStatements(
        logs=sa.select(_LOG.log_entry_id, _LOG.task_id, _LOG.when, _LOG.source, _LOG.message)
        .where(_LOG.task_id.in_(task_ids))
        .order_by(_LOG.when, _LOG.log_entry_id),
        metadata=sa.select(
            _META.metadata_entry_id, _META.task_id, _META.when, _META.key, _META.value
        )
        .where(_META.task_id.in_(task_ids))
        .order_by(_META.when, _META.metadata_entry_id),
        states=sa.select(
            _STATE.task_id, _STATE.status, _STATE.handle, _STATE.as_of, _STATE.details
        ).where(_STATE.task_id.in_(task_ids)),
    )


def time_range(column: Any, start: datetime | None, end: datetime | None) -> list[Any]:
    clauses = []
    if start is not None:
        clauses.append(col(column) >= start)
    if end is not None:
        clauses.append(col(column) <= end)
    return clauses


def execution_state_pairs(
    status: str, handle: str | None, details: dict[str, Any]
) -> list[tuple[str, str]]:
    """Sundial's executor state as (key, value) pairs: `status` first, then the handle unless
    a detail already holds it, then the details by key."""
    pairs = [("status", status)]
    if handle and handle not in details.values():
        pairs.append(("handle", handle))
    pairs += [(key, str(value)) for key, value in sorted(details.items())]
    return pairs
