"""The API's listening sockets: connections accepted on them have Nagle's algorithm off.

With Nagle on, a response written in two parts (head, then body) waited for the client's
delayed ACK, about 40 ms per request on a kept-alive connection (issue 14).
"""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor

from gnomon.server import _bind_api
from gnomon.settings import Settings
from tests.live import free_port


async def _accepted_nodelay(listener: socket.socket) -> int:
    """TCP_NODELAY of a connection the event loop accepted on `listener`."""
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def accepted(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(accepted, sock=listener)
    async with server:
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        try:
            return await asyncio.wait_for(seen, timeout=5)
        finally:
            writer.close()


def test_api_connections_have_nagle_off() -> None:
    sockets = _bind_api(Settings(host="127.0.0.1", port=free_port()))
    try:
        # A loop of its own, in a thread of its own: this thread may hold another suite's.
        with ThreadPoolExecutor(max_workers=1) as pool:
            nodelay = pool.submit(asyncio.run, _accepted_nodelay(sockets[0])).result(timeout=30)
        assert nodelay != 0
    finally:
        for sock in sockets:
            sock.close()
