"""Read side of the run page (`/processes/{id}`): one run with its task definitions as frozen
for it, every attempt, and each attempt's latest metadata.

Four statements whatever the number of tasks, attempts and metadata entries: the run (with
whether a retry or a kill was asked for), its task definition snapshots, its attempts (with the
backend that ran each), and the latest value of every metadata key of its attempts, chosen by
the store with a window function so that a job that rewrote a key a thousand times costs one
row. Rows come back as plain frozen values; the page only displays them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlmodel import Session

from gnomon.domain import as_utc
from gnomon.storage.tables import (
    ExecutorStateRow,
    KillRequestRow,
    ProcessRow,
    RetryRequestRow,
    TaskMetadataRow,
    TaskRow,
    TaskSnapshotRow,
)

log = logging.getLogger(__name__)

_PROCESS = ProcessRow.__table__.c  # type: ignore[attr-defined]
_TASKS: sa.Table = TaskRow.__table__  # type: ignore[attr-defined]
_TASK = _TASKS.c
_SNAPSHOT = TaskSnapshotRow.__table__.c  # type: ignore[attr-defined]
_META = TaskMetadataRow.__table__.c  # type: ignore[attr-defined]
_STATES: sa.Table = ExecutorStateRow.__table__  # type: ignore[attr-defined]
_KILL = KillRequestRow.__table__.c  # type: ignore[attr-defined]
_RETRY = RetryRequestRow.__table__.c  # type: ignore[attr-defined]

MAX_METADATA: Final = 5_000
"""Most metadata values the page shows for one run (the latest per key of each attempt)."""
_EXECUTABLE_KINDS: Final = {
    "docker_image_command": "docker",
    "batch_image_command": "batch",
    "shell_script_command": "shell",
}


@dataclass(frozen=True)
class Dependency:
    name: str
    required: bool
    """`success_required`: the dependency must succeed, not only finish."""


@dataclass(frozen=True)
class TaskSnapshot:
    """A task definition as the run froze it when it started."""

    name: str
    dependencies: tuple[Dependency, ...]
    max_attempts: int
    executable_kind: str | None
    """docker, batch or shell: which of Sundial's executables it runs."""


@dataclass(frozen=True)
class AttemptDetail:
    """One attempt of a task definition, with the latest value of each of its metadata keys."""

    task_id: str
    task: str
    number: int
    """1 for the task definition's first attempt in the run, 2 for the next..."""
    started_at: datetime
    ended_at: datetime | None
    status: str
    reason: str | None
    backend: str | None
    """The executor backend that ran it (docker, kubernetes, shell), when it reported."""
    metadata: tuple[tuple[str, str], ...]
    """(key, latest value), by key."""


@dataclass(frozen=True)
class RunDetail:
    process_id: str
    definition: str
    origin: str
    task_filter: list[str] | None
    started_at: datetime
    ended_at: datetime | None
    status: str
    scheduling_error: str | None
    retried: bool
    """Someone asked to retry its failed tasks."""
    kill_requested: bool
    """A kill request that no retry has cleared: the run is (being) killed."""
    tasks: tuple[TaskSnapshot, ...]
    """In their defined order."""
    attempts: tuple[AttemptDetail, ...]
    """In the order they started."""


def run_detail(*, session: Session, process_id: str) -> RunDetail | None:
    """The run `process_id` with its tasks and attempts, or None when there is no such run."""
    row = session.execute(_run_statement(process_id)).first()
    if row is None:
        return None
    tasks = tuple(
        _snapshot(name, body)
        for name, body in session.execute(
            sa.select(_SNAPSHOT.task_definition_name, _SNAPSHOT.body)
            .where(_SNAPSHOT.process_id == process_id)
            .order_by(_SNAPSHOT.position)
        )
    )
    metadata = _latest_metadata(session, process_id)
    counts: dict[str, int] = defaultdict(int)
    attempts = []
    for attempt in session.execute(_attempts_statement(process_id)):
        counts[attempt.task_definition_name] += 1
        number = counts[attempt.task_definition_name]
        attempts.append(_attempt(attempt, number, metadata.get(attempt.task_id, ())))
    return RunDetail(
        process_id=row.process_id,
        definition=row.process_definition_name,
        origin=row.origin,
        task_filter=row.task_filter,
        started_at=as_utc(row.started_at),
        ended_at=_maybe_utc(row.ended_at),
        status=row.status,
        scheduling_error=row.scheduling_error,
        retried=bool(row.retried),
        kill_requested=bool(row.kill_requested),
        tasks=tasks,
        attempts=tuple(attempts),
    )


def _run_statement(process_id: str) -> Any:
    retried = sa.exists().where(_RETRY.process_id == _PROCESS.process_id)
    killed = sa.exists().where(_KILL.process_id == _PROCESS.process_id, _KILL.cleared_at.is_(None))
    return sa.select(
        _PROCESS.process_id,
        _PROCESS.process_definition_name,
        _PROCESS.origin,
        _PROCESS.task_filter,
        _PROCESS.started_at,
        _PROCESS.ended_at,
        _PROCESS.status,
        _PROCESS.scheduling_error,
        retried.label("retried"),
        killed.label("kill_requested"),
    ).where(_PROCESS.process_id == process_id)


def _attempts_statement(process_id: str) -> Any:
    state = _STATES.c
    return (
        sa.select(
            _TASK.task_id,
            _TASK.task_definition_name,
            _TASK.previous_attempts,
            _TASK.started_at,
            _TASK.ended_at,
            _TASK.status,
            _TASK.reason,
            state.backend,
        )
        .select_from(_TASKS.outerjoin(_STATES, state.task_id == _TASK.task_id))
        .where(_TASK.process_id == process_id)
        .order_by(_TASK.started_at, _TASK.previous_attempts, _TASK.task_id)
    )


def _latest_metadata(session: Session, process_id: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """Per attempt, each key's latest value (the last written; the id breaks ties)."""
    newest = (
        sa.func.row_number()
        .over(
            partition_by=(_META.task_id, _META.key),
            order_by=(_META.when.desc(), _META.metadata_entry_id.desc()),
        )
        .label("newest")
    )
    attempts = sa.select(_TASK.task_id).where(_TASK.process_id == process_id)
    ranked = (
        sa.select(_META.task_id, _META.key, _META.value, newest)
        .where(_META.task_id.in_(attempts))
        .subquery()
    )
    rows = session.execute(
        sa.select(ranked.c.task_id, ranked.c.key, ranked.c.value)
        .where(ranked.c.newest == 1)
        .order_by(ranked.c.task_id)
        .limit(MAX_METADATA)
    )
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for task_id, key, value in rows:
        found[task_id].append((key, value))
    # Sorted here rather than by the store, whose collation may differ between SQLite and
    # PostgreSQL.
    return {task_id: tuple(sorted(pairs)) for task_id, pairs in found.items()}


def _snapshot(name: str, body: dict[str, Any]) -> TaskSnapshot:
    # Read defensively: the body is what validation let in, but a hand-edited store must not
    # take the page down.
    dependencies = tuple(
        Dependency(str(d.get("task_definition_name")), bool(d.get("success_required", True)))
        for d in body.get("dependencies") or ()
        if isinstance(d, dict) and d.get("task_definition_name")
    )
    executable = body.get("executable")
    kind = next(iter(executable), None) if isinstance(executable, dict) else None
    attempts = body.get("max_attempts", 1)
    return TaskSnapshot(
        name=name,
        dependencies=dependencies,
        # At least one, as the scheduler reads it (`domain.stored`).
        max_attempts=max(attempts, 1) if isinstance(attempts, int) else 1,
        executable_kind=_EXECUTABLE_KINDS.get(kind or "", kind),
    )


def _attempt(row: Any, number: int, metadata: tuple[tuple[str, str], ...]) -> AttemptDetail:
    return AttemptDetail(
        task_id=row.task_id,
        task=row.task_definition_name,
        number=number,
        started_at=as_utc(row.started_at),
        ended_at=_maybe_utc(row.ended_at),
        status=row.status,
        reason=row.reason,
        backend=row.backend,
        metadata=metadata,
    )


def _maybe_utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None
