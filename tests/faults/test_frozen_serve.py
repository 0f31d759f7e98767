"""Two real `gnomon serve` on one PostgreSQL store and one Docker engine; the lease holder is
frozen with SIGSTOP while its jobs run, the standby takes over and starts more, then the old holder
is thawed with SIGCONT. Nothing is wrongly failed, nothing runs twice, nothing is lost."""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.e2e.conftest import Gnomon
from tests.e2e.test_serve_docker import container_task, finished, put
from tests.images import busybox_image, docker_client  # noqa: F401  (fixtures)
from tests.runner.docker.test_adopt import WAIT_FOR_GO
from tests.waiting import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.postgres]

TASKS = 5
JOB = f"{WAIT_FOR_GO}; echo finished"
"""Each job runs until the test lets it end: after the thawed Gnomon has had time to act."""


@pytest.fixture
def pair(
    engine: Engine,
    tmp_path: Path,
    busybox_image: str,  # noqa: F811
) -> Iterator[tuple[Gnomon, Gnomon]]:
    del busybox_image
    url = engine.url.render_as_string(hide_password=False)
    servers = []
    for name in ("first", "second"):
        folder = tmp_path / name
        folder.mkdir()
        # Both runs' tasks run at once while the first server is frozen: no slot limit between
        # them (the default is 4 per CPU), which is not what this test is about.
        servers.append(
            Gnomon(folder, GNOMON_DATABASE_URL=url, GNOMON_MAX_RUNNING_TASKS=str(4 * TASKS))
        )
    yield servers[0], servers[1]
    for server in servers:
        if server.process is not None and server.process.poll() is None:
            server.process.send_signal(signal.SIGCONT)
        server.stop()


def holder_pid(engine: Engine) -> int | None:
    with engine.connect() as connection:
        holder = connection.execute(sa.text("SELECT holder FROM scheduler_lease")).scalar()
    return int(holder.split("-")[-2]) if holder else None


def all_running(runs: list[dict[str, Any]]) -> bool:
    states = [s for r in runs for t in r["task"] for s in t.get("execution_state", [])]
    return sum(1 for s in states if s["key"] == "status" and s["value"] == "Running") == TASKS


def trigger(server: Gnomon, name: str) -> str:
    """Start a run of TASKS jobs; its process id, once all are running."""
    tasks = [container_task(f"t{i}", JOB) for i in range(TASKS)]
    put(server, name, *tasks)
    assert server.http.post(f"/api/process_definitions/{name}/trigger").status_code == 204
    path = f"/api/processes/?process_definition_name={name}"
    return str(server.wait_for(path, all_running, timeout=60)[0]["process_id"])


def let_go(docker_client: Any, process_id: str) -> None:  # noqa: F811
    containers = docker_client.containers.list(
        filters={"label": f"dev.gnomon.process-id={process_id}"}
    )
    assert len(containers) == TASKS
    for container in containers:
        assert container.exec_run(["touch", "/tmp/go"]).exit_code == 0


@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_a_frozen_serve_wakes_and_neither_fails_nor_repeats_anything(
    pair: tuple[Gnomon, Gnomon],
    engine: Engine,
    docker_client: Any,  # noqa: F811
) -> None:
    first, second = pair
    first.start()
    assert first.process is not None
    first_pid = first.process.pid
    wait_for(lambda: holder_pid(engine) == first_pid, what="the first to hold the lease")
    second.start()
    assert second.process is not None
    second_pid = second.process.pid
    before = trigger(first, "before")

    os.kill(first_pid, signal.SIGSTOP)
    wait_for(
        lambda: holder_pid(engine) == second_pid,
        what="the standby to take over",
        timeout=30,
    )
    after = trigger(second, "after")
    os.kill(first_pid, signal.SIGCONT)
    wait_for(
        lambda: "lost the scheduler lease" in first.log.read_text(),
        what="the thawed Gnomon to notice it lost the lease",
        timeout=30,
    )
    for process_id in (before, after):
        let_go(docker_client, process_id)

    for name in ("before", "after"):
        path = f"/api/processes/?process_definition_name={name}"
        [run] = second.wait_for(path, finished, timeout=90)
        attempts = Counter(t["task_definition_name"] for t in run["task"])
        assert attempts == Counter({f"t{i}": 1 for i in range(TASKS)}), run
        outcomes = [(t["task_definition_name"], t["status"], t.get("reason")) for t in run["task"]]
        assert run["status"] == "succeeded", outcomes
        for task in run["task"]:
            stdout = [e["message"] for e in task["log_entries"] if e["source"] == "stdout"]
            assert stdout == ["finished"], task
    assert first.process.poll() is None, "the thawed Gnomon died"
    assert holder_pid(engine) == second_pid
