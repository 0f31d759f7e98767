"""Reading what the store holds, which an older Gnomon may have accepted past today's bounds.

The bounds in `limits` apply to input. A definition stored before they existed (a runtime limit of
a million years, a backoff exponent of `Infinity` that SQLite hands back as `null`) was accepted
then, and must go on running after an upgrade instead of failing validation on every read. So a
stored body is read with each number past its field's maximum brought down to that maximum: a
year of runtime limit or buffer means what a million years meant. A number below its field's
minimum is brought up to it the same way: a task stored with `max_attempts` 0 (accepted before
the minimum was 1) runs once, as it would have had it been refused and sent again with 1.
Everything else is validated as usual; what still does not read sets that one item aside
(`scheduler.isolation`).
"""

from __future__ import annotations

import math
import types
from typing import Any, TypeVar, Union, get_args, get_origin

from annotated_types import Ge, Le
from pydantic import BaseModel
from pydantic.fields import FieldInfo

M = TypeVar("M", bound=BaseModel)


def read_stored(model: type[M], data: Any) -> M:
    """`data` validated as `model`, numbers outside their stated bounds clamped to them first."""
    return model.model_validate(clamp_to_bounds(model, data))


def clamp_to_bounds(model: type[BaseModel], data: Any) -> Any:
    """A copy of `data` (a stored JSON object of `model`) whose numbers respect the bounds."""
    if not isinstance(data, dict):
        return data
    fields = {info.alias or name: info for name, info in model.model_fields.items()}
    fields.update(model.model_fields)
    return {key: _clamp_field(fields.get(key), value) for key, value in data.items()}


def _clamp_field(info: FieldInfo | None, value: Any) -> Any:
    if info is None:
        return value
    maximum = next((m.le for m in info.metadata if isinstance(m, Le)), None)
    minimum = next((m.ge for m in info.metadata if isinstance(m, Ge)), None)
    if maximum is not None and _is_number_field(info.annotation):
        if value is None and type(None) not in _members(info.annotation):
            return maximum  # SQLite stores an infinite float as null
        return _clamp_number(value, minimum, maximum)
    return _clamp_nested(info.annotation, value)


def _clamp_number(value: Any, minimum: Any, maximum: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isnan(value) or value > maximum:
            return maximum
        if minimum is not None and value < minimum:
            return minimum
    return value


def _clamp_nested(annotation: Any, value: Any) -> Any:
    models = [t for t in _members(annotation) if isinstance(t, type) and issubclass(t, BaseModel)]
    if not models:
        return value
    if isinstance(value, list):
        return [clamp_to_bounds(models[0], item) for item in value]
    return clamp_to_bounds(models[0], value)


def _is_number_field(annotation: Any) -> bool:
    members = [t for t in _members(annotation) if t is not type(None)]
    return bool(members) and all(t in (int, float) for t in members)


def _members(annotation: Any) -> list[Any]:
    """The types inside `X | None`, `list[X]` and plain `X`."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType, list):
        return [member for arg in get_args(annotation) for member in _members(arg)]
    return [annotation]
