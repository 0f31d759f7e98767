"""The chart as helm renders it, for every value set: `helm lint --strict` passes, and every
object is valid.

Every object is validated against Kubernetes 1.30's schemas by kubernetes-validate in strict mode; a
built-in kind it has no schema for is a failure (that is how a typo'd apiVersion shows up). Custom
kinds are validated against their CRDs.
"""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest

from tests.kubernetes.conftest import CHART, CRD_PATHS, Render, load_yaml, run_helm
from tests.kubernetes.manifests import KUBERNETES_VERSION, VALUE_SETS, by_kind, named
from tests.kubernetes.structural import to_json_schema, validator_for

# Custom resources the chart may render: kubernetes-validate has no schema for them. Those whose CRD
# is in crds/ are validated against it instead; ServiceMonitor is checked field by field in
# test_chart_workloads.py.
CUSTOM_KINDS = frozenset({"ServiceMonitor", "ClusterKopfPeering", "KopfPeering"})


def test_kubernetes_validate_is_strict() -> None:
    """Guards the tool: an unknown field and an unknown apiVersion must not pass silently."""
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "x", "image": "x", "comand": ["x"]}]},
            },
        },
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(
            {**deployment, "apiVersion": "app/v1"}, KUBERNETES_VERSION, strict=True
        )


@pytest.mark.helm
@pytest.mark.parametrize("values", list(VALUE_SETS))
def test_helm_lint_strict(values: str, helm: Path) -> None:
    run_helm(helm, "lint", "--strict", str(CHART), *VALUE_SETS[values])


@pytest.mark.helm
@pytest.mark.parametrize("values", list(VALUE_SETS))
def test_rendered_chart_is_valid_for_kubernetes_1_30(values: str, render: Render) -> None:
    manifests = render(*VALUE_SETS[values])
    crds = {
        (crd["spec"]["group"], crd["spec"]["names"]["kind"]): crd
        for crd in by_kind(manifests, "CustomResourceDefinition")
    }
    failures = []
    for manifest in manifests:
        where = f"{manifest['kind']}/{manifest['metadata']['name']}"
        if manifest["kind"] in CUSTOM_KINDS:
            crd = crds.get((manifest["apiVersion"].split("/")[0], manifest["kind"]))
            if crd is not None:
                (version,) = crd["spec"]["versions"]
                schema = to_json_schema(version["schema"]["openAPIV3Schema"])
                failures += [
                    f"{where}: {e.message}" for e in validator_for(schema).iter_errors(manifest)
                ]
            continue
        try:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError as exc:
            failures.append(f"{where}: {exc.message}")
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(part) for part in exc.path)
            failures.append(f"{where}: {path}: {exc.message}")
    assert not failures, "\n".join(failures)


@pytest.mark.helm
def test_chart_renders_every_component(render: Render) -> None:
    manifests = render()
    kinds = sorted(f"{m['kind']}/{m['metadata']['name']}" for m in manifests)
    assert kinds == [
        "ClusterKopfPeering/gnomon-gnomon",
        "ClusterRole/gnomon-gnomon-definitions",
        "ClusterRole/gnomon-gnomon-uninstall-definitions",
        "ClusterRoleBinding/gnomon-gnomon-definitions",
        "ClusterRoleBinding/gnomon-gnomon-uninstall-definitions",
        "CustomResourceDefinition/clusterkopfpeerings.kopf.dev",
        "CustomResourceDefinition/kopfpeerings.kopf.dev",
        "CustomResourceDefinition/processdefinitions.gnomon.dev",
        "Deployment/gnomon-api",
        "Deployment/gnomon-operator",
        "Deployment/gnomon-scheduler",
        "Job/gnomon-migrate",
        "Job/gnomon-uninstall",
        "Role/gnomon-jobs",
        "Role/gnomon-uninstall",
        "Role/gnomon-uninstall-jobs",
        "RoleBinding/gnomon-jobs",
        "RoleBinding/gnomon-uninstall",
        "RoleBinding/gnomon-uninstall-jobs",
        "Secret/gnomon",
        "Secret/gnomon-migrate",
        "Service/gnomon-api",
        "Service/gnomon-operator",
        "Service/gnomon-scheduler",
        "ServiceAccount/gnomon-api",
        "ServiceAccount/gnomon-migrate",
        "ServiceAccount/gnomon-operator",
        "ServiceAccount/gnomon-scheduler",
        "ServiceAccount/gnomon-tasks",
        "ServiceAccount/gnomon-uninstall",
    ]
    for path in CRD_PATHS:
        assert named(manifests, "CustomResourceDefinition", path.stem) == load_yaml(path)
