"""`gnomon serve` as a user runs it: a real process, a SQLite file, the local Docker engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.images import busybox_image, docker_client  # noqa: F401  (fixtures)
from tests.live import free_port
from tests.waiting import wait_until

PROBED_ON_METRICS_PORT = ("scheduler", "operator")
"""The servers that answer their healthcheck on GNOMON_METRICS_PORT, not GNOMON_PORT."""


class Gnomon:
    """One `gnomon serve` process (or another server `command`) that a test can kill with SIGKILL
    and start again. `http` talks to its healthcheck's port: GNOMON_PORT, or GNOMON_METRICS_PORT
    for the scheduler and the operator."""

    def __init__(self, folder: Path, command: str = "serve", **env: str) -> None:
        self.command = command
        self.port = free_port()
        self.metrics_port = free_port()
        probed = self.metrics_port if command in PROBED_ON_METRICS_PORT else self.port
        self.url = f"http://127.0.0.1:{probed}"
        self.log = folder / "serve.log"
        self.env = {
            **os.environ,
            "GNOMON_DATABASE_URL": f"sqlite:///{folder / 'gnomon.db'}",
            "GNOMON_PORT": str(self.port),
            "GNOMON_METRICS_PORT": str(self.metrics_port),
            "GNOMON_PULL_POLICY": "never",
            "GNOMON_SCHEDULER_LEASE_SECONDS": "3",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gnomon", self.command], env=self.env, stdout=log, stderr=log
            )
        try:
            wait_until(
                lambda: self.http.get("/_internal_/healthcheck").status_code,
                lambda status: status in (200, 503),
                what=f"gnomon {self.command} to answer its healthcheck",
                timeout=30,
                interval=0.1,
                ignoring=(httpx.HTTPError,),
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}; its log:\n{self.log.read_text()[-3000:]}") from None

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.http.close()

    def wait_for(self, path: str, predicate: Callable[[Any], bool], timeout: float = 60) -> Any:
        return wait_until(
            lambda: self.http.get(path).json(),
            predicate,
            what=f"an answer from GET {path} that passes {predicate.__name__}",
            timeout=timeout,
            interval=0.2,
        )


@pytest.fixture
def gnomon(tmp_path: Path, busybox_image: str) -> Iterator[Gnomon]:  # noqa: F811
    """A Gnomon whose jobs can use `busybox_image` (built by that fixture)."""
    del busybox_image
    server = Gnomon(tmp_path)
    yield server
    server.stop()
