"""Runs written straight into a store, with a row in every table keyed by a run or an attempt,
so retention tests can tell that each of those tables lost what it should (and nothing more)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

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

RUN_KEYS = {"process_id", "task_id", "started_process_id"}
"""Columns that name a run or an attempt: every table with one must lose its rows with the run."""
LOG_LINES_PER_TASK = 3
TASKS_PER_RUN = 2


def dependent_tables() -> list[str]:
    """Every table of the schema that names a run or an attempt (found, not listed by hand)."""
    return sorted(
        table.name
        for table in SQLModel.metadata.sorted_tables
        if table.name != "process" and RUN_KEYS & {c.name for c in table.columns}
    )


def add_run(
    engine: Engine,
    name: str,
    started: datetime,
    *,
    minutes: float = 1,
    running: bool = False,
    open_retry: bool = False,
) -> str:
    """A run of `name` with two attempts, their log lines, metadata, reported status and
    executor state, a trigger request it started, and an applied kill and retry request."""
    process_id = str(uuid.uuid4())
    ended = None if running else started + timedelta(minutes=minutes)
    rows: dict[type[SQLModel], list[dict[str, object]]] = {
        ProcessRow: [
            {
                "process_id": process_id,
                "process_definition_name": name,
                "started_at": started,
                "status": "running" if running else "succeeded",
                "ended_at": ended,
                "origin": "trigger",
            }
        ],
        TriggerRequestRow: [
            {
                "request_id": str(uuid.uuid4()),
                "process_definition_name": name,
                "requested_at": started,
                "started_process_id": process_id,
            }
        ],
        KillRequestRow: [_request(process_id, started, "cleared_at")],
        RetryRequestRow: [_request(process_id, started, None if open_retry else "applied_at")],
    }
    for position in range(TASKS_PER_RUN):
        _add_attempt(rows, process_id, name, position, started, ended)
    with engine.begin() as connection:
        for table, values in rows.items():
            connection.execute(sa.insert(table), values)
    return process_id


def _request(process_id: str, at: datetime, done: str | None) -> dict[str, object]:
    row: dict[str, object] = {
        "request_id": str(uuid.uuid4()),
        "process_id": process_id,
        "requested_at": at,
    }
    if done is not None:
        row[done] = at
    return row


def _add_attempt(
    rows: dict[type[SQLModel], list[dict[str, object]]],
    process_id: str,
    name: str,
    position: int,
    started: datetime,
    ended: datetime | None,
) -> None:
    task_id, step = str(uuid.uuid4()), f"step-{position}"
    body = {
        "task_definition_name": step,
        "executable": {"shell_script_command": {"script": "true"}},
    }
    rows.setdefault(TaskSnapshotRow, []).append(
        {"process_id": process_id, "task_definition_name": step, "position": position, "body": body}
    )
    rows.setdefault(TaskRow, []).append(
        {
            "task_id": task_id,
            "process_id": process_id,
            "process_definition_name": name,
            "task_definition_name": step,
            "executable": body["executable"],
            "previous_attempts": 0,
            "started_at": started,
            "status": "running" if ended is None else "succeeded",
            "ended_at": ended,
        }
    )
    rows.setdefault(TaskLogRow, []).extend(
        {
            "log_entry_id": str(uuid.uuid4()),
            "task_id": task_id,
            "when": started,
            "source": "stdout",
            "message": f"line {n}",
        }
        for n in range(LOG_LINES_PER_TASK)
    )
    rows.setdefault(TaskMetadataRow, []).append(
        {
            "metadata_entry_id": str(uuid.uuid4()),
            "task_id": task_id,
            "when": started,
            "key": "k",
            "value": "v",
        }
    )
    rows.setdefault(ReportedTaskStatusRow, []).append(
        {"task_id": task_id, "status": "succeeded", "reported_at": started}
    )
    rows.setdefault(ExecutorStateRow, []).append(
        {
            "task_id": task_id,
            "backend": "fake",
            "status": "done",
            "as_of": started,
            "details": {},
        }
    )


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in `process` and in each dependent table."""
    with engine.connect() as connection:
        return {
            name: connection.execute(sa.text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one()
            for name in ["process", *dependent_tables()]
        }


def orphans(engine: Engine) -> dict[str, int]:
    """Rows of dependent tables whose run or attempt no longer exists (must all be 0)."""
    checks = {
        "task_definition": "process_id NOT IN (SELECT process_id FROM process)",
        "task": "process_id NOT IN (SELECT process_id FROM process)",
        "kill_process_request": "process_id NOT IN (SELECT process_id FROM process)",
        "retry_process_request": "process_id NOT IN (SELECT process_id FROM process)",
        "process_trigger_request": (
            "started_process_id IS NOT NULL"
            " AND started_process_id NOT IN (SELECT process_id FROM process)"
        ),
    }
    for by_attempt in ("task_log", "task_metadata", "reported_task_status", "executor_state"):
        checks[by_attempt] = "task_id NOT IN (SELECT task_id FROM task)"
    assert set(checks) == set(dependent_tables()), "a new dependent table needs an orphan check"
    with engine.connect() as connection:
        return {
            name: connection.execute(
                sa.text(f'SELECT COUNT(*) FROM "{name}" WHERE {where}')
            ).scalar_one()
            for name, where in checks.items()
        }
