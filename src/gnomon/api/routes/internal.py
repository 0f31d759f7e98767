"""`/_internal_`: Prometheus metrics and the healthcheck."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from gnomon.api.deps import ContextDep
from gnomon.storage.engine import ping

router = APIRouter(prefix="/_internal_", tags=["internal"])


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    registry: CollectorRegistry = request.app.state.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthcheck")
def healthcheck(context: ContextDep) -> JSONResponse:
    """200 when the store answers, 503 otherwise."""
    try:
        ping(context.engine)
    except SQLAlchemyError as exc:
        detail = str(exc).splitlines()[0]
        return JSONResponse({"status": "unavailable", "store": f"unreachable: {detail}"}, 503)
    return JSONResponse({"status": "ok", "store": "ok"})
