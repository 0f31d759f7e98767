"""The store's tables (SQLModel). Alembic migrations under `migrations/` create them.

Layout follows Sundial's schema (reference §11) with the fixes Gnomon needs: per-run snapshots of
task definitions, a unique key that makes a due time produce at most one process, idempotent log
and metadata ids, kill requests that a retry can clear, and executor state per task. Every list
query the API runs has an index here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

UUID_LENGTH = 36


def _time(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=sa.Column(sa.DateTime(timezone=True), nullable=nullable, index=index),
    )


def _json(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(sa.JSON, nullable=nullable))


class ProcessDefinitionRow(SQLModel, table=True):
    __tablename__ = "process_definition"

    name: str = Field(primary_key=True, max_length=200)
    description: str | None = None
    schedule: dict[str, Any] | None = _json(nullable=True)
    overlap_action: str = Field(max_length=20)
    notifications: list[dict[str, Any]] = _json()
    paused: bool = False
    created_at: datetime = _time()
    updated_at: datetime = _time()
    revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """Grows with every change, so the scheduler notices edits made within one clock tick."""
    owner: str | None = Field(
        default=None, max_length=300, description="Set when a custom resource owns the definition"
    )
    scheduling_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    """Why the scheduler could not schedule this revision; cleared by an edit."""


class TaskTemplateRow(SQLModel, table=True):
    """A task definition as currently defined (Sundial's task_definition_template)."""

    __tablename__ = "task_definition_template"

    process_definition_name: str = Field(
        primary_key=True, foreign_key="process_definition.name", ondelete="CASCADE"
    )
    task_definition_name: str = Field(primary_key=True, max_length=200)
    position: int
    body: dict[str, Any] = _json()


class TaskSnapshotRow(SQLModel, table=True):
    """A task definition as frozen for one run; retry changes only these copies."""

    __tablename__ = "task_definition"

    process_id: str = Field(primary_key=True, foreign_key="process.process_id", ondelete="CASCADE")
    task_definition_name: str = Field(primary_key=True, max_length=200)
    position: int
    body: dict[str, Any] = _json()


class ProcessRow(SQLModel, table=True):
    __tablename__ = "process"
    __table_args__ = (
        # A due time produces at most one process, whatever crashes or replicas there are.
        sa.UniqueConstraint("process_definition_name", "scheduled_for", name="uq_process_due"),
        sa.Index("ix_process_started_at", "started_at"),
        sa.Index("ix_process_definition_started", "process_definition_name", "started_at"),
        sa.Index("ix_process_status_started", "status", "started_at"),
    )

    process_id: str = Field(primary_key=True, max_length=UUID_LENGTH)
    process_definition_name: str = Field(max_length=200)
    started_at: datetime = _time()
    status: str = Field(max_length=20)
    ended_at: datetime | None = _time(nullable=True)
    task_filter: list[str] | None = _json(nullable=True)
    scheduled_for: datetime | None = _time(nullable=True)
    origin: str = Field(max_length=20, description="schedule or trigger")
    scheduling_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    """Why the scheduler failed this run on an unexpected error of its own."""


class TaskRow(SQLModel, table=True):
    """One attempt of a task definition inside a process."""

    __tablename__ = "task"
    __table_args__ = (
        sa.Index("ix_task_process", "process_id", "started_at"),
        sa.Index(
            "ix_task_definition_started",
            "process_definition_name",
            "task_definition_name",
            "started_at",
        ),
        sa.Index("ix_task_status", "status"),
    )

    task_id: str = Field(primary_key=True, max_length=UUID_LENGTH)
    process_id: str = Field(foreign_key="process.process_id", ondelete="CASCADE")
    process_definition_name: str = Field(max_length=200)
    task_definition_name: str = Field(max_length=200)
    executable: dict[str, Any] = _json()
    previous_attempts: int
    started_at: datetime = _time()
    status: str = Field(max_length=20)
    reason: str | None = None
    ended_at: datetime | None = _time(nullable=True)
    running_at: datetime | None = _time(nullable=True)
    """When the executor first reported it running; the runtime limit counts from here."""
    token_hash: str | None = Field(default=None, max_length=64)


class TaskLogRow(SQLModel, table=True):
    __tablename__ = "task_log"
    __table_args__ = (sa.Index("ix_task_log_task", "task_id", "when"),)

    log_entry_id: str = Field(primary_key=True, max_length=UUID_LENGTH)
    task_id: str = Field(max_length=UUID_LENGTH)
    when: datetime = _time()
    source: str = Field(max_length=200)
    message: str


class TaskMetadataRow(SQLModel, table=True):
    __tablename__ = "task_metadata"
    __table_args__ = (sa.Index("ix_task_metadata_task", "task_id", "when"),)

    metadata_entry_id: str = Field(primary_key=True, max_length=UUID_LENGTH)
    task_id: str = Field(max_length=UUID_LENGTH)
    when: datetime = _time()
    key: str = Field(max_length=500)
    value: str


class ReportedTaskStatusRow(SQLModel, table=True):
    """What a job said of itself through succeed/fail; the first report wins."""

    __tablename__ = "reported_task_status"

    task_id: str = Field(primary_key=True, max_length=UUID_LENGTH)
    status: str = Field(max_length=20)
    reason: str | None = None
    reported_at: datetime = _time()


class TriggerRequestRow(SQLModel, table=True):
    __tablename__ = "process_trigger_request"
    __table_args__ = (
        sa.Index(
            "ix_trigger_open", "process_definition_name", "started_process_id", "requested_at"
        ),
    )

    request_id: str = Field(primary_key=True, max_length=UUID_LENGTH)
    process_definition_name: str = Field(max_length=200)
    requested_at: datetime = _time()
    task_filter: list[str] | None = _json(nullable=True)
    started_process_id: str | None = Field(default=None, max_length=UUID_LENGTH)


class KillRequestRow(SQLModel, table=True):
    __tablename__ = "kill_process_request"
    __table_args__ = (sa.Index("ix_kill_process", "process_id", "cleared_at"),)

    request_id: str = Field(primary_key=True, max_length=UUID_LENGTH)
    process_id: str = Field(max_length=UUID_LENGTH)
    requested_at: datetime = _time()
    cleared_at: datetime | None = _time(nullable=True)


class RetryRequestRow(SQLModel, table=True):
    __tablename__ = "retry_process_request"
    __table_args__ = (sa.Index("ix_retry_open", "process_id", "applied_at"),)

    request_id: str = Field(primary_key=True, max_length=UUID_LENGTH)
    process_id: str = Field(max_length=UUID_LENGTH)
    requested_at: datetime = _time()
    applied_at: datetime | None = _time(nullable=True)


class ExecutorStateRow(SQLModel, table=True):
    """What the executor knows of an attempt: its handle (container id, Job name) and status."""

    __tablename__ = "executor_state"

    task_id: str = Field(primary_key=True, max_length=UUID_LENGTH)
    backend: str = Field(max_length=20)
    handle: str | None = Field(default=None, max_length=300)
    status: str = Field(max_length=200)
    as_of: datetime = _time()
    details: dict[str, Any] = _json()


class SchedulerLeaseRow(SQLModel, table=True):
    """Who may schedule: one row, taken with a compare-and-set on `holder`/`expires_at`."""

    __tablename__ = "scheduler_lease"

    name: str = Field(primary_key=True, max_length=50)
    holder: str = Field(max_length=200)
    epoch: int
    acquired_at: datetime = _time()
    expires_at: datetime = _time()


class StoreIdentityRow(SQLModel, table=True):
    """Names this store once and for all: the id written at first start labels every job Gnomon
    starts on a shared engine or cluster, so Gnomons with separate stores never touch each
    other's jobs, and schedulers sharing a store share it."""

    __tablename__ = "store_identity"

    name: str = Field(primary_key=True, max_length=50)
    value: str = Field(max_length=63)
    created_at: datetime = _time()
