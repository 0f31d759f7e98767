"""Runs on the wire: Sundial's `process`, `task`, `log_entry` and `metadata_entry`.

Log and metadata entries arrive from running jobs (the callbacks), so every string is bounded;
the output models (`Task`, `Process`) are built from the store and share the bounds' types.
"""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID

from pydantic import Field

from gnomon.domain import limits
from gnomon.domain.definitions import WireModel
from gnomon.domain.enums import ProcessStatus, TaskStatus
from gnomon.domain.times import WireTime

SOURCE_CHARS: Final = 200
KEY_CHARS: Final = 500
ID_CHARS: Final = 200


class LogEntry(WireModel):
    log_entry_id: UUID = Field(
        strict=False, description="Identifies the entry; re-posting the same id is a no-op"
    )
    when: WireTime
    source: str = Field(max_length=SOURCE_CHARS)
    message: str = Field(max_length=limits.MAX_LOG_MESSAGE_CHARS)


class MetadataEntry(WireModel):
    metadata_entry_id: UUID = Field(
        strict=False, description="Identifies the entry; re-posting the same id is a no-op"
    )
    when: WireTime
    key: str = Field(min_length=1, max_length=KEY_CHARS)
    value: str = Field(max_length=limits.MAX_TEXT_CHARS)


class ExecutionStateEntry(WireModel):
    """A `metadata_entry` whose id is the task id: the executor's own bookkeeping."""

    metadata_entry_id: str = Field(max_length=ID_CHARS)
    when: WireTime
    key: str = Field(max_length=KEY_CHARS)
    value: str = Field(max_length=limits.MAX_TEXT_CHARS)


class Task(WireModel):
    task_id: UUID = Field(strict=False)
    process_id: UUID = Field(strict=False)
    process_definition_name: str
    task_definition_name: str
    start_time: WireTime
    end_time: WireTime | None = None
    previous_attempt_count: int
    log_entries: list[LogEntry]
    metadata_entries: list[MetadataEntry]
    execution_state: list[ExecutionStateEntry] | None = None
    status: TaskStatus = Field(strict=False)
    reason: str | None = Field(default=None, description="Extension: why the attempt failed")


class Process(WireModel):
    process_id: UUID = Field(strict=False)
    process_definition_name: str
    start_time: WireTime
    end_time: WireTime | None = Field(default=None, description="Extension: when the run ended")
    status: ProcessStatus = Field(strict=False)
    task: list[Task] = Field(description="Every attempt of every task of this run")
    scheduling_error: str | None = Field(
        default=None,
        description="Extension: why the scheduler failed this run on an error of its own "
        "(omitted when none)",
    )

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
