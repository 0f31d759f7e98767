"""Health and metrics of the processes that serve no API: `gnomon scheduler` and `gnomon operator`.

They listen on GNOMON_HOST:GNOMON_METRICS_PORT, a port of their own, so that `gnomon api` (on
GNOMON_PORT) and either of them can run on one host with one environment. The listener serves:

- `/_internal_/metrics`: the process's Prometheus registry, through prometheus_client's own WSGI
  app (content negotiation, OpenMetrics, gzip: what Prometheus expects, kept by its authors);
- `/_internal_/livez`: 200 while the process's loop is alive, else 503: restart me;
- `/_internal_/readyz`: 200 when the process can do its work, else 503 saying what is missing;
- `/_internal_/healthcheck`: the same as `readyz`, under the name the API's healthcheck has.

Health bodies are JSON objects with a `status` (ok, degraded or unavailable) and one entry per
part checked, like the API's healthcheck.

Why a thread with the standard library's WSGI server rather than an ASGI app under uvicorn: the
operator is kopf's asyncio loop and may not import an HTTP framework (import-linter), and a
listener on a thread of its own still answers when that loop is stuck, which is exactly what the
liveness check must be able to say. prometheus_client's `start_http_server` is the same server,
but it answers every path with metrics and leaves no room for the health paths.

The socket is bound in the constructor, before the caller starts anything, so a taken port stops
a process before it takes the scheduler lease or starts kopf (`ListenError`).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any, Final
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from prometheus_client import CollectorRegistry, make_wsgi_app

from gnomon.errors import ListenError

log = logging.getLogger(__name__)

Report = dict[str, str]
"""A health body: `status` (ok, degraded or unavailable) and one entry per part checked."""
Check = Callable[[], Report]
StartResponse = Callable[..., Any]

METRICS_PORT_SETTING: Final = "GNOMON_METRICS_PORT"
"""The setting that names the listener's port, for the error when it cannot be opened."""
PREFIX: Final = "/_internal_"
METRICS_PATH: Final = f"{PREFIX}/metrics"
LIVENESS_PATH: Final = f"{PREFIX}/livez"
READINESS_PATH: Final = f"{PREFIX}/readyz"
HEALTHCHECK_PATH: Final = f"{PREFIX}/healthcheck"


class ProbeListener:
    """Listens on `host:port` from construction; serves metrics and health from a daemon thread
    once `start()` gives it the checks.

    Args:
        host: the address to listen on.
        port: the port (0: any free one); `setting` names the variable it came from, for the
            error when it cannot be opened.
        registry: what `/_internal_/metrics` shows.

    Raises:
        ListenError: the port cannot be opened.
    """

    def __init__(self, host: str, port: int, setting: str, registry: CollectorRegistry) -> None:
        server_class = _IPv6Server if ":" in host else _IPv4Server
        try:
            self._server = server_class((host, port), _QuietHandler)
        except OSError as exc:
            raise ListenError(host, port, setting, exc.strerror or str(exc)) from None
        self._registry = registry
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, *, live: Check, ready: Check) -> None:
        """Serve, on a thread of its own.

        Args:
            live: the liveness check; it must answer at once.
            ready: the readiness check; it should answer within a second or two.
        """
        self._server.set_app(
            _router(
                {
                    METRICS_PATH: make_wsgi_app(self._registry),
                    LIVENESS_PATH: _health_app(live),
                    READINESS_PATH: _health_app(ready),
                    HEALTHCHECK_PATH: _health_app(ready),
                }
            )
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="gnomon-probes", daemon=True
        )
        self._thread.start()
        log.info("health and metrics at %s%s", self.url, PREFIX)

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()


def status_code(report: Report) -> int:
    return 200 if report.get("status") == "ok" else 503


def _health_app(check: Check) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    def app(_environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            report = check()
        except Exception as exc:  # a check that breaks is a failed check, not a dead listener
            log.exception("health check failed")
            report = {"status": "unavailable", "check": f"{type(exc).__name__}: {exc}"}
        return _json(start_response, status_code(report), report)

    return app


def _router(
    routes: dict[str, Callable[[dict[str, Any], StartResponse], Iterable[bytes]]],
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        route = routes.get(environ.get("PATH_INFO", ""))
        if route is None:
            return _json(start_response, 404, {"message": "not found"})
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _json(start_response, 405, {"message": "only GET and HEAD"})
        return route(environ, start_response)

    return app


_REASONS: Final = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Unavailable"}


def _json(start_response: StartResponse, code: int, body: dict[str, str]) -> list[bytes]:
    data = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    start_response(f"{code} {_REASONS[code]}", headers)
    return [data]


class _IPv4Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a probe still being answered must not hold up the process's exit
    allow_reuse_address = True  # a restart need not wait for the last probe's TIME_WAIT


class _IPv6Server(_IPv4Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    """No access log: the kubelet asks every few seconds, and Prometheus every interval."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        return
