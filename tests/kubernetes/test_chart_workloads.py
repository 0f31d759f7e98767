"""The chart's workloads as rendered: what each component runs and how (unprivileged, probed,
configured), the migration hook, the Secrets and the optional ServiceMonitor."""

from __future__ import annotations

import json

import pytest

from tests.kubernetes.conftest import NAMESPACE, Manifest, Render
from tests.kubernetes.manifests import (
    VALUE_SETS,
    by_kind,
    env_of,
    named,
    pod_specs,
    without_uninstall_hook,
)
from tests.kubernetes.structural import JsonSchema


@pytest.mark.helm
@pytest.mark.parametrize("values", list(VALUE_SETS))
def test_pods_run_as_non_root(values: str, render: Render) -> None:
    for where, pod in pod_specs(render(*VALUE_SETS[values])).items():
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True, where
        assert context["runAsUser"] == 10001, where
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["runAsNonRoot"] is True, where
            assert security["runAsUser"] == 10001, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            assert container["resources"]["requests"] and container["resources"]["limits"]
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], where


@pytest.mark.helm
def test_components_run_their_gnomon_command(render: Render) -> None:
    manifests = render()
    expected = {"api": 2, "scheduler": 1, "operator": 2}
    for component, replicas in expected.items():
        deployment = named(manifests, "Deployment", f"gnomon-{component}")
        assert deployment["spec"]["replicas"] == replicas
        template = deployment["spec"]["template"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= (
            template["metadata"]["labels"].items()
        )
        (container,) = template["spec"]["containers"]
        assert [*container["command"], *container["args"]] == ["gnomon", component]
        assert container["image"] == "gnomon:0.1.0"
        assert container["envFrom"] == [{"secretRef": {"name": "gnomon"}}]
        env = env_of(container)
        assert env["GNOMON_PUBLIC_URL"] == f"http://gnomon-api.{NAMESPACE}.svc"

    scheduler = named(manifests, "Deployment", "gnomon-scheduler")["spec"]["template"]["spec"]
    env = env_of(scheduler["containers"][0])
    assert (env["GNOMON_EXECUTOR"], env["GNOMON_KUBERNETES_NAMESPACE"]) == ("kubernetes", NAMESPACE)
    assert env["GNOMON_KUBERNETES_SERVICE_ACCOUNT"] == "gnomon-tasks"
    assert scheduler["serviceAccountName"] == "gnomon-scheduler"

    operator = named(manifests, "Deployment", "gnomon-operator")["spec"]["template"]["spec"]
    env = env_of(operator["containers"][0])
    assert json.loads(env["GNOMON_OPERATOR_NAMESPACES"]) == []
    assert env["GNOMON_OPERATOR_PEERING"] == "gnomon-gnomon"
    assert env["POD_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert operator["serviceAccountName"] == "gnomon-operator"

    # The api and the migration hook never talk to Kubernetes: accounts of their own, no token.
    api = named(manifests, "Deployment", "gnomon-api")["spec"]["template"]["spec"]
    migrate = named(manifests, "Job", "gnomon-migrate")["spec"]["template"]["spec"]
    for pod, account in ((api, "gnomon-api"), (migrate, "gnomon-migrate")):
        assert (pod["serviceAccountName"], pod["automountServiceAccountToken"]) == (account, False)


@pytest.mark.helm
def test_api_is_served_on_port_80_and_probed_like_every_component(render: Render) -> None:
    manifests = render()
    pod = named(manifests, "Deployment", "gnomon-api")["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    for probe, path in (("readinessProbe", "readyz"), ("livenessProbe", "livez")):
        assert container[probe]["httpGet"] == {"path": f"/_internal_/{path}", "port": "http"}
    service = named(manifests, "Service", "gnomon-api")
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()


@pytest.mark.helm
def test_migrations_run_as_a_hook_before_install_and_upgrade(render: Render) -> None:
    manifests = render()
    job = named(manifests, "Job", "gnomon-migrate")
    secret = named(manifests, "Secret", "gnomon-migrate")
    for hook in (job, secret):
        assert hook["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    weight = int(secret["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert weight < int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert [*container["command"], *container["args"]] == ["gnomon", "migrate"]
    assert container["envFrom"] == [{"secretRef": {"name": "gnomon-migrate"}}]
    assert set(secret["data"]) == {"GNOMON_DATABASE_URL"}


@pytest.mark.helm
def test_existing_secret_replaces_the_chart_secret(render: Render) -> None:
    manifests = render(*VALUE_SETS["existing-secret"])
    assert not by_kind(manifests, "Secret")
    for where, pod in pod_specs(manifests).items():
        assert pod["containers"][0]["envFrom"] == [{"secretRef": {"name": "gnomon-env"}}], where
    (jobs_role,) = by_kind(without_uninstall_hook(manifests), "Role")
    assert jobs_role["metadata"]["namespace"] == "batch"


@pytest.mark.helm
def test_secret_holds_the_database_url_and_a_generated_token(render: Render) -> None:
    secret = named(render(), "Secret", "gnomon")
    assert set(secret["data"]) == {"GNOMON_DATABASE_URL", "GNOMON_API_TOKEN"}
    assert len(secret["data"]["GNOMON_API_TOKEN"]) > 40


PROBED_PORT = {"api": ("http", 8080), "scheduler": ("metrics", 9090), "operator": ("metrics", 9090)}
"""The port each component serves its health and metrics on: the api's own, the others'
GNOMON_METRICS_PORT."""


def container_of(manifests: list[Manifest], component: str) -> JsonSchema:
    pod = named(manifests, "Deployment", f"gnomon-{component}")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    found: JsonSchema = container
    return found


@pytest.mark.helm
@pytest.mark.parametrize("component", ["scheduler", "operator"])
def test_scheduler_and_operator_are_probed_on_their_metrics_port(
    component: str, render: Render
) -> None:
    manifests = render("--set", "metrics.port=9191")
    container = container_of(manifests, component)
    assert container["ports"] == [{"name": "metrics", "containerPort": 9191, "protocol": "TCP"}]
    env = env_of(container)
    # The process listens where the container port says, on an address the kubelet reaches.
    assert (env["GNOMON_METRICS_PORT"], env["GNOMON_HOST"]) == ("9191", "0.0.0.0")
    assert container["livenessProbe"]["httpGet"] == {"path": "/_internal_/livez", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {
        "path": "/_internal_/readyz",
        "port": "metrics",
    }


@pytest.mark.helm
@pytest.mark.parametrize("component", list(PROBED_PORT))
def test_every_component_has_a_service_over_its_metrics(component: str, render: Render) -> None:
    manifests = render()
    port_name, number = PROBED_PORT[component]
    pod = named(manifests, "Deployment", f"gnomon-{component}")["spec"]["template"]
    service = named(manifests, "Service", f"gnomon-{component}")
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    (port,) = service["spec"]["ports"]
    assert (port["name"], port["targetPort"]) == (port_name, port_name)
    (container,) = pod["spec"]["containers"]
    assert {"name": port_name, "containerPort": number, "protocol": "TCP"} in container["ports"]
    if component != "api":
        assert service["spec"]["clusterIP"] == "None"  # addresses for scrapes, no traffic


def selects(selector: JsonSchema, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and In expressions) matches `labels`."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


@pytest.mark.helm
def test_service_monitor_is_optional(render: Render) -> None:
    assert not by_kind(render(), "ServiceMonitor")
    (monitor,) = by_kind(render(*VALUE_SETS["service-monitor"]), "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}


@pytest.mark.helm
def test_service_monitor_scrapes_all_three_components(render: Render) -> None:
    manifests = render(*VALUE_SETS["service-monitor"])
    (monitor,) = by_kind(manifests, "ServiceMonitor")
    endpoints = {e["port"]: e["path"] for e in monitor["spec"]["endpoints"]}
    scraped = {}
    for service in by_kind(manifests, "Service"):
        if not selects(monitor["spec"]["selector"], service["metadata"]["labels"]):
            continue
        for port in service["spec"]["ports"]:
            if port["name"] in endpoints:
                scraped[service["metadata"]["name"]] = (port["name"], endpoints[port["name"]])
    assert scraped == {
        "gnomon-api": ("http", "/_internal_/metrics"),
        "gnomon-scheduler": ("metrics", "/_internal_/metrics"),
        "gnomon-operator": ("metrics", "/_internal_/metrics"),
    }


CALLBACK_VALUE_SETS = {
    **VALUE_SETS,
    "renamed-on-port-8081": ("--set", "fullnameOverride=batch", "--set", "service.port=8081"),
}


def job_runners(manifests: list[Manifest]) -> list[Manifest]:
    """The containers that run tasks: `gnomon scheduler` or `gnomon serve`."""
    return [
        container
        for deployment in by_kind(manifests, "Deployment")
        for container in deployment["spec"]["template"]["spec"]["containers"]
        if {"scheduler", "serve"} & {*container.get("command", []), *container.get("args", [])}
    ]


@pytest.mark.helm
@pytest.mark.parametrize("values", list(CALLBACK_VALUE_SETS))
def test_job_pods_call_back_to_the_api_service(values: str, render: Render) -> None:
    # Without GNOMON_PUBLIC_URL the scheduler refuses to start (host.docker.internal names
    # nothing in a cluster), so the chart gives it the api Service's in-cluster name, qualified
    # by namespace because job pods may run in another one (jobs.namespace).
    manifests = render(*CALLBACK_VALUE_SETS[values])
    services = by_kind(manifests, "Service")
    (service,) = [s for s in services if s["metadata"]["name"].endswith("-api")]
    (port,) = [entry["port"] for entry in service["spec"]["ports"]]
    host = f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc"
    expected = f"http://{host}" if port == 80 else f"http://{host}:{port}"
    runners = job_runners(manifests)
    assert runners
    for container in runners:
        env = env_of(container)
        assert env["GNOMON_EXECUTOR"] == "kubernetes"
        assert env["GNOMON_PUBLIC_URL"] == expected
        names = [entry["name"] for entry in container["env"]]
        assert names.count("GNOMON_PUBLIC_URL") == 1


@pytest.mark.helm
def test_the_public_url_value_replaces_the_service_url(render: Render) -> None:
    url = "https://gnomon.example.com/"
    runners = job_runners(render("--set", f"publicUrl={url}"))
    assert runners
    assert all(env_of(container)["GNOMON_PUBLIC_URL"] == url for container in runners)
