"""Invalid ProcessDefinition specs, each a mutation of the DAG example and the path of the field
the CRD schema must reject: the offline schema check and the API server check share them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gnomon.domain import limits


def _without_task_definitions(spec: dict[str, Any]) -> None:
    del spec["task_definitions"]


def _first_task(spec: dict[str, Any]) -> dict[str, Any]:
    task: dict[str, Any] = spec["task_definitions"][0]
    return task


INVALID: dict[str, tuple[Callable[[dict[str, Any]], object], str]] = {
    "two schedule members": (
        lambda spec: spec["schedule"].update(continuous_schedule={"buffer_seconds": 5}),
        "schedule",
    ),
    "no schedule member": (lambda spec: spec.update(schedule={}), "schedule"),
    "unknown schedule member": (
        lambda spec: spec.update(schedule={"cron": {"minutes": "0"}}),
        "schedule",
    ),
    "unknown overlap_action": (
        lambda spec: spec.update(overlap_action="overlap"),
        "overlap_action",
    ),
    "unknown notify_when": (
        lambda spec: spec["notifications"][0]["email"].update(notify_when="sometimes"),
        "notifications.0.email.notify_when",
    ),
    "negative max_attempts": (
        lambda spec: _first_task(spec).update(max_attempts=-1),
        "task_definitions.0.max_attempts",
    ),
    "no attempts": (
        lambda spec: _first_task(spec).update(max_attempts=0),
        "task_definitions.0.max_attempts",
    ),
    "negative buffer_seconds": (
        lambda spec: spec.update(schedule={"continuous_schedule": {"buffer_seconds": -1}}),
        "schedule.continuous_schedule.buffer_seconds",
    ),
    "missing task_definitions": (_without_task_definitions, "spec"),
    "two executables": (
        lambda spec: _first_task(spec)["executable"].update(shell_script_command={"script": "x"}),
        "task_definitions.0.executable",
    ),
    "missing cron field": (
        lambda spec: spec["schedule"]["cron_schedule"].pop("minutes"),
        "schedule.cron_schedule",
    ),
    "misspelt task field": (
        lambda spec: _first_task(spec).update(max_attempt=3),
        "task_definitions.0",
    ),
    "pagerduty without service_key": (
        lambda spec: spec["notifications"][1]["pagerduty"].pop("service_key"),
        "notifications.1.pagerduty",
    ),
    # Maxima (issue 9): nothing the API server stores may overflow the scheduler's arithmetic.
    "buffer_seconds over a year": (
        lambda spec: spec.update(schedule={"continuous_schedule": {"buffer_seconds": 10**12}}),
        "schedule.continuous_schedule.buffer_seconds",
    ),
    "starting_deadline_seconds over a year": (
        lambda spec: spec["schedule"]["cron_schedule"].update(starting_deadline_seconds=10**12),
        "schedule.cron_schedule.starting_deadline_seconds",
    ),
    "max_runtime_seconds over a year": (
        lambda spec: _first_task(spec).update(max_runtime_seconds=limits.MAX_SECONDS + 1),
        "task_definitions.0.max_runtime_seconds",
    ),
    "backoff_base_seconds over a year": (
        lambda spec: _first_task(spec).update(backoff_base_seconds=10**15),
        "task_definitions.0.backoff_base_seconds",
    ),
    "backoff_exponent over ten": (
        lambda spec: _first_task(spec).update(backoff_exponent=1e308),
        "task_definitions.0.backoff_exponent",
    ),
    "max_attempts over a hundred": (
        lambda spec: _first_task(spec).update(max_attempts=101),
        "task_definitions.0.max_attempts",
    ),
    "boolean max_attempts": (
        lambda spec: _first_task(spec).update(max_attempts=True),
        "task_definitions.0.max_attempts",
    ),
    "huge memory": (
        lambda spec: _first_task(spec)["executable"]["docker_image_command"].update(memory=10**15),
        "task_definitions.0.executable.docker_image_command.memory",
    ),
    "too many tasks": (
        lambda spec: spec.update(
            task_definitions=[
                {**_first_task(spec), "task_definition_name": f"t{i}"}
                for i in range(limits.MAX_TASKS_PER_DEFINITION + 1)
            ]
        ),
        "task_definitions",
    ),
    "too many command items": (
        lambda spec: _first_task(spec)["executable"]["docker_image_command"].update(
            command=["x"] * (limits.MAX_COMMAND_ITEMS + 1)
        ),
        "task_definitions.0.executable.docker_image_command.command",
    ),
    "description too long": (
        lambda spec: spec.update(process_description="d" * (limits.MAX_TEXT_CHARS + 1)),
        "process_description",
    ),
    "file:// webhook": (
        lambda spec: spec["notifications"][2]["webhook"].update(url="file:///etc/passwd"),
        "notifications.2.webhook.url",
    ),
    "null webhook": (
        lambda spec: spec["notifications"][2].update(webhook=None),
        "notifications.2.webhook",
    ),
}
