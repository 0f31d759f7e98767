"""The Kubernetes backend: each attempt is one batch/v1 Job (see `runner` for why it is built
the way it is)."""

from gnomon.runner.kubernetes.errors import (
    KubernetesAlreadyExistsError,
    KubernetesConfigError,
    KubernetesConflictError,
    KubernetesError,
    KubernetesNotFoundError,
    map_k8s_errors,
)
from gnomon.runner.kubernetes.runner import KubernetesRunner, make_api_client
from gnomon.runner.kubernetes.teardown import (
    delete_task_objects,
    remove_finalizer,
    stop_deployment,
)

__all__ = [
    "KubernetesAlreadyExistsError",
    "KubernetesConfigError",
    "KubernetesConflictError",
    "KubernetesError",
    "KubernetesNotFoundError",
    "KubernetesRunner",
    "delete_task_objects",
    "make_api_client",
    "map_k8s_errors",
    "remove_finalizer",
    "stop_deployment",
]
