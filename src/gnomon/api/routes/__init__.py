"""The API's routers, one module per resource; `internal` also owns the metrics directory."""

from __future__ import annotations

from gnomon.api.routes.internal import MULTIPROCESS_DIRECTORY

__all__ = ["MULTIPROCESS_DIRECTORY"]
