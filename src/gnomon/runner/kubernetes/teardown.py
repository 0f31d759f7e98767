"""What removing Gnomon from a cluster needs from the Kubernetes API (`gnomon teardown`).

Three steps, each safe to repeat: stop a Deployment and wait until its pods are gone, remove one
finalizer from every object of a custom resource, and delete one instance's task Jobs and token
Secrets by label. The order is the caller's: the operator must be gone before its finalizer is
removed, because kopf adds it back to any object it sees change.

Least privilege: scaling goes through the `deployments/scale` subresource (no right to change the
Deployment itself), Jobs and Secrets go with `deletecollection` by label selector (no right to list
or read Secrets).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from kubernetes import client

from gnomon.runner.kubernetes.errors import (
    KubernetesConflictError,
    KubernetesError,
    KubernetesNotFoundError,
    map_k8s_errors,
)
from gnomon.runner.kubernetes.manifests import instance_selector

log = logging.getLogger(__name__)

REQUEST_TIMEOUT: Final = 15
POLL_SECONDS: Final = 1.0
PATCH_ATTEMPTS: Final = 5
"""How often a finalizer removal that raced another write is retried."""


def stop_deployment(
    api: Any,
    namespace: str,
    name: str,
    *,
    timeout: float,
    poll_seconds: float = POLL_SECONDS,
    monotonic: Callable[[], float] = time.monotonic,
) -> bool:
    """Scales the Deployment to 0 and waits until none of its pods is left (terminating ones
    count: a stopping operator may still write). False when there is no such Deployment.

    Raises:
        KubernetesError: the API refused, or pods were still there after `timeout` seconds.
    """
    apps: Any = client.AppsV1Api(api)
    try:
        with map_k8s_errors():
            scale = apps.patch_namespaced_deployment_scale(
                name, namespace, {"spec": {"replicas": 0}}, _request_timeout=REQUEST_TIMEOUT
            )
    except KubernetesNotFoundError:
        return False
    selector = scale.status.selector if scale.status is not None else None
    if not selector:
        raise KubernetesError(f"deployment {namespace}/{name} reports no pod selector")
    core: Any = client.CoreV1Api(api)
    deadline = monotonic() + timeout
    while True:
        with map_k8s_errors():
            pods = core.list_namespaced_pod(
                namespace, label_selector=selector, _request_timeout=REQUEST_TIMEOUT
            ).items
        if not pods:
            return True
        if monotonic() >= deadline:
            raise KubernetesError(
                f"{len(pods)} pod(s) of deployment {namespace}/{name} still there after "
                f"{timeout:g} s"
            )
        log.info("waiting for %d pod(s) of deployment %s/%s to stop", len(pods), namespace, name)
        time.sleep(poll_seconds)


def remove_finalizer(
    api: Any,
    resource: tuple[str, str, str],
    finalizer: str,
    namespaces: Sequence[str],
) -> list[str]:
    """Removes `finalizer` from every object of `resource` (group, version, plural) in
    `namespaces` (empty: all namespaces); the `namespace/name` of each object it was removed from.
    Other finalizers stay."""
    objects: Any = client.CustomObjectsApi(api)
    group, version, plural = resource
    if namespaces:
        found = [item for ns in namespaces for item in _list(objects, resource, ns)]
    else:
        found = _list(objects, resource, None)
    released = []
    for item in found:
        metadata = item["metadata"]
        if finalizer in (metadata.get("finalizers") or []):
            _drop_finalizer(objects, resource, metadata["namespace"], metadata["name"], finalizer)
            released.append(f"{metadata['namespace']}/{metadata['name']}")
    return released


def delete_task_objects(api: Any, namespace: str, instance: str) -> None:
    """Deletes the instance's task Jobs (their pods in the background) and token Secrets."""
    selector = instance_selector(instance)
    batch: Any = client.BatchV1Api(api)
    core: Any = client.CoreV1Api(api)
    with map_k8s_errors():
        # Each answer lists the deleted objects, Secrets with their values: drained unread.
        _drain(
            batch.delete_collection_namespaced_job(
                namespace,
                label_selector=selector,
                propagation_policy="Background",
                _request_timeout=REQUEST_TIMEOUT,
                _preload_content=False,
            )
        )
        _drain(
            core.delete_collection_namespaced_secret(
                namespace,
                label_selector=selector,
                _request_timeout=REQUEST_TIMEOUT,
                _preload_content=False,
            )
        )


def _drain(response: Any) -> None:
    """Discard an unparsed answer and give its connection back to the pool."""
    response.drain_conn()
    response.release_conn()


def _list(objects: Any, resource: tuple[str, str, str], namespace: str | None) -> list[Any]:
    group, version, plural = resource
    with map_k8s_errors():
        if namespace is None:
            listing = objects.list_cluster_custom_object(
                group, version, plural, _request_timeout=REQUEST_TIMEOUT
            )
        else:
            listing = objects.list_namespaced_custom_object(
                group, version, namespace, plural, _request_timeout=REQUEST_TIMEOUT
            )
    return list(listing.get("items") or [])


def _drop_finalizer(
    objects: Any, resource: tuple[str, str, str], namespace: str, name: str, finalizer: str
) -> None:
    """A JSON merge patch of the finalizer list, guarded by the resourceVersion read, so a
    finalizer someone else added meanwhile is not lost; read again and retried on a conflict."""
    group, version, plural = resource
    for _ in range(PATCH_ATTEMPTS):
        try:
            with map_k8s_errors():
                current = objects.get_namespaced_custom_object(
                    group, version, namespace, plural, name, _request_timeout=REQUEST_TIMEOUT
                )
                metadata = current["metadata"]
                finalizers = metadata.get("finalizers") or []
                if finalizer not in finalizers:
                    return
                kept = [item for item in finalizers if item != finalizer]
                patch = {
                    "metadata": {"finalizers": kept, "resourceVersion": metadata["resourceVersion"]}
                }
                objects.patch_namespaced_custom_object(
                    group, version, namespace, plural, name, patch, _request_timeout=REQUEST_TIMEOUT
                )
            return
        except KubernetesNotFoundError:
            return
        except KubernetesConflictError:
            log.info("%s/%s changed while its finalizer was removed; trying again", namespace, name)
    raise KubernetesError(f"{namespace}/{name} kept changing; its finalizer {finalizer} stays")
