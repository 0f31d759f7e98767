"""skaffold.yaml: the development loop builds the image `docker build .` makes, deploys exactly
that image (repository, tag and digest) with the chart, and applies the CRDs before the release."""

from __future__ import annotations

from typing import Any

from tests.kubernetes.conftest import CHART, REPO_ROOT, Render, load_yaml
from tests.kubernetes.dockerfile import arg_defaults
from tests.kubernetes.manifests import pod_specs

# What skaffold puts into its templates after a build (a pushed image's repository, tag, digest).
BUILT = {
    "IMAGE_REPO_gnomon": "registry.example/team/gnomon",
    "IMAGE_TAG_gnomon": "v0.1.0-3-gabc1234",
    "IMAGE_DIGEST_gnomon": "sha256:" + "ab" * 32,
}


def skaffold() -> Any:
    return load_yaml(REPO_ROOT / "skaffold.yaml")


def test_skaffold_builds_the_image_the_chart_deploys() -> None:
    config = skaffold()
    assert config["apiVersion"].startswith("skaffold/v4")
    (artifact,) = config["build"]["artifacts"]
    assert artifact["image"] == "gnomon"
    assert artifact["docker"]["dockerfile"] == "Dockerfile"
    helm = config["deploy"]["helm"]
    (release,) = helm["releases"]
    assert (REPO_ROOT / release["chartPath"]).resolve() == CHART
    templates = release["setValueTemplates"]
    assert templates["image.repository"] == "{{.IMAGE_REPO_gnomon}}"
    assert templates["image.tag"] == "{{.IMAGE_TAG_gnomon}}@{{.IMAGE_DIGEST_gnomon}}"
    (hook,) = helm["hooks"]["before"]
    assert "apply" in hook["host"]["command"][-1] and "crds/" in hook["host"]["command"][-1]


def test_skaffold_builds_with_the_context_and_arguments_of_docker_build() -> None:
    (artifact,) = skaffold()["build"]["artifacts"]
    assert (REPO_ROOT / artifact.get("context", ".")).resolve() == REPO_ROOT
    build_args = artifact["docker"].get("buildArgs", {})
    assert build_args == arg_defaults(REPO_ROOT / "Dockerfile")
    assert set(build_args) == {"PYTHON_VERSION", "VERSION"}
    assert not artifact["docker"].get("target"), "the final stage, as docker build"


def _filled(template: str) -> str:
    for name, value in BUILT.items():
        template = template.replace("{{." + name + "}}", value)
    assert "{{" not in template, template
    return template


def test_every_pod_runs_the_image_skaffold_built(render: Render) -> None:
    (release,) = skaffold()["deploy"]["helm"]["releases"]
    values = {
        **{
            key: _filled(value)
            for key, value in release["setValueTemplates"].items()
            if key.startswith("image.")
        },
        **{key: str(value) for key, value in release.get("setValues", {}).items()},
    }
    args = [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]
    image = (
        f"{BUILT['IMAGE_REPO_gnomon']}:{BUILT['IMAGE_TAG_gnomon']}@{BUILT['IMAGE_DIGEST_gnomon']}"
    )
    pods = pod_specs(render(*args))
    assert {"Deployment/gnomon-api", "Deployment/gnomon-operator"} <= set(pods)
    for where, pod in pods.items():
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            assert container["image"] == image, where
            assert container["imagePullPolicy"] == values["image.pullPolicy"], where
