"""Queries the scheduler runs: definitions to watch, running processes, open requests.

Each returns plain rows or values in a fixed number of statements, so a wake-up costs the same
with ten definitions or ten thousand.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from gnomon.domain.definitions import TaskDefinition
from gnomon.domain.enums import ProcessStatus, TaskStatus
from gnomon.domain.stored import read_stored, share_field_sets
from gnomon.domain.times import as_utc
from gnomon.storage.tables import (
    ExecutorStateRow,
    KillRequestRow,
    ProcessDefinitionRow,
    ProcessRow,
    ReportedTaskStatusRow,
    RetryRequestRow,
    TaskLogRow,
    TaskRow,
    TaskSnapshotRow,
    TaskTemplateRow,
    TriggerRequestRow,
)

STREAM_ROWS = 2_000
"""Rows fetched at a time when reading every definition, so a takeover never holds all of them."""
SHARED_READS = 16_384
"""Distinct stored texts one load remembers to share their parse; past that it starts over, so
a hundred thousand different bodies do not all stay in memory until the load ends."""


@dataclass(frozen=True, slots=True)
class DefinitionRecord:
    name: str
    schedule: str | None
    """The stored schedule as its JSON text: definitions with the same text share one parse."""
    paused: bool
    overlap_action: str
    created_at: datetime
    revision: int
    scheduling_error: str | None = None


class TriggerRequest(NamedTuple):
    """An open trigger request, as the scheduler reads it."""

    request_id: str
    process_definition_name: str
    requested_at: datetime
    task_filter: list[str] | None


class RetryRequest(NamedTuple):
    """A retry request not applied yet."""

    request_id: str
    process_id: str
    requested_at: datetime


# The open requests are read at every wake-up, mostly to find none. Built once and run in Core on
# the tables (not as ORM entities, which the session would also track): the same SQL, at a
# fraction of the CPU of building and loading them through the ORM each time (issue 14).
_TRIGGERS: sa.Table = TriggerRequestRow.__table__  # type: ignore[attr-defined]
_OPEN_TRIGGERS: Final = (
    sa.select(
        _TRIGGERS.c.request_id,
        _TRIGGERS.c.process_definition_name,
        _TRIGGERS.c.requested_at,
        _TRIGGERS.c.task_filter,
    )
    .where(_TRIGGERS.c.started_process_id.is_(None))
    .order_by(_TRIGGERS.c.requested_at)
)
# Made once: building the statement cost more than running it, once per started run.
_CONSUME_TRIGGERS: Final = (
    sa.update(_TRIGGERS)
    .where(
        _TRIGGERS.c.request_id.in_(sa.bindparam("request_ids", expanding=True)),
        _TRIGGERS.c.started_process_id.is_(None),
    )
    .values(started_process_id=sa.bindparam("process_id"))
)
_KILLS: sa.Table = KillRequestRow.__table__  # type: ignore[attr-defined]
_OPEN_KILLS: Final = sa.select(_KILLS.c.process_id).where(_KILLS.c.cleared_at.is_(None))
_RETRIES: sa.Table = RetryRequestRow.__table__  # type: ignore[attr-defined]
_OPEN_RETRIES: Final = (
    sa.select(_RETRIES.c.request_id, _RETRIES.c.process_id, _RETRIES.c.requested_at)
    .where(_RETRIES.c.applied_at.is_(None))
    .order_by(_RETRIES.c.requested_at)
)


def definition_records(
    *, session: Session, names: Sequence[str] | None = None
) -> Iterator[DefinitionRecord]:
    """The definitions of `names` (all of them with None), read a few thousand at a time."""
    table = ProcessDefinitionRow.__table__  # type: ignore[attr-defined]
    query = sa.select(
        table.c.name,
        sa.cast(table.c.schedule, sa.Text),
        table.c.paused,
        table.c.overlap_action,
        table.c.created_at,
        table.c.revision,
        table.c.scheduling_error,
    )
    if names is not None:
        query = query.where(table.c.name.in_(names))
    for name, schedule, paused, overlap, created_at, revision, error in _streamed(session, query):
        yield DefinitionRecord(name, schedule, paused, overlap, as_utc(created_at), revision, error)


def _streamed(session: Session, query: sa.Select[Any]) -> Iterator[Any]:
    result = session.execute(query.execution_options(yield_per=STREAM_ROWS))
    for partition in result.partitions():
        yield from partition


def definition_versions(*, session: Session) -> dict[str, int]:
    """Name → revision, to find what changed since the last look."""
    rows = session.execute(
        sa.select(col(ProcessDefinitionRow.name), col(ProcessDefinitionRow.revision))
    )
    return dict(rows.all())


def latest_starts(*, session: Session, names: Sequence[str] | None = None) -> dict[str, datetime]:
    """The latest process start of each definition, of any origin."""
    query = sa.select(
        col(ProcessRow.process_definition_name), sa.func.max(col(ProcessRow.started_at))
    )
    if names is not None:
        query = query.where(col(ProcessRow.process_definition_name).in_(names))
    rows = session.execute(query.group_by(ProcessRow.process_definition_name))
    return {name: as_utc(started) for name, started in rows}


@dataclass
class Templates:
    """Current task definitions by definition name, and why some could not be read."""

    tasks: dict[str, list[TaskDefinition]]
    problems: dict[str, str]


def templates(*, session: Session, names: Sequence[str] | None) -> Templates:
    """Current task definitions of `names` (of every definition with None), in their defined
    order. Identical stored bodies (same JSON text) are read once and share one
    `TaskDefinition`, which nothing changes after it is read.

    A stored body that no longer validates (stored before a stricter rule) is a problem of its
    definition alone: it is reported in `problems`, and the others are read as usual.
    """
    table = TaskTemplateRow.__table__  # type: ignore[attr-defined]
    query = sa.select(
        table.c.process_definition_name,
        table.c.task_definition_name,
        sa.cast(table.c.body, sa.Text),
    ).order_by(table.c.process_definition_name, table.c.position)
    if names is not None:
        query = query.where(table.c.process_definition_name.in_(names))
    result = Templates(defaultdict(list), {})
    read: dict[str, TaskDefinition] = {}
    for name, task_name, body in _streamed(session, query):
        task = read.get(body)
        if task is None:
            if len(read) >= SHARED_READS:
                read.clear()
            try:
                task = read[body] = read_stored(TaskDefinition, json.loads(body))
                share_field_sets(task)  # kept as long as the lease: the smaller the better
            except ValidationError as exc:
                result.problems.setdefault(name, _unreadable(task_name, exc))
                continue
        result.tasks[name].append(task)
    return result


def _unreadable(task_name: str, exc: ValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": str(exc)}
    where = ".".join(str(part) for part in first["loc"])
    return f"stored task definition {task_name!r} is no longer valid: {where}: {first['msg']}"


def mark_definitions(*, session: Session, marks: Sequence[tuple[str, int, str | None]]) -> None:
    """Set (or clear, with None) the scheduling error of (name, revision) pairs; a definition
    edited since (another revision) keeps its new, unmarked state."""
    if not marks:
        return
    table = ProcessDefinitionRow.__table__  # type: ignore[attr-defined]
    session.connection().execute(
        sa.update(table)
        .where(table.c.name == sa.bindparam("b_name"), table.c.revision == sa.bindparam("b_rev"))
        .values(scheduling_error=sa.bindparam("b_error")),
        [{"b_name": n, "b_rev": r, "b_error": e} for n, r, e in marks],
    )


@dataclass
class RunningProcess:
    row: ProcessRow
    snapshot: list[TaskDefinition]
    tasks: list[TaskRow]
    kill_requested: bool
    problem: str | None = None
    """Why this run's stored task definitions cannot be read; the scheduler fails the run."""


def running_processes(
    *, session: Session, process_ids: Sequence[str] | None = None
) -> list[RunningProcess]:
    """Running processes (all, or those of `process_ids`) with snapshots, attempts and kills."""
    query = select(ProcessRow).where(col(ProcessRow.status) == ProcessStatus.RUNNING.value)
    if process_ids is not None:
        query = query.where(col(ProcessRow.process_id).in_(process_ids))
    rows = session.exec(query.order_by(col(ProcessRow.started_at))).all()
    ids = [r.process_id for r in rows]
    snapshots: dict[str, list[TaskDefinition]] = defaultdict(list)
    problems: dict[str, str] = {}
    for snap in session.exec(
        select(TaskSnapshotRow)
        .where(col(TaskSnapshotRow.process_id).in_(ids))
        .order_by(col(TaskSnapshotRow.process_id), col(TaskSnapshotRow.position))
    ):
        try:
            snapshots[snap.process_id].append(read_stored(TaskDefinition, snap.body))
        except ValidationError as exc:
            problems.setdefault(snap.process_id, _unreadable(snap.task_definition_name, exc))
    tasks: dict[str, list[TaskRow]] = defaultdict(list)
    for task in session.exec(
        select(TaskRow).where(col(TaskRow.process_id).in_(ids)).order_by(col(TaskRow.started_at))
    ):
        tasks[task.process_id].append(task)
    killed = set(open_kills(session=session, process_ids=ids))
    return [
        RunningProcess(
            r,
            snapshots[r.process_id],
            tasks[r.process_id],
            r.process_id in killed,
            problems.get(r.process_id),
        )
        for r in rows
    ]


def latest_output(*, session: Session, task_ids: Sequence[str]) -> dict[str, datetime]:
    """When the newest stdout/stderr line of each task was written (for resuming its output)."""
    if not task_ids:
        return {}
    rows = session.execute(
        sa.select(col(TaskLogRow.task_id), sa.func.max(col(TaskLogRow.when)))
        .where(
            col(TaskLogRow.task_id).in_(task_ids),
            col(TaskLogRow.source).in_(("stdout", "stderr")),
        )
        .group_by(col(TaskLogRow.task_id))
    )
    return {task_id: as_utc(when) for task_id, when in rows}


def open_triggers(*, session: Session) -> list[TriggerRequest]:
    """Triggers no run has started yet, oldest first."""
    return [TriggerRequest(*row) for row in session.execute(_OPEN_TRIGGERS)]


def consume_triggers(*, session: Session, request_ids: Sequence[str], process_id: str) -> None:
    """Mark triggers as started by `process_id`, only if no one consumed them before."""
    session.execute(_CONSUME_TRIGGERS, {"request_ids": list(request_ids), "process_id": process_id})


def open_kills(*, session: Session, process_ids: Sequence[str] | None = None) -> list[str]:
    """Process ids with a kill request that no retry has cleared."""
    query = _OPEN_KILLS
    if process_ids is not None:
        query = query.where(_KILLS.c.process_id.in_(process_ids))
    return sorted({pid for (pid,) in session.execute(query)})


def clear_kills(
    *, session: Session, process_id: str, now: datetime, before: datetime | None = None
) -> None:
    """Clear open kill requests of a process (those requested before `before`, if given)."""
    query = sa.update(KillRequestRow).where(
        col(KillRequestRow.process_id) == process_id, col(KillRequestRow.cleared_at).is_(None)
    )
    if before is not None:
        query = query.where(col(KillRequestRow.requested_at) <= before)
    session.execute(query.values(cleared_at=now))


def open_retries(*, session: Session) -> list[RetryRequest]:
    """Retry requests not applied yet, oldest first."""
    return [RetryRequest(*row) for row in session.execute(_OPEN_RETRIES)]


def mark_retry_applied(*, session: Session, request_id: str, now: datetime) -> None:
    session.execute(
        sa.update(RetryRequestRow)
        .where(col(RetryRequestRow.request_id) == request_id)
        .values(applied_at=now)
    )


def reopen_process(*, session: Session, process_id: str) -> ProcessRow | None:
    """A finished (or running) process back to running, for a retry."""
    row = session.get(ProcessRow, process_id)
    if row is None or row.status == ProcessStatus.SUCCEEDED.value:
        return None
    row.status = ProcessStatus.RUNNING.value
    row.ended_at = None
    session.add(row)
    return row


def save_snapshot(*, session: Session, process_id: str, tasks: Sequence[TaskDefinition]) -> None:
    """Rewrite this run's task definitions (retry changes attempts and backoff here only)."""
    for task in tasks:
        row = session.get(TaskSnapshotRow, (process_id, task.task_definition_name))
        if row is not None:
            row.body = task.model_dump(mode="json", by_alias=True, exclude_none=True)
            session.add(row)


def reported_status(*, session: Session, task_id: str) -> tuple[TaskStatus, str | None] | None:
    row = session.get(ReportedTaskStatusRow, task_id)
    return (TaskStatus(row.status), row.reason) if row else None


def previous_finished_statuses(
    *, session: Session, name: str, before: datetime, limit: int
) -> list[ProcessStatus]:
    """Statuses of the finished runs of `name` that started before `before`, newest first."""
    rows = session.execute(
        sa.select(col(ProcessRow.status))
        .where(
            col(ProcessRow.process_definition_name) == name,
            col(ProcessRow.status) != ProcessStatus.RUNNING.value,
            col(ProcessRow.started_at) < before,
        )
        .order_by(col(ProcessRow.started_at).desc())
        .limit(limit)
    )
    return [ProcessStatus(status) for (status,) in rows]


def save_executor_states(*, session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Upsert what executors reported (one executemany); a report without a handle keeps the
    known one, and one older than the stored report changes nothing."""
    if rows:
        session.connection().execute(_upsert_state(session.get_bind().dialect.name), list(rows))


@functools.cache
def _upsert_state(dialect: str) -> Any:
    """The upsert of executor states, built once per dialect (it runs at most wake-ups)."""
    table = ExecutorStateRow.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[table.c.task_id],
        set_={
            "status": excluded.status,
            "as_of": excluded.as_of,
            "handle": sa.func.coalesce(excluded.handle, table.c.handle),
            "details": excluded.details,
        },
        # A report older than the stored one (queued by a scheduler that lost the lease and
        # applied after it took it back) must not hide the newer state.
        where=table.c.as_of <= excluded.as_of,
    )
