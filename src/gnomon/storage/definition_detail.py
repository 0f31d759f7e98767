"""Read side of a definition's own page: the definition, its task definitions and its latest runs.

Three statements whatever the number of tasks or runs, each on a key or an index: the definition
with its count of open trigger requests (`ix_trigger_open`), its task definitions in their
defined order, and its latest runs, newest first, from the start of its range of
`ix_process_definition_started`. An unknown name costs the first statement only.

The definition comes back as Sundial's JSON, exactly as `GET /api/process_definitions/NAME`
answers it (`definitions.wire_body`), plus what only the store knows of it: who owns it and when
it was created. Runs come back as plain values: the page only displays them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from gnomon.domain import as_utc
from gnomon.errors import NotFoundError
from gnomon.storage.definitions import wire_body
from gnomon.storage.tables import (
    ProcessDefinitionRow,
    ProcessRow,
    TaskTemplateRow,
    TriggerRequestRow,
)

log = logging.getLogger(__name__)

_DEFINITION = ProcessDefinitionRow.__table__.c  # type: ignore[attr-defined]
_PROCESS = ProcessRow.__table__.c  # type: ignore[attr-defined]
_TEMPLATE = TaskTemplateRow.__table__.c  # type: ignore[attr-defined]
_TRIGGER = TriggerRequestRow.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PastRun:
    """One of a definition's latest runs."""

    process_id: str
    origin: str
    """`schedule` or `trigger`."""
    task_filter: list[str] | None
    started_at: datetime
    ended_at: datetime | None
    """None while it runs."""
    status: str


@dataclass(frozen=True)
class DefinitionDetail:
    """A definition as its page shows it."""

    name: str
    body: dict[str, Any]
    """Sundial's JSON of the definition, as the REST API returns it."""
    owner: str | None
    """The custom resource that owns it (`ProcessDefinition <namespace>/<name>`), if one does."""
    created_at: datetime
    open_triggers: int
    """Trigger requests no run has taken up yet."""
    runs: list[PastRun]
    """The latest runs, newest first."""


def definition_detail(*, session: Session, name: str, history: int) -> DefinitionDetail:
    """The definition `name` with its `history` latest runs.

    Raises:
        NotFoundError: no definition has that name.
    """
    waiting = (
        sa.select(sa.func.count())
        .where(_TRIGGER.process_definition_name == name, _TRIGGER.started_process_id.is_(None))
        .scalar_subquery()
    )
    found = session.execute(
        sa.select(ProcessDefinitionRow, waiting.label("waiting")).where(_DEFINITION.name == name)
    ).one_or_none()
    if found is None:
        raise NotFoundError("process definition", name)
    row, open_triggers = found
    return DefinitionDetail(
        name=row.name,
        body=wire_body(row, _task_bodies(session, name)),
        owner=row.owner,
        created_at=as_utc(row.created_at),
        open_triggers=open_triggers,
        runs=_latest_runs(session, name, history),
    )


def _task_bodies(session: Session, name: str) -> list[dict[str, Any]]:
    statement = (
        sa.select(_TEMPLATE.body)
        .where(_TEMPLATE.process_definition_name == name)
        .order_by(_TEMPLATE.position)
    )
    return list(session.execute(statement).scalars())


def _latest_runs(session: Session, name: str, history: int) -> list[PastRun]:
    statement = (
        sa.select(
            _PROCESS.process_id,
            _PROCESS.origin,
            _PROCESS.task_filter,
            _PROCESS.started_at,
            _PROCESS.ended_at,
            _PROCESS.status,
        )
        .where(_PROCESS.process_definition_name == name)
        .order_by(_PROCESS.started_at.desc(), _PROCESS.process_id.desc())
        .limit(history)
    )
    return [
        PastRun(
            process_id=row.process_id,
            origin=row.origin,
            task_filter=row.task_filter,
            started_at=as_utc(row.started_at),
            ended_at=as_utc(row.ended_at) if row.ended_at is not None else None,
            status=row.status,
        )
        for row in session.execute(statement)
    ]
