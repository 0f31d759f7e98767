"""The Docker engine goes away while a job runs: the attempt fails promptly with the reason,
never stays `running`, and the runner says the engine is unreachable."""

from __future__ import annotations

import contextlib
import gc
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from gnomon.runner.base import ExecutorStatus
from tests.runner.attempts import container_attempt
from tests.runner.conftest import MakeDockerRunner
from tests.runner.recorder import Recorder

pytestmark = pytest.mark.docker
ENGINE_SOCKET = "/var/run/docker.sock"


class SocketProxy:
    """Forwards a Unix socket to the engine's until `cut()`: then every open connection drops and
    every new one is closed at once. To the client, the engine has gone away (and its sockets are
    closed properly, unlike when the socket path vanishes and the SDK's connect fails)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(64)
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        self.down = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            engine.connect(ENGINE_SOCKET)
            with self.lock:
                self.connections += [client, engine]
            for source, target in ((client, engine), (engine, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.down = True
        with self.lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[SocketProxy]:
    if not Path(ENGINE_SOCKET).exists():
        pytest.skip(f"needs the engine at {ENGINE_SOCKET}")
    server = SocketProxy(tmp_path / "engine.sock")
    yield server
    server.cut()
    server.listener.close()


# After the outage the docker SDK drops some of its unix-socket connections without closing
# them; that ResourceWarning is the SDK's. The test closes everything, collects garbage itself
# and ignores that warning here, so it cannot surface in a later test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_engine_lost_mid_run_fails_the_attempt_promptly(
    make_docker_runner: MakeDockerRunner,
    recorder: Recorder,
    proxy: SocketProxy,
    busybox_image: str,
    docker_client: Any,
) -> None:
    client = docker.DockerClient(base_url=f"unix://{proxy.path}", timeout=5)
    runner = make_docker_runner(client=client)
    attempt = container_attempt(busybox_image, "echo started", "sleep 60")
    runner.start(attempt)
    recorder.wait_for(
        lambda: "started" in recorder.messages(attempt.task_id), what="the line `started`"
    )
    proxy.cut()
    state = recorder.final(attempt.task_id, timeout=20)
    assert state.status is ExecutorStatus.FAILED
    assert (state.reason or "").startswith("Docker engine unreachable"), state.reason
    assert recorder.terminal_count(attempt.task_id) == 1
    assert (runner.healthy() or "").startswith("Docker engine unreachable")
    runner.close()
    client.close()
    gc.collect()
    for container in docker_client.containers.list(
        filters={"label": f"dev.gnomon.task-id={attempt.task_id}"}
    ):
        container.remove(force=True)
