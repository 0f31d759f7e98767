"""Removing old runs and everything keyed by them, a small batch per transaction.

A pass starts with a plan: for each definition name found among the runs (deleted definitions
included), the bound below which its runs may go, the earlier of the cutoff and the start of its
`keep_runs`-th newest run. Both lookups are index seeks on (definition name, started_at), so the
plan costs a few reads per definition however many runs are stored. A batch then takes the oldest
removable runs of the plan's definitions in turn, locks them, and deletes their rows from every
table that names a run or one of its attempts: a table without a foreign key (logs, metadata,
executor state, requests) is cleared explicitly, never left to a cascade it does not have.

Every removable run has ended; the selection re-checks that under the row lock (PostgreSQL
re-reads a locked row), so a run a retry reopened in the meantime stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from gnomon.domain.enums import ProcessStatus
from gnomon.domain.retention import PruneCounts, RetentionRule
from gnomon.domain.times import as_utc
from gnomon.storage.engine import transaction
from gnomon.storage.tables import (
    ExecutorStateRow,
    KillRequestRow,
    ProcessRow,
    ReportedTaskStatusRow,
    RetryRequestRow,
    TaskLogRow,
    TaskMetadataRow,
    TaskRow,
    TaskSnapshotRow,
    TriggerRequestRow,
)

_NAMES = sa.text(
    # A loose index scan: one index seek per distinct name instead of reading every run.
    "WITH RECURSIVE names(name) AS ("
    " SELECT MIN(process_definition_name) FROM process"
    " UNION ALL"
    " SELECT (SELECT MIN(p.process_definition_name) FROM process p"
    "         WHERE p.process_definition_name > names.name)"
    " FROM names WHERE names.name IS NOT NULL"
    ") SELECT name FROM names WHERE name IS NOT NULL"
)


@dataclass(frozen=True)
class Bound:
    """Runs of `definition` that started before `before` may go (if they ended before the
    cutoff)."""

    definition: str
    before: datetime


@dataclass(frozen=True)
class Doomed:
    process_id: str
    definition: str


def plan(*, session: Session, rule: RetentionRule) -> list[Bound]:
    """Each definition that has runs started before the cutoff, with its bound."""
    bounds = []
    for name in session.execute(_NAMES).scalars():
        before = _bound(session, name, rule)
        if before is not None:
            bounds.append(Bound(name, before))
    return bounds


def _bound(session: Session, name: str, rule: RetentionRule) -> datetime | None:
    oldest = session.execute(
        sa.select(sa.func.min(col(ProcessRow.started_at))).where(
            col(ProcessRow.process_definition_name) == name
        )
    ).scalar_one_or_none()
    if oldest is None or as_utc(oldest) >= rule.cutoff:
        return None
    if rule.keep_runs <= 0:
        return rule.cutoff
    floor = session.execute(
        sa.select(col(ProcessRow.started_at))
        .where(col(ProcessRow.process_definition_name) == name)
        .order_by(col(ProcessRow.started_at).desc())
        .offset(rule.keep_runs - 1)
        .limit(1)
    ).scalar_one_or_none()
    if floor is None:
        return None  # fewer runs than the floor: all of them stay
    return min(rule.cutoff, as_utc(floor))


def removable(bound: Bound, rule: RetentionRule) -> sa.Select[Any]:
    """The ids of `bound.definition`'s removable runs, oldest first."""
    open_retry = sa.exists().where(
        col(RetryRequestRow.process_id) == col(ProcessRow.process_id),
        col(RetryRequestRow.applied_at).is_(None),
    )
    return (
        sa.select(col(ProcessRow.process_id))
        .where(
            col(ProcessRow.process_definition_name) == bound.definition,
            col(ProcessRow.started_at) < bound.before,
            col(ProcessRow.ended_at).is_not(None),
            col(ProcessRow.ended_at) < rule.cutoff,
            col(ProcessRow.status) != ProcessStatus.RUNNING.value,
            ~open_retry,
        )
        .order_by(col(ProcessRow.started_at))
    )


def take(
    *, session: Session, bounds: Sequence[Bound], rule: RetentionRule, limit: int
) -> tuple[list[Doomed], int]:
    """Lock up to `limit` removable runs, from the first bounds on.

    Returns:
        The runs, and how many leading bounds are exhausted (have nothing left to give).
    """
    doomed: list[Doomed] = []
    exhausted = 0
    for bound in bounds:
        wanted = limit - len(doomed)
        if wanted <= 0:
            break
        query = removable(bound, rule).limit(wanted).with_for_update()
        ids = list(session.execute(query).scalars())
        doomed += [Doomed(process_id, bound.definition) for process_id in ids]
        if len(ids) < wanted:
            exhausted += 1
    return doomed, exhausted


def delete(*, session: Session, runs: Sequence[Doomed]) -> PruneCounts:
    """Delete these runs and every row keyed by them or by their attempts."""
    if not runs:
        return PruneCounts()
    ids = [run.process_id for run in runs]
    names = sorted({run.definition for run in runs})
    attempts = sa.select(col(TaskRow.task_id)).where(col(TaskRow.process_id).in_(ids))
    counts = PruneCounts()
    counts.log_lines = _delete(session, TaskLogRow, col(TaskLogRow.task_id).in_(attempts))
    counts.metadata = _delete(session, TaskMetadataRow, col(TaskMetadataRow.task_id).in_(attempts))
    for by_attempt in (ReportedTaskStatusRow, ExecutorStateRow):
        _delete(session, by_attempt, col(by_attempt.task_id).in_(attempts))
    counts.tasks = _delete(session, TaskRow, col(TaskRow.process_id).in_(ids))
    for by_run in (TaskSnapshotRow, KillRequestRow, RetryRequestRow):
        _delete(session, by_run, col(by_run.process_id).in_(ids))
    # The definition name makes this a seek on ix_trigger_open, with no index of its own.
    started = sa.and_(
        col(TriggerRequestRow.process_definition_name).in_(names),
        col(TriggerRequestRow.started_process_id).in_(ids),
    )
    _delete(session, TriggerRequestRow, started)
    counts.runs = _delete(session, ProcessRow, col(ProcessRow.process_id).in_(ids))
    return counts


def count(*, session: Session, process_ids: sa.Select[Any] | Sequence[str]) -> PruneCounts:
    """What `delete` would remove with these runs (a dry run), without removing it."""
    ids: Any = process_ids if isinstance(process_ids, sa.Select) else list(process_ids)
    attempts = sa.select(col(TaskRow.task_id)).where(col(TaskRow.process_id).in_(ids))

    def rows(table: Any, where: Any) -> int:
        return int(
            session.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar_one()
        )

    return PruneCounts(
        runs=rows(ProcessRow, col(ProcessRow.process_id).in_(ids)),
        tasks=rows(TaskRow, col(TaskRow.process_id).in_(ids)),
        log_lines=rows(TaskLogRow, col(TaskLogRow.task_id).in_(attempts)),
        metadata=rows(TaskMetadataRow, col(TaskMetadataRow.task_id).in_(attempts)),
    )


def _delete(session: Session, table: Any, where: Any) -> int:
    result = session.execute(sa.delete(table).where(where))
    return int(getattr(result, "rowcount", 0) or 0)


def prune(
    engine: Engine, rule: RetentionRule, *, batch_runs: int, dry_run: bool
) -> dict[str, PruneCounts]:
    """Remove (or, with `dry_run`, count) every removable run, `batch_runs` per transaction.

    Returns:
        What went, per definition name (only names that lost something).

    Raises:
        StoreError: the store failed; batches committed before stay removed.
    """
    with transaction(engine) as session:
        bounds = plan(session=session, rule=rule)
    found: dict[str, PruneCounts] = {}
    if dry_run:
        with transaction(engine) as session:
            for bound in bounds:
                counts = count(session=session, process_ids=removable(bound, rule))
                if counts.runs:
                    found[bound.definition] = counts
        return found
    while bounds:
        with transaction(engine) as session:
            doomed, exhausted = take(session=session, bounds=bounds, rule=rule, limit=batch_runs)
            for definition in dict.fromkeys(d.definition for d in doomed):
                ids = [d.process_id for d in doomed if d.definition == definition]
                found.setdefault(definition, PruneCounts()).add(
                    count(session=session, process_ids=ids)
                )
            delete(session=session, runs=doomed)
        del bounds[:exhausted]
    return found
