"""What a trigger, pause, resume, delete, kill or retry does, whoever asked: the REST routes and
the web UI's buttons call these same functions, so both check, write and wake alike.

Each one takes the request's session, the app's context, `now` and its target; it writes through
the store, commits (nothing is acknowledged before it is committed) and wakes the scheduler on
the change's topic. Errors are Gnomon's own (`NotFoundError`, `ConflictError`,
`InvalidInputError`, `StoreError`), for each caller to answer in its own form.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Final

from gnomon.api.deps import AppContext
from gnomon.domain import NAME_PATTERN
from gnomon.errors import InvalidInputError, NotFoundError
from gnomon.storage import Session, run_requests
from gnomon.storage import definitions as store

log = logging.getLogger(__name__)

MAX_NAME_CHARS: Final = 200
_NAME: Final = re.compile(NAME_PATTERN)
_RUN_ID: Final = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def trigger_definition(
    session: Session,
    context: AppContext,
    now: datetime,
    name: str,
    task_definition_name: str | None = None,
) -> None:
    """Queue a run of definition `name`; of its task `task_definition_name` alone, if given."""
    check_name("process_definition_name", name)
    task_filter = None
    if task_definition_name is not None:
        _check_task(session, name, task_definition_name)
        task_filter = [task_definition_name]
    run_requests.add_trigger(session=session, name=name, task_filter=task_filter, now=now)
    _commit(session, context, "triggers")


def check_trigger(session: Session, name: str, task_definition_name: str | None = None) -> None:
    """Raise what `trigger_definition` would, without triggering (to ask for a confirmation
    only about what can be done)."""
    check_name("process_definition_name", name)
    if task_definition_name is None:
        store.get_definition_row(session=session, name=name)
    else:
        _check_task(session, name, task_definition_name)


def pause_definition(session: Session, context: AppContext, now: datetime, name: str) -> None:
    """Stop the schedule of definition `name` from starting runs; triggers still start them."""
    _set_paused(session, context, now, name, paused=True)


def resume_definition(session: Session, context: AppContext, now: datetime, name: str) -> None:
    """Let the schedule of definition `name` start runs again."""
    _set_paused(session, context, now, name, paused=False)


def delete_definition(session: Session, context: AppContext, name: str) -> None:
    """Delete definition `name` and its open triggers; a resource's definition is refused (409)."""
    check_name("process_definition_name", name)
    store.delete_definition(session=session, name=name)
    _commit(session, context, "definitions")


def check_delete(session: Session, name: str) -> None:
    """Raise what `delete_definition` would, without deleting."""
    check_name("process_definition_name", name)
    store.check_owner(session=session, name=name)


def kill_run(session: Session, context: AppContext, now: datetime, process_id: str) -> None:
    """Ask the scheduler to stop run `process_id`: its running tasks end, and it fails."""
    check_run_id(process_id)
    run_requests.add_kill(session=session, process_id=process_id, now=now)
    _commit(session, context, "requests")


def retry_run(session: Session, context: AppContext, now: datetime, process_id: str) -> None:
    """Ask for one more attempt of each failed task of run `process_id` (400 if it succeeded)."""
    check_run_id(process_id)
    run_requests.add_retry(session=session, process_id=process_id, now=now)
    _commit(session, context, "requests")


def check_name(field: str, value: str) -> None:
    """Refuse what no definition or task definition can be named (the REST paths refuse it too:
    such a name never reaches the store)."""
    if not 0 < len(value) <= MAX_NAME_CHARS or not _NAME.fullmatch(value):
        raise InvalidInputError(
            field,
            f"not a name: 1 to {MAX_NAME_CHARS} letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
        )


def check_run_id(process_id: str) -> None:
    """Refuse what cannot be a run's id before it reaches the store (a UUID column on
    PostgreSQL)."""
    if not _RUN_ID.fullmatch(process_id):
        raise InvalidInputError("process_id", "not a run id: a UUID is expected")


def _check_task(session: Session, name: str, task_definition_name: str) -> None:
    check_name("task_definition_name", task_definition_name)
    tasks = store.get_definition(session=session, name=name).task_definitions
    if task_definition_name not in {task.task_definition_name for task in tasks}:
        raise NotFoundError("task definition", f"{name}/{task_definition_name}")


def _set_paused(
    session: Session, context: AppContext, now: datetime, name: str, *, paused: bool
) -> None:
    check_name("process_definition_name", name)
    store.set_paused(session=session, name=name, paused=paused, now=now)
    _commit(session, context, "definitions")


def _commit(session: Session, context: AppContext, topic: str) -> None:
    session.commit()
    context.on_change(topic)
