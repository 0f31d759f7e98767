"""`/api/process_definitions`: create, read, replace, delete, trigger, pause and resume."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from gnomon.api import commands
from gnomon.api.deps import ApiTokenDep, ContextDep, NowDep, ReadTokenDep, SessionDep
from gnomon.api.openapi import errors
from gnomon.api.query import DefinitionName, NameFilter
from gnomon.api.wire import wire_response
from gnomon.domain.definitions import ProcessDefinition
from gnomon.domain.validation import definition_problems
from gnomon.errors import InvalidInputError
from gnomon.storage import definitions as store

router = APIRouter(prefix="/api/process_definitions", tags=["process definitions"])
NAME = "/{process_definition_name}"
OK_DEFINITIONS: dict[int | str, dict[str, Any]] = {200: {"model": list[ProcessDefinition]}}
OK_DEFINITION: dict[int | str, dict[str, Any]] = {200: {"model": ProcessDefinition}}
WRITE_ERRORS = errors(401, 403, 404, 409, 503)
"""409: the definition may be deleted or replaced by a concurrent request."""


@router.get(
    "/",
    response_model=None,
    responses={**OK_DEFINITIONS, **errors(401, 403, 503)},
    dependencies=[ReadTokenDep],
)
@router.get("", response_model=None, include_in_schema=False, dependencies=[ReadTokenDep])
def list_process_definitions(session: SessionDep) -> Response:
    """Get all currently registered process definitions."""
    return wire_response(store.definition_bodies(session=session), list[dict[str, object]])


@router.get(
    NAME,
    response_model=None,
    responses={**OK_DEFINITION, **errors(401, 403, 404, 503)},
    dependencies=[ReadTokenDep],
)
def get_process_definition(
    process_definition_name: DefinitionName, session: SessionDep
) -> Response:
    """Get a registered process definition."""
    (body,) = store.definition_bodies(session=session, name=process_definition_name)
    return wire_response(body, dict[str, object])


@router.put(
    NAME,
    response_model=None,
    responses={**OK_DEFINITION, **errors(401, 403, 409, 503)},
    dependencies=[ApiTokenDep],
)
def put_process_definition(
    process_definition_name: DefinitionName,
    definition: ProcessDefinition,
    session: SessionDep,
    context: ContextDep,
    now: NowDep,
) -> Response:
    """Updates or creates a process definition."""
    if definition.process_definition_name != process_definition_name:
        raise InvalidInputError(
            "process_definition_name",
            f"URL process definition name ({process_definition_name}) does not match "
            f"body process definition name ({definition.process_definition_name})",
        )
    _reject_invalid(definition, allow_shell=context.settings.allow_shell)
    store.upsert_definition(session=session, definition=definition, now=now)
    session.commit()
    context.on_change("definitions")
    # What was stored is this definition's own dump: no need to read 1,000 tasks back.
    return wire_response(definition.to_wire(), dict[str, object])


@router.delete(
    NAME, status_code=204, responses=errors(401, 403, 404, 409, 503), dependencies=[ApiTokenDep]
)
def delete_process_definition(
    process_definition_name: DefinitionName, session: SessionDep, context: ContextDep
) -> Response:
    """Deletes a registered process definition; its past processes stay readable."""
    commands.delete_definition(session, context, process_definition_name)
    return Response(status_code=204)


@router.post(NAME + "/trigger", status_code=204, responses=WRITE_ERRORS, dependencies=[ApiTokenDep])
def trigger_process_definition(
    process_definition_name: DefinitionName,
    session: SessionDep,
    context: ContextDep,
    now: NowDep,
    task_definition_name: NameFilter | None = None,
) -> Response:
    """Triggers a new instance of the process (only the named task, if given)."""
    commands.trigger_definition(
        session, context, now, process_definition_name, task_definition_name
    )
    return Response(status_code=204)


@router.post(NAME + "/pause", status_code=204, responses=WRITE_ERRORS, dependencies=[ApiTokenDep])
def pause_process_definition(
    process_definition_name: DefinitionName, session: SessionDep, context: ContextDep, now: NowDep
) -> Response:
    """Pause the process schedule; triggers still start runs."""
    commands.pause_definition(session, context, now, process_definition_name)
    return Response(status_code=204)


@router.post(NAME + "/resume", status_code=204, responses=WRITE_ERRORS, dependencies=[ApiTokenDep])
def resume_process_definition(
    process_definition_name: DefinitionName, session: SessionDep, context: ContextDep, now: NowDep
) -> Response:
    """Resume the process schedule."""
    commands.resume_definition(session, context, now, process_definition_name)
    return Response(status_code=204)


def _reject_invalid(definition: ProcessDefinition, *, allow_shell: bool) -> None:
    problems = definition_problems(definition, allow_shell=allow_shell)
    if problems:
        first = problems[0]
        raise InvalidInputError(
            first.field, first.message, [(p.field, p.message) for p in problems]
        )
