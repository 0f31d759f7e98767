"""`/api/processes`: list and read runs, kill and retry them."""

from __future__ import annotations

from fastapi import APIRouter, Response

from gnomon.api import commands
from gnomon.api.deps import ApiTokenDep, ContextDep, NowDep, ReadTokenDep, SessionDep
from gnomon.api.openapi import errors
from gnomon.api.query import (
    NameFilter,
    ProcessStatuses,
    QueryTime,
    RecordLimit,
    RunId,
    parse_statuses,
)
from gnomon.api.wire import document_response
from gnomon.domain.enums import ProcessStatus
from gnomon.domain.runs import Process
from gnomon.storage.run_documents import process_document, process_documents
from gnomon.storage.runs import ProcessQuery

router = APIRouter(prefix="/api/processes", tags=["processes"])
ID = "/{process_id}"
REQUEST_ERRORS = errors(401, 403, 404, 503)


@router.get(
    "/",
    response_model=None,
    responses={200: {"model": list[Process]}, **errors(401, 403, 503)},
    dependencies=[ReadTokenDep],
)
@router.get("", response_model=None, include_in_schema=False, dependencies=[ReadTokenDep])
def list_process_runs(
    session: SessionDep,
    process_definition_name: NameFilter | None = None,
    start_time: QueryTime | None = None,
    end_time: QueryTime | None = None,
    max_records: RecordLimit = None,
    allowed_statuses: ProcessStatuses = [],  # noqa: B006 (FastAPI copies it)
) -> Response:
    """Retrieves process runs, newest first; repeated allowed_statuses, empty means any."""
    query = ProcessQuery(
        process_definition_name=process_definition_name,
        start_time=start_time,
        end_time=end_time,
        max_records=max_records,
        statuses=parse_statuses(allowed_statuses, ProcessStatus),
    )
    return document_response(process_documents(session=session, query=query))


@router.get(
    ID,
    response_model=None,
    responses={200: {"model": Process}, **errors(401, 403, 404, 503)},
    dependencies=[ReadTokenDep],
)
def get_process_run(process_id: RunId, session: SessionDep) -> Response:
    """Retrieves a process run."""
    return document_response(process_document(session=session, process_id=process_id))


@router.post(ID + "/retry", status_code=204, responses=REQUEST_ERRORS, dependencies=[ApiTokenDep])
def retry_process_run(
    process_id: RunId, session: SessionDep, context: ContextDep, now: NowDep
) -> Response:
    """Retries a failed process run; each failed task gets one more attempt, without backoff."""
    commands.retry_run(session, context, now, process_id)
    return Response(status_code=204)


@router.post(ID + "/kill", status_code=204, responses=REQUEST_ERRORS, dependencies=[ApiTokenDep])
def kill_process_run(
    process_id: RunId, session: SessionDep, context: ContextDep, now: NowDep
) -> Response:
    """Terminates an active process: running tasks are stopped and it ends failed."""
    commands.kill_run(session, context, now, process_id)
    return Response(status_code=204)
