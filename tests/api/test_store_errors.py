"""The store's errors as HTTP answers: 503 retry later, 409 on a lost race, 500 otherwise."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gnomon.api.errors import install_error_handlers
from gnomon.errors import (
    ConcurrentWriteError,
    ConflictError,
    StoreDataError,
    StoreError,
    StoreUnavailableError,
)

ANSWERS = [
    (StoreUnavailableError("connection refused"), 503, "the store is unavailable; try again later"),
    (
        ConcurrentWriteError("duplicate key"),
        409,
        "a concurrent request changed the same data; retry",
    ),
    (ConflictError("owned by a resource"), 409, "owned by a resource"),
    (StoreDataError("invalid byte"), 500, "internal error in the store"),
    (StoreError("syntax error"), 500, "internal error in the store"),
]


@pytest.mark.parametrize(("error", "status", "message"), ANSWERS)
def test_each_store_error_has_its_answer(error: Exception, status: int, message: str) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/")
    def fail() -> None:
        raise error

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/")
    assert response.status_code == status
    assert response.json() == {"message": message, "errors": []}
