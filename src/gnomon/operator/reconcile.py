"""The store side of the operator: validate and store a spec, delete it, read its run state.

These functions know nothing about kopf, so the rules a resource meets are the REST API's rules,
the domain's one rule set (`gnomon.domain.problems_in`): the models' bounds, what spans fields
(dependency cycles, unknown dependencies, cron fields) and the shell switch. They say more than
the CRD's schema can, and a cluster may still serve an older CRD that lets a value through. A
problem comes back as a `Rejection` naming the field as `spec.<path>`, the way a user reads their
YAML, instead of being raised: for the operator an invalid spec is an outcome to report, not an
error to retry.

After a change the schedulers are woken as the REST API wakes them (a NOTIFY on PostgreSQL; on
SQLite they notice within `scheduler_max_sleep_seconds`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError

from gnomon.domain.clock import Clock
from gnomon.domain.definitions import ProcessDefinition, ProcessDefinitionSpec
from gnomon.domain.enums import ProcessStatus
from gnomon.domain.naming import definition_name, owner
from gnomon.domain.times import as_utc
from gnomon.domain.validation import FieldProblem, problems_in
from gnomon.errors import ConflictError, NotFoundError, StoreError
from gnomon.operator.status import RunState, StoredState
from gnomon.storage import Engine, Session, notify_store, transaction
from gnomon.storage.definitions import (
    delete_definition,
    get_definition,
    get_definition_row,
    upsert_definition,
)
from gnomon.storage.runs import ProcessQuery, list_processes

log = logging.getLogger(__name__)
REASON_INVALID: Final = "InvalidSpec"
REASON_CONFLICT: Final = "NameConflict"
WAKEUP_TOPIC: Final = "definitions"


@dataclass(frozen=True)
class OperatorContext:
    """What every handler needs, handed to kopf as its `memo` (so no module-level state)."""

    engine: Engine
    clock: Clock
    allow_shell: bool = False


@dataclass(frozen=True)
class Rejection:
    """Why a spec was not stored: a condition reason and a message naming the field."""

    reason: str
    message: str


def store_spec(
    context: OperatorContext,
    *,
    namespace: str,
    name: str,
    spec: Mapping[str, Any],
    keep_paused: bool = False,
) -> Rejection | None:
    """Validate `spec` and upsert it as the definition `<namespace>.<name>`; None on success.

    With `keep_paused`, an already stored definition keeps its paused flag whatever
    `spec.paused` says, so a pause or resume through the REST API survives the upsert.
    """
    body = dict(spec)
    problems = problems_in(body, ProcessDefinitionSpec, allow_shell=context.allow_shell)
    if problems:
        return Rejection(REASON_INVALID, _join(problems))
    mapped = definition_name(namespace, name)
    try:
        # The spec is valid by now, so only the name can fail here.
        definition = ProcessDefinition.model_validate({**body, "process_definition_name": mapped})
    except ValidationError as exc:
        reasons = "; ".join(str(error["msg"]) for error in exc.errors())
        return Rejection(
            REASON_INVALID, f"metadata.name: definition name {mapped!r} is not valid: {reasons}"
        )
    try:
        with transaction(context.engine) as session:
            if keep_paused:
                definition = _with_stored_pause(session, definition, owner(namespace, name))
            upsert_definition(
                session=session,
                definition=definition,
                now=context.clock.now(),
                owner=owner(namespace, name),
            )
    except StoreError:
        raise  # the store's trouble, a lost race included: retried, not a taken name
    except ConflictError as exc:
        return Rejection(REASON_CONFLICT, f"definition name {mapped!r} is taken: {exc}")
    notify_store(context.engine, WAKEUP_TOPIC)
    return None


def remove_definition(context: OperatorContext, *, namespace: str, name: str) -> bool:
    """Delete the resource's definition (past processes stay); False if it stores none.

    A definition of the same name owned by someone else (the REST API, when this resource was
    rejected for the name conflict) is left alone.
    """
    try:
        with transaction(context.engine) as session:
            delete_definition(
                session=session, name=definition_name(namespace, name), owner=owner(namespace, name)
            )
    except StoreError:
        raise  # the store's trouble, a lost race included: retried
    except (NotFoundError, ConflictError):
        return False
    notify_store(context.engine, WAKEUP_TOPIC)
    return True


def read_stored_state(context: OperatorContext, *, namespace: str, name: str) -> StoredState | None:
    """The resource's definition and run state from the store; None if it has none stored."""
    mapped = definition_name(namespace, name)
    with transaction(context.engine) as session:
        try:
            row = get_definition_row(session=session, name=mapped)
        except NotFoundError:
            return None
        if row.owner != owner(namespace, name):
            return None
        definition = get_definition(session=session, name=mapped)
        latest = list_processes(
            session=session, query=ProcessQuery(process_definition_name=mapped, max_records=1)
        )
        running = list_processes(
            session=session,
            query=ProcessQuery(
                process_definition_name=mapped,
                statuses=(ProcessStatus.RUNNING,),
                max_records=1,
            ),
        )
    runs = RunState(
        latest_start=latest[0].start_time if latest else None,
        latest_status=latest[0].status.value if latest else None,
        running_process_id=str(running[0].process_id) if running else None,
    )
    return StoredState(definition=definition, created_at=as_utc(row.created_at), runs=runs)


def _with_stored_pause(
    session: Session, definition: ProcessDefinition, resource: str
) -> ProcessDefinition:
    try:
        row = get_definition_row(session=session, name=definition.process_definition_name)
    except NotFoundError:
        return definition
    if row.owner != resource:
        return definition  # upsert_definition refuses it anyway
    return definition.model_copy(update={"paused": row.paused})


def _join(problems: Iterable[FieldProblem]) -> str:
    return "; ".join(f"{_in_spec(problem.field)}: {problem.message}" for problem in problems)


def _in_spec(field: str) -> str:
    return f"spec.{field}" if field else "spec"
