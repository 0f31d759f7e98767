"""The REST API (FastAPI): Sundial's endpoints, the internal ones, and their error translation.

`create_app` builds the application; the entry points in `gnomon.server` serve it. The request
dependencies (the app's context, a committed-before-answer session, `now`, the read policy) are
offered to the web UI, so its pages read and act exactly as the REST API does; `commands` are
the writes a route or a button makes (trigger, pause, resume, delete, kill, retry).
"""

from __future__ import annotations

from gnomon.api import commands
from gnomon.api.app import create_app
from gnomon.api.deps import AppContext, ContextDep, NowDep, SessionDep, require_read_token

__all__ = [
    "AppContext",
    "ContextDep",
    "NowDep",
    "SessionDep",
    "commands",
    "create_app",
    "require_read_token",
]
