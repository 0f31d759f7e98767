"""Sundial's enums, spelled exactly as on the wire."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator


class TaskStatus(StrEnum):
    """`task_status`. Gnomon stores and emits running, succeeded and failed, and `pending` (in
    Sundial's words "waiting on compute resources") for an attempt waiting for a slot under
    `GNOMON_MAX_RUNNING_TASKS`. The other AWS Batch states are accepted in filters: like
    `running` and `pending` they match every attempt that has not ended, as in Sundial, where
    they all meant its internal Running."""

    SUBMITTED = "submitted"
    RUNNABLE = "runnable"
    STARTING = "starting"
    PENDING = "pending"
    RUNNING = "running"
    FAILED = "failed"
    SUCCEEDED = "succeeded"

    def stored(self) -> tuple[TaskStatus, ...]:
        """The statuses this filter value matches in the store."""
        if self in (TaskStatus.FAILED, TaskStatus.SUCCEEDED):
            return (self,)
        return (TaskStatus.RUNNING, TaskStatus.PENDING)


class ProcessStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class OverlapAction(StrEnum):
    WAIT = "wait"
    TERMINATE = "terminate"


class NotifyWhen(StrEnum):
    ALWAYS = "always"
    ON_FAILURE = "on_failure"
    ON_STATE_CHANGE = "on_state_change"
    ON_STATE_CHANGE_AND_FAILURES = "on_state_change_and_failures"
    NEVER = "never"


def unwrap_enum_object(value: Any) -> Any:
    """Sundial reads an enum from a plain string or from `{"value": "..."}`; so do we."""
    if isinstance(value, dict) and set(value) == {"value"}:
        return value["value"]
    return value


TaskStatusIn = Annotated[TaskStatus, BeforeValidator(unwrap_enum_object)]
ProcessStatusIn = Annotated[ProcessStatus, BeforeValidator(unwrap_enum_object)]
OverlapActionIn = Annotated[OverlapAction, BeforeValidator(unwrap_enum_object)]
NotifyWhenIn = Annotated[NotifyWhen, BeforeValidator(unwrap_enum_object)]
