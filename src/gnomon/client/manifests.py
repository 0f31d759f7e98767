"""Definitions from files: `ProcessDefinition` manifests (the same YAML `kubectl apply` takes) or
Sundial `process_definition` JSON bodies, one or many per file.

A file that holds no usable definition raises `ManifestError` (`gnomon.domain.manifests`, which
also owns the manifest's shape), its message saying which document and why."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from gnomon.domain import ManifestError, body_from_manifest


def load_definitions(text: str, source: str) -> list[dict[str, Any]]:
    """Sundial bodies (with `process_definition_name`) for every document in `text`."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ManifestError(f"{source}: not valid YAML or JSON: {exc}") from None
    bodies = [body for index, doc in enumerate(documents) for body in _bodies(doc, source, index)]
    if not bodies:
        raise ManifestError(f"{source}: no process definitions found")
    return bodies


def _bodies(document: Any, source: str, index: int) -> Iterator[dict[str, Any]]:
    where = f"{source} (document {index + 1})"
    if isinstance(document, list):
        for item in document:
            yield from _bodies(item, source, index)
        return
    if not isinstance(document, dict):
        raise ManifestError(f"{where}: expected a mapping, got {type(document).__name__}")
    if document.get("kind") == "List":
        for item in document.get("items") or []:
            yield from _bodies(item, source, index)
        return
    if "process_definition_name" in document:
        yield document
        return
    yield _from_manifest(document, where)


def _from_manifest(document: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        return body_from_manifest(document)
    except ManifestError as exc:
        raise ManifestError(f"{where}: {exc}") from None
