"""A TCP proxy in front of the store, to break the network between Gnomon and PostgreSQL on cue.

Real faults, not mocks: Gnomon's driver talks to the proxy exactly as to the server, and the proxy
can cut every connection (both sides see a reset connection), cut a connection the moment a given
byte string passes from client to server (e.g. `COMMIT`: the server never sees it and rolls the
transaction back, the client sees the connection die at commit), or go silent: connections stay
open and new ones are accepted, but nothing is forwarded either way, as when the network or the
server freezes. The kernel still acknowledges every packet, so only the client's own deadlines can
notice silence.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

POLL_SECONDS = 0.05
CHUNK_BYTES = 65_536


class _Link:
    """One client connection and its upstream twin."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.closed = threading.Event()

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                # Reset rather than FIN: what a cut cable and a crashed peer look like.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with contextlib.suppress(OSError):
                sock.close()


class TcpProxy:
    """Listens on a free loopback port and forwards to `target` until `close()`."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(POLL_SECONDS)
        self.port: int = self._listener.getsockname()[1]
        self._links: set[_Link] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._forwarding = threading.Event()
        self._forwarding.set()
        self._cut_on: bytes | None = None
        self.cuts = 0
        """Connections cut so far, by `cut_all` or by `cut_on`."""
        self._threads = [threading.Thread(target=self._accept, name="proxy-accept", daemon=True)]
        self._threads[0].start()

    def url(self, database_url: str) -> str:
        """`database_url` pointed at this proxy instead of the server."""
        parsed = sa.engine.make_url(database_url).set(host="127.0.0.1", port=self.port)
        return parsed.render_as_string(hide_password=False)

    def cut_all(self) -> int:
        """Reset every open connection; new ones are forwarded as before. Returns how many."""
        with self._lock:
            links, self._links = list(self._links), set()
        for link in links:
            link.close()
        self.cuts += len(links)
        return len(links)

    def cut_on(self, marker: bytes | None) -> None:
        """Reset any connection whose client sends `marker`, before the server receives it."""
        self._cut_on = marker

    def go_silent(self) -> None:
        """Keep accepting and holding connections, but forward nothing either way."""
        self._forwarding.clear()

    def resume(self) -> None:
        """Forward again (what was held back is delivered, if its connection still lives)."""
        self._forwarding.set()

    def close(self) -> None:
        self._stop.set()
        self._forwarding.set()
        self.cut_all()
        self._listener.close()
        for thread in list(self._threads):
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self._target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            link = _Link(client, upstream)
            with self._lock:
                self._links.add(link)
            for source, sink, outbound in ((client, upstream, True), (upstream, client, False)):
                thread = threading.Thread(
                    target=self._pump, args=(link, source, sink, outbound), daemon=True
                )
                thread.start()

    def _pump(
        self, link: _Link, source: socket.socket, sink: socket.socket, outbound: bool
    ) -> None:
        try:
            while not link.closed.is_set():
                if not self._forwarding.is_set():
                    self._forwarding.wait(POLL_SECONDS)
                    continue
                readable, _, _ = select.select([source], [], [], POLL_SECONDS)
                if not readable:
                    continue
                data = source.recv(CHUNK_BYTES)
                if not data:
                    break
                marker = self._cut_on
                if outbound and marker is not None and marker in data:
                    self.cuts += 1
                    break
                sink.sendall(data)
        except (OSError, ValueError):
            pass  # the other pump or a cut closed the link
        with self._lock:
            self._links.discard(link)
        link.close()


@contextmanager
def proxied(database_url: str) -> Iterator[TcpProxy]:
    """A proxy to the server of `database_url`, closed afterwards."""
    parsed = sa.engine.make_url(database_url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    try:
        yield proxy
    finally:
        proxy.close()
