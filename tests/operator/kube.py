"""Small helpers over the official Kubernetes client for the operator tests.

They wrap the few calls the tests make on `ProcessDefinition` resources, Events and namespaces,
and `wait_for`, which polls real state (the API server, the store) until a condition holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from kubernetes import client

from tests.waiting import wait_for as wait_for  # re-exported for the tests here

GROUP = "gnomon.dev"
VERSION = "v1alpha1"
PLURAL = "processdefinitions"
FINALIZER = "gnomon.dev/operator"
DIFFBASE_ANNOTATION = "gnomon.dev/last-handled-configuration"


def manifest(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ProcessDefinition",
        "metadata": {"name": name},
        "spec": spec,
    }


@dataclass
class Kube:
    """ProcessDefinitions and Events of one namespace."""

    api: client.ApiClient
    namespace: str

    @property
    def objects(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    def create(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        result = self.objects.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, manifest(name, spec)
        )
        return cast(dict[str, Any], result)

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            result = self.objects.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name
            )
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return cast(dict[str, Any], result)

    def patch_spec(self, name: str, spec: dict[str, Any]) -> None:
        self.objects.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name, {"spec": spec}
        )

    def delete(self, name: str) -> None:
        self.objects.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)

    def status(self, name: str) -> dict[str, Any]:
        body = self.get(name) or {}
        status: dict[str, Any] = body.get("status") or {}
        return status

    def ready(self, name: str) -> dict[str, Any] | None:
        """The `Ready` condition, once the operator has written one for the current generation."""
        body = self.get(name) or {}
        status = body.get("status") or {}
        if status.get("observedGeneration") != body.get("metadata", {}).get("generation"):
            return None
        conditions = status.get("conditions") or []
        return next((c for c in conditions if c["type"] == "Ready"), None)

    def handled(self, name: str) -> dict[str, Any] | None:
        """The resource, once kopf has recorded its latest change as handled (no retry pending)."""
        body = self.get(name)
        annotations = (body or {}).get("metadata", {}).get("annotations") or {}
        return body if DIFFBASE_ANNOTATION in annotations else None

    def events(self, name: str, reason: str) -> list[Any]:
        events = client.CoreV1Api(self.api).list_namespaced_event(
            self.namespace, field_selector=f"involvedObject.name={name},reason={reason}"
        )
        return list(events.items)
