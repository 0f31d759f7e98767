"""Definitions from files: `ProcessDefinition` manifests (the same YAML `kubectl apply` takes) or
Sundial `process_definition` JSON bodies, one or many per file; and which files a directory given
to `gnomon apply -f` stands for, as kubectl picks them.

Each definition is checked by the server, with the rules of `gnomon.domain` that the operator
uses too; `gnomon apply` reports a refusal once and applies the rest, as kubectl does.

A file that holds no usable definition raises `ManifestError` (`gnomon.domain.manifests`, which
also owns the manifest's shape), its message saying which document and why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import yaml

from gnomon.domain import ManifestError, body_from_manifest

MANIFEST_SUFFIXES: Final = (".json", ".yaml", ".yml")
"""The files of a directory that `gnomon apply -f DIR` reads; kubectl reads the same."""


def manifest_files(directory: Path, *, recursive: bool) -> list[Path]:
    """The manifest files in `directory`, in name order; with `recursive`, those of its
    subdirectories too, each where its name sorts (the order in which kubectl walks a tree)."""
    found: list[Path] = []
    for entry in sorted(directory.iterdir()):
        if entry.is_dir():
            if recursive:
                found.extend(manifest_files(entry, recursive=True))
        elif entry.suffix in MANIFEST_SUFFIXES:
            found.append(entry)
    return found


def load_definitions(text: str, source: str) -> list[dict[str, Any]]:
    """Sundial bodies (with `process_definition_name`) for every document in `text`."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ManifestError(f"{source}: not valid YAML or JSON: {_yaml_problem(exc)}") from None
    bodies = [
        body
        for index, doc in enumerate(documents)
        for body in _bodies(doc, f"{source} (document {index + 1})")
    ]
    if not bodies:
        raise ManifestError(f"{source}: no process definitions found")
    return bodies


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line: where and what (PyYAML's own text spans several, quoting the source)."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return f"{where}{exc.problem}"
    return str(exc).splitlines()[0]


def _bodies(document: Any, where: str) -> Iterator[dict[str, Any]]:
    if isinstance(document, list):
        for item in document:
            yield from _bodies(item, where)
        return
    if not isinstance(document, dict):
        raise ManifestError(f"{where}: expected a mapping, got {type(document).__name__}")
    if document.get("kind") == "List":
        for item in document.get("items") or []:
            yield from _bodies(item, where)
        return
    if "process_definition_name" in document:
        if not isinstance(document["process_definition_name"], str):
            raise ManifestError(f"{where}: process_definition_name must be a string")
        yield document
        return
    body = _from_manifest(document, where)
    yield body


def _from_manifest(document: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        return body_from_manifest(document)
    except ManifestError as exc:
        raise ManifestError(f"{where}: {exc}") from None
