"""The Kubernetes client's errors become Gnomon's once, with the API server's own words."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import MaxRetryError

from gnomon.errors import GnomonError
from gnomon.runner.kubernetes import (
    KubernetesAlreadyExistsError,
    KubernetesConflictError,
    KubernetesError,
    KubernetesNotFoundError,
    map_k8s_errors,
)


def api_error(status: int, http_reason: str, **body: str) -> ApiException:
    error = ApiException(status=status, reason=http_reason)
    error.body = json.dumps({"kind": "Status", **body}) if body else None
    return error


def translated(error: Exception) -> KubernetesError:
    with pytest.raises(KubernetesError) as caught, map_k8s_errors():
        raise error
    assert caught.value.__cause__ is error
    return caught.value


@pytest.mark.parametrize(
    ("error", "kind", "reason"),
    [
        (api_error(404, "Not Found", reason="NotFound"), KubernetesNotFoundError, "NotFound"),
        (
            api_error(409, "Conflict", reason="AlreadyExists"),
            KubernetesAlreadyExistsError,
            "AlreadyExists",
        ),
        (api_error(409, "Conflict", reason="Conflict"), KubernetesConflictError, "Conflict"),
        (api_error(422, "Unprocessable Entity", reason="Invalid"), KubernetesError, "Invalid"),
    ],
    ids=["not-found", "already-exists", "conflict", "invalid"],
)
def test_each_status_becomes_its_own_error(
    error: ApiException, kind: type[KubernetesError], reason: str
) -> None:
    found = translated(error)
    assert type(found) is kind
    assert isinstance(found, GnomonError)
    assert found.status == error.status
    assert found.reason == reason


def test_the_message_is_the_api_servers_own() -> None:
    error = api_error(422, "Unprocessable Entity", reason="Invalid", message='Job "x" is invalid')
    assert str(translated(error)) == 'Job "x" is invalid'


def test_without_a_status_body_the_http_status_speaks() -> None:
    found = translated(api_error(503, "Service Unavailable"))
    assert (str(found), found.status, found.reason) == (
        "503 Service Unavailable",
        503,
        "Service Unavailable",
    )


def test_no_answer_at_all_is_a_kubernetes_error_without_status() -> None:
    found = translated(MaxRetryError(None, "/apis/batch/v1", "connection refused"))  # type: ignore[arg-type]
    assert found.status is None
    assert "connection refused" in str(found)


def test_other_errors_pass_through_untouched() -> None:
    with pytest.raises(KeyError), map_k8s_errors():
        raise KeyError("a bug")
