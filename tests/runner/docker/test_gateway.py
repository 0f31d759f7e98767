"""The default bridge's gateway, which `gnomon serve` also listens on so containers reach it."""

from __future__ import annotations

import ipaddress
from typing import Any

import docker
import pytest
from docker.errors import DockerException

from gnomon.runner.docker import bridge_gateway
from gnomon.runner.docker.gateway import _gateway_of


def test_the_configured_gateway_is_the_answer() -> None:
    config = [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]
    assert _gateway_of(config) == "172.17.0.1"


def test_without_a_configured_gateway_the_subnet_gives_the_first_host() -> None:
    assert _gateway_of([{"Subnet": "10.9.0.0/24"}]) == "10.9.0.1"


def test_a_network_with_no_address_has_no_gateway() -> None:
    assert _gateway_of([]) is None
    assert _gateway_of([{}]) is None


@pytest.mark.docker
@pytest.mark.usefixtures("docker_client")
def test_the_engines_bridge_has_a_gateway() -> None:
    address = bridge_gateway()
    assert address is not None
    assert ipaddress.ip_address(address)


def test_an_engine_that_cannot_say_gives_no_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(**_kwargs: Any) -> Any:
        raise DockerException("Error while fetching server API version")

    monkeypatch.setattr(docker, "from_env", unreachable)
    assert bridge_gateway() is None
