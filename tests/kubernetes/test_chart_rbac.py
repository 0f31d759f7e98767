"""The chart's RBAC as rendered: cluster-wide by default, per namespace with watchNamespaces,
and the operator's peering objects and rights only when peering is on."""

from __future__ import annotations

import json

import pytest

from tests.kubernetes.conftest import NAMESPACE, Render
from tests.kubernetes.manifests import (
    VALUE_SETS,
    by_kind,
    env_of,
    named,
    rules_of,
    without_uninstall_hook,
)

DEFINITION_RULES = {
    *{("gnomon.dev", "processdefinitions", v) for v in ("get", "list", "watch", "patch", "update")},
    *{("gnomon.dev", "processdefinitions/status", v) for v in ("get", "patch", "update")},
    *{(g, "events", v) for g in ("", "events.k8s.io") for v in ("create", "patch")},
}
PEERING_VERBS = ("get", "list", "watch", "patch")
CLUSTER_PEERING_RULES = {("kopf.dev", "clusterkopfpeerings", v) for v in PEERING_VERBS}
PEERING_RULES = {("kopf.dev", "kopfpeerings", v) for v in PEERING_VERBS}
JOB_RULES = {
    *{("batch", "jobs", v) for v in ("get", "list", "watch", "create", "delete")},
    *{("", "pods", v) for v in ("get", "list", "watch")},
    ("", "pods/log", "get"),
    *{("", "secrets", v) for v in ("list", "create", "delete")},
}


@pytest.mark.helm
def test_rbac_is_cluster_wide_by_default(render: Render) -> None:
    manifests = without_uninstall_hook(render())
    (cluster_role,) = by_kind(manifests, "ClusterRole")
    (binding,) = by_kind(manifests, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == cluster_role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "gnomon", "namespace": NAMESPACE}
    ]
    assert rules_of(cluster_role) == DEFINITION_RULES | CLUSTER_PEERING_RULES
    (jobs_role,) = by_kind(manifests, "Role")
    assert jobs_role["metadata"]["namespace"] == NAMESPACE
    assert rules_of(jobs_role) == JOB_RULES


@pytest.mark.helm
def test_rbac_is_per_namespace_with_watch_namespaces(render: Render) -> None:
    manifests = without_uninstall_hook(render(*VALUE_SETS["watch-namespaces"]))
    assert not by_kind(manifests, "ClusterRole") and not by_kind(manifests, "ClusterRoleBinding")
    roles = {
        (r["metadata"]["namespace"], r["metadata"]["name"]): r for r in by_kind(manifests, "Role")
    }
    assert set(roles) == {
        ("a", "gnomon-definitions"),
        ("b", "gnomon-definitions"),
        (NAMESPACE, "gnomon-jobs"),
    }
    for (namespace, name), role in roles.items():
        expected = JOB_RULES if name == "gnomon-jobs" else DEFINITION_RULES | PEERING_RULES
        assert rules_of(role) == expected
        (binding,) = [
            b
            for b in by_kind(manifests, "RoleBinding")
            if b["metadata"]["namespace"] == namespace and b["roleRef"]["name"] == name
        ]
        assert binding["subjects"][0]["namespace"] == NAMESPACE
    operator = named(manifests, "Deployment", "gnomon-operator")["spec"]["template"]["spec"]
    assert json.loads(env_of(operator["containers"][0])["GNOMON_OPERATOR_NAMESPACES"]) == ["a", "b"]
    peerings = {
        (p["metadata"]["namespace"], p["metadata"]["name"])
        for p in by_kind(manifests, "KopfPeering")
    }
    assert peerings == {("a", "gnomon-gnomon"), ("b", "gnomon-gnomon")}
    assert not by_kind(manifests, "ClusterKopfPeering")


@pytest.mark.helm
def test_standalone_operator_has_one_replica_and_no_peering(render: Render) -> None:
    manifests = without_uninstall_hook(render(*VALUE_SETS["standalone-operator"]))
    operator = named(manifests, "Deployment", "gnomon-operator")
    assert operator["spec"]["replicas"] == 1
    assert operator["spec"]["strategy"] == {"type": "Recreate"}
    assert (
        env_of(operator["spec"]["template"]["spec"]["containers"][0])["GNOMON_OPERATOR_PEERING"]
        == ""
    )
    assert not by_kind(manifests, "ClusterKopfPeering") and not by_kind(manifests, "KopfPeering")
    (cluster_role,) = by_kind(manifests, "ClusterRole")
    assert rules_of(cluster_role) == DEFINITION_RULES
