"""`/api/tasks`: find attempts, and the callbacks a running job makes about itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request, Response, Security

from gnomon.api.deps import (
    ContextDep,
    NowDep,
    ReadTokenDep,
    SessionDep,
    authorize_task_callback,
    bearer_scheme,
)
from gnomon.api.openapi import errors
from gnomon.api.query import (
    NameFilter,
    QueryTime,
    RecordLimit,
    RunId,
    TaskStatuses,
    parse_statuses,
)
from gnomon.api.wire import document_response
from gnomon.domain.changes import LOGS, METADATA
from gnomon.domain.enums import TaskStatus
from gnomon.domain.limits import MAX_ENTRIES_PER_CALLBACK
from gnomon.domain.runs import LogEntry, MetadataEntry, Task
from gnomon.storage import callbacks
from gnomon.storage.run_documents import task_documents
from gnomon.storage.runs import TaskQuery
from gnomon.storage.tables import TaskRow

router = APIRouter(prefix="/api/tasks", tags=["tasks"])
ID = "/{task_id}"
EXPLICIT_FAILURE_REASON = "Marked as failed via API"
CALLBACK_ERRORS = errors(401, 403, 404, 503)
# Documents the bearer scheme; `authorize_task_callback` decides, once the task is known.
BEARER = [Security(bearer_scheme)]


@router.get(
    "/",
    response_model=None,
    responses={200: {"model": list[Task]}, **errors(401, 403, 503)},
    dependencies=[ReadTokenDep],
)
@router.get("", response_model=None, include_in_schema=False, dependencies=[ReadTokenDep])
def list_tasks(
    session: SessionDep,
    process_definition_name: NameFilter,
    task_definition_name: NameFilter,
    allowed_statuses: TaskStatuses = [],  # noqa: B006 (FastAPI copies it)
    start_time: QueryTime | None = None,
    end_time: QueryTime | None = None,
    limit: RecordLimit = None,
) -> Response:
    """Retrieves the most recent tasks meeting the given criteria."""
    query = TaskQuery(
        process_definition_name=process_definition_name,
        task_definition_name=task_definition_name,
        statuses=parse_statuses(allowed_statuses, TaskStatus),
        start_time=start_time,
        end_time=end_time,
        limit=limit,
    )
    return document_response(task_documents(session=session, query=query))


def _callback_task(
    task_id: RunId, request: Request, session: SessionDep, context: ContextDep
) -> TaskRow:
    task = callbacks.require_task(session=session, task_id=task_id)
    authorize_task_callback(request, context, task)
    return task


@router.post(ID + "/log_entries", status_code=204, responses=CALLBACK_ERRORS, dependencies=BEARER)
def post_log_entries(
    task_id: RunId,
    entries: Annotated[list[LogEntry], Body(max_length=MAX_ENTRIES_PER_CALLBACK)],
    request: Request,
    session: SessionDep,
    context: ContextDep,
) -> Response:
    """Appends log entries for a task; an entry id already stored is ignored."""
    task = _callback_task(task_id, request, session, context)
    if callbacks.add_log_entries(session=session, task_id=task_id, entries=entries):
        session.commit()
        context.changes.publish(LOGS, task.process_id)
    return Response(status_code=204)


@router.post(ID + "/metadata", status_code=204, responses=CALLBACK_ERRORS, dependencies=BEARER)
def post_metadata(
    task_id: RunId,
    entries: Annotated[list[MetadataEntry], Body(max_length=MAX_ENTRIES_PER_CALLBACK)],
    request: Request,
    session: SessionDep,
    context: ContextDep,
) -> Response:
    """Appends metadata entries for a task; an entry id already stored is ignored."""
    task = _callback_task(task_id, request, session, context)
    if callbacks.add_metadata(session=session, task_id=task_id, entries=entries):
        session.commit()
        context.changes.publish(METADATA, task.process_id)
    return Response(status_code=204)


@router.post(ID + "/succeed", status_code=204, responses=CALLBACK_ERRORS, dependencies=BEARER)
def post_succeed(
    task_id: RunId, request: Request, session: SessionDep, context: ContextDep, now: NowDep
) -> Response:
    """Marks the task as having succeeded; the first succeed or fail report wins."""
    return _report(task_id, TaskStatus.SUCCEEDED, None, request, session, context, now)


@router.post(ID + "/fail", status_code=204, responses=CALLBACK_ERRORS, dependencies=BEARER)
def post_fail(
    task_id: RunId, request: Request, session: SessionDep, context: ContextDep, now: NowDep
) -> Response:
    """Marks the task as having failed; the first succeed or fail report wins."""
    return _report(
        task_id, TaskStatus.FAILED, EXPLICIT_FAILURE_REASON, request, session, context, now
    )


def _report(
    task_id: RunId,
    status: TaskStatus,
    reason: str | None,
    request: Request,
    session: SessionDep,
    context: ContextDep,
    now: NowDep,
) -> Response:
    _callback_task(task_id, request, session, context)
    if callbacks.report_status(
        session=session, task_id=task_id, status=status, reason=reason, now=now
    ):
        session.commit()
        context.on_change("callbacks")
    return Response(status_code=204)
