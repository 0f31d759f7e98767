"""The Docker runner against the real engine: outcomes, limits, environment and logs."""

from __future__ import annotations

import gc
import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from gnomon.runner.base import ExecutorStatus
from gnomon.runner.docker.runner import DockerRunner
from gnomon.runner.docker.spec import LABEL_INSTANCE, LABEL_MANAGED, LABEL_TASK_ID
from tests.images import BUSYBOX_IMAGE
from tests.runner.attempts import container_attempt, make_attempt
from tests.runner.conftest import MakeDockerRunner, runner_settings
from tests.runner.recorder import Recorder
from tests.waiting import wait_for

pytestmark = pytest.mark.docker


def container_gone(client: Any, task_id: str) -> bool:
    found = client.containers.list(
        all=True, sparse=True, filters={"label": f"{LABEL_TASK_ID}={task_id}"}
    )
    return not found


def wait_until_gone(client: Any, task_id: str, timeout: float = 10.0) -> None:
    """Wait on the engine (real external state) until the task's container is removed."""
    wait_for(
        lambda: container_gone(client, task_id),
        what=f"the container of {task_id} to be removed",
        timeout=timeout,
    )


def test_exit_zero_succeeds_and_the_container_is_removed(
    docker_runner: DockerRunner, recorder: Recorder, busybox_image: str, docker_client: Any
) -> None:
    attempt = container_attempt(busybox_image, "echo hello")
    docker_runner.start(attempt)
    state = recorder.final(attempt.task_id)
    assert state.status is ExecutorStatus.SUCCEEDED
    assert state.handle
    assert recorder.states[0].status is ExecutorStatus.RUNNING
    assert recorder.messages(attempt.task_id, "stdout") == ["hello"]
    wait_until_gone(docker_client, attempt.task_id)


def test_nonzero_exit_fails_with_the_exit_code(
    docker_runner: DockerRunner, recorder: Recorder, busybox_image: str
) -> None:
    attempt = container_attempt(busybox_image, "echo oops >&2", "exit 3")
    docker_runner.start(attempt)
    state = recorder.final(attempt.task_id)
    assert (state.status, state.reason) == (ExecutorStatus.FAILED, "exit code 3")
    assert recorder.messages(attempt.task_id, "stderr") == ["oops"]


def test_kill_stops_the_container_and_reports_the_reason(
    docker_runner: DockerRunner, recorder: Recorder, busybox_image: str, docker_client: Any
) -> None:
    attempt = container_attempt(busybox_image, command=["sleep", "300"])
    docker_runner.start(attempt)
    recorder.wait_for(
        lambda: any(s.task_id == attempt.task_id for s in recorder.states), what="a first state"
    )
    began = time.monotonic()
    docker_runner.kill(attempt.task_id, "max runtime exceeded")
    state = recorder.final(attempt.task_id, timeout=15)
    assert (state.status, state.reason) == (ExecutorStatus.FAILED, "max runtime exceeded")
    assert time.monotonic() - began < 10
    wait_until_gone(docker_client, attempt.task_id)
    assert recorder.terminal_count(attempt.task_id) == 1


def test_a_job_over_its_memory_limit_fails_out_of_memory(
    docker_runner: DockerRunner, recorder: Recorder, busybox_image: str
) -> None:
    attempt = container_attempt(busybox_image, "head -c 200m /dev/zero | tail", memory=32)
    docker_runner.start(attempt)
    state = recorder.final(attempt.task_id, timeout=60)
    assert (state.status, state.reason) == (ExecutorStatus.FAILED, "out of memory (limit 32 MB)")


def test_limits_and_labels_are_set_on_the_container(
    make_docker_runner: MakeDockerRunner,
    recorder: Recorder,
    busybox_image: str,
    docker_client: Any,
    instance: str,
) -> None:
    runner = make_docker_runner(keep_containers=True)
    attempt = container_attempt(busybox_image, "true", memory=64, cpu=512)
    runner.start(attempt)
    assert recorder.final(attempt.task_id).status is ExecutorStatus.SUCCEEDED
    (container,) = docker_client.containers.list(
        all=True, filters={"label": f"{LABEL_TASK_ID}={attempt.task_id}"}
    )
    host = container.attrs["HostConfig"]
    assert host["Memory"] == 64 * 1024 * 1024
    assert host["NanoCpus"] == 500_000_000
    assert container.labels[LABEL_MANAGED] == "true"
    assert container.labels[LABEL_INSTANCE] == instance
    assert container.labels["dev.gnomon.definition"] == attempt.process_definition_name
    assert container.labels["dev.gnomon.task-definition"] == attempt.task_definition_name
    assert container.labels["dev.gnomon.process-id"] == attempt.process_id


def test_batch_vcpus_above_the_engine_are_lowered_to_its_cpus(
    docker_runner: DockerRunner, recorder: Recorder, busybox_image: str
) -> None:
    name, _, tag = busybox_image.partition(":")
    attempt = make_attempt(
        "batch_image_command", image=name, tag=tag, command=["true"], memory=64, vCpus=1024
    )
    docker_runner.start(attempt)
    assert recorder.final(attempt.task_id).status is ExecutorStatus.SUCCEEDED


def test_the_job_environment_wins_over_user_variables(
    docker_runner: DockerRunner, recorder: Recorder, busybox_image: str
) -> None:
    attempt = container_attempt(
        busybox_image,
        'echo "MINE=$MINE"',
        'echo "TASK=$GNOMON_TASK_ID"',
        'echo "TOKEN=$GNOMON_TASK_TOKEN"',
        # busybox sh drops names with a dot from its children's environment; PID 1 is sh itself
        "tr '\\0' '\\n' < /proc/1/environ | grep '^sundial.url='",
        environment_variables=[
            {"variable_name": "MINE", "value": "mine"},
            {"variable_name": "GNOMON_TASK_ID", "value": "forged"},
        ],
    )
    docker_runner.start(attempt)
    assert recorder.final(attempt.task_id).status is ExecutorStatus.SUCCEEDED
    assert recorder.messages(attempt.task_id, "stdout") == [
        "MINE=mine",
        f"TASK={attempt.task_id}",
        f"TOKEN={attempt.token}",
        "sundial.url=http://host.docker.internal:8080/",
    ]


@pytest.fixture
def host_server() -> Iterator[tuple[int, list[str]]]:
    """An HTTP server on every host address; its port and the paths it was asked for."""
    paths: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], paths
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("network", [None, "host"])
def test_the_callback_url_reaches_the_host(
    make_docker_runner: MakeDockerRunner,
    recorder: Recorder,
    busybox_image: str,
    host_server: tuple[int, list[str]],
    network: str | None,
) -> None:
    port, paths = host_server
    public_url = None if network is None else f"http://127.0.0.1:{port}"
    runner = make_docker_runner(port=port, docker_network=network, public_url=public_url)
    # The static busybox cannot resolve names (no NSS), so the shell looks the host up itself.
    attempt = container_attempt(
        busybox_image,
        'hostport="${GNOMON_URL#http://}"; host="${hostport%:*}"; port="${hostport##*:}"',
        'ip="$(grep -w "$host" /etc/hosts | cut -f1 | head -n1)"',
        r'printf "GET /from/$GNOMON_TASK_ID HTTP/1.0\r\n\r\n" | nc "${ip:-$host}" "$port"',
    )
    runner.start(attempt)
    state = recorder.final(attempt.task_id)
    assert state.status is ExecutorStatus.SUCCEEDED, recorder.messages(attempt.task_id)
    assert paths == [f"/from/{attempt.task_id}"]


def test_output_arrives_while_the_container_runs(
    docker_runner: DockerRunner, recorder: Recorder, busybox_image: str
) -> None:
    attempt = container_attempt(busybox_image, "echo first", "sleep 2", "echo second")
    docker_runner.start(attempt)
    recorder.wait_for(
        lambda: "first" in recorder.messages(attempt.task_id), what="the first line", timeout=10
    )
    assert recorder.finished(attempt.task_id) is None
    assert recorder.final(attempt.task_id).status is ExecutorStatus.SUCCEEDED
    assert recorder.messages(attempt.task_id) == ["first", "second"]
    first, second = recorder.output_of(attempt.task_id)
    assert (second.when - first.when).total_seconds() >= 1.5


def test_output_beyond_the_bound_keeps_the_newest_lines(
    make_docker_runner: MakeDockerRunner, recorder: Recorder, busybox_image: str
) -> None:
    runner = make_docker_runner(max_log_lines_per_task=10)
    attempt = container_attempt(
        busybox_image, "i=1; while [ $i -le 50 ]; do echo line $i; i=$((i+1)); done"
    )
    runner.start(attempt)
    assert recorder.final(attempt.task_id).status is ExecutorStatus.SUCCEEDED
    assert recorder.messages(attempt.task_id, "stdout") == [f"line {i}" for i in range(41, 51)]
    (note,) = recorder.messages(attempt.task_id, "gnomon")
    assert note.startswith("40 lines of output were dropped")


def test_log_paths_are_copied_out_when_the_container_ends(
    docker_runner: DockerRunner, recorder: Recorder, busybox_image: str
) -> None:
    attempt = container_attempt(
        busybox_image,
        "mkdir -p /out/more",
        "echo alpha > /out/app.log",
        "echo beta >> /out/app.log",
        "echo gamma > /out/more/a.log",
        log_paths=["/out/app.log", "/out/missing.log", "/out/more"],
    )
    docker_runner.start(attempt)
    assert recorder.final(attempt.task_id).status is ExecutorStatus.SUCCEEDED
    assert recorder.messages(attempt.task_id, "file:/out/app.log") == ["alpha", "beta"]
    assert recorder.messages(attempt.task_id, "file:/out/more/a.log") == ["gamma"]
    (note,) = recorder.messages(attempt.task_id, "gnomon")
    assert "/out/missing.log" in note


def test_a_missing_image_fails_promptly_when_pulls_are_off(
    make_docker_runner: MakeDockerRunner, recorder: Recorder
) -> None:
    runner = make_docker_runner(pull_policy="never")
    attempt = container_attempt("gnomon-test/absent:nope", "true")
    began = time.monotonic()
    runner.start(attempt)
    state = recorder.final(attempt.task_id, timeout=10)
    assert time.monotonic() - began < 5
    assert state.status is ExecutorStatus.FAILED
    assert "gnomon-test/absent:nope" in (state.reason or "")
    assert "No such image" in (state.reason or "")


@pytest.mark.parametrize("policy", ["if-not-present", "always"])
def test_an_image_that_cannot_be_pulled_fails_with_the_pull_error(
    make_docker_runner: MakeDockerRunner, recorder: Recorder, policy: str
) -> None:
    runner = make_docker_runner(pull_policy=policy)
    # Nothing listens on port 1, so the engine's pull fails at once, with or without a network.
    attempt = container_attempt("127.0.0.1:1/gnomon-test/absent:nope", "true")
    runner.start(attempt)
    state = recorder.final(attempt.task_id, timeout=20)
    assert state.status is ExecutorStatus.FAILED
    assert (state.reason or "").startswith("cannot pull image 127.0.0.1:1/gnomon-test/absent:nope")
    assert "connection refused" in (state.reason or "")


def test_an_invalid_command_fails_with_the_engines_message(
    docker_runner: DockerRunner, recorder: Recorder, busybox_image: str, docker_client: Any
) -> None:
    attempt = container_attempt(busybox_image, command=["no-such-executable"])
    docker_runner.start(attempt)
    state = recorder.final(attempt.task_id)
    assert state.status is ExecutorStatus.FAILED
    assert "no-such-executable" in (state.reason or "")
    assert "executable file not found" in (state.reason or "")
    wait_until_gone(docker_client, attempt.task_id)


# The SDK's unix-socket connection does not close its socket when connect() fails; the
# ResourceWarning that garbage collection then raises is the SDK's, not the runner's.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("how", ["client", "factory"])
def test_an_unreachable_engine_fails_jobs_promptly(recorder: Recorder, how: str) -> None:
    def broken() -> Any:
        return docker.DockerClient(base_url="unix:///nonexistent/docker.sock")

    client = docker.DockerClient(base_url="unix:///nonexistent/docker.sock", version="1.41")
    runner = DockerRunner(
        runner_settings(),
        recorder,
        client=client if how == "client" else broken,
    )
    try:
        attempt = container_attempt(BUSYBOX_IMAGE, "true")
        began = time.monotonic()
        runner.start(attempt)
        state = recorder.final(attempt.task_id, timeout=10)
        assert time.monotonic() - began < 5
        assert state.status is ExecutorStatus.FAILED
        assert (state.reason or "").startswith("Docker engine unreachable: ")
        assert (runner.healthy() or "").startswith("Docker engine unreachable: ")
    finally:
        runner.close()
        client.close()
        gc.collect()  # so the SDK's unclosed sockets are reported here, where they are ignored


def test_a_reachable_engine_is_healthy(docker_runner: DockerRunner) -> None:
    assert docker_runner.healthy() is None
