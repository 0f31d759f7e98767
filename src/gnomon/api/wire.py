"""JSON responses in Sundial's wire format, serialized once by pydantic (no re-validation)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from pydantic import TypeAdapter
from pydantic_core import to_json

_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def wire_response(value: Any, annotation: Any, status_code: int = 200) -> Response:
    """`value` as JSON: camelCase aliases, optional fields omitted, times with `Z`."""
    adapter = _ADAPTERS.get(annotation)
    if adapter is None:
        adapter = _ADAPTERS[annotation] = TypeAdapter(annotation)
    body = adapter.dump_json(value, by_alias=True, exclude_none=True)
    return Response(body, status_code=status_code, media_type="application/json")


def document_response(documents: Any) -> Response:
    """Values already in wire shape (the store's run documents) as JSON, by the same encoder
    as `wire_response`, so the bytes match those of the models they stand for."""
    return Response(to_json(documents), media_type="application/json")
