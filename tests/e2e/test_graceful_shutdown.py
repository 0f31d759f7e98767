"""SIGTERM and SIGINT stop `gnomon serve` gracefully: exit 0, the scheduler lease released (so a
restart acts at once instead of waiting the lease out), running containers left to be adopted."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gnomon.storage.engine import make_engine
from tests.e2e.conftest import Gnomon
from tests.e2e.test_serve_docker import container_task, finished, put

LONG_LEASE = "30"
"""Long enough that a restart which had to wait the lease out could never start within a second."""


def running(runs: list[dict[str, Any]]) -> bool:
    states = [s for r in runs for t in r["task"] for s in t.get("execution_state", [])]
    return any(s["key"] == "status" and s["value"] == "Running" for s in states)


def lease_row(gnomon: Gnomon) -> tuple[str, datetime]:
    engine = make_engine(gnomon.env["GNOMON_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            holder, expires = connection.execute(
                sa.text("SELECT holder, expires_at FROM scheduler_lease")
            ).one()
    finally:
        engine.dispose()
    if isinstance(expires, str):
        expires = datetime.fromisoformat(expires)
    return holder, expires if expires.tzinfo else expires.replace(tzinfo=UTC)


@pytest.mark.docker
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_releases_the_lease_and_a_restart_acts_at_once(
    gnomon: Gnomon, stop_signal: signal.Signals
) -> None:
    gnomon.env["GNOMON_SCHEDULER_LEASE_SECONDS"] = LONG_LEASE
    gnomon.start()
    put(gnomon, "long", container_task("sleeper", "sleep 5; echo finished"))
    put(gnomon, "quick", container_task("hello", "echo hello"))
    assert gnomon.http.post("/api/process_definitions/long/trigger").status_code == 204
    gnomon.wait_for("/api/processes/?process_definition_name=long", running)

    assert gnomon.process is not None
    gnomon.process.send_signal(stop_signal)
    assert gnomon.process.wait(timeout=30) == 0, gnomon.log.read_text()[-3000:]
    _, expires = lease_row(gnomon)
    assert expires <= datetime.now(UTC), "the lease was not released"

    gnomon.start()
    triggered_at = datetime.now(UTC)
    started = time.monotonic()
    assert gnomon.http.post("/api/process_definitions/quick/trigger").status_code == 204
    runs = gnomon.wait_for(
        "/api/processes/?process_definition_name=quick", lambda runs: bool(runs), timeout=10
    )
    waited = time.monotonic() - started
    start_time = datetime.fromisoformat(runs[0]["start_time"].replace("Z", "+00:00"))
    assert (start_time - triggered_at).total_seconds() < 1.0, (start_time, triggered_at, waited)

    long_run = gnomon.wait_for(
        "/api/processes/?process_definition_name=long", finished, timeout=60
    )[0]
    assert long_run["status"] == "succeeded", long_run
    [task] = long_run["task"]  # adopted, not lost and not started again
    assert [e["message"] for e in task["log_entries"] if e["source"] == "stdout"] == ["finished"]


@pytest.mark.parametrize("command", ["scheduler", "api"])
def test_the_other_servers_stop_gracefully_on_sigterm(tmp_path: Path, command: str) -> None:
    server = Gnomon(tmp_path, command, GNOMON_EXECUTOR="fake")
    try:
        migrate = [sys.executable, "-m", "gnomon", "migrate"]
        subprocess.run(migrate, env=server.env, check=True, capture_output=True)
        server.start()
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0, server.log.read_text()[-3000:]
        if command == "scheduler":
            _, expires = lease_row(server)
            assert expires <= datetime.now(UTC), "the lease was not released"
    finally:
        server.stop()
