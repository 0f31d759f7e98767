"""The chart's ServiceAccounts and RBAC as rendered: one account per component, the operator's
rights cluster-wide by default and per namespace with watchNamespaces, its peering objects and
rights only when peering is on, the scheduler's in the jobs' namespace. test_chart_rbac_access.py
asks the API server what each account may do."""

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
    *{("", "secrets", v) for v in ("create", "delete")},
}
SUBJECTS = {
    component: [{"kind": "ServiceAccount", "name": f"gnomon-{component}", "namespace": NAMESPACE}]
    for component in ("operator", "scheduler")
}


@pytest.mark.helm
def test_rbac_is_cluster_wide_by_default(render: Render) -> None:
    manifests = without_uninstall_hook(render())
    (cluster_role,) = by_kind(manifests, "ClusterRole")
    (binding,) = by_kind(manifests, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == cluster_role["metadata"]["name"]
    assert binding["subjects"] == SUBJECTS["operator"]
    assert rules_of(cluster_role) == DEFINITION_RULES | CLUSTER_PEERING_RULES
    (jobs_role,) = by_kind(manifests, "Role")
    assert jobs_role["metadata"]["namespace"] == NAMESPACE
    assert rules_of(jobs_role) == JOB_RULES
    (jobs_binding,) = by_kind(manifests, "RoleBinding")
    assert jobs_binding["subjects"] == SUBJECTS["scheduler"]


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
        assert binding["subjects"] == SUBJECTS["scheduler" if name == "gnomon-jobs" else "operator"]
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


@pytest.mark.helm
def test_each_component_has_its_own_service_account(render: Render) -> None:
    accounts = {
        account["metadata"]["name"]: account
        for account in by_kind(without_uninstall_hook(render()), "ServiceAccount")
    }
    assert set(accounts) == {
        f"gnomon-{c}" for c in ("api", "scheduler", "operator", "migrate", "tasks")
    }
    assert {
        name for name, a in accounts.items() if a.get("automountServiceAccountToken") is False
    } == {
        "gnomon-api",
        "gnomon-migrate",
        "gnomon-tasks",
    }
    assert all(a["metadata"]["namespace"] == NAMESPACE for a in accounts.values())
    # A hook runs before the release's objects exist: the migration's account is a hook too.
    hook = accounts["gnomon-migrate"]["metadata"]["annotations"]
    assert hook["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(hook["helm.sh/hook-weight"]) < 0


@pytest.mark.helm
def test_task_pods_account_and_scheduler_rights_follow_the_jobs_namespace(render: Render) -> None:
    manifests = without_uninstall_hook(render("--set", "jobs.namespace=batch"))
    tasks = named(manifests, "ServiceAccount", "gnomon-tasks")
    assert tasks["metadata"]["namespace"] == "batch"
    (jobs_role,) = by_kind(manifests, "Role")
    (jobs_binding,) = by_kind(manifests, "RoleBinding")
    assert jobs_role["metadata"]["namespace"] == jobs_binding["metadata"]["namespace"] == "batch"
    assert jobs_binding["subjects"] == SUBJECTS["scheduler"]
    scheduler = named(manifests, "Deployment", "gnomon-scheduler")["spec"]["template"]["spec"]
    env = env_of(scheduler["containers"][0])
    assert (env["GNOMON_KUBERNETES_NAMESPACE"], env["GNOMON_KUBERNETES_SERVICE_ACCOUNT"]) == (
        "batch",
        "gnomon-tasks",
    )


@pytest.mark.helm
def test_service_accounts_can_be_named_or_brought_along(render: Render) -> None:
    manifests = without_uninstall_hook(
        render(
            *(
                "--set",
                "serviceAccount.tasks.create=false",
                "--set",
                "serviceAccount.tasks.name=runner",
            ),
            *("--set", "serviceAccount.scheduler.name=sched"),
        )
    )
    names = {account["metadata"]["name"] for account in by_kind(manifests, "ServiceAccount")}
    assert "runner" not in names and "sched" in names
    scheduler = named(manifests, "Deployment", "gnomon-scheduler")["spec"]["template"]["spec"]
    assert scheduler["serviceAccountName"] == "sched"
    assert env_of(scheduler["containers"][0])["GNOMON_KUBERNETES_SERVICE_ACCOUNT"] == "runner"
    (jobs_binding,) = by_kind(manifests, "RoleBinding")
    assert jobs_binding["subjects"][0]["name"] == "sched"
