"""Where job containers on the engine's default bridge network reach the Docker host.

`host.docker.internal` in a job container is the gateway of the default `bridge` network, so a
Gnomon that jobs call back to must listen there too (see `gnomon.server`).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any, Final

import docker
from docker.errors import DockerException

LOOKUP_TIMEOUT_SECONDS: Final = 5

log = logging.getLogger(__name__)


def bridge_gateway() -> str | None:
    """The gateway address of the engine's default `bridge` network; None (after a warning) when
    the engine cannot say."""
    try:
        client = docker.from_env(timeout=LOOKUP_TIMEOUT_SECONDS)
        try:
            ipam = client.networks.get("bridge").attrs.get("IPAM", {}).get("Config") or []
        finally:
            client.close()
    except DockerException as exc:
        log.warning("cannot find the Docker bridge gateway (%s); jobs may not reach Gnomon", exc)
        return None
    return _gateway_of(ipam)


def _gateway_of(ipam: list[dict[str, Any]]) -> str | None:
    """The network's gateway: as configured, else the first host address of its subnet."""
    for config in ipam:
        gateway = config.get("Gateway")
        if not gateway and config.get("Subnet"):
            gateway = str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
        if gateway:
            return str(gateway)
    return None
