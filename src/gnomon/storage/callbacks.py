"""What a running job tells Gnomon about itself: log entries, metadata and its own verdict.

Each is idempotent: an entry id is stored once however often it is posted, and the first
succeed/fail report wins, so a job may retry a callback after a timeout without fear.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

from gnomon.domain.enums import TaskStatus
from gnomon.domain.runs import LogEntry, MetadataEntry
from gnomon.errors import NotFoundError
from gnomon.storage.tables import ReportedTaskStatusRow, TaskLogRow, TaskMetadataRow, TaskRow

INSERT_CHUNK_ROWS = 1000


def require_task(*, session: Session, task_id: str) -> TaskRow:
    task = session.get(TaskRow, task_id)
    if task is None:
        raise NotFoundError("task", task_id)
    return task


def add_log_entries(*, session: Session, task_id: str, entries: Sequence[LogEntry]) -> int:
    """Store entries not stored before; returns how many were new."""
    rows = [
        {
            "log_entry_id": str(e.log_entry_id),
            "task_id": task_id,
            "when": e.when,
            "source": e.source,
            "message": e.message,
        }
        for e in entries
    ]
    return insert_ignoring_duplicates(session, TaskLogRow, rows)


def add_metadata(*, session: Session, task_id: str, entries: Sequence[MetadataEntry]) -> int:
    rows = [
        {
            "metadata_entry_id": str(e.metadata_entry_id),
            "task_id": task_id,
            "when": e.when,
            "key": e.key,
            "value": e.value,
        }
        for e in entries
    ]
    return insert_ignoring_duplicates(session, TaskMetadataRow, rows)


def report_status(
    *, session: Session, task_id: str, status: TaskStatus, reason: str | None, now: datetime
) -> bool:
    """Record the job's own verdict unless one exists; True if this report was the first."""
    row = {"task_id": task_id, "status": status.value, "reason": reason, "reported_at": now}
    return insert_ignoring_duplicates(session, ReportedTaskStatusRow, [row]) == 1


def insert_ignoring_duplicates(
    session: Session, table: type[SQLModel], rows: Sequence[dict[str, Any]]
) -> int:
    """INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL; returns rows inserted."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = list(table.__table__.primary_key.columns)[0]  # type: ignore[attr-defined]
    inserted = 0
    # Chunks keep each statement under SQLite's limit on bound parameters; RETURNING counts the
    # rows really inserted (rowcount is unreliable for multi-row inserts on psycopg).
    for start in range(0, len(rows), INSERT_CHUNK_ROWS):
        chunk = list(rows[start : start + INSERT_CHUNK_ROWS])
        statement = insert(table).values(chunk).on_conflict_do_nothing().returning(key)
        inserted += len(session.execute(statement).all())
    return inserted
