"""Reading the chart's rendered manifests: the value sets it is rendered with, and lookups of
objects, pod specs, environment variables and RBAC rules in what `helm template` printed."""

from __future__ import annotations

from typing import Any

from tests.kubernetes.conftest import Manifest
from tests.kubernetes.structural import JsonSchema

# The Kubernetes release whose schemas kubernetes-validate checks manifests against.
KUBERNETES_VERSION = "1.30"

# The values the chart is linted and rendered with, by name (one test id each).
VALUE_SETS = {
    "defaults": (),
    "watch-namespaces": ("--set", "watchNamespaces={a,b}"),
    "service-monitor": ("--set", "serviceMonitor.enabled=true"),
    "existing-secret": ("--set", "existingSecret=gnomon-env", "--set", "jobs.namespace=batch"),
    "standalone-operator": (
        "--set",
        "operator.peering.enabled=false",
        "--set",
        "operator.replicas=1",
    ),
}


def without_uninstall_hook(manifests: list[Manifest]) -> list[Manifest]:
    """The manifests but the pre-delete hook's (its own ServiceAccount, RBAC and Job, checked in
    test_chart_uninstall.py), for tests about what the release runs with."""
    return [
        m
        for m in manifests
        if m["metadata"].get("labels", {}).get("app.kubernetes.io/component") != "uninstall"
    ]


def by_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [manifest for manifest in manifests if manifest["kind"] == kind]


def named(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    (found,) = [m for m in by_kind(manifests, kind) if m["metadata"]["name"] == name]
    return found


def pod_specs(manifests: list[Manifest]) -> dict[str, JsonSchema]:
    """The pod spec of every workload, by `Kind/name`."""
    return {
        f"{m['kind']}/{m['metadata']['name']}": m["spec"]["template"]["spec"]
        for m in manifests
        if m["kind"] in ("Deployment", "Job")
    }


def env_of(container: JsonSchema) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def rules_of(role: Manifest) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
