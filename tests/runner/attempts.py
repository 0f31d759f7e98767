"""Building `Attempt`s for runner tests."""

from __future__ import annotations

import uuid
from typing import Any

from gnomon.domain.definitions import TaskExecutable
from gnomon.runner.base import Attempt


def make_attempt(kind: str, **command: Any) -> Attempt:
    """An attempt with a fresh task id running the `kind` executable described by `command`."""
    task_id = str(uuid.uuid4())
    return Attempt(
        task_id=task_id,
        process_id=str(uuid.uuid4()),
        process_definition_name="runner-test",
        task_definition_name=f"task-{task_id[:8]}",
        previous_attempts=0,
        executable=TaskExecutable.model_validate({kind: command}),
        token=f"token-{task_id}",
    )


def container_attempt(image: str, *script: str, **fields: Any) -> Attempt:
    """A `docker_image_command` attempt running `sh -c "<script lines>"` in `image`."""
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # no tag, or the colon was a registry's port
        name, tag = image, ""
    command = ["sh", "-c", "\n".join(script)] if script else fields.pop("command")
    return make_attempt(
        "docker_image_command", image=name, tag=tag or "latest", command=command, **fields
    )


def shell_attempt(*script: str, **fields: Any) -> Attempt:
    return make_attempt("shell_script_command", script="\n".join(script), **fields)
