"""Kubernetes API errors, translated once, at the seam (house style, like `map_docker_errors`).

Every call the backend makes to the API server runs inside `map_k8s_errors()`, which turns the
client's `ApiException`, and the connection errors beneath it, into a `KubernetesError`. The rest
of the backend catches the subtype it means (an object that is gone, one that exists already)
instead of comparing status codes, and a reason a user sees is the API server's own message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error

from gnomon.errors import GnomonError

NOT_FOUND: Final = 404
CONFLICT: Final = 409
ALREADY_EXISTS: Final = "AlreadyExists"


class KubernetesError(GnomonError):
    """The Kubernetes API refused a request, or did not answer.

    `status` is the HTTP status (None when no answer came) and `reason` the API's word for the
    failure (`NotFound`, `AlreadyExists`, `Conflict`, `Expired`, ...) when it said one.
    """

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None):
        super().__init__(message)
        self.status = status
        self.reason = reason


class KubernetesNotFoundError(KubernetesError):
    """The object does not exist (HTTP 404)."""


class KubernetesAlreadyExistsError(KubernetesError):
    """An object of that name exists already (HTTP 409, reason `AlreadyExists`)."""


class KubernetesConflictError(KubernetesError):
    """The request clashes with the object's current state (HTTP 409, e.g. a stale version)."""


class KubernetesConfigError(KubernetesError):
    """Neither an in-cluster service account nor a usable kubeconfig was found."""


@contextmanager
def map_k8s_errors() -> Iterator[None]:
    """Translate the Kubernetes client's errors (and urllib3's and the OS's beneath it) into
    `KubernetesError`s; anything else passes through untouched."""
    try:
        yield
    except ApiException as exc:
        raise _translated(exc) from exc
    except (Urllib3Error, OSError) as exc:  # no answer: refused, timed out, dropped
        raise KubernetesError(str(exc) or type(exc).__name__) from exc


def _translated(exc: ApiException) -> KubernetesError:
    body = _status_body(exc)
    message = body.get("message") or f"{exc.status} {exc.reason}".strip()
    reason = body.get("reason") or exc.reason
    kind: type[KubernetesError] = KubernetesError
    if exc.status == NOT_FOUND:
        kind = KubernetesNotFoundError
    elif exc.status == CONFLICT:
        kind = KubernetesAlreadyExistsError if reason == ALREADY_EXISTS else KubernetesConflictError
    return kind(str(message), status=exc.status, reason=None if reason is None else str(reason))


def _status_body(exc: ApiException) -> dict[str, object]:
    """The `Status` object the API server sent with the error, or {} when there is none."""
    try:
        body = json.loads(exc.body or "")
    except (ValueError, TypeError):
        return {}
    return body if isinstance(body, dict) else {}
