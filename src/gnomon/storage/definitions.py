"""Repository of process definitions and their task-definition templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gnomon.domain.definitions import (
    Notification,
    ProcessDefinition,
    ProcessSchedule,
    TaskDefinition,
)
from gnomon.domain.stored import read_stored
from gnomon.errors import ConflictError, NotFoundError
from gnomon.storage.tables import ProcessDefinitionRow, TaskTemplateRow, TriggerRequestRow


def upsert_definition(
    *, session: Session, definition: ProcessDefinition, now: datetime, owner: str | None = None
) -> ProcessDefinition:
    """Create or completely replace a definition; `created_at` survives a replace.

    `owner` names the custom resource a definition came from; a definition owned by a resource
    can only be replaced by that same owner, so the REST API cannot silently fight the operator.
    """
    row = session.get(ProcessDefinitionRow, definition.process_definition_name)
    if row is None:
        row = ProcessDefinitionRow(
            name=definition.process_definition_name,
            overlap_action=definition.overlap_action.value,
            notifications=[],
            created_at=now,
            updated_at=now,
            owner=owner,
        )
    elif row.owner != owner:
        raise ConflictError(_ownership_message(row.name, row.owner))
    _fill_row(row, definition, now)
    session.add(row)
    _replace_templates(session, definition)
    session.flush()
    return definition


def get_definition(*, session: Session, name: str) -> ProcessDefinition:
    row = session.get(ProcessDefinitionRow, name)
    if row is None:
        raise NotFoundError("process definition", name)
    return _to_definition(row, _templates(session, [name]).get(name, []))


def definition_notifications(*, session: Session, name: str) -> list[Notification]:
    """Definition `name`'s notifications alone: what is read after every finished run, where the
    whole definition (templates parsed and validated) cost three times as much CPU."""
    stored = session.execute(
        sa.select(col(ProcessDefinitionRow.notifications)).where(
            col(ProcessDefinitionRow.name) == name
        )
    ).one_or_none()
    if stored is None:
        raise NotFoundError("process definition", name)
    return [read_stored(Notification, n) for n in stored[0] or []]


def definition_bodies(*, session: Session, name: str | None = None) -> list[dict[str, Any]]:
    """Definitions (every one, by name, or just `name`) as Sundial's JSON, from the stored JSON.

    Templates are stored as the validated wire dump of each task, so reads serve them as they are:
    validating and dumping 1,000 tasks again took most of a second per read (issue 9, defect 8).
    The shape is exactly `ProcessDefinition.to_wire()`'s.
    """
    query = select(ProcessDefinitionRow).order_by(col(ProcessDefinitionRow.name))
    if name is not None:
        query = query.where(col(ProcessDefinitionRow.name) == name)
    rows = session.exec(query).all()
    if name is not None and not rows:
        raise NotFoundError("process definition", name)
    tasks = _template_bodies(session, name)
    return [wire_body(row, tasks.get(row.name, [])) for row in rows]


def get_definition_row(*, session: Session, name: str) -> ProcessDefinitionRow:
    row = session.get(ProcessDefinitionRow, name)
    if row is None:
        raise NotFoundError("process definition", name)
    return row


def check_owner(*, session: Session, name: str, owner: str | None = None) -> ProcessDefinitionRow:
    """Definition `name`'s row, if `owner` (None: the REST API) may delete or replace it; raises
    NotFoundError or ConflictError as `delete_definition` would."""
    row = get_definition_row(session=session, name=name)
    if row.owner != owner:
        raise ConflictError(_ownership_message(name, row.owner))
    return row


def delete_definition(*, session: Session, name: str, owner: str | None = None) -> None:
    """Delete a definition and its templates and open triggers; past processes stay."""
    row = check_owner(session=session, name=name, owner=owner)
    session.execute(
        sa.delete(TaskTemplateRow).where(col(TaskTemplateRow.process_definition_name) == name)
    )
    session.execute(
        sa.delete(TriggerRequestRow).where(
            col(TriggerRequestRow.process_definition_name) == name,
            col(TriggerRequestRow.started_process_id).is_(None),
        )
    )
    session.delete(row)
    session.flush()


def set_paused(*, session: Session, name: str, paused: bool, now: datetime) -> None:
    """Pause or resume a definition's schedule; allowed for resource-owned definitions too."""
    row = get_definition_row(session=session, name=name)
    row.paused = paused
    row.updated_at = now
    row.revision += 1
    row.scheduling_error = None  # the scheduler looks at the new revision afresh
    session.add(row)
    session.flush()


def _ownership_message(name: str, owner: str | None) -> str:
    if owner is None:
        return f"process definition {name!r} was created through the REST API, not by a resource"
    return (
        f"process definition {name!r} is managed by the Kubernetes resource {owner}; "
        "change it with kubectl (trigger, kill and retry still work here)"
    )


def _fill_row(row: ProcessDefinitionRow, definition: ProcessDefinition, now: datetime) -> None:
    row.description = definition.process_description
    row.schedule = (
        definition.schedule.model_dump(mode="json", by_alias=True, exclude_none=True)
        if definition.schedule
        else None
    )
    row.overlap_action = definition.overlap_action.value
    row.notifications = [
        n.model_dump(mode="json", by_alias=True, exclude_none=True)
        for n in definition.notifications or []
    ]
    row.paused = definition.paused
    row.updated_at = now
    row.revision += 1
    row.scheduling_error = None  # the scheduler looks at the new revision afresh


def _replace_templates(session: Session, definition: ProcessDefinition) -> None:
    # One DELETE and one multi-row INSERT through Core: the ORM's unit of work spent most of a
    # 1,000-task PUT building and tracking row objects nobody reads (issue 9, defect 8).
    name = definition.process_definition_name
    session.flush()  # the definition row first: templates reference it
    session.execute(
        sa.delete(TaskTemplateRow).where(col(TaskTemplateRow.process_definition_name) == name)
    )
    rows = [
        {
            "process_definition_name": name,
            "task_definition_name": task.task_definition_name,
            "position": position,
            "body": task.model_dump(mode="json", by_alias=True, exclude_none=True),
        }
        for position, task in enumerate(definition.task_definitions)
    ]
    if rows:
        session.execute(sa.insert(TaskTemplateRow), rows)


def _templates(session: Session, names: list[str] | None) -> dict[str, list[TaskDefinition]]:
    # Plain rows, not ORM objects: nothing to track, and no stale copies in the session when
    # `_replace_templates` rewrites them with Core statements.
    owner, body = col(TaskTemplateRow.process_definition_name), col(TaskTemplateRow.body)
    query = sa.select(owner, body).order_by(owner, col(TaskTemplateRow.position))
    if names is not None:
        query = query.where(owner.in_(names))
    result: dict[str, list[TaskDefinition]] = {}
    for name, task in session.execute(query):
        result.setdefault(name, []).append(read_stored(TaskDefinition, task))
    return result


def _template_bodies(session: Session, name: str | None) -> dict[str, list[dict[str, Any]]]:
    owner, body = col(TaskTemplateRow.process_definition_name), col(TaskTemplateRow.body)
    query = sa.select(owner, body).order_by(owner, col(TaskTemplateRow.position))
    if name is not None:
        query = query.where(owner == name)
    result: dict[str, list[dict[str, Any]]] = {}
    for owner_name, task in session.execute(query):
        result.setdefault(owner_name, []).append(task)
    return result


def wire_body(row: ProcessDefinitionRow, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """A stored definition and its stored task bodies as Sundial's JSON (`GET` answers this)."""
    body: dict[str, Any] = {"paused": row.paused}
    if row.description is not None:
        body["process_description"] = row.description
    if row.schedule:
        body["schedule"] = row.schedule
    body["task_definitions"] = tasks
    body["overlap_action"] = row.overlap_action
    if row.notifications:
        body["notifications"] = row.notifications
    body["process_definition_name"] = row.name
    if row.scheduling_error is not None:
        body["scheduling_error"] = row.scheduling_error
    return body


def _to_definition(row: ProcessDefinitionRow, tasks: list[TaskDefinition]) -> ProcessDefinition:
    return ProcessDefinition(
        process_definition_name=row.name,
        paused=row.paused,
        process_description=row.description,
        schedule=read_stored(ProcessSchedule, row.schedule) if row.schedule else None,
        task_definitions=tasks,
        overlap_action=row.overlap_action,
        notifications=[read_stored(Notification, n) for n in row.notifications] or None,
        scheduling_error=row.scheduling_error,
    )
