"""`/_internal_`: Prometheus metrics and the healthcheck."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from gnomon.api.deps import ContextDep
from gnomon.api.openapi import errors
from gnomon.storage.engine import ping

router = APIRouter(prefix="/_internal_", tags=["internal"])
MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"


class HealthReport(BaseModel):
    """What the healthcheck found: `status` is ok, degraded or unavailable."""

    status: str
    store: str
    executor: str | None = None


HEALTH = {"model": HealthReport}


@router.get("/metrics", response_class=Response, responses=errors())
def metrics(request: Request) -> Response:
    """Prometheus text exposition (summed over every worker process when there are several)."""
    registry: CollectorRegistry = request.app.state.registry
    if os.environ.get(MULTIPROCESS_DIRECTORY):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/healthcheck",
    response_model=None,
    responses={**errors(), 200: HEALTH, 503: {**HEALTH, "description": "Not healthy"}},
)
def healthcheck(context: ContextDep) -> JSONResponse:
    """200 when the store (and the executor, where one runs) can work; 503 saying what cannot."""
    body = {"status": "ok", "store": "ok"}
    try:
        ping(context.engine)
    except SQLAlchemyError as exc:
        body["status"], body["store"] = "unavailable", f"unreachable: {str(exc).splitlines()[0]}"
    if context.executor_health is not None:
        problem = context.executor_health()
        body["executor"] = problem or "ok"
        if problem and body["status"] == "ok":
            body["status"] = "degraded"
    return JSONResponse(body, 200 if body["status"] == "ok" else 503)
