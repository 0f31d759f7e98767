"""Real receivers on loopback for notification tests: an SMTP server and an HTTP endpoint.

Both bind 127.0.0.1 on a port the kernel picks, record what arrives, and can be told to
misbehave (answer 500 for the first N requests, reject recipients, hold a request open).
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller, InetMixin


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class MailHandler:
    """aiosmtpd handler that keeps every message; addresses in `reject` get a 550."""

    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self.reject: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.reject:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


class EphemeralController(Controller):
    """aiosmtpd's threaded controller, bound to a kernel-chosen port.

    The stock controller connects to `self.port` to check the server is up, which fails for
    port 0; read the bound port from the listening socket first.
    """

    def _trigger_server(self) -> None:
        server = self.server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        InetMixin._trigger_server(self)  # type: ignore[no-untyped-call]


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class HttpReceiver:
    """A local HTTP endpoint that records JSON POSTs.

    Attributes:
        fail_first: Answer `fail_status` to this many requests before answering 200.
        fail_status: The failure status code.
        hold: When set, each request waits (at most 10 s) for this event before answering;
            `arrived` is set as soon as a request is in.
    """

    url: str = ""
    requests: list[ReceivedRequest] = field(default_factory=list)
    fail_first: int = 0
    fail_status: int = 500
    hold: threading.Event | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[Any]:
        with self.lock:
            return [request.body for request in self.requests]

    def answer(self, request: ReceivedRequest) -> int:
        with self.lock:
            self.requests.append(request)
            failing = len(self.requests) <= self.fail_first
        self.arrived.set()
        if self.hold is not None:
            self.hold.wait(10)
        return self.fail_status if failing else 200


def make_handler(receiver: HttpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            request = ReceivedRequest(self.path, dict(self.headers.items()), json.loads(raw))
            status = receiver.answer(request)
            payload = b'{"status": "success"}' if status == 200 else b'{"status": "error"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    return Handler


def start_http_receiver() -> tuple[HttpReceiver, ThreadingHTTPServer, threading.Thread]:
    receiver = HttpReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(receiver))
    host, port = server.server_address[:2]
    receiver.url = f"http://{host!s}:{port}"
    thread = threading.Thread(
        target=server.serve_forever, args=(0.02,), name="http-receiver", daemon=True
    )
    thread.start()
    return receiver, server, thread
