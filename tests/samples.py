"""Definitions and payloads used across tests, including reference §15's examples verbatim."""

from __future__ import annotations

import copy
from typing import Any

SAMPLE_PROCESS: dict[str, Any] = {
    "process_definition_name": "SampleProcessName",
    "process_description": "Sample process description",
    "overlap_action": "terminate",
    "schedule": {"continuous_schedule": {"buffer_seconds": 1200}},
    "task_definitions": [
        {
            "task_definition_name": "starting-task",
            "executable": {
                "batch_image_command": {
                    "image": "registry/imagename",
                    "tag": "0.0.1",
                    "command": ["jobstart.sh"],
                    "vCpus": 1,
                    "memory": 1000,
                    "job_role_arn": "arn:aws:iam::123:role/x",
                    "environment_variables": [
                        {"variable_name": "EnvironmentType", "value": "production"}
                    ],
                }
            },
            "dependencies": [],
            "max_attempts": 2,
            "backoff_base_seconds": 60,
            "backoff_exponent": 1,
            "require_explicit_success": False,
            "max_runtime_seconds": 1200,
        },
        {
            "task_definition_name": "dependent-task",
            "executable": {"shell_script_command": {"script": "echo hi\necho '**status=success'"}},
            "dependencies": [{"task_definition_name": "starting-task", "success_required": True}],
            "max_attempts": 2,
            "backoff_base_seconds": 60,
            "backoff_exponent": 1,
            "require_explicit_success": True,
        },
    ],
    "notifications": [
        {
            "email": {
                "name": "Dev Team",
                "email": "dev-team@organization.com",
                "notify_when": "on_state_change_and_failures",
            }
        },
        {
            "pagerduty": {
                "service_key": "<key>",
                "num_consecutive_failures": 3,
                "api_url": "https://events.pagerduty.com",
            }
        },
    ],
    "paused": False,
}

EVERY_MINUTE: dict[str, Any] = {
    "cron_schedule": {
        "minutes": "*",
        "hours": "*",
        "day_of_month": "*",
        "month": "*",
        "day_of_week": "?",
    }
}

DAILY_22H = {
    "cron_schedule": {
        "minutes": "0",
        "hours": "22",
        "day_of_month": "*",
        "month": "*",
        "day_of_week": "?",
    }
}


def docker_task(
    name: str, *deps: str, optional: tuple[str, ...] = (), **extra: Any
) -> dict[str, Any]:
    """A task definition running a container; `deps` are required, `optional` are not."""
    dependencies = [{"task_definition_name": d, "success_required": True} for d in deps]
    dependencies += [{"task_definition_name": d, "success_required": False} for d in optional]
    task: dict[str, Any] = {
        "task_definition_name": name,
        "dependencies": dependencies,
        "executable": {"docker_image_command": {"image": "busybox", "command": ["true"]}},
        "max_attempts": 1,
        "backoff_base_seconds": 0,
        "require_explicit_success": False,
    }
    task.update(extra)
    return task


def definition(name: str, *tasks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "process_definition_name": name,
        "task_definitions": list(tasks) or [docker_task("only")],
    }
    body.update(extra)
    return body


def sample_process(name: str = "SampleProcessName") -> dict[str, Any]:
    body = copy.deepcopy(SAMPLE_PROCESS)
    body["process_definition_name"] = name
    return body
