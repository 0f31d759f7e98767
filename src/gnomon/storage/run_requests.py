"""Requests to the scheduler: trigger a definition, kill or retry a process.

The API only records them; the single active scheduler consumes them, so process and task state
has one writer and a request survives a restart of either side.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session

from gnomon.domain.enums import ProcessStatus
from gnomon.errors import InvalidInputError, NotFoundError
from gnomon.storage.definitions import get_definition_row
from gnomon.storage.tables import KillRequestRow, ProcessRow, RetryRequestRow, TriggerRequestRow


def add_trigger(
    *, session: Session, name: str, task_filter: list[str] | None, now: datetime
) -> str:
    """Queue a run of definition `name` (only `task_filter` tasks if given); returns its id."""
    get_definition_row(session=session, name=name)
    request_id = str(uuid.uuid4())
    session.add(
        TriggerRequestRow(
            request_id=request_id,
            process_definition_name=name,
            requested_at=now,
            task_filter=task_filter,
        )
    )
    session.flush()
    return request_id


def add_kill(*, session: Session, process_id: str, now: datetime) -> str:
    _require_process(session, process_id)
    request_id = str(uuid.uuid4())
    session.add(KillRequestRow(request_id=request_id, process_id=process_id, requested_at=now))
    session.flush()
    return request_id


def add_retry(*, session: Session, process_id: str, now: datetime) -> str:
    """Queue one more attempt for each failed task of a running or failed process."""
    process = _require_process(session, process_id)
    if process.status == ProcessStatus.SUCCEEDED:
        raise InvalidInputError(
            "process_id", "cannot retry a process that has succeeded; trigger a new run instead"
        )
    request_id = str(uuid.uuid4())
    session.add(RetryRequestRow(request_id=request_id, process_id=process_id, requested_at=now))
    session.flush()
    return request_id


def _require_process(session: Session, process_id: str) -> ProcessRow:
    process = session.get(ProcessRow, process_id)
    if process is None:
        raise NotFoundError("process", process_id)
    return process
