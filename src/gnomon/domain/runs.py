"""Runs on the wire: Sundial's `process`, `task`, `log_entry` and `metadata_entry`."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import Field

from gnomon.domain.definitions import WireModel
from gnomon.domain.enums import ProcessStatus, TaskStatus
from gnomon.domain.times import WireTime


class LogEntry(WireModel):
    log_entry_id: UUID = Field(
        description="Identifies the entry; re-posting the same id is a no-op"
    )
    when: WireTime
    source: str = Field(max_length=200)
    message: str


class MetadataEntry(WireModel):
    metadata_entry_id: UUID = Field(
        description="Identifies the entry; re-posting the same id is a no-op"
    )
    when: WireTime
    key: str = Field(min_length=1, max_length=500)
    value: str


class ExecutionStateEntry(WireModel):
    """A `metadata_entry` whose id is the task id: the executor's own bookkeeping."""

    metadata_entry_id: str
    when: WireTime
    key: str
    value: str


class Task(WireModel):
    task_id: UUID
    process_id: UUID
    process_definition_name: str
    task_definition_name: str
    start_time: WireTime
    end_time: WireTime | None = None
    previous_attempt_count: int
    log_entries: list[LogEntry]
    metadata_entries: list[MetadataEntry]
    execution_state: list[ExecutionStateEntry] | None = None
    status: TaskStatus
    reason: str | None = Field(default=None, description="Extension: why the attempt failed")


class Process(WireModel):
    process_id: UUID
    process_definition_name: str
    start_time: WireTime
    end_time: WireTime | None = Field(default=None, description="Extension: when the run ended")
    status: ProcessStatus
    task: list[Task] = Field(description="Every attempt of every task of this run")
    scheduling_error: str | None = Field(
        default=None,
        description="Extension: why the scheduler failed this run on an error of its own "
        "(omitted when none)",
    )

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
