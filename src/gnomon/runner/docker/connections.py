"""Connections to the engine: one pool for every call, as `DEFAULT_POOL_SIZE` assumes.

The docker SDK's Unix-socket adapter keeps a connection pool per URL (up to 25, the least
recently used closed). Nearly every call of an attempt names its container in the URL (create is
the only one that does not), so no call ever found a connection to reuse: each opened a new one
to the engine and left it idle in a pool of its own until 25 later URLs pushed it out (issue 14:
480 connections for 96 runs of the dispatch benchmark). All the URLs go to one socket, so here
they share one pool, and a call reuses an idle connection.

The same adapter does not read proxy settings or `.netrc` from the environment for each call
(`trust_env`): it ignores proxies (a Unix socket has no host to proxy), and credentials for
`localhost` mean nothing to the engine.
"""

from __future__ import annotations

from typing import Any, Final

import docker
from docker.transport import UnixHTTPAdapter

UNIX_PREFIX: Final = "http+docker://"
_POOL_KEY: Final = "http+docker://localhost"


class SharedPoolAdapter(UnixHTTPAdapter):  # type: ignore[misc]
    """docker's Unix-socket adapter with one connection pool for every URL."""

    def get_connection(self, url: str, proxies: Any = None) -> Any:
        return super().get_connection(_POOL_KEY, proxies)


def share_one_pool(client: docker.DockerClient) -> docker.DockerClient:
    """`client`, its calls over a Unix socket sharing one pool; other transports as they are."""
    api = client.api
    adapter: Any = getattr(api, "_custom_adapter", None)
    if type(adapter) is not UnixHTTPAdapter:
        return client
    shared = SharedPoolAdapter(
        adapter.socket_path, adapter.timeout, max_pool_size=adapter.max_pool_size
    )
    api.mount(UNIX_PREFIX, shared)
    api._custom_adapter = shared
    api.trust_env = False
    adapter.close()
    return client
