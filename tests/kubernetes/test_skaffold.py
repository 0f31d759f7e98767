"""skaffold.yaml: the development loop builds the image the chart deploys and applies the CRDs
before the release."""

from __future__ import annotations

from tests.kubernetes.conftest import CHART, REPO_ROOT, load_yaml


def test_skaffold_builds_the_image_the_chart_deploys() -> None:
    config = load_yaml(REPO_ROOT / "skaffold.yaml")
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
