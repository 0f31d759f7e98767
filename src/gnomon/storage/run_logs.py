"""Read side of a run's logs, for the pages: every attempt's entries merged in time order.

The live log page reads a run in four statements whatever its size (the run, its task
definitions, its attempts, the newest entries of all of them through `ix_task_process` and
`ix_task_log_task`); its stream then reads the entries stamped since a moment, and a download
walks one attempt's entries in pages by keyset on `(when, log_entry_id)`, so a task of a hundred
thousand lines never sits in memory whole.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlmodel import Session

from gnomon.domain import as_utc
from gnomon.errors import NotFoundError
from gnomon.storage.tables import ProcessRow, TaskLogRow, TaskRow, TaskSnapshotRow

log = logging.getLogger(__name__)

_PROCESS = ProcessRow.__table__.c  # type: ignore[attr-defined]
_TASK_TABLE: sa.Table = TaskRow.__table__  # type: ignore[attr-defined]
_LOG_TABLE: sa.Table = TaskLogRow.__table__  # type: ignore[attr-defined]
_TASK = _TASK_TABLE.c
_LOG = _LOG_TABLE.c
_SNAPSHOT = TaskSnapshotRow.__table__.c  # type: ignore[attr-defined]
_ENTRY_COLUMNS: Final = (
    _LOG.log_entry_id,
    _LOG.task_id,
    _TASK.task_definition_name,
    _TASK.previous_attempts,
    _LOG.when,
    _LOG.source,
    _LOG.message,
)


@dataclass(frozen=True)
class RunLogEntry:
    """One log entry with the attempt it belongs to."""

    log_entry_id: str
    task_id: str
    task: str
    """The task definition's name."""
    attempt: int
    """1 for a task's first attempt."""
    when: datetime
    source: str
    message: str


@dataclass(frozen=True)
class AttemptLog:
    """An attempt of the run, as the page lists it for downloads."""

    task_id: str
    task: str
    attempt: int
    status: str
    started_at: datetime


@dataclass(frozen=True)
class RunLog:
    """A run's newest entries in time order, and what the page says around them."""

    process_id: str
    definition: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    tasks: list[str]
    """The run's task definitions, in the definition's order."""
    attempts: list[AttemptLog]
    entries: list[RunLogEntry]
    cut: bool
    """True when older entries exist than those in `entries`."""


@dataclass(frozen=True)
class LiveLog:
    """What a stream needs at each change: the run's status and its entries since a moment."""

    status: str | None
    """None if the run is gone."""
    entries: list[RunLogEntry]


@dataclass(frozen=True)
class TaskHeader:
    """Which run and task definition an attempt belongs to."""

    task_id: str
    process_id: str
    definition: str
    task: str
    attempt: int


def run_log(*, session: Session, process_id: str, task: str | None, limit: int) -> RunLog:
    """The run's newest `limit` entries (of task definition `task` only, if given).

    Raises:
        NotFoundError: no run has this id.
    """
    row = session.execute(
        sa.select(
            _PROCESS.process_definition_name,
            _PROCESS.status,
            _PROCESS.started_at,
            _PROCESS.ended_at,
        ).where(_PROCESS.process_id == process_id)
    ).first()
    if row is None:
        raise NotFoundError("process", process_id)
    names = session.execute(
        sa.select(_SNAPSHOT.task_definition_name)
        .where(_SNAPSHOT.process_id == process_id)
        .order_by(_SNAPSHOT.position)
    ).scalars()
    attempts = [
        AttemptLog(task_id, name, previous + 1, status, as_utc(started))
        for task_id, name, previous, status, started in session.execute(
            sa.select(
                _TASK.task_id,
                _TASK.task_definition_name,
                _TASK.previous_attempts,
                _TASK.status,
                _TASK.started_at,
            )
            .where(_TASK.process_id == process_id)
            .order_by(_TASK.started_at, _TASK.task_id)
        )
    ]
    newest = session.execute(
        _entries(process_id, task)
        .order_by(_LOG.when.desc(), _LOG.log_entry_id.desc())
        .limit(limit + 1)
    ).all()
    return RunLog(
        process_id=process_id,
        definition=row.process_definition_name,
        status=row.status,
        started_at=as_utc(row.started_at),
        ended_at=as_utc(row.ended_at) if row.ended_at else None,
        tasks=list(names),
        attempts=attempts,
        entries=[_entry(entry) for entry in reversed(newest[:limit])],
        cut=len(newest) > limit,
    )


def live_log(
    *, session: Session, process_id: str, task: str | None, since: datetime | None, limit: int
) -> LiveLog:
    """The run's status and its first `limit` entries stamped at or after `since`, oldest first."""
    status = run_status(session=session, process_id=process_id)
    query = _entries(process_id, task)
    if since is not None:
        query = query.where(_LOG.when >= since)
    rows = session.execute(query.order_by(_LOG.when, _LOG.log_entry_id).limit(limit)).all()
    return LiveLog(status, [_entry(row) for row in rows])


def task_header(*, session: Session, task_id: str) -> TaskHeader:
    """Raises:
    NotFoundError: no attempt has this id."""
    row = session.execute(
        sa.select(
            _TASK.process_id,
            _TASK.process_definition_name,
            _TASK.task_definition_name,
            _TASK.previous_attempts,
        ).where(_TASK.task_id == task_id)
    ).first()
    if row is None:
        raise NotFoundError("task", task_id)
    return TaskHeader(task_id, row[0], row[1], row[2], row[3] + 1)


def task_lines(
    *, session: Session, task_id: str, after: tuple[datetime, str] | None, limit: int
) -> list[tuple[datetime, str, str, str]]:
    """One attempt's entries after the keyset `after` (when, id), oldest first:
    (when, source, message, id)."""
    query = sa.select(_LOG.when, _LOG.source, _LOG.message, _LOG.log_entry_id).where(
        _LOG.task_id == task_id
    )
    if after is not None:
        when, entry_id = after
        query = query.where(
            sa.or_(_LOG.when > when, sa.and_(_LOG.when == when, _LOG.log_entry_id > entry_id))
        )
    rows = session.execute(query.order_by(_LOG.when, _LOG.log_entry_id).limit(limit))
    return [(as_utc(when), source, message, entry_id) for when, source, message, entry_id in rows]


def run_status(*, session: Session, process_id: str) -> str | None:
    """The run's status; None if there is no such run."""
    found: str | None = session.execute(
        sa.select(_PROCESS.status).where(_PROCESS.process_id == process_id)
    ).scalar()
    return found


def run_of_task(*, session: Session, task_id: str) -> str | None:
    """The id of the run an attempt belongs to; None if there is no such attempt."""
    found: str | None = session.execute(
        sa.select(_TASK.process_id).where(_TASK.task_id == task_id)
    ).scalar()
    return found


def _entries(process_id: str, task: str | None) -> Any:
    query = (
        sa.select(*_ENTRY_COLUMNS)
        .select_from(_LOG_TABLE.join(_TASK_TABLE, _LOG.task_id == _TASK.task_id))
        .where(_TASK.process_id == process_id)
    )
    if task is not None:
        query = query.where(_TASK.task_definition_name == task)
    return query


def _entry(row: Any) -> RunLogEntry:
    entry_id, task_id, task, previous, when, source, message = row
    return RunLogEntry(entry_id, task_id, task, previous + 1, as_utc(when), source, message)
