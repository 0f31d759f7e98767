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

Which fields have bounds, and which hold nested models, is worked out once per model: the
scheduler reads a hundred thousand stored bodies when it takes over, and walking pydantic's field
metadata for each of them cost more than validating it (issue 14).
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any, TypeVar, Union, get_args, get_origin

from annotated_types import Ge, Le
from pydantic import BaseModel
from pydantic.fields import FieldInfo

M = TypeVar("M", bound=BaseModel)
_Clamp = Callable[[Any], Any]
"""Brings one stored value within its field's bounds; returns the value itself if it is."""

_CLAMPS: dict[type[BaseModel], dict[str, _Clamp]] = {}
_FIELD_SETS: dict[frozenset[str], set[str]] = {}
_FIELD_SETS_SIZE = 1_024
_NESTED: dict[type[BaseModel], tuple[str, ...]] = {}


def read_stored(model: type[M], data: Any) -> M:
    """`data` validated as `model`, numbers outside their stated bounds clamped to them first."""
    return model.model_validate(clamp_to_bounds(model, data))


def share_field_sets(model: BaseModel) -> None:
    """Let `model` and the models inside it share pydantic's set of the field names given with
    every model read with the same names, instead of a set each.

    A set of seven names takes 728 bytes, half of what a parsed task definition holds; the
    scheduler keeps one task definition and schedule per definition, a hundred thousand of them
    (issue 14). Only for models nothing assigns to: assigning a field adds its name to the set.
    """
    names = frozenset(model.__pydantic_fields_set__)
    shared = _FIELD_SETS.get(names)
    if shared is None and len(_FIELD_SETS) < _FIELD_SETS_SIZE:
        shared = _FIELD_SETS[names] = set(names)
    if shared is not None:
        object.__setattr__(model, "__pydantic_fields_set__", shared)
    for name in _nested(type(model)):
        value = getattr(model, name)
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, BaseModel):
                share_field_sets(item)


def _nested(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of `model` that hold models (or lists of them)."""
    names = _NESTED.get(model)
    if names is None:
        names = _NESTED[model] = tuple(
            name
            for name, info in model.model_fields.items()
            if any(
                isinstance(t, type) and issubclass(t, BaseModel) for t in _members(info.annotation)
            )
        )
    return names


def clamp_to_bounds(model: type[BaseModel], data: Any) -> Any:
    """`data` (a stored JSON object of `model`) if its numbers respect the bounds, else a copy
    whose numbers do; `data` itself is never changed."""
    if not isinstance(data, dict):
        return data
    clamps = _clamps(model)
    copy: dict[str, Any] | None = None
    for key, value in data.items():
        clamp = clamps.get(key)
        if clamp is None:
            continue
        clamped = clamp(value)
        if clamped is not value:
            copy = dict(data) if copy is None else copy
            copy[key] = clamped
    return data if copy is None else copy


def _clamps(model: type[BaseModel]) -> dict[str, _Clamp]:
    """How to clamp each key of `model` (by alias or name; the name wins) that can need it."""
    clamps = _CLAMPS.get(model)
    if clamps is None:
        fields = {info.alias or name: info for name, info in model.model_fields.items()}
        fields.update(model.model_fields)
        found = {key: _field_clamp(info) for key, info in fields.items()}
        clamps = _CLAMPS[model] = {key: clamp for key, clamp in found.items() if clamp}
    return clamps


def _field_clamp(info: FieldInfo) -> _Clamp | None:
    maximum = next((m.le for m in info.metadata if isinstance(m, Le)), None)
    minimum = next((m.ge for m in info.metadata if isinstance(m, Ge)), None)
    if maximum is not None and _is_number_field(info.annotation):
        nullable = type(None) in _members(info.annotation)
        return lambda value: _clamp_number(value, minimum, maximum, nullable=nullable)
    models = [
        t for t in _members(info.annotation) if isinstance(t, type) and issubclass(t, BaseModel)
    ]
    if not models:
        return None
    return lambda value: _clamp_nested(models[0], value)


def _clamp_number(value: Any, minimum: Any, maximum: Any, *, nullable: bool) -> Any:
    if value is None and not nullable:
        return maximum  # SQLite stores an infinite float as null
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isnan(value) or value > maximum:
            return maximum
        if minimum is not None and value < minimum:
            return minimum
    return value


def _clamp_nested(model: type[BaseModel], value: Any) -> Any:
    if not isinstance(value, list):
        return clamp_to_bounds(model, value)
    items = [clamp_to_bounds(model, item) for item in value]
    return value if all(a is b for a, b in zip(items, value, strict=True)) else items


def _is_number_field(annotation: Any) -> bool:
    members = [t for t in _members(annotation) if t is not type(None)]
    return bool(members) and all(t in (int, float) for t in members)


def _members(annotation: Any) -> list[Any]:
    """The types inside `X | None`, `list[X]` and plain `X`."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType, list):
        return [member for arg in get_args(annotation) for member in _members(arg)]
    return [annotation]
