"""The Docker backend (the default): each attempt is one container on the local engine."""

from gnomon.runner.docker.gateway import bridge_gateway
from gnomon.runner.docker.runner import DockerRunner

__all__ = ["DockerRunner", "bridge_gateway"]
