"""A definition's task definitions and notifications as its page shows them: the executable
pretty-printed, retries and limits in words, each notification's where and when.

Environment variables show what the REST API shows: a written value as written, a `value_from`
reference as the reference (a file, a variable of Gnomon's host, a Kubernetes Secret), never the
secret it points to, which Gnomon reads only when an attempt starts. A stored body that no longer
reads (an older Gnomon accepted it) is shown as unreadable, with why; the page still renders.
"""

from __future__ import annotations

import logging
import shlex
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import ValidationError

from gnomon.domain import (
    BatchImageCommand,
    DockerImageCommand,
    EnvironmentVariable,
    Notification,
    NotifyWhen,
    ShellScriptCommand,
    TaskDefinition,
    backoff_seconds,
    read_stored,
)
from gnomon.web.formatting import duration

log = logging.getLogger(__name__)

RETRY_DELAYS_SHOWN: Final = 3
"""Backoff delays spelt out; the rest follow the same rule."""
_WHEN: Final = {
    NotifyWhen.ALWAYS: "after every run",
    NotifyWhen.ON_FAILURE: "when a run fails",
    NotifyWhen.ON_STATE_CHANGE: "when the outcome changes",
    NotifyWhen.ON_STATE_CHANGE_AND_FAILURES: "when a run fails or the outcome changes",
    NotifyWhen.NEVER: "never",
}
_KINDS: Final = {
    "docker_image_command": "Docker image",
    "batch_image_command": "Batch image",
    "shell_script_command": "Shell script",
}


@dataclass(frozen=True)
class Fact:
    """One labelled value of a card; `code` values are shown in the monospace font."""

    label: str
    value: str
    code: bool = False


@dataclass(frozen=True)
class Variable:
    """An environment variable: its value, or where its value comes from."""

    name: str
    value: str
    secret: bool
    """The value is a reference to a secret, read when an attempt starts."""


@dataclass(frozen=True)
class Dependency:
    name: str
    required: bool


@dataclass(frozen=True)
class TaskView:
    """A task definition's card."""

    name: str
    kind: str = ""
    """`Docker image`, `Batch image`, `Shell script`."""
    command: str | None = None
    """The container's command as a shell would read it."""
    script: str | None = None
    facts: list[Fact] = field(default_factory=list)
    """The executable's other settings."""
    environment: list[Variable] = field(default_factory=list)
    limits: list[Fact] = field(default_factory=list)
    """Attempts, backoff, runtime limit, explicit success."""
    dependencies: list[Dependency] = field(default_factory=list)
    max_attempts: int = 1
    problem: str | None = None
    """Why the stored task definition cannot be read any more."""


@dataclass(frozen=True)
class NotificationView:
    kind: str
    target: str
    when: str
    problem: str | None = None


def task_view(body: dict[str, Any]) -> TaskView:
    """The card of a stored task definition (Sundial's JSON)."""
    try:
        task = read_stored(TaskDefinition, body)
    except ValidationError as exc:
        name = str(body.get("task_definition_name", "?"))
        return TaskView(name, problem=_first_error(exc))
    executable = task.executable
    return TaskView(
        name=task.task_definition_name,
        kind=_KINDS.get(executable.kind, executable.kind),
        command=_command(executable.member),
        script=getattr(executable.member, "script", None),
        facts=_executable_facts(executable.member),
        environment=[
            _variable(v) for v in getattr(executable.member, "environment_variables", None) or []
        ],
        limits=limits(task),
        dependencies=[
            Dependency(d.task_definition_name, d.success_required) for d in task.dependencies
        ],
        max_attempts=task.max_attempts,
    )


def limits(task: TaskDefinition) -> list[Fact]:
    """Attempts, backoff, runtime limit and explicit success in words."""
    facts = [Fact("Attempts", _attempts(task.max_attempts))]
    if task.max_attempts > 1:
        facts.append(Fact("Backoff", backoff_words(task)))
    limit = task.max_runtime_seconds
    facts.append(Fact("Runtime limit", duration(limit) if limit else "none"))
    if task.require_explicit_success:
        facts.append(Fact("Success", "only when the job reports it (require_explicit_success)"))
    return facts


def backoff_words(task: TaskDefinition) -> str:
    """`none: retries start at once`, `60 s before each retry`, or `2 min, 4 min, then 8 min
    (×2 each retry)`, with `, …` when there are more retries than shown."""
    if task.backoff_base_seconds == 0:
        return "none: retries start at once"
    retries = task.max_attempts - 1
    shown = min(retries, RETRY_DELAYS_SHOWN)
    delays = [
        duration(backoff_seconds(task.backoff_base_seconds, task.backoff_exponent, n))
        for n in range(1, shown + 1)
    ]
    if len(set(delays)) == 1:
        return f"{delays[0]} before each retry"
    listed = ", ".join(delays[:-1]) + f", then {delays[-1]}"
    more = ", …" if retries > shown else ""
    return f"{listed}{more} (×{task.backoff_exponent:g} each retry)"


def notification_view(body: dict[str, Any]) -> NotificationView:
    """A stored notification (Sundial's JSON) as where it goes and when."""
    try:
        notification = read_stored(Notification, body)
    except ValidationError as exc:
        return NotificationView("Unreadable", "", "", problem=_first_error(exc))
    if notification.email is not None:
        email = notification.email
        target = f"{email.name} <{email.email}>" if email.name else email.email
        return NotificationView("Email", target, _WHEN[email.notify_when])
    if notification.pagerduty is not None:
        pager = notification.pagerduty
        failures = pager.num_consecutive_failures
        when = "after a failed run" if failures == 1 else f"after {failures} failed runs in a row"
        target = f"service key {_hint(pager.service_key)} at {pager.api_url}"
        return NotificationView("PagerDuty", target, when)
    assert notification.webhook is not None, "a notification has exactly one member"
    hook = notification.webhook
    return NotificationView("Webhook", f"POST {hook.url}", _WHEN[hook.notify_when])


def _attempts(count: int) -> str:
    if count <= 1:  # a stored 0 from before the minimum reads as 1 (`domain.stored`)
        return "1, no retries"
    return f"{count} (1 + {count - 1} {'retry' if count == 2 else 'retries'})"


def _command(executable: object) -> str | None:
    command = getattr(executable, "command", None)
    return shlex.join(command) if command else None


def _executable_facts(executable: object) -> list[Fact]:
    if isinstance(executable, DockerImageCommand):
        facts = [Fact("Image", f"{executable.image}:{executable.tag}", code=True)]
        if executable.memory:
            facts.append(Fact("Memory", f"{executable.memory} MB"))
        if executable.cpu:
            facts.append(Fact("CPU", f"{executable.cpu} units ({executable.cpu / 1024:g} CPU)"))
        if executable.task_role_arn:
            facts.append(Fact("Task role", executable.task_role_arn, code=True))
        facts.extend(Fact("Log path", path, code=True) for path in executable.log_paths)
        return facts
    if isinstance(executable, BatchImageCommand):
        facts = [
            Fact("Image", f"{executable.image}:{executable.tag}", code=True),
            Fact("Memory", f"{executable.memory} MB"),
            Fact("CPUs", str(executable.v_cpus)),
        ]
        if executable.job_role_arn:
            facts.append(Fact("Job role", executable.job_role_arn, code=True))
        if executable.job_queue:
            facts.append(Fact("Job queue", executable.job_queue, code=True))
        return facts
    assert isinstance(executable, ShellScriptCommand), f"unknown executable {executable!r}"
    return []


def _variable(variable: EnvironmentVariable) -> Variable:
    source = variable.value_from
    if source is None:
        return Variable(variable.variable_name, variable.value or "", secret=False)
    if source.file is not None:
        where = f"file {source.file}"
    elif source.host_env is not None:
        where = f"Gnomon's environment variable {source.host_env}"
    else:
        assert source.secret_key_ref is not None, "value_from has exactly one member"
        ref = source.secret_key_ref
        where = f"Kubernetes Secret {ref.name}, key {ref.key}"
    return Variable(variable.variable_name, where, secret=True)


def _hint(secret: str) -> str:
    """The first characters of a key, enough to tell two apart."""
    return secret[:4] + "…" if len(secret) > 8 else secret


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return (
        f"cannot be read: {where}: {error['msg']}" if where else f"cannot be read: {error['msg']}"
    )
