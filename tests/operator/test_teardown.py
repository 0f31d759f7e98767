"""`gnomon teardown` against a real API server: after it, deleting a ProcessDefinition completes
without an operator, this instance's task Jobs and Secrets are gone and other instances' stay; and
it removes the finalizer only once the operator's pods are gone, since a running operator (real
kopf here) puts it back. The test plays the Deployment controller (the server has none)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from kubernetes import client

from gnomon.settings import Settings
from gnomon.teardown import teardown
from tests.kubernetes.conftest import CHART, find_helm, run_helm, skip_or_fail
from tests.operator.conftest import StartOperator, make_namespace
from tests.operator.kube import FINALIZER, GROUP, PLURAL, VERSION, Kube, manifest, wait_for
from tests.samples import docker_task

pytestmark = pytest.mark.kubernetes

OTHER_FINALIZER = "example.com/keep"
SPEC = {"task_definitions": [docker_task("only")]}


def _definition(kube: Kube, name: str, finalizers: list[str]) -> None:
    body = manifest(name, SPEC)
    body["metadata"]["finalizers"] = finalizers
    kube.objects.create_namespaced_custom_object(GROUP, VERSION, kube.namespace, PLURAL, body)


def _finalizers(kube: Kube, name: str) -> list[str]:
    return list(((kube.get(name) or {}).get("metadata") or {}).get("finalizers") or [])


def _task_objects(api: client.ApiClient, namespace: str, instance: str, name: str) -> None:
    """A task Job and its token Secret as the executor labels them."""
    labels = {"gnomon.dev/instance": instance, "gnomon.dev/task-id": name}
    container = {"name": "task", "image": "busybox"}
    job = {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "template": {
                "metadata": {"labels": labels},
                "spec": {"restartPolicy": "Never", "containers": [container]},
            }
        },
    }
    secret = {"metadata": {"name": name, "labels": labels}, "stringData": {"token": "t"}}
    batch: Any = client.BatchV1Api(api)  # typed Any: plain dicts, not the client's models
    core: Any = client.CoreV1Api(api)
    batch.create_namespaced_job(namespace, job)
    core.create_namespaced_secret(namespace, secret)


def _names(api: client.ApiClient, namespace: str) -> tuple[set[str], set[str]]:
    """The Jobs (not being deleted) and the Secrets left in `namespace`."""
    batch: Any = client.BatchV1Api(api)
    core: Any = client.CoreV1Api(api)
    jobs = batch.list_namespaced_job(namespace).items
    secrets = core.list_namespaced_secret(namespace).items
    return (
        {job.metadata.name for job in jobs if not job.metadata.deletion_timestamp},
        {s.metadata.name for s in secrets if s.metadata.labels},
    )


def _settings(namespace: str) -> Settings:
    return Settings(
        database_url="sqlite://",
        instance="mine",
        kubernetes_namespace=namespace,
        operator_namespaces=[namespace],
    )


def test_teardown_releases_definitions_and_deletes_this_instances_jobs(
    kube: Kube, kube_api: client.ApiClient
) -> None:
    namespace = kube.namespace
    _definition(kube, "plain", [FINALIZER])
    _definition(kube, "shared", [FINALIZER, OTHER_FINALIZER])
    elsewhere = Kube(kube_api, make_namespace(kube_api))  # not served: left alone
    _definition(elsewhere, "plain", [FINALIZER])
    _task_objects(kube_api, namespace, "mine", "gn-mine")
    _task_objects(kube_api, namespace, "theirs", "gn-theirs")
    said: list[str] = []

    code = teardown(_settings(namespace), stop=[], timeout=5, api_client=kube_api, say=said.append)

    assert code == 0
    assert said == [
        f"removed finalizer {FINALIZER} from 2 ProcessDefinition(s)",
        f"deleted the task Jobs and Secrets of instance mine in namespace {namespace}",
    ]
    assert _finalizers(kube, "plain") == []
    assert _finalizers(kube, "shared") == [OTHER_FINALIZER]
    assert _finalizers(elsewhere, "plain") == [FINALIZER]
    kube.delete("plain")
    assert kube.get("plain") is None  # deleted at once: nothing holds it any more
    jobs, secrets = _names(kube_api, namespace)
    assert "gn-mine" not in jobs and "gn-mine" not in secrets
    assert "gn-theirs" in jobs and "gn-theirs" in secrets

    again = teardown(_settings(namespace), stop=[], timeout=5, api_client=kube_api, say=said.append)
    assert again == 0  # repeatable


def test_a_running_operator_puts_its_finalizer_back(
    kube: Kube, kube_api: client.ApiClient, start_operator: StartOperator
) -> None:
    """Why teardown stops the operator first."""
    start_operator()
    kube.create("etl", SPEC)
    wait_for(lambda: FINALIZER in _finalizers(kube, "etl"), what="kopf's finalizer")
    teardown(_settings(kube.namespace), stop=[], timeout=5, api_client=kube_api, say=print)
    wait_for(lambda: FINALIZER in _finalizers(kube, "etl"), what="the finalizer put back")


def test_teardown_waits_for_the_operators_pods_before_removing_its_finalizer(
    kube: Kube, kube_api: client.ApiClient, start_operator: StartOperator
) -> None:
    namespace = kube.namespace
    operator = start_operator()
    kube.create("etl", SPEC)
    wait_for(lambda: FINALIZER in _finalizers(kube, "etl"), what="kopf's finalizer")
    pod = _operator_deployment(kube_api, namespace)
    said: list[str] = []
    outcome: list[int | BaseException] = []

    def run() -> None:
        try:
            settings = _settings(namespace)
            stop = [(namespace, "gnomon-operator"), (namespace, "absent")]
            outcome.append(
                teardown(settings, stop=stop, timeout=60, api_client=kube_api, say=said.append)
            )
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    apps: Any = client.AppsV1Api(kube_api)
    wait_for(
        lambda: apps.read_namespaced_deployment("gnomon-operator", namespace).spec.replicas == 0,
        what="the operator Deployment scaled to 0",
    )
    assert worker.is_alive() and said == []  # waiting for the pod
    assert FINALIZER in _finalizers(kube, "etl")
    # As the ReplicaSet controller and the kubelet would: the operator stops, then its pod goes.
    operator.stop()
    core: Any = client.CoreV1Api(kube_api)
    core.delete_namespaced_pod(pod, namespace, grace_period_seconds=0)
    worker.join(60)

    assert outcome == [0]
    assert said[:2] == [
        f"stopped deployment {namespace}/gnomon-operator",
        f"no deployment {namespace}/absent: nothing to stop",
    ]
    assert _finalizers(kube, "etl") == []
    kube.delete("etl")
    assert kube.get("etl") is None


def _operator_deployment(api: client.ApiClient, namespace: str) -> str:
    """A Deployment named like the chart's operator, and one running pod of it; the pod's name."""
    labels = {"app.kubernetes.io/component": "operator", "test": uuid.uuid4().hex[:8]}
    container = {"name": "operator", "image": "gnomon"}
    deployment = {
        "metadata": {"name": "gnomon-operator", "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }
    apps: Any = client.AppsV1Api(api)  # typed Any: plain dicts, not the client's models
    core: Any = client.CoreV1Api(api)
    apps.create_namespaced_deployment(namespace, deployment)
    pod = {
        "metadata": {"name": "gnomon-operator-1", "labels": labels},
        "spec": {"containers": [container]},
    }
    core.create_namespaced_pod(namespace, pod)
    return "gnomon-operator-1"


def test_the_hooks_own_rbac_is_enough_and_no_more(kube: Kube, kube_api: client.ApiClient) -> None:
    """The chart's hook ServiceAccount and RBAC, applied as rendered; teardown run as that account
    (impersonated) does every step, and the account can read no Secret or Deployment."""
    namespace = kube.namespace
    for document in _hook_rbac(namespace):
        _create(kube_api, document)
    _definition(kube, "etl", [FINALIZER])
    _task_objects(kube_api, namespace, "mine", "gn-mine")
    _task_objects(kube_api, namespace, "theirs", "gn-theirs")
    for name in ("gnomon-operator", "gnomon-scheduler", "unrelated"):
        _deployment(kube_api, namespace, name)
    hook = _as_hook(kube_api, namespace)
    stop = [(namespace, "gnomon-operator"), (namespace, "gnomon-scheduler")]
    try:
        assert teardown(_settings(namespace), stop=stop, timeout=5, api_client=hook, say=print) == 0
        apps: Any = client.AppsV1Api(hook)
        core: Any = client.CoreV1Api(hook)
        forbidden: list[Callable[[], object]] = [
            lambda: core.list_namespaced_secret(namespace),
            lambda: apps.read_namespaced_deployment("gnomon-operator", namespace),
            lambda: apps.patch_namespaced_deployment_scale(
                "unrelated", namespace, {"spec": {"replicas": 0}}
            ),
        ]
        for call in forbidden:
            with pytest.raises(client.ApiException) as refused:
                call()
            assert refused.value.status == 403
    finally:
        hook.close()
    assert _finalizers(kube, "etl") == []
    jobs, secrets = _names(kube_api, namespace)
    assert "gn-mine" not in jobs | secrets and {"gn-theirs"} <= jobs & secrets
    admin: Any = client.AppsV1Api(kube_api)
    assert admin.read_namespaced_deployment("gnomon-operator", namespace).spec.replicas == 0
    assert admin.read_namespaced_deployment("unrelated", namespace).spec.replicas == 1


def _hook_rbac(namespace: str) -> list[dict[str, Any]]:
    """The chart's hook ServiceAccount, Roles and RoleBindings for a release in `namespace`
    serving only that namespace (a cluster-wide ClusterRole would reach other tests' objects)."""
    helm = find_helm()
    if helm is None:
        skip_or_fail("helm not found (see tests/kubernetes/conftest.py)")
    out = run_helm(
        helm,
        "template",
        "gnomon",
        str(CHART),
        "--namespace",
        namespace,
        "--set",
        f"watchNamespaces={{{namespace}}}",
        "--show-only",
        "templates/uninstall.yaml",
    )
    return [doc for doc in yaml.safe_load_all(out) if doc and doc["kind"] != "Job"]


def _create(api: client.ApiClient, document: dict[str, Any]) -> None:
    namespace = document["metadata"]["namespace"]
    core: Any = client.CoreV1Api(api)
    rbac: Any = client.RbacAuthorizationV1Api(api)
    create = {
        "ServiceAccount": core.create_namespaced_service_account,
        "Role": rbac.create_namespaced_role,
        "RoleBinding": rbac.create_namespaced_role_binding,
    }[document["kind"]]
    create(namespace, document)


def _as_hook(admin: client.ApiClient, namespace: str) -> Any:
    """A client that acts as the hook's ServiceAccount (the admin may impersonate); typed Any:
    the client's ApiClient methods carry no type hints."""
    api: Any = client.ApiClient(admin.configuration)
    user = f"system:serviceaccount:{namespace}:gnomon-uninstall"
    api.set_default_header("Impersonate-User", user)
    return api


def _deployment(api: client.ApiClient, namespace: str, name: str) -> None:
    labels = {"app": name}
    deployment = {
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "gnomon"}]},
            },
        },
    }
    apps: Any = client.AppsV1Api(api)
    apps.create_namespaced_deployment(namespace, deployment)
