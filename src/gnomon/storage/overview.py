"""Read side of the web pages: the latest runs and every definition at a glance.

A page is read in a fixed number of statements whatever the number of rows, and each statement
walks an index, so `/` and `/process_definitions` cost the same with a hundred runs or a hundred
thousand:

- the runs list pages by keyset on `(started_at, process_id)`, never by offset; the range on
  `started_at` uses `ix_process_started_at` (or the definition's and status's own indexes) and
  the id only breaks ties among runs started in the same instant;
- the last runs of every definition are the first entries of each definition's range of
  `ix_process_definition_started`: a LATERAL join on PostgreSQL; on SQLite, which has none, a
  join from the start of each definition's tenth latest run.

Rows come back as plain values (frozen dataclasses, tuples): the pages only display them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session

from gnomon.domain import as_utc
from gnomon.storage.tables import (
    ProcessDefinitionRow,
    ProcessRow,
    RetryRequestRow,
    TaskRow,
    TaskSnapshotRow,
    TriggerRequestRow,
)

log = logging.getLogger(__name__)

_DEFINITIONS: sa.Table = ProcessDefinitionRow.__table__  # type: ignore[attr-defined]
_PROCESSES: sa.Table = ProcessRow.__table__  # type: ignore[attr-defined]
_DEFINITION = _DEFINITIONS.c
_PROCESS = _PROCESSES.c
_TASK = TaskRow.__table__.c  # type: ignore[attr-defined]
_SNAPSHOT = TaskSnapshotRow.__table__.c  # type: ignore[attr-defined]
_RETRY = RetryRequestRow.__table__.c  # type: ignore[attr-defined]
_TRIGGER = TriggerRequestRow.__table__.c  # type: ignore[attr-defined]

MAX_PAGE_SIZE: Final = 200
"""Most runs one page of the list shows."""
_BEFORE_ANY_RUN: Final = datetime(1000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RunCursor:
    """Where a page of the runs list ends: the start time and id of its last (or first) run."""

    started_at: datetime
    process_id: str


@dataclass(frozen=True)
class RunListQuery:
    """Filters and position of one page of the runs list, newest first.

    `older_than` asks for the page after a cursor, `newer_than` for the page before it; at most
    one of them is set.
    """

    definition: str | None = None
    statuses: frozenset[str] = frozenset()
    started_after: datetime | None = None
    started_before: datetime | None = None
    older_than: RunCursor | None = None
    newer_than: RunCursor | None = None
    limit: int = 50


@dataclass(frozen=True)
class TaskProgress:
    """One task definition of a run: how many attempts it had and how the latest went."""

    name: str
    status: str | None
    """The latest attempt's status; None when no attempt started yet."""
    attempts: int


@dataclass(frozen=True)
class RunSummary:
    """A row of the runs list."""

    process_id: str
    definition: str
    origin: str
    task_filter: list[str] | None
    started_at: datetime
    ended_at: datetime | None
    status: str
    retried: bool
    """Someone asked to retry its failed tasks (`POST /api/processes/ID/retry`)."""
    scheduling_error: str | None
    tasks: list[TaskProgress] = field(default_factory=list)

    @property
    def cursor(self) -> RunCursor:
        return RunCursor(self.started_at, self.process_id)


@dataclass(frozen=True)
class RunPage:
    """One page of the runs list and whether there are runs on either side of it."""

    runs: list[RunSummary]
    has_older: bool
    has_newer: bool


@dataclass(frozen=True)
class OpenTrigger:
    """A trigger request no run has taken up yet."""

    definition: str
    requested_at: datetime
    task_filter: list[str] | None


@dataclass(frozen=True)
class OpenTriggers:
    """The oldest open trigger requests, and how many there are in all."""

    oldest: list[OpenTrigger]
    total: int


class RecentRun(NamedTuple):
    """One of the latest runs of a definition.

    The definitions page reads ten per definition, ten thousand for a big store, so this is a
    tuple of plain values (a frozen dataclass was a measurable part of the page's time) and the
    start is seconds since the epoch: turning ten thousand stored times into aware datetimes
    cost more than the query. `started_at` makes one when needed.
    """

    process_id: str
    started: float
    """When it started, in seconds since the epoch (UTC)."""
    seconds: float | None
    """How long it took; None while it runs."""
    status: str

    @property
    def started_at(self) -> datetime:
        return datetime.fromtimestamp(self.started, UTC)


class DefinitionOverview(NamedTuple):
    """A definition as the definitions page shows it, with its latest runs, newest first (a
    tuple, like `RecentRun`: a page builds a thousand)."""

    name: str
    description: str | None
    schedule: str | None
    """The stored schedule as Sundial's JSON text (`null` or None without one): the page reads
    each distinct text once, instead of decoding a thousand alike on every load."""
    paused: bool
    overlap_action: str
    owner: str | None
    """The custom resource that owns the definition (`ProcessDefinition <namespace>/<name>`)."""
    created_at: datetime
    scheduling_error: str | None
    recent: tuple[RecentRun, ...]


def run_page(*, session: Session, query: RunListQuery) -> RunPage:
    """One page of runs matching `query`, newest first, with their tasks' progress.

    Three statements: the runs, their task definitions, their attempts.
    """
    newer = query.newer_than is not None
    rows = list(session.execute(_runs_statement(query)).all())
    more = len(rows) > query.limit
    del rows[query.limit :]
    if newer:
        rows.reverse()
    progress = _progress(session, [row.process_id for row in rows])
    runs = [_run_summary(row, progress.get(row.process_id, [])) for row in rows]
    has_older = True if newer else more
    has_newer = more if newer else query.older_than is not None
    return RunPage(runs, has_older=has_older, has_newer=has_newer)


def _runs_statement(query: RunListQuery) -> Any:
    retried = sa.exists().where(_RETRY.process_id == _PROCESS.process_id)
    statement = sa.select(
        _PROCESS.process_id,
        _PROCESS.process_definition_name,
        _PROCESS.origin,
        _PROCESS.task_filter,
        _PROCESS.started_at,
        _PROCESS.ended_at,
        _PROCESS.status,
        _PROCESS.scheduling_error,
        retried.label("retried"),
    )
    if query.definition is not None:
        statement = statement.where(_PROCESS.process_definition_name == query.definition)
    if query.statuses:
        statement = statement.where(_PROCESS.status.in_(sorted(query.statuses)))
    if query.started_after is not None:
        statement = statement.where(_PROCESS.started_at >= query.started_after)
    if query.started_before is not None:
        statement = statement.where(_PROCESS.started_at <= query.started_before)
    order: tuple[Any, ...] = (_PROCESS.started_at.desc(), _PROCESS.process_id.desc())
    if query.older_than is not None:
        statement = statement.where(*_beyond(query.older_than, older=True))
    elif query.newer_than is not None:
        statement = statement.where(*_beyond(query.newer_than, older=False))
        order = (_PROCESS.started_at.asc(), _PROCESS.process_id.asc())
    return statement.order_by(*order).limit(query.limit + 1)


def _beyond(cursor: RunCursor, *, older: bool) -> list[Any]:
    """Rows strictly past `cursor` in (started_at, process_id) order.

    Spelt as a range on `started_at` plus a tie-break, not as a row comparison: both stores then
    walk the `started_at` index from the cursor on.
    """
    started, process_id = _PROCESS.started_at, _PROCESS.process_id
    if older:
        return [
            started <= cursor.started_at,
            sa.or_(started < cursor.started_at, process_id < cursor.process_id),
        ]
    return [
        started >= cursor.started_at,
        sa.or_(started > cursor.started_at, process_id > cursor.process_id),
    ]


def _progress(session: Session, process_ids: Sequence[str]) -> dict[str, list[TaskProgress]]:
    """Per run, its task definitions in their defined order with their attempts so far."""
    if not process_ids:
        return {}
    attempts: dict[tuple[str, str], list[str]] = defaultdict(list)
    for process_id, name, status in session.execute(
        sa.select(_TASK.process_id, _TASK.task_definition_name, _TASK.status)
        .where(_TASK.process_id.in_(process_ids))
        .order_by(_TASK.process_id, _TASK.started_at, _TASK.previous_attempts)
    ):
        attempts[(process_id, name)].append(status)
    result: dict[str, list[TaskProgress]] = defaultdict(list)
    for process_id, name in session.execute(
        sa.select(_SNAPSHOT.process_id, _SNAPSHOT.task_definition_name)
        .where(_SNAPSHOT.process_id.in_(process_ids))
        .order_by(_SNAPSHOT.process_id, _SNAPSHOT.position)
    ):
        statuses = attempts.get((process_id, name), [])
        latest = statuses[-1] if statuses else None
        result[process_id].append(TaskProgress(name, latest, len(statuses)))
    return result


def _run_summary(row: Any, tasks: list[TaskProgress]) -> RunSummary:
    if row.task_filter:
        wanted = set(row.task_filter)
        tasks = [task for task in tasks if task.name in wanted]
    return RunSummary(
        process_id=row.process_id,
        definition=row.process_definition_name,
        origin=row.origin,
        task_filter=row.task_filter,
        started_at=as_utc(row.started_at),
        ended_at=_maybe_utc(row.ended_at),
        status=row.status,
        retried=bool(row.retried),
        scheduling_error=row.scheduling_error,
        tasks=tasks,
    )


def open_triggers(*, session: Session, limit: int) -> OpenTriggers:
    """The `limit` oldest trigger requests not yet taken up by a run, and their total count."""
    total = sa.func.count().over().label("total")
    rows = session.execute(
        sa.select(
            _TRIGGER.process_definition_name, _TRIGGER.requested_at, _TRIGGER.task_filter, total
        )
        .where(_TRIGGER.started_process_id.is_(None))
        .order_by(_TRIGGER.requested_at, _TRIGGER.request_id)
        .limit(limit)
    ).all()
    oldest = [
        OpenTrigger(row.process_definition_name, as_utc(row.requested_at), row.task_filter)
        for row in rows
    ]
    return OpenTriggers(oldest, rows[0].total if rows else 0)


def definition_overviews(*, session: Session, history: int) -> list[DefinitionOverview]:
    """Every definition by name, each with its `history` latest runs; two statements."""
    recent = _recent_runs(session, history)
    rows = session.execute(
        sa.select(
            _DEFINITION.name,
            _DEFINITION.description,
            sa.cast(_DEFINITION.schedule, sa.Text).label("schedule"),
            _DEFINITION.paused,
            _DEFINITION.overlap_action,
            _DEFINITION.owner,
            _DEFINITION.created_at,
            _DEFINITION.scheduling_error,
        ).order_by(_DEFINITION.name)
    ).all()
    return [
        DefinitionOverview(
            name=row.name,
            description=row.description,
            schedule=row.schedule,
            paused=row.paused,
            overlap_action=row.overlap_action,
            owner=row.owner,
            created_at=as_utc(row.created_at),
            scheduling_error=row.scheduling_error,
            recent=recent.get(row.name, ()),
        )
        for row in rows
    ]


def _recent_runs(session: Session, history: int) -> dict[str, tuple[RecentRun, ...]]:
    """The `history` latest runs of each definition that has runs, newest first."""
    if session.get_bind().dialect.name == "postgresql":
        statement = _recent_runs_lateral(history)
    else:
        statement = _recent_runs_bounded(history)
    return {name: _read_runs(text, history) for name, text in session.execute(statement).all()}


# A definition's last runs come back as one text: a record per run, fields apart, times as
# UTC text (`2026-03-02 12:00:00.123456`). One row per definition instead of ten is most of this
# page's speed, and a definition whose runs did not change since the last page load has the same
# text, so it is read only once (`_read_runs`); the store only joins strings, which also spares
# SQLite ten thousand date computations. No field can hold the separators: ids are UUIDs,
# statuses words, the rest times.
_FIELD: Final = "\x1f"
_RECORD: Final = "\x1e"
_EPOCH: Final = datetime(1970, 1, 1)


@lru_cache(maxsize=8192)
def _read_runs(text: str, history: int) -> tuple[RecentRun, ...]:
    runs = []
    for record in text.split(_RECORD):
        process_id, started_text, ended_text, status = record.split(_FIELD)
        started = datetime.fromisoformat(started_text)
        seconds = (
            (datetime.fromisoformat(ended_text) - started).total_seconds() if ended_text else None
        )
        runs.append(RecentRun(process_id, (started - _EPOCH).total_seconds(), seconds, status))
    runs.sort(key=lambda run: (-run.started, run.process_id))
    return tuple(runs[:history])


def _runs_text(process_id: Any, started: Any, ended: Any, status: Any) -> Any:
    """One run's record; `started` and `ended` are UTC times as text (`ended` may be NULL)."""
    field = sa.literal(_FIELD)
    return process_id + field + started + field + sa.func.coalesce(ended, "") + field + status


def _recent_runs_lateral(history: int) -> Any:
    """PostgreSQL: per definition, the first `history` entries of its (name, started_at) index."""
    latest = (
        sa.select(_PROCESS.process_id, _PROCESS.started_at, _PROCESS.ended_at, _PROCESS.status)
        .where(_PROCESS.process_definition_name == _DEFINITION.name)
        .order_by(_PROCESS.started_at.desc(), _PROCESS.process_id)
        .limit(history)
        .lateral("latest")
    )
    text = _runs_text(
        latest.c.process_id,
        _utc_text(latest.c.started_at),
        _utc_text(latest.c.ended_at),
        latest.c.status,
    )
    return (
        sa.select(_DEFINITION.name, sa.func.string_agg(text, sa.literal(_RECORD)))
        .select_from(_DEFINITIONS)
        .join(latest, sa.true())
        .group_by(_DEFINITION.name)
    )


def _utc_text(moment: Any) -> Any:
    """PostgreSQL: a timestamptz as the text SQLite stores it, whatever the session's zone."""
    return sa.func.to_char(sa.func.timezone("UTC", moment), "YYYY-MM-DD HH24:MI:SS.US")


def _recent_runs_bounded(history: int) -> Any:
    """SQLite, which has no LATERAL: first the start of each definition's `history`-th latest
    run (or the distant past), then the index range from there on. Runs sharing that start time
    may exceed the count; `_read_runs` cuts them."""
    inner = _PROCESSES.alias("inner")
    bound = (
        sa.select(inner.c.started_at)
        .where(inner.c.process_definition_name == _DEFINITION.name)
        .order_by(inner.c.started_at.desc())
        .offset(history - 1)
        .limit(1)
        .scalar_subquery()
    )
    far_past = sa.literal(_BEFORE_ANY_RUN, type_=_PROCESS.started_at.type)
    # Materialized, so the bounds are computed once per definition rather than per run.
    bounds = (
        sa.select(_DEFINITION.name, sa.func.coalesce(bound, far_past).label("since"))
        .cte("bounds")
        .prefix_with("MATERIALIZED")
    )
    on = sa.and_(
        _PROCESS.process_definition_name == bounds.c.name,
        _PROCESS.started_at >= bounds.c.since,
    )
    # SQLite keeps times as UTC text already.
    text = _runs_text(
        _PROCESS.process_id,
        sa.type_coerce(_PROCESS.started_at, sa.String),
        sa.type_coerce(_PROCESS.ended_at, sa.String),
        _PROCESS.status,
    )
    return (
        sa.select(bounds.c.name, sa.func.group_concat(text, sa.literal(_RECORD)))
        .select_from(bounds)
        .join(_PROCESSES, on)
        .group_by(bounds.c.name)
    )


def _maybe_utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None
