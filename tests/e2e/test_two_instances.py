"""Two `gnomon serve` with separate stores on one Docker engine (a staging next to production):
the second's start-up adopts only its own containers and leaves the first's running job alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gnomon.runner.docker.runner import RESUMED_NOTE
from tests.e2e.conftest import Gnomon
from tests.e2e.test_graceful_shutdown import running
from tests.e2e.test_serve_docker import container_task, finished, put
from tests.runner.docker.test_adopt import WAIT_FOR_GO

pytestmark = pytest.mark.docker


@pytest.fixture
def pair(tmp_path: Path, busybox_image: str) -> Iterator[tuple[Gnomon, Gnomon]]:
    del busybox_image
    folders = [tmp_path / "first", tmp_path / "second"]
    for folder in folders:
        folder.mkdir()
    servers = (Gnomon(folders[0]), Gnomon(folders[1]))
    yield servers
    for server in servers:
        server.stop()


def stdout(run: dict[str, Any]) -> list[str]:
    return [e["message"] for t in run["task"] for e in t["log_entries"] if e["source"] == "stdout"]


def resumed(runs: list[dict[str, Any]]) -> bool:
    return any(e["message"] == RESUMED_NOTE for t in runs[0]["task"] for e in t["log_entries"])


def let_go(docker_client: Any, run: dict[str, Any]) -> None:
    """End a WAIT_FOR_GO job; fails if its container is gone."""
    containers = docker_client.containers.list(
        filters={"label": f"dev.gnomon.process-id={run['process_id']}"}
    )
    assert len(containers) == 1, f"the container of {run['process_definition_name']} is gone"
    assert containers[0].exec_run(["touch", "/tmp/go"]).exit_code == 0


def test_a_second_gnomon_leaves_the_first_ones_running_job_alone(
    pair: tuple[Gnomon, Gnomon], docker_client: Any
) -> None:
    first, second = pair
    # The second Gnomon has a job running when it goes down: at start-up it adopts it and cleans
    # up the containers it does not know.
    second.start()
    put(second, "theirs", container_task("waiter", f"{WAIT_FOR_GO}; echo theirs"))
    assert second.http.post("/api/process_definitions/theirs/trigger").status_code == 204
    [their_run] = second.wait_for("/api/processes/", running)
    second.kill()

    first.start()
    put(first, "ours", container_task("waiter", f"{WAIT_FOR_GO}; echo ours"))
    assert first.http.post("/api/process_definitions/ours/trigger").status_code == 204
    [our_run] = first.wait_for("/api/processes/", running)

    second.start()
    second.wait_for("/api/processes/", resumed)  # adopted: its clean-up is over
    let_go(docker_client, their_run)
    theirs = second.wait_for("/api/processes/", finished, timeout=60)[0]
    assert (theirs["status"], stdout(theirs)) == ("succeeded", ["theirs"]), theirs
    let_go(docker_client, our_run)  # still there, running
    ours = first.wait_for("/api/processes/", finished, timeout=60)[0]
    assert (ours["status"], stdout(ours)) == ("succeeded", ["ours"]), ours

    labels = {
        c.labels.get("dev.gnomon.instance")
        for c in docker_client.containers.list(
            all=True, filters={"label": "dev.gnomon.managed=true"}
        )
        if c.labels.get("dev.gnomon.process-id") in (ours["process_id"], theirs["process_id"])
    }
    assert "default" not in labels
