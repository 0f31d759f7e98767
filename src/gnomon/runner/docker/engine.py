"""The Docker engine as the runner sees it: one lazily made client, errors translated once, a
cached health answer and image pulls.

Errors are translated here, at the seam (house style: `map_docker_errors()`), into reasons a user
can act on: an engine that does not answer, an image that cannot be had, or the engine's own
explanation. The runner then turns each into a FAILED state and never leaves a task running.

Per-job overhead is kept to what the engine needs: with `if-not-present` no image check is made
before a start; the container is created and only a "No such image" answer leads to a pull
(the same thing `docker run` does). `always` pulls are single-flight per image and reused for
`PULL_REUSE_SECONDS`, so a burst of starts of one image pulls it once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, TypeAlias

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound
from urllib3.exceptions import HTTPError as Urllib3Error

from gnomon.errors import GnomonError
from gnomon.runner.docker.connections import share_one_pool
from gnomon.settings import PullPolicy

HEALTH_CACHE_SECONDS: Final = 2.0
PING_TIMEOUT_SECONDS: Final = 2.0
PULL_REUSE_SECONDS: Final = 10.0
DEFAULT_POOL_SIZE: Final = 64
"""HTTP connections kept to the engine: each running container holds one for its log stream."""

log = logging.getLogger(__name__)

ClientSource: TypeAlias = "docker.DockerClient | Callable[[], docker.DockerClient]"


class EngineUnreachableError(GnomonError):
    """The Docker engine did not answer."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"Docker engine unreachable: {detail}")


class ImageUnavailableError(GnomonError):
    """A job's image is not present and cannot (or may not) be pulled."""


class EngineRefusedError(GnomonError):
    """The engine answered with an error; the message is the engine's own explanation."""


def explain(exc: BaseException) -> str:
    """The engine's words for `exc` (its explanation without the HTTP noise), or `str(exc)`."""
    if isinstance(exc, APIError) and exc.explanation:
        return str(exc.explanation)
    return str(exc) or type(exc).__name__


@contextmanager
def map_docker_errors() -> Iterator[None]:
    """Translate docker SDK, requests and urllib3 errors into Gnomon's."""
    try:
        yield
    except GnomonError:
        raise
    except APIError as exc:
        raise EngineRefusedError(explain(exc)) from exc
    except (requests.RequestException, Urllib3Error, DockerException, OSError) as exc:
        raise EngineUnreachableError(explain(exc)) from exc


def _gone(exc: GnomonError) -> bool:
    """True if the engine said the container is gone (404) or already being removed (409)."""
    cause = exc.__cause__
    return isinstance(cause, APIError) and cause.status_code in (404, 409)


def _default_client() -> docker.DockerClient:
    return share_one_pool(docker.from_env(max_pool_size=DEFAULT_POOL_SIZE))


class Engine:
    """One client for every thread of a runner; made on first use, retried while it fails."""

    def __init__(self, client: ClientSource | None = None) -> None:
        self._owned = client is None or not isinstance(client, docker.DockerClient)
        self._client = client if isinstance(client, docker.DockerClient) else None
        self._factory = client if callable(client) else _default_client
        self._lock = threading.Lock()
        self._health: tuple[float, str | None] | None = None
        self._max_nano_cpus: int | None = None
        self._pulls: dict[str, tuple[threading.Lock, float]] = {}

    @property
    def api(self) -> Any:
        """The low-level `docker.APIClient`; raises EngineUnreachableError if none can be made."""
        with self._lock:
            if self._client is None:
                with map_docker_errors():
                    self._client = self._factory()
            return self._client.api

    def healthy(self) -> str | None:
        """None if the engine answers a ping, else why not; cached for a moment."""
        now = time.monotonic()
        cached = self._health
        if cached is not None and now - cached[0] < HEALTH_CACHE_SECONDS:
            return cached[1]
        problem = self._ping()
        self._health = (time.monotonic(), problem)
        return problem

    def _ping(self) -> str | None:
        try:
            with map_docker_errors():
                api = self.api
                response = api.get(f"{api.base_url}/_ping", timeout=PING_TIMEOUT_SECONDS)
        except GnomonError as exc:
            return str(exc)
        if response.status_code != 200:
            return f"Docker engine answered its ping with HTTP {response.status_code}"
        return None

    def max_nano_cpus(self) -> int:
        """The engine's CPU count in nano-CPUs (a limit above it is refused); read once."""
        if self._max_nano_cpus is None:
            with map_docker_errors():
                self._max_nano_cpus = int(self.api.info()["NCPU"]) * 1_000_000_000
        return self._max_nano_cpus

    def create(self, image: str, tag: str, policy: PullPolicy, **kwargs: Any) -> str:
        """Create a container of `image:tag` as `policy` says; its id."""
        reference = image_reference(image, tag)
        if policy is PullPolicy.ALWAYS:
            self.pull(image, tag)
        try:
            with map_docker_errors():
                try:
                    return str(self.api.create_container(reference, **kwargs)["Id"])
                except ImageNotFound as exc:
                    if policy is not PullPolicy.IF_NOT_PRESENT:
                        raise ImageUnavailableError(
                            f"image {reference} is not present and pull_policy is "
                            f"{policy.value}: {explain(exc)}"
                        ) from exc
            self.pull(image, tag)
            with map_docker_errors():
                return str(self.api.create_container(reference, **kwargs)["Id"])
        except EngineRefusedError as exc:
            raise EngineRefusedError(f"cannot create a container of {reference}: {exc}") from exc

    def pull(self, image: str, tag: str) -> None:
        """Pull `image:tag`, once per `PULL_REUSE_SECONDS` however many jobs ask at once."""
        reference = image_reference(image, tag)
        with self._lock:
            lock = self._pulls.setdefault(reference, (threading.Lock(), -1e9))[0]
        with lock:
            if time.monotonic() - self._pulls[reference][1] < PULL_REUSE_SECONDS:
                return
            self._pull_now(image, tag, reference)
            self._pulls[reference] = (lock, time.monotonic())

    def _pull_now(self, image: str, tag: str, reference: str) -> None:
        try:
            with map_docker_errors():
                tag_argument = None if "@" in image else tag
                for event in self.api.pull(image, tag=tag_argument, stream=True, decode=True):
                    if isinstance(event, dict) and event.get("error"):
                        raise ImageUnavailableError(
                            f"cannot pull image {reference}: {event['error']}"
                        )
        except EngineRefusedError as exc:
            raise ImageUnavailableError(f"cannot pull image {reference}: {exc}") from exc

    def stop(self, container_id: str, grace_seconds: int) -> None:
        """SIGTERM, then SIGKILL after `grace_seconds`; a container already gone is fine."""
        try:
            with map_docker_errors():
                self.api.stop(container_id, timeout=grace_seconds)
        except GnomonError as exc:
            if not _gone(exc):
                log.warning("could not stop container %s: %s", container_id, exc)

    def remove(self, container_id: str) -> None:
        """Remove a container, running or not; one already gone (or going) is fine."""
        try:
            with map_docker_errors():
                self.api.remove_container(container_id, force=True)
        except GnomonError as exc:
            if not _gone(exc):
                log.warning("could not remove container %s: %s", container_id, exc)

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._owned:
                self._client.close()
                self._client = None


def image_reference(image: str, tag: str) -> str:
    """`image:tag`, or `image` alone when it already names a digest."""
    return image if "@" in image else f"{image}:{tag}"
