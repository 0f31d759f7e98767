"""The one rule set the REST API, the operator and the `gnomon` command apply to a definition."""

from __future__ import annotations

from typing import Any

import pytest

from gnomon.domain import (
    FieldProblem,
    ProcessDefinition,
    ProcessDefinitionSpec,
    field_path,
    problems_in,
)
from gnomon.domain.validation import SHELL_DISABLED
from tests.samples import definition, docker_task

SHELL = {"task_definition_name": "sh", "executable": {"shell_script_command": {"script": ":"}}}


def spec(*tasks: dict[str, Any]) -> dict[str, Any]:
    return {"task_definitions": list(tasks)}


def test_a_valid_spec_and_definition_have_no_problems() -> None:
    assert problems_in(spec(docker_task("a")), ProcessDefinitionSpec, allow_shell=False) == []
    whole = definition("x", docker_task("a"))
    assert problems_in(whole, ProcessDefinition, allow_shell=False) == []


@pytest.mark.parametrize("attempts", [0, -1, 101])
def test_attempts_outside_one_to_a_hundred_name_the_field(attempts: int) -> None:
    problems = problems_in(
        spec(docker_task("a", max_attempts=attempts)), ProcessDefinitionSpec, allow_shell=True
    )
    assert [p.field for p in problems] == ["task_definitions[0].max_attempts"]


def test_rules_across_fields_follow_the_fields_own_bounds() -> None:
    body = spec(docker_task("a", "missing"), docker_task("a"))
    problems = problems_in(body, ProcessDefinitionSpec, allow_shell=True)
    assert [p.field for p in problems] == [
        "task_definitions[1].task_definition_name",
        "task_definitions[0].dependencies[0].task_definition_name",
    ]


def test_the_shell_switch_is_part_of_the_rules() -> None:
    assert problems_in(spec(SHELL), ProcessDefinitionSpec, allow_shell=True) == []
    assert problems_in(spec(SHELL), ProcessDefinitionSpec, allow_shell=False) == [
        FieldProblem("task_definitions[0].executable.shell_script_command", SHELL_DISABLED)
    ]


def test_field_paths_read_as_the_body_is_written() -> None:
    assert field_path(("task_definitions", 0, "dependencies", 2, "success_required")) == (
        "task_definitions[0].dependencies[2].success_required"
    )
    assert field_path(("schedule", "function-after[check(), CronSchedule]", "hours")) == (
        "schedule.hours"
    )
    assert field_path(()) == ""
