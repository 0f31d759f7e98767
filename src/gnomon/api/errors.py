"""Translate errors into HTTP responses in one place: nothing a client sends becomes a 500.

Every error body has the same shape:
`{"message": "...", "errors": [{"field": "task_definitions[0].max_attempts", "message": "..."}]}`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from gnomon.domain import field_path as domain_field_path
from gnomon.errors import (
    ConcurrentWriteError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    StoreError,
    StoreUnavailableError,
)

log = logging.getLogger(__name__)

# FastAPI puts where a value came from first in its locations; users think in body fields.
_LOCATION_ROOTS = {"body", "query", "path", "header"}


class FieldError(BaseModel):
    """One problem with one input field."""

    field: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    message: str
    errors: list[FieldError]


def error_body(message: str, errors: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    return {"message": message, "errors": list(errors)}


def field_path(location: Sequence[str | int]) -> str:
    """`("body", "task_definitions", 0, "max_attempts")` -> `task_definitions[0].max_attempts`."""
    parts = list(location)
    if parts and parts[0] in _LOCATION_ROOTS:
        parts = parts[1:]
    return domain_field_path(parts) or "body"


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors():
        message = str(error.get("msg", "invalid value"))
        if error.get("type") == "json_invalid":
            message = f"malformed JSON: {error.get('ctx', {}).get('error', message)}"
        message = message.removeprefix("Value error, ")
        errors.append({"field": field_path(error.get("loc", ())), "message": message})
    return errors


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        return JSONResponse(error_body("invalid request: " + errors[0]["field"], errors), 400)

    @app.exception_handler(InvalidInputError)
    async def _invalid_input(_: Request, exc: InvalidInputError) -> JSONResponse:
        errors = [{"field": field, "message": message} for field, message in exc.problems]
        return JSONResponse(error_body(str(exc), errors), 400)

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse(error_body(str(exc)), 404)

    @app.exception_handler(ConflictError)
    async def _conflict(_: Request, exc: ConflictError) -> JSONResponse:
        return JSONResponse(error_body(str(exc)), 409)

    @app.exception_handler(ConcurrentWriteError)
    async def _concurrent_write(_: Request, exc: ConcurrentWriteError) -> JSONResponse:
        # Two writers raced on the same key (e.g. concurrent PUTs of a new definition).
        log.info("conflicting write: %s", exc)
        return JSONResponse(error_body("a concurrent request changed the same data; retry"), 409)

    @app.exception_handler(StoreUnavailableError)
    async def _store_unavailable(_: Request, exc: StoreUnavailableError) -> JSONResponse:
        log.warning("store unavailable: %s", exc)
        return JSONResponse(error_body("the store is unavailable; try again later"), 503)

    @app.exception_handler(StoreError)
    async def _store_error(_: Request, exc: StoreError) -> JSONResponse:
        log.error("store error", exc_info=exc)
        return JSONResponse(error_body("internal error in the store"), 500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(str(exc.detail)), exc.status_code, headers=exc.headers)
