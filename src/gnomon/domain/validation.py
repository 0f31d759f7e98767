"""The one rule set of a process definition, used alike by the REST API, the operator and the
`gnomon` command: the models' own bounds (`definitions`), the rules that span fields or need more
than a field's bounds (unique task names, known dependencies, no cycles, images and tags the engine
can parse, a cron schedule that is valid and can fire) and the server's shell switch. Every
problem is reported with the dotted path of the field at fault, so a user can find it in the body
they sent.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError

from gnomon.domain.cron import CronExpression, InvalidCronError
from gnomon.domain.dag import find_cycle
from gnomon.domain.definitions import CronSchedule, ProcessDefinitionSpec
from gnomon.domain.images import image_problem, tag_problem

_CRON_CACHE_SIZE: Final = 4_096


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


def problems_in(
    body: Mapping[str, Any], model: type[ProcessDefinitionSpec], *, allow_shell: bool
) -> list[FieldProblem]:
    """Every problem of `body` read as `model` (a spec, or a whole definition); empty when valid.

    The fields' own bounds come first; only a body that has them all right is checked across
    fields, since those rules need the parsed definition.
    """
    try:
        spec = model.model_validate(body)
    except ValidationError as exc:
        return model_problems(exc)
    return definition_problems(spec, allow_shell=allow_shell)


def definition_problems(spec: ProcessDefinitionSpec, *, allow_shell: bool) -> list[FieldProblem]:
    """The problems of a parsed `spec` its model cannot see: across fields, and the shell switch."""
    return check_definition(spec) + shell_problems(spec, allow_shell=allow_shell)


def model_problems(exc: ValidationError) -> list[FieldProblem]:
    """pydantic's errors, each as the dotted path of its field and a message for a person."""
    return [
        FieldProblem(field_path(error["loc"]), str(error["msg"]).removeprefix("Value error, "))
        for error in exc.errors()
    ]


def field_path(location: Sequence[str | int]) -> str:
    """`("task_definitions", 0, "max_attempts")` -> `task_definitions[0].max_attempts`."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not _is_union_tag(part):
            path += f".{part}" if path else part
    return path


def _is_union_tag(part: str) -> bool:
    # pydantic names the member it tried in unions of types ("function-after[...]", "str"), which
    # says nothing to a user.
    return "[" in part or part in {"str", "int", "float", "bool", "list", "dict"}


def check_definition(spec: ProcessDefinitionSpec) -> list[FieldProblem]:
    """All cross-field problems of `spec`, in the order a reader meets them; empty when valid."""
    problems = _duplicate_names(spec) + _unknown_dependencies(spec)
    if not problems:
        problems += _cycles(spec)
    problems += _image_problems(spec)
    if spec.schedule is not None and spec.schedule.cron_schedule is not None:
        problems += _cron_problems(spec.schedule.cron_schedule)
    return problems


SHELL_DISABLED: Final = (
    "shell scripts are disabled on this server; "
    "start Gnomon with GNOMON_ALLOW_SHELL=true to enable them"
)


def shell_problems(spec: ProcessDefinitionSpec, *, allow_shell: bool) -> list[FieldProblem]:
    """Each shell task of `spec`, where this server does not run shell scripts."""
    if allow_shell:
        return []
    return [
        FieldProblem(f"task_definitions[{index}].executable.shell_script_command", SHELL_DISABLED)
        for index, task in enumerate(spec.task_definitions)
        if task.executable.shell_script_command is not None
    ]


def parse_cron(cron: CronSchedule) -> CronExpression:
    """The parsed expression of a cron schedule (raises InvalidCronError)."""
    return _parsed_cron(
        cron.minutes, cron.hours, cron.day_of_month, cron.month, cron.day_of_week, cron.time_zone
    )


# Parsing checks that the expression ever fires (a walk of up to 50 years, half a millisecond),
# and a scheduler taking over reads every definition: most share a handful of expressions
# (issue 14). An expression is immutable, so one object can serve them all.
@functools.lru_cache(maxsize=_CRON_CACHE_SIZE)
def _parsed_cron(
    minutes: str, hours: str, day_of_month: str, month: str, day_of_week: str, time_zone: str
) -> CronExpression:
    return CronExpression.parse(
        minutes=minutes,
        hours=hours,
        day_of_month=day_of_month,
        month=month,
        day_of_week=day_of_week,
        time_zone=time_zone,
    )


def _duplicate_names(spec: ProcessDefinitionSpec) -> list[FieldProblem]:
    seen: set[str] = set()
    problems = []
    for index, task in enumerate(spec.task_definitions):
        if task.task_definition_name in seen:
            problems.append(
                FieldProblem(
                    f"task_definitions[{index}].task_definition_name",
                    f"duplicate task definition name {task.task_definition_name!r}",
                )
            )
        seen.add(task.task_definition_name)
    return problems


def _unknown_dependencies(spec: ProcessDefinitionSpec) -> list[FieldProblem]:
    names = {task.task_definition_name for task in spec.task_definitions}
    problems = []
    for index, task in enumerate(spec.task_definitions):
        for dep_index, dependency in enumerate(task.dependencies):
            if dependency.task_definition_name not in names:
                problems.append(
                    FieldProblem(
                        f"task_definitions[{index}].dependencies[{dep_index}].task_definition_name",
                        f"no task definition named {dependency.task_definition_name!r} "
                        "in this process definition",
                    )
                )
    return problems


def _cycles(spec: ProcessDefinitionSpec) -> list[FieldProblem]:
    graph = {
        task.task_definition_name: [d.task_definition_name for d in task.dependencies]
        for task in spec.task_definitions
    }
    cycle = find_cycle(graph)
    if cycle is None:
        return []
    return [
        FieldProblem(
            "task_definitions",
            "process definition contains a dependency cycle: " + " -> ".join(cycle),
        )
    ]


def _image_problems(spec: ProcessDefinitionSpec) -> list[FieldProblem]:
    """Each image or tag the engine would refuse at every run's start (`domain.images`)."""
    problems = []
    for index, task in enumerate(spec.task_definitions):
        executable = task.executable
        for kind in ("docker_image_command", "batch_image_command"):
            command = getattr(executable, kind)
            if command is None:
                continue
            path = f"task_definitions[{index}].executable.{kind}"
            if (problem := image_problem(command.image)) is not None:
                problems.append(FieldProblem(f"{path}.image", problem))
            if (problem := tag_problem(command.tag)) is not None:
                problems.append(FieldProblem(f"{path}.tag", problem))
    return problems


def _cron_problems(cron: CronSchedule) -> list[FieldProblem]:
    try:
        parse_cron(cron)
    except InvalidCronError as exc:
        suffix = "" if exc.field == "schedule" else f".{exc.field}"
        return [FieldProblem(f"schedule.cron_schedule{suffix}", exc.message)]
    return []
