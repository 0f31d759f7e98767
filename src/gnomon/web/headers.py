"""The security headers of every page and stylesheet the UI serves.

The pages show what users and jobs wrote (names, descriptions, reasons); everything is escaped by
the templates, and the Content-Security-Policy is the second wall: only the project's own files
may be loaded or run, no inline script or style runs, nothing may frame the pages (clickjacking),
and forms post only back here. `/docs` keeps FastAPI's defaults: Swagger UI needs its CDN.
"""

from __future__ import annotations

import logging
from typing import Final

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)

SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def secure(response: Response) -> Response:
    """`response` with the security headers set; returns it."""
    response.headers.update(SECURITY_HEADERS)
    return response


class SecureStaticFiles(StaticFiles):
    """The UI's static files, with the same security headers as its pages."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        return secure(await super().get_response(path, scope))
