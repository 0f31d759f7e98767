"""A definition as a `ProcessDefinition` manifest and back: one YAML for `kubectl apply` and for
the REST API.

The resource's spec is Sundial's `process_definition` body minus its name, which is the
resource's `metadata.name` (see `crds/`), prefixed by its `metadata.namespace` if it has one,
the way the operator names it (`naming`). The `gnomon` command reads manifests into bodies
(`body_from_manifest`); the web UI shows a stored body as the manifest that would create it
(`manifest_from_body`). Both are here, so the two cannot drift apart. No YAML here: these are
the plain mappings either side turns into text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from gnomon.domain.naming import definition_name
from gnomon.errors import GnomonError

MANIFEST_API_VERSION: Final = "gnomon.dev/v1alpha1"
MANIFEST_KIND: Final = "ProcessDefinition"
_NAME: Final = "process_definition_name"
_NAMESPACE: Final = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
"""A Kubernetes namespace: a DNS label, so it never holds the dot `naming` splits on."""
_READ_ONLY: Final = ("scheduling_error",)
"""Body fields the store sets; a spec that holds them is refused by the resource's schema."""


class ManifestError(GnomonError, ValueError):
    """A document that is not a usable `ProcessDefinition` manifest; the message says why."""


def body_from_manifest(document: Mapping[str, Any]) -> dict[str, Any]:
    """The Sundial body (with `process_definition_name`) a manifest stands for.

    Raises:
        ManifestError: not a `ProcessDefinition` of this API version, no name or spec, or a
            namespace that is not a Kubernetes namespace.
    """
    if document.get("kind") != MANIFEST_KIND:
        raise ManifestError(f"kind {document.get('kind')!r} is not {MANIFEST_KIND}")
    if document.get("apiVersion") != MANIFEST_API_VERSION:
        raise ManifestError(f"apiVersion must be {MANIFEST_API_VERSION}")
    metadata = document.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise ManifestError("metadata must be a mapping")
    name = metadata.get("name")
    if not name:
        raise ManifestError("metadata.name is missing")
    if not isinstance(name, str):
        raise ManifestError("metadata.name must be a string")
    namespace = metadata.get("namespace")
    if namespace is not None:
        name = _namespaced(namespace, name)
    spec = document.get("spec")
    if not isinstance(spec, dict):
        raise ManifestError("spec is missing")
    return {_NAME: name, **spec}


def _namespaced(namespace: object, name: str) -> str:
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise ManifestError(
            f"metadata.namespace {namespace!r} is not a Kubernetes namespace"
            " (lower-case letters, digits and '-', at most 63 characters)"
        )
    return definition_name(namespace, name)


def manifest_from_body(
    body: Mapping[str, Any], *, name: str | None = None, namespace: str | None = None
) -> dict[str, Any]:
    """The manifest that creates the definition `body` (as `GET /api/process_definitions/NAME`
    returns it), named `name` (default: the definition's name), in `namespace` if given."""
    metadata: dict[str, Any] = {"name": name or body[_NAME]}
    if namespace:
        metadata["namespace"] = namespace
    spec = {key: value for key, value in body.items() if key != _NAME and key not in _READ_ONLY}
    return {
        "apiVersion": MANIFEST_API_VERSION,
        "kind": MANIFEST_KIND,
        "metadata": metadata,
        "spec": spec,
    }
