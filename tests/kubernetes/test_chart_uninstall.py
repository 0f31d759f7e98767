"""The chart's pre-delete hook as rendered: a Job running `gnomon teardown` after its own
ServiceAccount and RBAC (lower hook weight), all deleted once the hooks succeeded, with only the
rights teardown needs. Its rights are tried on a real API server in
tests/operator/test_teardown.py."""

from __future__ import annotations

import pytest

from tests.kubernetes.conftest import NAMESPACE, Manifest, Render
from tests.kubernetes.manifests import VALUE_SETS, by_kind, env_of, named, rules_of

HOOK = "pre-delete"
DELETE_POLICY = "before-hook-creation,hook-succeeded"
RELEASE_RULES = {
    ("apps", "deployments/scale", "patch"),
    ("", "pods", "list"),
}
JOB_RULES = {("batch", "jobs", "deletecollection"), ("", "secrets", "deletecollection")}
DEFINITION_RULES = {("gnomon.dev", "processdefinitions", v) for v in ("get", "list", "patch")}


def hook_objects(manifests: list[Manifest]) -> list[Manifest]:
    return [
        m
        for m in manifests
        if m["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "uninstall"
    ]


@pytest.mark.helm
def test_every_hook_object_is_a_pre_delete_hook_and_rbac_comes_first(render: Render) -> None:
    objects = hook_objects(render())
    assert {m["kind"] for m in objects} == {
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "Job",
    }
    for manifest in objects:
        annotations = manifest["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == HOOK
        assert annotations["helm.sh/hook-delete-policy"] == DELETE_POLICY
        weight = "0" if manifest["kind"] == "Job" else "-10"
        assert annotations["helm.sh/hook-weight"] == weight, manifest["metadata"]["name"]


@pytest.mark.helm
def test_the_hook_job_stops_the_operator_and_scheduler_then_tears_down(render: Render) -> None:
    job = named(render(), "Job", "gnomon-uninstall")
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "gnomon-uninstall"
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert [*container["command"], *container["args"]] == [
        "gnomon",
        "teardown",
        f"--stop={NAMESPACE}/gnomon-operator",
        f"--stop={NAMESPACE}/gnomon-scheduler",
        "--timeout=300",
    ]
    env = env_of(container)
    assert env["GNOMON_OPERATOR_NAMESPACES"] == "[]"
    assert env["GNOMON_KUBERNETES_NAMESPACE"] == NAMESPACE
    assert container["envFrom"] == [{"secretRef": {"name": "gnomon"}}]
    assert job["spec"]["activeDeadlineSeconds"] > 300  # room for the wait, then the steps


@pytest.mark.helm
def test_hook_rbac_is_least_privilege_cluster_wide(render: Render) -> None:
    objects = hook_objects(render())
    roles = {
        (r["metadata"]["namespace"], r["metadata"]["name"]): r for r in by_kind(objects, "Role")
    }
    assert set(roles) == {(NAMESPACE, "gnomon-uninstall"), (NAMESPACE, "gnomon-uninstall-jobs")}
    release_role = roles[(NAMESPACE, "gnomon-uninstall")]
    assert rules_of(release_role) == RELEASE_RULES
    (scale,) = [r for r in release_role["rules"] if r["resources"] == ["deployments/scale"]]
    assert scale["resourceNames"] == ["gnomon-operator", "gnomon-scheduler"]
    assert rules_of(roles[(NAMESPACE, "gnomon-uninstall-jobs")]) == JOB_RULES
    (cluster_role,) = by_kind(objects, "ClusterRole")
    assert rules_of(cluster_role) == DEFINITION_RULES
    bindings = by_kind(objects, "RoleBinding") + by_kind(objects, "ClusterRoleBinding")
    assert len(bindings) == 3
    for binding in bindings:
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "gnomon-uninstall", "namespace": NAMESPACE}
        ]


@pytest.mark.helm
def test_hook_rbac_follows_watch_and_job_namespaces(render: Render) -> None:
    objects = hook_objects(render(*VALUE_SETS["watch-namespaces"], "--set", "jobs.namespace=batch"))
    assert not by_kind(objects, "ClusterRole") and not by_kind(objects, "ClusterRoleBinding")
    roles = {
        (r["metadata"]["namespace"], r["metadata"]["name"]): r for r in by_kind(objects, "Role")
    }
    assert set(roles) == {
        (NAMESPACE, "gnomon-uninstall"),
        ("batch", "gnomon-uninstall-jobs"),
        ("a", "gnomon-uninstall-definitions"),
        ("b", "gnomon-uninstall-definitions"),
    }
    for (namespace, name), role in roles.items():
        if name.endswith("-definitions"):
            assert rules_of(role) == DEFINITION_RULES
        (binding,) = [
            b
            for b in by_kind(objects, "RoleBinding")
            if (b["metadata"]["namespace"], b["roleRef"]["name"]) == (namespace, name)
        ]
        assert binding["subjects"][0]["name"] == "gnomon-uninstall"
    job = named(objects, "Job", "gnomon-uninstall")
    env = env_of(job["spec"]["template"]["spec"]["containers"][0])
    assert (env["GNOMON_OPERATOR_NAMESPACES"], env["GNOMON_KUBERNETES_NAMESPACE"]) == (
        '["a","b"]',
        "batch",
    )


@pytest.mark.helm
def test_the_hook_can_be_turned_off(render: Render) -> None:
    assert hook_objects(render("--set", "uninstall.enabled=false")) == []
