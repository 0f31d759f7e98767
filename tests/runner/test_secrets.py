"""`value_from` secrets on the Docker and shell executors: read from Gnomon's host when an attempt
starts, never shown by a read route; a secret that cannot be had fails the attempt with a reason
that names the reference and holds none of the secret's text."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from gnomon.runner.base import Attempt, ExecutorStatus
from gnomon.runner.docker.runner import DockerRunner
from gnomon.runner.shell import ShellRunner
from tests.clock import FakeClock
from tests.runner.attempts import container_attempt, shell_attempt
from tests.runner.conftest import runner_settings
from tests.runner.live import LiveHarness
from tests.runner.recorder import Recorder

SECRET = "s3cret-Value-that-must-not-leak"
HOST_VARIABLE = "EXEC_TEST_SECRET"
DIGEST = hashlib.md5(SECRET.encode()).hexdigest()
CHECK = [
    f'[ "$(printf %s "$FROM_{kind.upper()}" | md5sum | cut -c1-32)" = {DIGEST} ] '
    f"&& echo {kind} matched"
    for kind in ("file", "host")
]
"""Proves the attempt got the secret without the script (a definition) holding its text."""


@pytest.fixture
def secret_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A secret file (with the final newline editors add) and the same secret in the host's
    environment."""
    path = tmp_path / "secret"
    path.write_text(SECRET + "\n")
    monkeypatch.setenv(HOST_VARIABLE, SECRET)
    return str(path)


def secret_variables(path: str) -> list[dict[str, Any]]:
    return [
        {"variable_name": "FROM_FILE", "value_from": {"file": path}},
        {"variable_name": "FROM_HOST", "value_from": {"host_env": HOST_VARIABLE}},
    ]


def failed_reason(recorder: Recorder, attempt: Attempt) -> str:
    state = recorder.final(attempt.task_id)
    assert state.status is ExecutorStatus.FAILED and state.reason is not None
    assert [s.status for s in recorder.states if s.task_id == attempt.task_id] == [state.status]
    return state.reason


def test_shell_jobs_get_secrets_from_a_file_and_the_host(
    shell_runner: ShellRunner, recorder: Recorder, secret_file: str
) -> None:
    attempt = shell_attempt(*CHECK, environment_variables=secret_variables(secret_file))
    shell_runner.start(attempt)
    assert recorder.final(attempt.task_id).status is ExecutorStatus.SUCCEEDED
    assert recorder.messages(attempt.task_id) == ["file matched", "host matched"]


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ({"file": "/nonexistent/secret"}, "value_from.file /nonexistent/secret cannot be read"),
        ({"host_env": "EXEC_TEST_UNSET"}, "value_from.host_env EXEC_TEST_UNSET is not set"),
        ({"host_env": "GNOMON_API_TOKEN"}, "settings are not given to jobs"),
        ({"secret_key_ref": {"name": "db", "key": "pw"}}, "needs the kubernetes executor"),
    ],
    ids=["missing-file", "unset-variable", "gnomon-setting", "kubernetes-only"],
)
def test_a_secret_that_cannot_be_had_fails_the_shell_attempt(
    shell_runner: ShellRunner, recorder: Recorder, source: dict[str, Any], words: str
) -> None:
    variables = [{"variable_name": "DB_PASSWORD", "value_from": source}]
    attempt = shell_attempt("echo never", environment_variables=variables)
    shell_runner.start(attempt)
    reason = failed_reason(recorder, attempt)
    assert reason.startswith("environment variable DB_PASSWORD: ") and words in reason
    assert recorder.messages(attempt.task_id) == []


def test_a_secret_file_that_is_not_text_fails_without_showing_it(
    shell_runner: ShellRunner, recorder: Recorder, tmp_path: Path
) -> None:
    path = tmp_path / "binary"
    path.write_bytes(b"abc\x00" + SECRET.encode())
    attempt = shell_attempt("true", environment_variables=secret_variables(str(path))[:1])
    shell_runner.start(attempt)
    reason = failed_reason(recorder, attempt)
    assert "holds a NUL byte" in reason and SECRET not in reason


@pytest.mark.docker
def test_containers_get_secrets_from_a_file_and_the_host(
    docker_runner: DockerRunner, recorder: Recorder, busybox_image: str, secret_file: str
) -> None:
    attempt = container_attempt(
        busybox_image, *CHECK, environment_variables=secret_variables(secret_file)
    )
    docker_runner.start(attempt)
    assert recorder.final(attempt.task_id).status is ExecutorStatus.SUCCEEDED
    assert recorder.messages(attempt.task_id) == ["file matched", "host matched"]


@pytest.mark.docker
@pytest.mark.parametrize(
    ("source", "words"),
    [
        ({"file": "/nonexistent/secret"}, "cannot be read"),
        ({"secret_key_ref": {"name": "db", "key": "pw"}}, "needs the kubernetes executor"),
    ],
    ids=["missing-file", "kubernetes-only"],
)
def test_a_secret_that_cannot_be_had_fails_the_container_attempt(
    docker_runner: DockerRunner,
    recorder: Recorder,
    busybox_image: str,
    docker_client: Any,
    source: dict[str, Any],
    words: str,
) -> None:
    variables = [{"variable_name": "DB_PASSWORD", "value_from": source}]
    attempt = container_attempt(busybox_image, "echo never", environment_variables=variables)
    docker_runner.start(attempt)
    reason = failed_reason(recorder, attempt)
    assert reason.startswith("environment variable DB_PASSWORD: ") and words in reason
    labels = {"label": f"dev.gnomon.task-id={attempt.task_id}"}
    assert docker_client.containers.list(all=True, filters=labels) == []


def read_everything(live: LiveHarness, name: str) -> str:
    """Every read route's answer about `name` and its runs, as one text."""
    process = live.process(name)
    task = process.task[0]
    answers = [
        live.api.get(f"/api/process_definitions/{name}"),
        live.api.get("/api/process_definitions"),
        live.api.get(f"/api/processes/{process.process_id}"),
        live.api.get("/api/processes", params={"process_definition_name": name}),
        live.api.get(
            "/api/tasks",
            params={"process_definition_name": name, "task_definition_name": "t"},
        ),
    ]
    assert all(answer.status_code == 200 for answer in answers)
    assert task.status.value == "succeeded"
    return "\n".join(answer.text for answer in answers)


def test_read_routes_show_references_never_values(
    engine: Engine, clock: FakeClock, secret_file: str
) -> None:
    def factory(sink: Any) -> ShellRunner:
        return ShellRunner(runner_settings(), sink)

    live = LiveHarness(engine, clock, factory)
    try:
        script = CHECK
        task = {
            "task_definition_name": "t",
            "executable": {
                "shell_script_command": {
                    "script": "\n".join(script),
                    "environment_variables": secret_variables(secret_file),
                }
            },
        }
        process = live.run({"process_definition_name": "secrets", "task_definitions": [task]})
        assert process.status.value == "succeeded"
        text = read_everything(live, "secrets")
        definition = live.api.get("/api/process_definitions/secrets").json()
    finally:
        live.close()
    assert SECRET not in text
    command = definition["task_definitions"][0]["executable"]["shell_script_command"]
    assert command["environment_variables"] == secret_variables(secret_file)
    assert "file matched" in text and "host matched" in text  # the attempt had the values
