"""Stored bodies an older Gnomon accepted past today's bounds still read (issue 9, defect 1)."""

from __future__ import annotations

import copy
from typing import Any

from gnomon.domain.definitions import ProcessSchedule, TaskDefinition
from gnomon.domain.limits import MAX_BACKOFF_EXPONENT, MAX_MEMORY_MB, MAX_SECONDS
from gnomon.domain.stored import clamp_to_bounds, read_stored, share_field_sets


def task(**fields: Any) -> dict[str, Any]:
    executable = {"docker_image_command": {"image": "busybox", "command": ["true"]}}
    return {"task_definition_name": "job", "executable": executable, **fields}


def test_numbers_past_their_maximum_are_read_as_the_maximum() -> None:
    stored = task(max_runtime_seconds=10**15, backoff_base_seconds=10**308, max_attempts=1_000)
    read = read_stored(TaskDefinition, stored)
    assert read.max_runtime_seconds == MAX_SECONDS
    assert read.backoff_base_seconds == MAX_SECONDS
    assert read.max_attempts == 100


def test_an_infinite_exponent_sqlite_gave_back_as_null_reads_as_the_maximum() -> None:
    read = read_stored(TaskDefinition, task(backoff_exponent=None))
    assert read.backoff_exponent == MAX_BACKOFF_EXPONENT


def test_an_absent_optional_number_stays_absent_and_nested_numbers_are_clamped() -> None:
    stored = task()
    stored["executable"]["docker_image_command"]["memory"] = 10**12
    read = read_stored(TaskDefinition, stored)
    assert read.max_runtime_seconds is None
    assert read.executable.docker_image_command is not None
    assert read.executable.docker_image_command.memory == MAX_MEMORY_MB


def test_schedules_are_clamped_and_values_within_bounds_are_untouched() -> None:
    continuous = read_stored(ProcessSchedule, {"continuous_schedule": {"buffer_seconds": 10**12}})
    assert continuous.continuous_schedule is not None
    assert continuous.continuous_schedule.buffer_seconds == MAX_SECONDS
    kept = read_stored(TaskDefinition, task(max_attempts=3, backoff_exponent=2.5))
    assert (kept.max_attempts, kept.backoff_exponent) == (3, 2.5)


def test_no_attempts_stored_before_the_minimum_reads_as_one_attempt() -> None:
    """An older Gnomon took `max_attempts` 0, a run that ended without running anything."""
    read = read_stored(TaskDefinition, task(max_attempts=0))
    assert read.max_attempts == 1
    assert read_stored(TaskDefinition, task(max_attempts=-3)).max_attempts == 1


def test_clamping_never_changes_the_stored_body() -> None:
    within = task(max_attempts=3, dependencies=[{"task_definition_name": "other"}])
    assert clamp_to_bounds(TaskDefinition, within) is within
    past = task(max_attempts=0)
    past["executable"]["docker_image_command"]["memory"] = 10**12
    before = copy.deepcopy(past)
    clamped = clamp_to_bounds(TaskDefinition, past)
    assert past == before
    assert clamped["max_attempts"] == 1
    assert clamped["executable"]["docker_image_command"]["memory"] == MAX_MEMORY_MB


def test_models_read_with_the_same_fields_share_one_set_of_their_names() -> None:
    """The scheduler keeps a task definition per definition (issue 14)."""
    first = read_stored(TaskDefinition, task(max_attempts=2))
    second = read_stored(TaskDefinition, task(max_attempts=5))
    dumped = second.model_dump(exclude_unset=True)
    share_field_sets(first)
    share_field_sets(second)
    assert first.__pydantic_fields_set__ is second.__pydantic_fields_set__
    inner = first.executable.docker_image_command, second.executable.docker_image_command
    assert inner[0] is not None and inner[1] is not None
    assert inner[0].__pydantic_fields_set__ is inner[1].__pydantic_fields_set__
    assert second.model_dump(exclude_unset=True) == dumped
    other = read_stored(TaskDefinition, task())
    share_field_sets(other)
    assert other.__pydantic_fields_set__ is not first.__pydantic_fields_set__
