"""A ceiling on request bodies, enforced while they stream in (issue 9, defect 6).

A route reads its body whole before validating it, so without a limit one 200 MB request costs
more than a gigabyte of memory. This ASGI middleware refuses a body that announces a larger
`Content-Length` before the app sees it, and counts the chunks of a body that announces none
(chunked transfer), stopping at the first chunk past the limit: the rest is never read.
Either way the answer is 413 with the usual JSON error body and `Connection: close`, so the
server hangs up instead of draining the unread rest to reach a next request.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gnomon.api.errors import error_body

DISCONNECT: Message = {"type": "http.disconnect"}


class BodyLimitMiddleware:
    """Answer 413 to any HTTP request whose body is larger than `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        announced = _content_length(scope)
        if announced is not None and announced > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        await _LimitedExchange(self, scope, receive, send).run()

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the request body is larger than the limit of {self.max_bytes} bytes"
        response = JSONResponse(error_body(message), 413, headers={"connection": "close"})
        await response(scope, receive, send)


class _LimitedExchange:
    """One request whose body length is unknown: count it as the app reads it.

    Past the limit, the 413 is sent at once and the app is told the client went away
    (it ends as on any disconnect, without an exception crossing middleware), and whatever
    it answers after that is dropped.
    """

    def __init__(self, limit: BodyLimitMiddleware, scope: Scope, receive: Receive, send: Send):
        self.limit, self.scope, self.receive, self.send = limit, scope, receive, send
        self.received = 0
        self.started = False
        self.refused = False

    async def run(self) -> None:
        await self.limit.app(self.scope, self.limited_receive, self.watched_send)

    async def limited_receive(self) -> Message:
        if self.refused:
            return DISCONNECT
        message = await self.receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit.max_bytes:
                self.refused = True
                if not self.started:
                    await self.limit._refuse(self.scope, self.receive, self.send)
                return DISCONNECT
        return message

    async def watched_send(self, message: Message) -> None:
        if self.refused:
            return
        self.started = self.started or message["type"] == "http.response.start"
        await self.send(message)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            # The server has checked the header is a number; guard anyway, it is cheap.
            return int(value) if value.isdigit() else None
    return None
