"""A task's own token (GNOMON_TASK_TOKEN) stops working a while after the task ended.

The token lives in the job's environment, where logs, crash dumps and leftover containers can
leak it; an ended task has nothing left to report but late log lines, so its token is honoured
for a grace period (GNOMON_TASK_TOKEN_GRACE_SECONDS) and refused after. The API token is not
affected.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import HTTPException

from gnomon.domain.times import as_utc, format_wire_time
from gnomon.storage.tables import TaskRow


def refuse_if_ended(task: TaskRow, *, now: datetime, grace_seconds: float) -> None:
    """Raise 403 when `task` ended more than `grace_seconds` before `now`."""
    if task.ended_at is None:
        return
    expired_at = as_utc(task.ended_at) + timedelta(seconds=grace_seconds)
    if now > expired_at:
        raise HTTPException(
            403,
            f"task {task.task_id} has ended; its own token stopped working at "
            f"{format_wire_time(expired_at)} (use the API token)",
        )
