"""Kubernetes structural schemas (a CRD's openAPIV3Schema) as plain JSON Schema, so that custom
resources can be validated with jsonschema and defaulted as the API server would."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import jsonschema

JsonSchema = dict[str, Any]


def to_json_schema(node: JsonSchema) -> JsonSchema:
    """A Kubernetes structural schema as plain JSON Schema.

    `x-kubernetes-*` keys are dropped; `nullable` and `x-kubernetes-int-or-string` become JSON
    Schema types. An object with `properties` gets `additionalProperties: false` unless it keeps
    unknown fields: the API server prunes them and kubectl's strict field validation rejects them,
    and rejecting them here is what catches a misspelt field in an example.
    """
    out: JsonSchema = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-") or key == "nullable":
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = to_json_schema(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(sub) for sub in value]
        else:
            out[key] = copy.deepcopy(value)
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if (
        "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def validator_for(schema: JsonSchema) -> jsonschema.Draft202012Validator:
    """A validator of whole objects. apiVersion, kind and metadata are implicit at the root of
    every CRD's schema; metadata is ObjectMeta, which the API server checks itself."""
    schema = copy.deepcopy(schema)
    properties = schema.setdefault("properties", {})
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    properties.setdefault("metadata", {"type": "object"})
    properties["metadata"].pop("additionalProperties", None)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def apply_defaults(schema: JsonSchema, value: Any) -> Any:
    """`value` with the schema's defaults filled in, as the API server does before validating."""
    if isinstance(value, dict) and "properties" in schema:
        properties: dict[str, JsonSchema] = schema["properties"]
        result = {
            key: apply_defaults(properties[key], item) if key in properties else item
            for key, item in value.items()
        }
        for key, sub in properties.items():
            if key not in result and "default" in sub:
                result[key] = apply_defaults(sub, copy.deepcopy(sub["default"]))
        return result
    if isinstance(value, list) and "items" in schema:
        return [apply_defaults(schema["items"], item) for item in value]
    return value


def schema_nodes(schema: JsonSchema, path: str = "") -> Iterator[tuple[str, JsonSchema]]:
    """Every subschema reachable through properties and items, with its dotted path."""
    yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from schema_nodes(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from schema_nodes(schema["items"], f"{path}[]")
