"""A Docker engine in memory: the parts of `docker.DockerClient` the Docker backend uses.

The backend talks to the engine through the client's low-level `api` (`docker.APIClient`), so
that is what this fakes: containers (create, start, stop, remove, list, wait, inspect), images
(a create of a missing one fails with `ImageNotFound`, a pull adds it), the ping, and the
follow-mode log stream. A log stream is a real socket pair carrying the engine's 8-byte frames
with timestamps, so the backend's own reader parses it, `abort()` can end it, and it ends by
itself when the container stops, as on a real engine.

A test plays the container's part: `write()` what it prints, `exit()` it with a code.
"""

from __future__ import annotations

import itertools
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from docker.errors import APIError, ImageNotFound, NotFound

from gnomon.runner.docker.spec import LABEL_INSTANCE, LABEL_MANAGED, LABEL_TASK_ID

STREAMS = {"stdout": 1, "stderr": 2}
EXIT_ON_STOP = 143
"""What a container that dies of the SIGTERM `stop` sends exits with."""
EXIT_ON_FORCED_REMOVE = 137


def engine_error(kind: type[APIError], status: int, explanation: str) -> APIError:
    """An error as the SDK raises it for an engine's HTTP error answer."""
    response = SimpleNamespace(status_code=status, url="http+docker://fake", reason=explanation)
    return kind(explanation, response=response, explanation=explanation)


def _stamp(when: datetime) -> bytes:
    """The engine's RFC 3339 timestamp with nanoseconds."""
    return (when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z").encode()


def _since(param: str | None) -> datetime | None:
    """The `since` query parameter (`seconds.nanoseconds`) as a time."""
    if param is None:
        return None
    seconds, _, nanos = param.partition(".")
    return datetime.fromtimestamp(int(seconds), UTC).replace(microsecond=int(nanos[:6] or 0))


@dataclass(eq=False)
class _Follower:
    """One open log stream: the engine writes frames into `writer`; the backend reads `reader`."""

    reader: socket.socket
    writer: socket.socket

    def send(self, when: datetime, stream: int, line: bytes) -> None:
        payload = _stamp(when) + b" " + line
        self.writer.sendall(struct.pack(">BxxxL", stream, len(payload)) + payload)

    def end(self) -> None:
        self.writer.close()


@dataclass(eq=False)
class FakeContainer:
    id: str
    name: str
    image: str
    labels: dict[str, str]
    environment: dict[str, str] = field(default_factory=dict)
    host_config: dict[str, Any] = field(default_factory=dict)
    state: str = "created"
    exit_code: int | None = None
    oom: bool = False
    log: list[tuple[datetime, int, bytes]] = field(default_factory=list)
    followers: list[_Follower] = field(default_factory=list)
    exited: threading.Event = field(default_factory=threading.Event)

    @property
    def task_id(self) -> str:
        return self.labels.get(LABEL_TASK_ID, "")


class _Raw:
    """The response's raw stream, as `requests` exposes it: readable, with its connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.connection = SimpleNamespace(sock=sock)
        self._file = sock.makefile("rb")

    def read(self, size: int) -> bytes:
        return self._file.read(size)

    def close(self) -> None:
        self._file.close()


class _LogResponse:
    def __init__(self, sock: socket.socket) -> None:
        self.raw = _Raw(sock)
        self._sock = sock

    def raise_for_status(self) -> None:
        return None

    def close(self) -> None:
        self.raw.close()
        self._sock.close()


class FakeAPI:
    """The low-level client: what `Engine`, `open_stream` and `DockerRunner` call."""

    base_url = "http+docker://fake"
    api_version = "1.44"

    def __init__(self) -> None:
        self.containers_by_id: dict[str, FakeContainer] = {}
        self.images: set[str] = set()
        self.pulls: list[str] = []
        self.stops: list[tuple[str, int]] = []
        self.stop_exit_code = EXIT_ON_STOP
        """What a running container exits with when it is stopped."""
        self.start_error: APIError | None = None
        self.creating = threading.Event()
        """Set once a create call has begun."""
        self.creates_may_finish = threading.Event()
        self.creates_may_finish.set()
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    # -- what the backend calls ----------------------------------------------------------------

    def get(self, url: str, **kwargs: Any) -> Any:
        if url.endswith("/_ping"):
            return SimpleNamespace(status_code=200)
        container_id = url.rsplit("/containers/", 1)[1].removesuffix("/logs")
        return self._follow(self._container(container_id), _since(kwargs["params"].get("since")))

    def info(self) -> dict[str, Any]:
        return {"NCPU": 4}

    def create_host_config(self, **arguments: Any) -> dict[str, Any]:
        return dict(arguments)

    def create_container(self, image: str, **kwargs: Any) -> dict[str, str]:
        self.creating.set()
        self.creates_may_finish.wait(timeout=30)
        with self._lock:
            if image not in self.images:
                raise ImageNotFound(f"No such image: {image}")
            container = FakeContainer(
                id=f"c{next(self._ids):04d}",
                name=kwargs["name"],
                image=image,
                labels=dict(kwargs["labels"]),
                environment=dict(kwargs["environment"]),
                host_config=dict(kwargs["host_config"]),
            )
            self.containers_by_id[container.id] = container
            return {"Id": container.id}

    def pull(self, image: str, tag: str | None = None, **_kwargs: Any) -> Iterator[dict[str, str]]:
        reference = image if tag is None else f"{image}:{tag}"
        with self._lock:
            self.pulls.append(reference)
            self.images.add(reference)
        return iter([{"status": f"Downloaded newer image for {reference}"}])

    def start(self, container_id: str) -> None:
        with self._lock:
            if self.start_error is not None:
                raise self.start_error
            self._container(container_id).state = "running"

    def stop(self, container_id: str, timeout: int) -> None:
        with self._lock:
            container = self._container(container_id)
            self.stops.append((container_id, timeout))
        if container.state == "running":
            self.exit(container_id, self.stop_exit_code)

    def remove_container(self, container_id: str, force: bool = False) -> None:
        with self._lock:
            container = self._container(container_id)
            if container.state == "running" and force:
                self.exit(container_id, EXIT_ON_FORCED_REMOVE)
            del self.containers_by_id[container_id]

    def containers(self, **query: Any) -> list[dict[str, Any]]:
        labels = (query.get("filters") or {}).get("label", [])
        wanted = dict(label.split("=", 1) for label in labels)
        with self._lock:
            return [
                {"Id": c.id, "Names": [f"/{c.name}"], "Labels": dict(c.labels), "State": c.state}
                for c in self.containers_by_id.values()
                if (query.get("all") or c.state == "running") and wanted.items() <= c.labels.items()
            ]

    def wait(self, container_id: str, timeout: float | None = None) -> dict[str, int]:
        container = self._container(container_id)
        if not container.exited.wait(timeout=30):
            raise AssertionError(f"container {container_id} never exited")
        assert container.exit_code is not None
        return {"StatusCode": container.exit_code}

    def inspect_container(self, container_id: str) -> dict[str, Any]:
        return {"State": {"OOMKilled": self._container(container_id).oom}}

    # -- what a test does ------------------------------------------------------------------------

    def add(
        self,
        *,
        task_id: str,
        instance: str,
        state: str,
        exit_code: int | None = None,
        log: list[tuple[datetime, str, str]] | None = None,
    ) -> FakeContainer:
        """A container left by an earlier Gnomon (of `instance`) for task `task_id`."""
        labels = {LABEL_MANAGED: "true", LABEL_INSTANCE: instance, LABEL_TASK_ID: task_id}
        with self._lock:
            container = FakeContainer(
                id=f"c{next(self._ids):04d}",
                name=f"gnomon-{task_id}",
                image="busybox:1.36",
                labels=labels,
                state=state,
                exit_code=exit_code,
            )
            for when, stream, text in log or []:
                container.log.append((when, STREAMS[stream], text.encode() + b"\n"))
            if state == "exited":
                container.exited.set()
            self.containers_by_id[container.id] = container
            return container

    def of_task(self, task_id: str) -> FakeContainer | None:
        """The container of `task_id`, once created."""
        with self._lock:
            found = [c for c in self.containers_by_id.values() if c.task_id == task_id]
        return found[0] if found else None

    def write(self, container_id: str, stream: str, text: str) -> None:
        """The container prints one line of `text` on `stream`."""
        entry = (datetime.now(UTC), STREAMS[stream], text.encode() + b"\n")
        with self._lock:
            container = self._container(container_id)
            container.log.append(entry)
            for follower in list(container.followers):
                try:
                    follower.send(*entry)
                except OSError:  # the client hung up (an aborted stream): stop writing to it
                    container.followers.remove(follower)
                    follower.end()

    def exit(self, container_id: str, code: int, *, oom: bool = False) -> None:
        """The container stops with `code`: its log streams end."""
        with self._lock:
            container = self._container(container_id)
            container.state, container.exit_code, container.oom = "exited", code, oom
            followers, container.followers = container.followers, []
            container.exited.set()
        for follower in followers:
            follower.end()

    def close(self) -> None:
        """End every stream still open (the backend closes the reading ends)."""
        with self._lock:
            followers = [f for c in self.containers_by_id.values() for f in c.followers]
            for container in self.containers_by_id.values():
                container.followers = []
        for follower in followers:
            follower.end()

    # -- helpers ----------------------------------------------------------------------------------

    def _container(self, container_id: str) -> FakeContainer:
        with self._lock:
            container = self.containers_by_id.get(container_id)
        if container is None:
            raise engine_error(NotFound, 404, f"No such container: {container_id}")
        return container

    def _follow(self, container: FakeContainer, since: datetime | None) -> _LogResponse:
        reader, writer = socket.socketpair()
        follower = _Follower(reader, writer)
        with self._lock:
            for when, stream, line in container.log:
                if since is None or when >= since:
                    follower.send(when, stream, line)
            if container.state == "running":
                container.followers.append(follower)
            else:
                follower.end()
        return _LogResponse(reader)


class FakeDockerClient:
    """Stands in for `docker.DockerClient`: the backend only uses its `api` and `close()`."""

    def __init__(self, api: FakeAPI) -> None:
        self.api = api
        self.closed = False

    def close(self) -> None:
        self.closed = True
