"""The REST API (FastAPI): Sundial's endpoints, the internal ones, and their error translation.

`create_app` builds the application; the entry points in `gnomon.server` serve it.
"""

from __future__ import annotations

from gnomon.api.app import create_app

__all__ = ["create_app"]
