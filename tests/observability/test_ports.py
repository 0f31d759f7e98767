"""Which port each server listens on, as real processes: `gnomon api` and `gnomon scheduler` run
side by side with one environment; a taken port is one line and exit code 3; the scheduler opens
its port before it takes the lease; its skew histogram reaches a Prometheus scrape."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from gnomon.api.app import create_app
from gnomon.cli import LISTEN_EXIT
from gnomon.settings import Settings
from gnomon.storage import make_engine, upgrade
from gnomon.storage.tables import ProcessRow, SchedulerLeaseRow
from tests.clock import FakeClock
from tests.live import free_port
from tests.samples import EVERY_MINUTE, definition, docker_task
from tests.waiting import wait_until


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    """One environment for every server of a test: a migrated SQLite store, free ports."""
    url = f"sqlite:///{tmp_path / 'gnomon.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return {
        **os.environ,
        "GNOMON_DATABASE_URL": url,
        "GNOMON_HOST": "127.0.0.1",
        "GNOMON_PORT": str(free_port()),
        "GNOMON_METRICS_PORT": str(free_port()),
        "GNOMON_EXECUTOR": "fake",
        "GNOMON_SCHEDULER_LEASE_SECONDS": "3",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }


@contextmanager
def server(verb: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`gnomon VERB` running until the block ends; then SIGTERM, and it must exit 0."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gnomon", verb], env=env, stdout=sink, stderr=sink
        )
    try:
        yield process
    except BaseException:
        process.kill()
        process.wait(timeout=10)
        raise
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, log.read_text()[-3000:]


def healthy(url: str, log: Path) -> dict[str, str]:
    """The body of a 200 from `url`, waited for."""
    try:
        response = wait_until(
            lambda: httpx.get(url, timeout=5),
            lambda answer: answer.status_code == 200,
            what=f"200 from {url}",
            timeout=60,
            interval=0.1,
            ignoring=(httpx.HTTPError,),
            summary=lambda answer: (answer.status_code, answer.text),
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the server's log:\n{log.read_text()[-3000:]}") from None
    body: dict[str, str] = response.json()
    return body


def test_api_and_scheduler_run_with_one_environment_on_one_host(
    environment: dict[str, str], tmp_path: Path
) -> None:
    api_url = f"http://127.0.0.1:{environment['GNOMON_PORT']}/_internal_"
    probes = f"http://127.0.0.1:{environment['GNOMON_METRICS_PORT']}/_internal_"
    api_log, scheduler_log = tmp_path / "api.log", tmp_path / "scheduler.log"
    with (
        server("api", environment, api_log),
        server("scheduler", environment, scheduler_log),
    ):
        assert healthy(f"{api_url}/healthcheck", api_log) == {"status": "ok", "store": "ok"}
        assert healthy(f"{probes}/livez", scheduler_log) == {"status": "ok", "scheduler": "ok"}
        ready = wait_until(
            lambda: healthy(f"{probes}/readyz", scheduler_log),
            lambda body: body.get("lease") == "held",
            what="the scheduler to report that it holds the lease",
        )
        assert ready == {
            "status": "ok",
            "scheduler": "ok",
            "lease": "held",
            "store": "ok",
            "executor": "ok",
        }
        assert healthy(f"{probes}/healthcheck", scheduler_log) == ready
        # Each serves its own: the API its requests, the scheduler its loop.
        assert "http_request_duration_seconds" in httpx.get(f"{api_url}/metrics").text
        assert "gnomon_scheduler_wake_duration_seconds" in httpx.get(f"{probes}/metrics").text
        assert httpx.get(f"{probes}/../api/process_definitions").status_code == 404


@contextmanager
def taken(port: str) -> Iterator[None]:
    """Another program listening on `port` of 127.0.0.1."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", int(port)))
        other.listen()
        yield


PORT_OF = {
    "api": "GNOMON_PORT",
    "serve": "GNOMON_PORT",
    "scheduler": "GNOMON_METRICS_PORT",
    "operator": "GNOMON_METRICS_PORT",
}


@pytest.mark.parametrize(("verb", "workers"), [*((verb, 1) for verb in PORT_OF), ("api", 2)])
def test_a_taken_port_is_one_line_and_its_own_exit_code(
    verb: str, workers: int, environment: dict[str, str]
) -> None:
    setting = PORT_OF[verb]
    port = environment[setting]
    env = {**environment, "GNOMON_API_WORKERS": str(workers)}
    with taken(port):
        result = subprocess.run(
            [sys.executable, "-m", "gnomon", verb],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == LISTEN_EXIT == 3, result.stderr
    assert result.stderr.splitlines() == [
        f"gnomon: cannot listen on 127.0.0.1:{port} ({setting}): Address already in use"
    ]


def due_definition(url: str) -> None:
    """A definition due every minute, created five minutes ago: its catch-up run is due now."""
    engine = make_engine(url)
    clock = FakeClock(datetime.now(UTC) - timedelta(minutes=5))
    with TestClient(create_app(Settings(), engine, clock=clock)) as client:
        body = definition("minutely", docker_task("only"), schedule=EVERY_MINUTE)
        assert client.put("/api/process_definitions/minutely", json=body).status_code in (200, 201)
    engine.dispose()


def rows(url: str, table: sa.Table) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    engine.dispose()
    return int(count)


LEASES: sa.Table = SchedulerLeaseRow.__table__  # type: ignore[attr-defined]
PROCESSES: sa.Table = ProcessRow.__table__  # type: ignore[attr-defined]


@pytest.mark.parametrize("verb", ["scheduler", "serve"])
def test_a_scheduler_that_cannot_listen_takes_no_lease_and_starts_no_run(
    verb: str, environment: dict[str, str]
) -> None:
    url = environment["GNOMON_DATABASE_URL"]
    due_definition(url)
    with taken(environment[PORT_OF[verb]]):
        result = subprocess.run(
            [sys.executable, "-m", "gnomon", verb],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 3, result.stderr
    assert rows(url, LEASES) == 0
    assert rows(url, PROCESSES) == 0


def test_schedule_skew_reaches_the_schedulers_metrics_port(
    environment: dict[str, str], tmp_path: Path
) -> None:
    due_definition(environment["GNOMON_DATABASE_URL"])
    metrics = f"http://127.0.0.1:{environment['GNOMON_METRICS_PORT']}/_internal_/metrics"
    log = tmp_path / "scheduler.log"
    with server("scheduler", environment, log):
        scraped = wait_until(
            lambda: httpx.get(metrics, timeout=5),
            lambda answer: "gnomon_schedule_skew_seconds_count 1.0" in answer.text,
            what="one observation of the schedule skew in a scrape",
            timeout=60,
            interval=0.2,
            ignoring=(httpx.HTTPError,),
            summary=lambda answer: [
                line for line in answer.text.splitlines() if "skew_seconds_count" in line
            ],
        )
    assert scraped.headers["content-type"].startswith("text/plain")
    # The catch-up run of a minute that passed while nothing ran: started late, and measured so.
    (total,) = [
        float(line.split()[-1])
        for line in scraped.text.splitlines()
        if line.startswith("gnomon_schedule_skew_seconds_sum")
    ]
    assert 0 < total < 120
