"""The OpenAPI document, made to tell the truth about errors and credentials (issue 9, #10).

Every operation declares each error status it can answer, with the one error body all errors
share; FastAPI's default 422 (validation errors are 400 here) is taken out. Statuses come in
named sets, chosen per route where the route is declared:

- every request can be refused before routing: 400 (a path or query no parameter accepts) and
  413 (a body past GNOMON_MAX_REQUEST_BYTES);
- every route that touches the store can answer 503 when the store is unavailable;
- the rest (401, 403, 404, 409) only where the route's own code raises them.

Links between operations (a stored definition to its reads and actions, a trigger to its runs, a
run to its tasks' callbacks) say where a response's values can be used next, for clients and for
stateful testing.

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

_DEFS = "/api/process_definitions"
_NAME = _DEFS + "/{process_definition_name}"
_PROCESS = "/api/processes/{process_id}"
_TASK = "/api/tasks/{task_id}"
_TASK_CALLBACKS = [_TASK + "/log_entries", _TASK + "/metadata", _TASK + "/succeed", _TASK + "/fail"]
_DEFINITION_ACTIONS = [("get", _NAME), ("delete", _NAME)] + [
    ("post", f"{_NAME}/{action}") for action in ("trigger", "pause", "resume")
]
Link = tuple[str, str, str, list[tuple[str, str]], dict[str, str]]
"""(method, path, status) of the response; the (method, path) operations it leads to; the
target's parameters as runtime expressions."""
_LINKS: list[Link] = [
    ("put", _NAME, "200", _DEFINITION_ACTIONS,
     {"process_definition_name": "$response.body#/process_definition_name"}),
    ("get", _DEFS + "/", "200", [("get", _NAME)],
     {"process_definition_name": "$response.body#/0/process_definition_name"}),
    ("post", _NAME + "/trigger", "204", [("get", "/api/processes/")],
     {"process_definition_name": "$request.path.process_definition_name"}),
    ("get", "/api/processes/", "200",
     [("get", _PROCESS), ("post", _PROCESS + "/kill"), ("post", _PROCESS + "/retry")],
     {"process_id": "$response.body#/0/process_id"}),
    ("post", _PROCESS + "/kill", "204", [("get", _PROCESS)],
     {"process_id": "$request.path.process_id"}),
    ("post", _PROCESS + "/retry", "204", [("get", _PROCESS)],
     {"process_id": "$request.path.process_id"}),
    ("get", _PROCESS, "200", [("post", path) for path in _TASK_CALLBACKS],
     {"task_id": "$response.body#/task/0/task_id"}),
    ("get", _PROCESS, "200", [("get", "/api/tasks/")],
     {"process_definition_name": "$response.body#/process_definition_name",
      "task_definition_name": "$response.body#/task/0/task_definition_name"}),
    ("get", "/api/tasks/", "200", [("post", path) for path in _TASK_CALLBACKS],
     {"task_id": "$response.body#/0/task_id"}),
]  # fmt: skip


def errors(*statuses: int) -> Responses:
    """Response declarations for `statuses`, plus the 400 and 413 any request may get."""
    return {
        status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]}
        for status in sorted({400, 413, *statuses})
    }


def install_openapi(app: FastAPI, *, token_required: bool, reads_closed: bool = False) -> None:
    """Replace `app.openapi` by one that post-processes FastAPI's document once."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _truthful(
                document, token_required=token_required, reads_closed=reads_closed
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _truthful(
    document: dict[str, Any], *, token_required: bool, reads_closed: bool
) -> dict[str, Any]:
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            operation.get("responses", {}).pop("422", None)
            if method == "get" and path.startswith("/api/") and not reads_closed:
                _open_read(operation)  # GNOMON_REQUIRE_TOKEN_FOR_READS is off
            if not token_required and operation.get("security"):
                operation["security"].append({})
    _add_links(document["paths"])
    schemas = document.get("components", {}).get("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    return document


def _open_read(operation: dict[str, Any]) -> None:
    """A read that takes no token: no security requirement, and no 401 or 403."""
    operation.pop("security", None)
    for status in ("401", "403"):
        operation.get("responses", {}).pop(status, None)


def _add_links(paths: dict[str, Any]) -> None:
    for method, path, status, targets, parameters in _LINKS:
        source = paths.get(path, {}).get(method)
        if source is None:  # an app serving only some routes (the scheduler's)
            continue
        links = source["responses"][status].setdefault("links", {})
        for target_method, target_path in targets:
            target = paths[target_path][target_method]
            wanted = {p["name"] for p in target.get("parameters", [])}
            links[_link_name(target_method, target_path)] = {
                "operationId": target["operationId"],
                "parameters": {k: v for k, v in parameters.items() if k in wanted},
            }


def _link_name(method: str, path: str) -> str:
    words = [w for w in path.replace("{", "").replace("}", "").split("/") if w and w != "api"]
    return method.capitalize() + "".join(w.title().replace("_", "") for w in words)
