"""A definition as text to copy: Sundial's JSON and the `ProcessDefinition` manifest.

The JSON is what `GET /api/process_definitions/NAME` returns, indented; the manifest is the one
YAML that `kubectl apply` and `gnomon apply -f` both take (`domain.manifest_from_body`). A
definition a resource owns is shown as that resource, in its namespace, under its own name; any
other under its definition name. Scripts and other text of several lines are written as YAML
block literals, so a script reads as it was written.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Final

import yaml

from gnomon.domain import manifest_from_body, naming

log = logging.getLogger(__name__)

_KUBERNETES_NAME: Final = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
)
_KUBERNETES_NAME_CHARS: Final = 253


def json_text(body: dict[str, Any]) -> str:
    """The body as the REST API returns it, indented for reading."""
    return json.dumps(body, indent=2, ensure_ascii=False)


def manifest_text(body: dict[str, Any], owner: str | None) -> str:
    """The manifest of the definition `body` as YAML."""
    namespace, name = naming.owning_resource(owner) or (None, None)
    manifest = manifest_from_body(body, name=name, namespace=namespace)
    return yaml.dump(manifest, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def kubernetes_name_problem(name: str) -> str | None:
    """Why `kubectl` would refuse `name` as a resource's name, or None."""
    if len(name) > _KUBERNETES_NAME_CHARS or not _KUBERNETES_NAME.fullmatch(name):
        return (
            "kubectl needs a lowercase name of letters, digits, '-' and '.': "
            "change metadata.name before applying it to a cluster"
        )
    return None


class _Dumper(yaml.SafeDumper):
    """Safe YAML, with text of several lines as `|` blocks."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=_style(value))


def _style(value: str) -> str | None:
    """`|` for plain lines, PyYAML's choice for printable text, and double quotes (which escape
    what they must) for the rest: PyYAML writes some line breaks (U+0085) raw inside other
    styles, where a reader folds them. PyYAML quotes a block it cannot write (trailing spaces)."""
    if value.isprintable():
        return None
    if "\n" in value and all(char == "\n" or char.isprintable() for char in value):
        return "|"
    return '"'


_Dumper.add_representer(str, _text)
