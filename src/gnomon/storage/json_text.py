"""Task definitions as the JSON text the store keeps, made once per parsed template.

Every run writes a snapshot of its task definitions, and every attempt its executable. The
scheduler hands the same template objects to every run of a definition's revision, so each
object's JSON text is made once and written as it is (`PreSerialized`), instead of being dumped
to a dict and encoded again for each of ten thousand runs in a due minute. The text is exactly
what the column's own JSON type would have written (`json.dumps` of the wire-form dump).
"""

from __future__ import annotations

import json
import weakref
from typing import Any

import sqlalchemy as sa

from gnomon.domain.definitions import TaskDefinition

_TEXTS: dict[int, tuple[str, str]] = {}
"""id of a template → (its JSON, its executable's JSON); an entry leaves with its object, so an
id is never reused while cached."""


class PreSerialized(sa.types.TypeDecorator[Any]):
    """A JSON column's bind that takes text already serialized (`task_json`) and passes it on
    unchanged; the column, its DDL and how it is read stay the JSON type's."""

    impl = sa.JSON
    cache_ok = True

    def bind_processor(self, dialect: sa.Dialect) -> None:
        return None


def task_json(task: TaskDefinition) -> str:
    """The task definition as stored in a run's snapshot."""
    return _texts(task)[0]


def executable_json(task: TaskDefinition) -> str:
    """The task's executable as stored on each of its attempts."""
    return _texts(task)[1]


def prepare(tasks: list[TaskDefinition]) -> None:
    """Make the JSON of `tasks` now, ahead of the runs that will write it."""
    for task in tasks:
        _texts(task)


def _texts(task: TaskDefinition) -> tuple[str, str]:
    texts = _TEXTS.get(id(task))
    if texts is None:
        body = task.model_dump(mode="json", by_alias=True, exclude_none=True)
        executable = task.executable.model_dump(mode="json", by_alias=True, exclude_none=True)
        texts = (json.dumps(body), json.dumps(executable))
        _TEXTS[id(task)] = texts
        weakref.finalize(task, _TEXTS.pop, id(task), None)
    return texts
