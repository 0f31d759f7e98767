"""Write side of runs, one row at a time: create a process or an attempt, record an outcome.

The scheduler writes the same rows in bulk (storage/write_batch.py); these single-row forms serve
tests and tools that set up runs directly. Status changes are compare-and-set on the current
status, as in the scheduler's batches.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from gnomon.domain.definitions import TaskDefinition
from gnomon.domain.enums import ProcessStatus, TaskStatus
from gnomon.storage.tables import ProcessRow, TaskRow, TaskSnapshotRow


@dataclass(frozen=True)
class NewProcess:
    definition_name: str
    tasks: Sequence[TaskDefinition]
    origin: str
    scheduled_for: datetime | None = None
    task_filter: list[str] | None = None


def create_process(*, session: Session, new: NewProcess, now: datetime) -> str:
    """Insert a running process with a snapshot of its task definitions; returns its id.

    A second process for the same definition and `scheduled_for` violates `uq_process_due`: the
    caller's transaction fails rather than running a due time twice.
    """
    process_id = str(uuid.uuid4())
    session.add(
        ProcessRow(
            process_id=process_id,
            process_definition_name=new.definition_name,
            started_at=now,
            status=ProcessStatus.RUNNING.value,
            task_filter=new.task_filter,
            scheduled_for=new.scheduled_for,
            origin=new.origin,
        )
    )
    session.flush()
    for position, task in enumerate(new.tasks):
        session.add(
            TaskSnapshotRow(
                process_id=process_id,
                task_definition_name=task.task_definition_name,
                position=position,
                body=task.model_dump(mode="json", by_alias=True, exclude_none=True),
            )
        )
    session.flush()
    return process_id


@dataclass(frozen=True)
class NewTask:
    process_id: str
    definition_name: str
    task: TaskDefinition
    previous_attempts: int
    token_hash: str | None = None


def create_task(*, session: Session, new: NewTask, now: datetime) -> str:
    """Insert a running attempt that records the executable it runs; returns its id."""
    task_id = str(uuid.uuid4())
    session.add(
        TaskRow(
            task_id=task_id,
            process_id=new.process_id,
            process_definition_name=new.definition_name,
            task_definition_name=new.task.task_definition_name,
            executable=new.task.executable.model_dump(
                mode="json", by_alias=True, exclude_none=True
            ),
            previous_attempts=new.previous_attempts,
            started_at=now,
            status=TaskStatus.RUNNING.value,
            token_hash=new.token_hash,
        )
    )
    session.flush()
    return task_id


def finish_task(
    *, session: Session, task_id: str, status: TaskStatus, reason: str | None, now: datetime
) -> bool:
    """Move a running attempt to its end state; False if it had already ended."""
    result = session.execute(
        sa.update(TaskRow)
        .where(col(TaskRow.task_id) == task_id, col(TaskRow.status) == TaskStatus.RUNNING.value)
        .values(status=status.value, reason=reason, ended_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def finish_process(
    *, session: Session, process_id: str, status: ProcessStatus, now: datetime
) -> bool:
    """Move a running process to its end state; False if it had already ended."""
    result = session.execute(
        sa.update(ProcessRow)
        .where(
            col(ProcessRow.process_id) == process_id,
            col(ProcessRow.status) == ProcessStatus.RUNNING.value,
        )
        .values(status=status.value, ended_at=now)
    )
    return bool(getattr(result, "rowcount", 0))
