"""What an attempt's container looks like: pure functions from an `Attempt` and the settings to the
engine's create arguments, and the labels that tie a container to its task.

Labels are how Gnomon finds its containers again after a restart (`adopt`), so every container
carries `dev.gnomon.managed=true` and the runner's instance name: two Gnomons sharing one engine
never adopt, or clean up, each other's containers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from gnomon.domain.definitions import BatchImageCommand, DockerImageCommand
from gnomon.runner.base import Attempt, attempt_environment
from gnomon.runner.environment import resolve_on_host
from gnomon.settings import Settings

LABEL_MANAGED: Final = "dev.gnomon.managed"
LABEL_INSTANCE: Final = "dev.gnomon.instance"
LABEL_TASK_ID: Final = "dev.gnomon.task-id"
LABEL_PROCESS_ID: Final = "dev.gnomon.process-id"
LABEL_DEFINITION: Final = "dev.gnomon.definition"
LABEL_TASK_DEFINITION: Final = "dev.gnomon.task-definition"

NANO_CPUS_PER_CPU: Final = 1_000_000_000
ECS_UNITS_PER_CPU: Final = 1024
HOST_GATEWAY: Final = {"host.docker.internal": "host-gateway"}
"""Lets the default callback URL (`http://host.docker.internal:PORT`) reach the host on Linux."""


@dataclass(frozen=True)
class ContainerSpec:
    """An attempt's container, before it is created."""

    image: str
    tag: str
    command: list[str]
    name: str
    environment: dict[str, str]
    labels: dict[str, str]
    memory_mb: int | None
    nano_cpus: int | None
    log_paths: tuple[str, ...]


def label_filters(instance: str | None) -> list[str]:
    """Engine filters matching every container of this Gnomon instance (of every Gnomon when
    `instance` is None)."""
    managed = [f"{LABEL_MANAGED}=true"]
    return managed if instance is None else [*managed, f"{LABEL_INSTANCE}={instance}"]


def container_name(task_id: str) -> str:
    """A readable, unique name; the engine refuses a second container of the same task."""
    return "gnomon-" + re.sub(r"[^A-Za-z0-9_.-]", "-", task_id)


def container_spec(
    attempt: Attempt, settings: Settings, instance: str, *, secrets: bool = True
) -> ContainerSpec:
    """The container of `attempt`.

    Args:
        secrets: read the `value_from` secrets of its environment now (when it starts); an
            adopted container has its environment already, and a secret missing by now must not
            fail it, so adoption passes False and the spec leaves those variables out.

    Raises:
        ValueError: the executable is not a container.
        SecretUnavailableError: a secret cannot be read.
    """
    command = attempt.executable.member
    if not isinstance(command, DockerImageCommand | BatchImageCommand):
        raise ValueError(f"{attempt.executable.kind} does not run in a container")
    variables = command.environment_variables
    if not secrets:
        variables = [v for v in variables if v.value_from is None]
    user_env = resolve_on_host(variables)
    if isinstance(command, BatchImageCommand):
        nano_cpus: int | None = command.v_cpus * NANO_CPUS_PER_CPU
        log_paths: tuple[str, ...] = ()
    else:
        nano_cpus = None
        if command.cpu is not None:
            nano_cpus = command.cpu * NANO_CPUS_PER_CPU // ECS_UNITS_PER_CPU
        log_paths = tuple(command.log_paths)
    return ContainerSpec(
        image=command.image,
        tag=command.tag,
        command=list(command.command),
        name=container_name(attempt.task_id),
        environment=attempt_environment(
            attempt, settings.callback_url(for_container=True), user_env
        ),
        labels={
            LABEL_MANAGED: "true",
            LABEL_INSTANCE: instance,
            LABEL_TASK_ID: attempt.task_id,
            LABEL_PROCESS_ID: attempt.process_id,
            LABEL_DEFINITION: attempt.process_definition_name,
            LABEL_TASK_DEFINITION: attempt.task_definition_name,
        },
        memory_mb=command.memory,
        nano_cpus=nano_cpus,
        log_paths=log_paths,
    )


def host_config_arguments(
    spec: ContainerSpec, network: str | None, max_nano_cpus: int | None
) -> dict[str, Any]:
    """Arguments of `APIClient.create_host_config` for `spec`.

    Memory is a hard limit with no swap on top, so a job over its limit is OOM-killed rather than
    slowed down. A CPU limit above the engine's CPU count (which the engine refuses) is lowered
    to all of its CPUs.
    """
    arguments: dict[str, Any] = {}
    if spec.memory_mb is not None:
        arguments["mem_limit"] = f"{spec.memory_mb}m"
        arguments["memswap_limit"] = f"{spec.memory_mb}m"
    if spec.nano_cpus is not None:
        limit = spec.nano_cpus
        if max_nano_cpus is not None:
            limit = min(limit, max_nano_cpus)
        arguments["nano_cpus"] = max(limit, NANO_CPUS_PER_CPU // 100)
    if network:
        arguments["network_mode"] = network
    if network not in ("host", "none"):
        arguments["extra_hosts"] = dict(HOST_GATEWAY)
    return arguments
