"""The OpenAPI document, made to tell the truth about errors and credentials (issue 9, #10).

Every operation declares each error status it can answer, with the one error body all errors
share; FastAPI's default 422 (validation errors are 400 here) is taken out. Statuses come in
named sets, chosen per route where the route is declared:

- every request can be refused before routing: 400 (a path or query no parameter accepts) and
  413 (a body past GNOMON_MAX_REQUEST_BYTES);
- every route that touches the store can answer 503 when the store is unavailable;
- the rest (401, 403, 404, 409) only where the route's own code raises them.

Routes that take a token use FastAPI's `HTTPBearer` with `auto_error=False`: it documents the
scheme and leaves the answers to Gnomon's own checks. Without GNOMON_API_TOKEN those routes work
without credentials too, and the document says so (an empty security requirement).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gnomon.api.errors import ErrorBody

Responses = dict[int | str, dict[str, Any]]

_DESCRIPTIONS = {
    400: "Invalid request: a parameter, path or body no operation accepts",
    401: "A bearer token is required and none was sent",
    403: "The bearer token is not valid for this operation",
    404: "The named definition, process or task does not exist",
    409: "Clashes with the stored state (a resource-owned definition, a concurrent write)",
    413: "The request body is larger than GNOMON_MAX_REQUEST_BYTES",
    503: "The store is unavailable; retry later",
}
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def errors(*statuses: int) -> Responses:
    """Response declarations for `statuses`, plus the 400 and 413 any request may get."""
    return {
        status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]}
        for status in sorted({400, 413, *statuses})
    }


def install_openapi(app: FastAPI, *, token_required: bool) -> None:
    """Replace `app.openapi` by one that post-processes FastAPI's document once."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _truthful(document, token_required=token_required)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _truthful(document: dict[str, Any], *, token_required: bool) -> dict[str, Any]:
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
            if not token_required and operation.get("security"):
                operation["security"].append({})
    schemas = document.get("components", {}).get("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    return document
