"""Refuse request targets no route can mean: NUL, invalid UTF-8, control characters.

Servers decode a percent-encoded path leniently (invalid UTF-8 becomes U+FFFD) and hand NUL
bytes on to the store, where PostgreSQL rejects them with an error that became a 500. And a
path ending in an encoded newline (`/api/process_definitions/%0A`) matched the *list* route,
since a route pattern's `$` also matches before a final newline. So before routing, every path
segment and query value is decoded strictly here; one that cannot be a name, an id, a time or
a status is answered 400 with the usual JSON error body.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from gnomon.api.errors import error_body

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RequestGuardMiddleware:
    """Answer 400 to a request whose path or query string holds what no parameter accepts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogatepass")
            problem = target_problem(raw_path, scope["query_string"])
            if problem is not None:
                field, message = problem
                errors = [{"field": field, "message": message}]
                await JSONResponse(error_body(f"invalid request: {field}", errors), 400)(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)


def target_problem(raw_path: bytes, query_string: bytes) -> tuple[str, str] | None:
    """The first (field, message) wrong with a request target, or None when it is sound."""
    path = _decode(raw_path.split(b"?", 1)[0])
    if path is None:
        return "path", "the path is not valid UTF-8 once percent-decoded"
    if _CONTROL.search(path):
        return "path", "the path contains a control character"
    for pair in query_string.split(b"&"):
        name, _, value = pair.partition(b"=")
        decoded_name, decoded_value = _decode(name), _decode(value)
        label = decoded_name if decoded_name and not _CONTROL.search(decoded_name) else "query"
        if decoded_name is None or decoded_value is None:
            return label, "the query string is not valid UTF-8 once percent-decoded"
        if "\x00" in decoded_name or "\x00" in decoded_value:
            return label, "the query string contains a NUL character"
    return None


def _decode(raw: bytes) -> str | None:
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return None
