"""Live pages over real processes: `gnomon serve` stops promptly with a stream open, and on
PostgreSQL `gnomon api` tells its pages what a separate `gnomon scheduler` does."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.e2e.conftest import Gnomon
from tests.web.sse import Event, EventStream

SHELL = {"GNOMON_EXECUTOR": "fake", "GNOMON_ALLOW_SHELL": "true"}


def shell_task(name: str, script: str) -> dict[str, Any]:
    return {
        "task_definition_name": name,
        "executable": {"shell_script_command": {"script": script}},
    }


def put(gnomon: Gnomon, name: str, *tasks: dict[str, Any]) -> None:
    body = {"process_definition_name": name, "task_definitions": list(tasks)}
    response = gnomon.http.put(f"/api/process_definitions/{name}", json=body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("command", ["serve", "api"])
def test_a_server_with_open_streams_stops_within_seconds(tmp_path: Path, command: str) -> None:
    server = Gnomon(tmp_path, command, **SHELL)
    server.start()
    try:
        streams = [EventStream(server.url + path) for path in ("/live/runs", "/live/definitions")]
        assert [stream.status for stream in streams] == [200, 200]
        assert server.process is not None
        stopping = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=10) == 0, server.log.read_text()[-3000:]
        assert time.monotonic() - stopping < 5, server.log.read_text()[-3000:]
        for stream in streams:
            stream.ended(timeout=5)
            stream.close()
    finally:
        server.stop()


@pytest.fixture
def api_and_scheduler(tmp_path: Path, engine: Engine) -> Iterator[tuple[Gnomon, Gnomon]]:
    """`gnomon api` and `gnomon scheduler` as separate processes on one PostgreSQL store."""
    url = engine.url.render_as_string(hide_password=False)
    folders = [tmp_path / "api", tmp_path / "scheduler"]
    for folder in folders:
        folder.mkdir()
    api = Gnomon(folders[0], "api", GNOMON_DATABASE_URL=url, **SHELL)
    scheduler = Gnomon(folders[1], "scheduler", GNOMON_DATABASE_URL=url, **SHELL)
    api.start()
    scheduler.start()
    yield api, scheduler
    for server in (api, scheduler):
        server.stop()


def topics(event: Event) -> list[str]:
    found: list[str] = event.json()["topics"]
    return found


def runs_of(api: Gnomon, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.http.get(
        "/api/processes/", params={"process_definition_name": name}
    ).json()
    return found


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_the_api_process_hears_what_the_scheduler_process_does(
    api_and_scheduler: tuple[Gnomon, Gnomon],
) -> None:
    api, scheduler = api_and_scheduler
    put(api, "talker", shell_task("talk", "echo started; sleep 2; echo finished"))
    with EventStream(api.url + "/live/runs") as page:
        assert page.status == 200
        assert api.http.post("/api/process_definitions/talker/trigger").status_code == 204
        assert topics(page.next()) == ["triggers"]  # the API's own change

        assert topics(page.next(timeout=20)) == ["runs"]  # from the scheduler's process
        [run] = runs_of(api, "talker")
        assert run["status"] == "running"
        process_id = run["process_id"]

        log_url = f"{api.url}/processes/{process_id}/livelogs/stream"
        with EventStream(log_url) as logs:
            messages: list[str] = []
            while "finished" not in messages:
                event = logs.next(timeout=20)
                assert event.event == "entries", event
                messages += [line["message"] for line in event.json() if line["source"] == "stdout"]
            assert messages == ["started", "finished"]
            end = logs.next(timeout=20)
            assert (end.event, end.json()) == ("end", {"status": "succeeded"})

        while True:  # the run's end reaches the runs page too
            assert topics(page.next(timeout=20)) == ["runs"]
            if runs_of(api, "talker")[0]["status"] != "running":
                break
    assert scheduler.process is not None and scheduler.process.poll() is None
