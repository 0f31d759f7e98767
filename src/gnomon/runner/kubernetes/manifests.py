"""Names, labels and manifests of the Kubernetes objects that run one task attempt.

Pure functions returning dicts, so the exact Job that reaches the API server is asserted in fast
tests, and the runner only decides *when* to send them.

Naming: a Job (and its token Secret) is called `gn-<prefix>-<hash>`, where `<hash>` is the first
10 hex digits of SHA-256 over the task id, process id, task definition name and attempt number,
and `<prefix>` is `<process definition>-<task definition>` lowercased, with every run of characters
outside `[a-z0-9]` turned into one `-`, cut so the whole name fits a 63-character RFC 1123 label.
The same attempt always gets the same name (a repeated create is a 409, never a second Job), and
the name still says what runs in `kubectl get jobs`.

Label values must be at most 63 characters of `[A-Za-z0-9._-]`; a value that is not gets the same
treatment (sanitized prefix plus hash). The exact values are kept in annotations, which the runner
reads to map an object back to its task.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any, Final

from gnomon.domain.definitions import BatchImageCommand, DockerImageCommand, EnvironmentVariable
from gnomon.runner.base import Attempt, attempt_environment
from gnomon.runner.environment import SecretUnavailableError, describe
from gnomon.settings import PullPolicy, Settings

MAX_NAME: Final = 63
HASH_LENGTH: Final = 10
NAME_PREFIX: Final = "gn"
CONTAINER_NAME: Final = "task"
TOKEN_KEY: Final = "token"
TOKEN_VARIABLE: Final = "GNOMON_TASK_TOKEN"

TASK_ID_KEY: Final = "gnomon.dev/task-id"
PROCESS_ID_KEY: Final = "gnomon.dev/process-id"
DEFINITION_KEY: Final = "gnomon.dev/definition"
TASK_KEY: Final = "gnomon.dev/task"
ATTEMPT_KEY: Final = "gnomon.dev/attempt"
INSTANCE_KEY: Final = "gnomon.dev/instance"
MANAGED_BY_KEY: Final = "app.kubernetes.io/managed-by"
MANAGED_BY: Final = "gnomon"

PULL_POLICIES: Final = {
    PullPolicy.IF_NOT_PRESENT: "IfNotPresent",
    PullPolicy.ALWAYS: "Always",
    PullPolicy.NEVER: "Never",
}

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_NOT_LABEL = re.compile(r"[^A-Za-z0-9_.-]+")
_NOT_DNS = re.compile(r"[^a-z0-9]+")

ContainerCommand = DockerImageCommand | BatchImageCommand


def short_hash(*parts: str) -> str:
    """A stable 10-hex-digit digest of `parts` (unambiguous: parts are NUL-separated)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:HASH_LENGTH]


def label_value(value: str) -> str:
    """`value` if it is a valid label value, else a sanitized prefix of it plus its hash."""
    if len(value) <= MAX_NAME and _LABEL_VALUE.match(value):
        return value
    prefix = _NOT_LABEL.sub("-", value)[: MAX_NAME - HASH_LENGTH - 1]
    prefix = prefix.strip("-_.")
    digest = short_hash(value)
    return f"{prefix}-{digest}" if prefix else digest


def job_name(attempt: Attempt) -> str:
    """The deterministic RFC 1123 name of `attempt`'s Kubernetes Job (see the module docstring)."""
    digest = short_hash(
        attempt.task_id,
        attempt.process_id,
        attempt.task_definition_name,
        str(attempt.previous_attempts),
    )
    room = MAX_NAME - len(NAME_PREFIX) - len(digest) - 2
    readable = f"{attempt.process_definition_name}-{attempt.task_definition_name}".lower()
    prefix = _NOT_DNS.sub("-", readable)[:room].strip("-")
    return f"{NAME_PREFIX}-{prefix}-{digest}" if prefix else f"{NAME_PREFIX}-{digest}"


def instance_selector(instance: str) -> str:
    """The label selector of every object one Gnomon instance creates."""
    return f"{INSTANCE_KEY}={label_value(instance)}"


def task_selector(instance: str, task_id: str) -> str:
    """The label selector of the objects (Job, pods, Secret) of one task attempt."""
    return f"{instance_selector(instance)},{TASK_ID_KEY}={label_value(task_id)}"


def job_labels(attempt: Attempt, instance: str) -> dict[str, str]:
    return {
        TASK_ID_KEY: label_value(attempt.task_id),
        PROCESS_ID_KEY: label_value(attempt.process_id),
        DEFINITION_KEY: label_value(attempt.process_definition_name),
        TASK_KEY: label_value(attempt.task_definition_name),
        INSTANCE_KEY: label_value(instance),
        MANAGED_BY_KEY: MANAGED_BY,
    }


def job_annotations(attempt: Attempt, instance: str) -> dict[str, str]:
    """The exact values behind the (possibly shortened) labels."""
    return {
        TASK_ID_KEY: attempt.task_id,
        PROCESS_ID_KEY: attempt.process_id,
        DEFINITION_KEY: attempt.process_definition_name,
        TASK_KEY: attempt.task_definition_name,
        ATTEMPT_KEY: str(attempt.previous_attempts),
        INSTANCE_KEY: instance,
    }


def container_command(attempt: Attempt) -> ContainerCommand:
    """The container executable of `attempt`; ValueError for a kind this backend cannot run."""
    member = attempt.executable.member
    if not isinstance(member, DockerImageCommand | BatchImageCommand):
        raise ValueError(f"the kubernetes executor cannot run {attempt.executable.kind}")
    return member


def image_reference(image: str, tag: str) -> str:
    """`image:tag`, unless `image` already names a tag or a digest."""
    if "@" in image or ":" in image.rsplit("/", 1)[-1]:
        return image
    return f"{image}:{tag}"


def build_resources(command: ContainerCommand) -> dict[str, dict[str, str]]:
    """Limits (and equal requests) from `memory` in MB and `cpu` (ECS units) or `vCpus`."""
    quantities: dict[str, str] = {}
    if command.memory is not None:
        quantities["memory"] = f"{command.memory}Mi"
    if isinstance(command, BatchImageCommand):
        quantities["cpu"] = str(command.v_cpus)
    elif command.cpu is not None:
        quantities["cpu"] = f"{max(1, round(command.cpu * 1000 / 1024))}m"
    if not quantities:
        return {}
    return {"limits": dict(quantities), "requests": dict(quantities)}


def secret_references(variables: list[EnvironmentVariable]) -> dict[str, dict[str, str]]:
    """The `secretKeyRef` of each variable whose value is a Kubernetes Secret's key.

    Raises:
        SecretUnavailableError: a variable names a file or an environment variable of Gnomon's
            host, which a pod cannot see (see `gnomon.runner.environment`).
    """
    references: dict[str, dict[str, str]] = {}
    for variable in variables:
        source = variable.value_from
        if source is None:
            continue
        if source.secret_key_ref is None:
            raise SecretUnavailableError(
                f"environment variable {variable.variable_name}: {describe(source)} names Gnomon's "
                "host, which the kubernetes executor's pods cannot read; use secret_key_ref"
            )
        references[variable.variable_name] = source.secret_key_ref.model_dump()
    return references


def build_environment(
    attempt: Attempt, settings: Settings, secret_name: str
) -> list[dict[str, Any]]:
    """The container's `env`: the token comes from the attempt's Secret, the user's secrets from
    theirs (`secretKeyRef`, so their values never appear in the Job), the rest are values;
    Gnomon's own variables win over the user's."""
    command = container_command(attempt)
    references = secret_references(command.environment_variables)
    entries: dict[str, dict[str, Any]] = {}
    for variable in command.environment_variables:
        name = variable.variable_name
        if name in references:
            entries[name] = {"name": name, "valueFrom": {"secretKeyRef": references[name]}}
        else:
            entries[name] = {"name": name, "value": variable.value or ""}
    for name, value in attempt_environment(attempt, settings.pod_callback_url(), {}).items():
        if name == TOKEN_VARIABLE:
            reference = {"name": secret_name, "key": TOKEN_KEY}
            entries[name] = {"name": name, "valueFrom": {"secretKeyRef": reference}}
        else:
            entries[name] = {"name": name, "value": value}
    return list(entries.values())


def build_container(attempt: Attempt, settings: Settings, secret_name: str) -> dict[str, Any]:
    """The one container of the pod. Sundial's `command` replaces the image's CMD, not its
    ENTRYPOINT (as on Docker and ECS), so it becomes the container's `args`."""
    command = container_command(attempt)
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": image_reference(command.image, command.tag),
        "imagePullPolicy": PULL_POLICIES[settings.pull_policy],
        "env": build_environment(attempt, settings, secret_name),
    }
    if command.command:
        container["args"] = list(command.command)
    resources = build_resources(command)
    if resources:
        container["resources"] = resources
    return container


def build_job_manifest(attempt: Attempt, settings: Settings, *, instance: str) -> dict[str, Any]:
    """The batch/v1 Job of one attempt: one pod, never retried by Kubernetes (Gnomon retries
    with a new attempt), bounded by `max_runtime_seconds`, removed `ttlSecondsAfterFinished`
    after it ends. The pod runs as `kubernetes_service_account` (else the namespace's default)
    and gets that account's token only when the command sets `mount_service_account_token`."""
    name = job_name(attempt)
    metadata = {
        "labels": job_labels(attempt, instance),
        "annotations": job_annotations(attempt, instance),
    }
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        # No Kubernetes API credentials in a task's pod unless its definition asks for them.
        "automountServiceAccountToken": bool(
            container_command(attempt).mount_service_account_token
        ),
        "terminationGracePeriodSeconds": math.ceil(settings.kill_grace_seconds),
        "containers": [build_container(attempt, settings, name)],
    }
    if settings.kubernetes_service_account:
        pod_spec["serviceAccountName"] = settings.kubernetes_service_account
    spec: dict[str, Any] = {
        "backoffLimit": 0,
        "ttlSecondsAfterFinished": settings.kubernetes_job_ttl_seconds,
        "template": {"metadata": metadata, "spec": pod_spec},
    }
    if attempt.max_runtime_seconds is not None:
        spec["activeDeadlineSeconds"] = attempt.max_runtime_seconds
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": settings.kubernetes_namespace, **metadata},
        "spec": spec,
    }


def build_token_secret_manifest(
    attempt: Attempt, settings: Settings, *, instance: str, job_uid: str
) -> dict[str, Any]:
    """The Secret holding the attempt's callback token, named like its Job and owned by it, so
    Kubernetes' garbage collector deletes it with the Job; the token never appears in the Job."""
    name = job_name(attempt)
    owner = {"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": job_uid}
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": settings.kubernetes_namespace,
        "labels": job_labels(attempt, instance),
        "annotations": job_annotations(attempt, instance),
        "ownerReferences": [owner],
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "stringData": {TOKEN_KEY: attempt.token},
    }
