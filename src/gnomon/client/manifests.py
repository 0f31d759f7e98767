"""Definitions from files: `ProcessDefinition` manifests (the same YAML `kubectl apply` takes) or
Sundial `process_definition` JSON bodies, one or many per file.

With `check`, each definition is checked by the same rules the server applies
(`gnomon.domain.problems_in`), so `gnomon apply` refuses a file with a mistake before anything in it
is sent, naming the field the way the file spells it. Only the server knows whether it runs shell
scripts, so it alone decides that.

A file that holds no usable definition raises `ManifestError` (`gnomon.domain.manifests`, which
also owns the manifest's shape), its message saying which document and why."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from gnomon.domain import (
    ManifestError,
    ProcessDefinition,
    ProcessDefinitionSpec,
    body_from_manifest,
    problems_in,
)


def load_definitions(text: str, source: str, *, check: bool = False) -> list[dict[str, Any]]:
    """Sundial bodies (with `process_definition_name`) for every document in `text`; with `check`,
    each must also be a valid definition."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ManifestError(f"{source}: not valid YAML or JSON: {exc}") from None
    bodies = [
        body
        for index, doc in enumerate(documents)
        for body in _bodies(doc, f"{source} (document {index + 1})", check=check)
    ]
    if not bodies:
        raise ManifestError(f"{source}: no process definitions found")
    return bodies


def _bodies(document: Any, where: str, *, check: bool) -> Iterator[dict[str, Any]]:
    if isinstance(document, list):
        for item in document:
            yield from _bodies(item, where, check=check)
        return
    if not isinstance(document, dict):
        raise ManifestError(f"{where}: expected a mapping, got {type(document).__name__}")
    if document.get("kind") == "List":
        for item in document.get("items") or []:
            yield from _bodies(item, where, check=check)
        return
    if "process_definition_name" in document:
        if check:
            _check(document, ProcessDefinition, where, prefix="")
        yield document
        return
    body = _from_manifest(document, where)
    if check:
        _check(document["spec"], ProcessDefinitionSpec, where, prefix="spec")
    yield body


def _from_manifest(document: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        return body_from_manifest(document)
    except ManifestError as exc:
        raise ManifestError(f"{where}: {exc}") from None


def _check(
    body: Mapping[str, Any], model: type[ProcessDefinitionSpec], where: str, *, prefix: str
) -> None:
    problems = problems_in(body, model, allow_shell=True)
    if problems:
        lines = [f"  {_path(prefix, p.field)}: {p.message}" for p in problems]
        raise ManifestError("\n".join([f"{where}: not a valid process definition", *lines]))


def _path(prefix: str, field: str) -> str:
    return ".".join(part for part in (prefix, field) if part) or "(the document)"
