"""A job's own environment variables, with `value_from` secrets resolved when an attempt starts.

Secrets are read here and nowhere else, at the last moment: the definition (and so every read
route, the store, the CRD, Gnomon's logs) holds only the reference. Reasons given when a secret
cannot be had name the variable and the reference, never any of the secret's text.

Where a secret may come from depends on where the job runs:
- Docker and shell: a file (`file`) or an environment variable (`host_env`) of Gnomon's own host,
  read by the process that starts the attempt. `host_env` cannot name Gnomon's own settings
  (`GNOMON_*`): they hold Gnomon's secrets (API token, database URL), which jobs never get.
- Kubernetes: a `secret_key_ref`, passed to the pod as a `secretKeyRef` (see
  `gnomon.runner.kubernetes.manifests`), so the value never leaves the cluster. A file or host
  variable of the scheduler's pod is refused there: the scheduler's host is not where the job
  runs, and copying its secrets into a Job's spec would publish them to everyone who can read
  Jobs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Final

from gnomon.domain.definitions import EnvironmentSource, EnvironmentVariable
from gnomon.domain.limits import MAX_ENV_VALUE_CHARS
from gnomon.errors import GnomonError

RESERVED_HOST_PREFIX: Final = "GNOMON_"
FILE_READ_BYTES: Final = 4 * MAX_ENV_VALUE_CHARS + 2
"""Enough for the longest allowed value in any UTF-8, plus a final newline."""


class SecretUnavailableError(GnomonError):
    """A `value_from` secret could not be resolved; the message names the reference only."""


def describe(source: EnvironmentSource) -> str:
    """The reference, as a reason shows it."""
    if source.file is not None:
        return f"value_from.file {source.file}"
    if source.host_env is not None:
        return f"value_from.host_env {source.host_env}"
    ref = source.secret_key_ref
    return f"value_from.secret_key_ref {ref.name}/{ref.key}" if ref else "value_from"


def resolve_on_host(
    variables: Sequence[EnvironmentVariable], host: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The variables with their values, secrets read from this host (Docker and shell).

    Raises:
        SecretUnavailableError: a secret is missing, unreadable, too long, not text, holds a NUL
            byte, or is a `secret_key_ref` (which only the Kubernetes executor can resolve).
    """
    environment = os.environ if host is None else host
    resolved: dict[str, str] = {}
    for variable in variables:
        if variable.value_from is None:
            resolved[variable.variable_name] = variable.value or ""
            continue
        try:
            resolved[variable.variable_name] = _checked(_read(variable.value_from, environment))
        except SecretUnavailableError as exc:
            raise SecretUnavailableError(
                f"environment variable {variable.variable_name}: "
                f"{describe(variable.value_from)} {exc}"
            ) from None
    return resolved


def _read(source: EnvironmentSource, environment: Mapping[str, str]) -> str:
    if source.file is not None:
        return _read_file(source.file)
    if source.host_env is not None:
        name = source.host_env
        if name.startswith(RESERVED_HOST_PREFIX):
            raise SecretUnavailableError(
                f"is refused: Gnomon's own {RESERVED_HOST_PREFIX}* settings are not given to jobs"
            )
        if name not in environment:
            raise SecretUnavailableError("is not set in Gnomon's environment")
        return environment[name]
    raise SecretUnavailableError("needs the kubernetes executor (a Kubernetes Secret)")


def _read_file(path: str) -> str:
    try:
        with open(path, "rb") as file:
            data = file.read(FILE_READ_BYTES)
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
        raise SecretUnavailableError(f"cannot be read: {problem}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretUnavailableError("is not UTF-8 text") from None
    return text.removesuffix("\n")


def _checked(value: str) -> str:
    if "\x00" in value:
        problem = "holds a NUL byte"
    elif len(value) > MAX_ENV_VALUE_CHARS:
        problem = f"is longer than {MAX_ENV_VALUE_CHARS} characters"
    else:
        return value
    raise SecretUnavailableError(problem)
