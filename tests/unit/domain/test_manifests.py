"""A definition as a `ProcessDefinition` manifest and back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gnomon.domain import ManifestError, body_from_manifest, manifest_from_body
from tests.samples import sample_process

EXAMPLES = sorted((Path(__file__).parents[3] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_goes_to_a_body_and_back(path: Path) -> None:
    manifest = yaml.safe_load(path.read_text())
    body = body_from_manifest(manifest)
    assert body["process_definition_name"] == manifest["metadata"]["name"]
    assert manifest_from_body(body) == manifest


def test_a_body_becomes_the_manifest_of_its_resource() -> None:
    body = {**sample_process("team-a.nightly"), "scheduling_error": "set by the store"}

    manifest = manifest_from_body(body, name="nightly", namespace="team-a")

    assert manifest["apiVersion"] == "gnomon.dev/v1alpha1"
    assert manifest["kind"] == "ProcessDefinition"
    assert manifest["metadata"] == {"name": "nightly", "namespace": "team-a"}
    assert "process_definition_name" not in manifest["spec"]
    assert "scheduling_error" not in manifest["spec"]  # read-only: the CRD refuses it
    assert body_from_manifest(manifest) == sample_process("team-a.nightly")  # as the operator


def test_a_namespace_names_the_definition_as_the_operator_does() -> None:
    manifest = manifest_from_body(sample_process("x"), name="nightly.v2", namespace="team-a")

    assert body_from_manifest(manifest)["process_definition_name"] == "team-a.nightly.v2"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"kind": "Deployment"}, "kind 'Deployment' is not ProcessDefinition"),
        ({"kind": "ProcessDefinition", "apiVersion": "v1"}, "apiVersion must be"),
        (
            {"kind": "ProcessDefinition", "apiVersion": "gnomon.dev/v1alpha1", "spec": {}},
            "metadata.name is missing",
        ),
        (
            {
                "kind": "ProcessDefinition",
                "apiVersion": "gnomon.dev/v1alpha1",
                "metadata": {"name": "x"},
            },
            "spec is missing",
        ),
        (
            {
                "kind": "ProcessDefinition",
                "apiVersion": "gnomon.dev/v1alpha1",
                "metadata": {"name": "x", "namespace": "team.a"},
                "spec": {},
            },
            "metadata.namespace 'team.a' is not a Kubernetes namespace",
        ),
        (
            {
                "kind": "ProcessDefinition",
                "apiVersion": "gnomon.dev/v1alpha1",
                "metadata": {"name": "x", "namespace": ["a"]},
                "spec": {},
            },
            "metadata.namespace \\['a'\\] is not",
        ),
        (
            {
                "kind": "ProcessDefinition",
                "apiVersion": "gnomon.dev/v1alpha1",
                "metadata": "x",
                "spec": {},
            },
            "metadata must be a mapping",
        ),
    ],
)
def test_what_is_not_a_manifest_says_why(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        body_from_manifest(document)
