"""The shell runner: real bash processes, Sundial's stdout protocol, kills and adoption."""

from __future__ import annotations

import os
import time
from pathlib import Path

from gnomon.domain.enums import TaskStatus
from gnomon.runner.base import LOST, ExecutorStatus
from gnomon.runner.shell import REPORTED_FAILURE, ShellRunner
from tests.runner.attempts import shell_attempt
from tests.runner.conftest import runner_settings
from tests.runner.recorder import Recorder
from tests.waiting import wait_for


def test_a_script_that_exits_zero_succeeds(shell_runner: ShellRunner, recorder: Recorder) -> None:
    attempt = shell_attempt("echo hello", "echo world")
    shell_runner.start(attempt)
    state = recorder.final(attempt.task_id)
    assert state.status is ExecutorStatus.SUCCEEDED
    assert recorder.states[0].status is ExecutorStatus.RUNNING
    assert recorder.messages(attempt.task_id, "stdout") == ["hello", "world"]


def test_a_nonzero_exit_fails_with_the_exit_code(
    shell_runner: ShellRunner, recorder: Recorder
) -> None:
    attempt = shell_attempt("exit 7")
    shell_runner.start(attempt)
    state = recorder.final(attempt.task_id)
    assert (state.status, state.reason) == (ExecutorStatus.FAILED, "exit code 7")


def test_status_lines_are_reported_not_logged(
    shell_runner: ShellRunner, recorder: Recorder
) -> None:
    failing = shell_attempt("echo '**status=failure'")
    passing = shell_attempt("echo '**status=success'", "echo after")
    shell_runner.start(failing)
    shell_runner.start(passing)
    recorder.final(failing.task_id)
    recorder.final(passing.task_id)
    assert (failing.task_id, TaskStatus.FAILED, REPORTED_FAILURE) in recorder.verdicts
    assert (passing.task_id, TaskStatus.SUCCEEDED, None) in recorder.verdicts
    assert recorder.messages(failing.task_id) == []
    assert recorder.messages(passing.task_id) == ["after"]


def test_metadata_lines_become_metadata_entries(
    shell_runner: ShellRunner, recorder: Recorder
) -> None:
    attempt = shell_attempt("echo '**metadata:rows=42'", "echo '**metadata:note=a=b'", "echo plain")
    shell_runner.start(attempt)
    recorder.final(attempt.task_id)
    assert recorder.metadata_entries == [
        (attempt.task_id, "rows", "42"),
        (attempt.task_id, "note", "a=b"),
    ]
    assert recorder.messages(attempt.task_id) == ["plain"]


def test_stderr_is_captured(shell_runner: ShellRunner, recorder: Recorder) -> None:
    attempt = shell_attempt("echo problem >&2", "echo fine")
    shell_runner.start(attempt)
    recorder.final(attempt.task_id)
    assert recorder.messages(attempt.task_id, "stderr") == ["problem"]
    assert recorder.messages(attempt.task_id, "stdout") == ["fine"]


def test_the_environment_has_the_job_variables_and_a_fresh_directory(
    shell_runner: ShellRunner, recorder: Recorder
) -> None:
    attempt = shell_attempt(
        'echo "MINE=$MINE"',
        'echo "TASK=$GNOMON_TASK_ID"',
        "printenv sundial.url",
        'echo "ATTEMPTS=$SUNDIAL_TASK_PREVIOUS_ATTEMPTS"',
        "pwd",
        "ls -A",
        environment_variables=[
            {"variable_name": "MINE", "value": "mine"},
            {"variable_name": "GNOMON_TASK_ID", "value": "forged"},
        ],
    )
    shell_runner.start(attempt)
    assert recorder.final(attempt.task_id).status is ExecutorStatus.SUCCEEDED
    mine, task, url, attempts, cwd, listing = recorder.messages(attempt.task_id, "stdout")
    assert (mine, task, attempts) == ("MINE=mine", f"TASK={attempt.task_id}", "ATTEMPTS=0")
    assert url == "http://127.0.0.1:8080/"
    assert listing == "script.sh"
    assert not Path(cwd).exists()


def test_gnomon_settings_do_not_leak_into_scripts(recorder: Recorder) -> None:
    os.environ["GNOMON_API_TOKEN"] = "secret"
    try:
        runner = ShellRunner(runner_settings(), recorder)
        attempt = shell_attempt('echo "token=${GNOMON_API_TOKEN:-none}"')
        runner.start(attempt)
        recorder.final(attempt.task_id)
        runner.close()
    finally:
        del os.environ["GNOMON_API_TOKEN"]
    assert recorder.messages(attempt.task_id) == ["token=none"]


def test_kill_ends_the_script_and_its_children(
    shell_runner: ShellRunner, recorder: Recorder, tmp_path: Path
) -> None:
    marker = tmp_path / "child.pid"
    attempt = shell_attempt(f"sleep 300 & echo $! > {marker}", "echo started", "wait")
    shell_runner.start(attempt)
    recorder.wait_for(
        lambda: "started" in recorder.messages(attempt.task_id), what="the line `started`"
    )
    child = int(marker.read_text())
    shell_runner.kill(attempt.task_id, "max runtime exceeded")
    state = recorder.final(attempt.task_id)
    assert (state.status, state.reason) == (ExecutorStatus.FAILED, "max runtime exceeded")
    wait_until_dead(child)


def test_kill_escalates_to_sigkill_after_the_grace_period(
    recorder: Recorder,
) -> None:
    runner = ShellRunner(runner_settings(kill_grace_seconds=0.5), recorder)
    attempt = shell_attempt("trap '' TERM", "echo ready", "while true; do sleep 0.1; done")
    runner.start(attempt)
    recorder.wait_for(
        lambda: "ready" in recorder.messages(attempt.task_id), what="the line `ready`"
    )
    began = time.monotonic()
    runner.kill(attempt.task_id, "stop")
    state = recorder.final(attempt.task_id)
    assert state.reason == "stop"
    assert 0.4 < time.monotonic() - began < 5
    runner.close()


def test_adopted_scripts_are_lost(shell_runner: ShellRunner, recorder: Recorder) -> None:
    attempt = shell_attempt("echo never")
    shell_runner.adopt([attempt])
    state = recorder.final(attempt.task_id)
    assert (state.status, state.reason) == (ExecutorStatus.FAILED, LOST)


def test_output_beyond_the_bound_keeps_the_newest_lines(recorder: Recorder) -> None:
    runner = ShellRunner(runner_settings(max_log_lines_per_task=4), recorder)
    attempt = shell_attempt("for i in $(seq 1 20); do echo out $i; done")
    runner.start(attempt)
    recorder.final(attempt.task_id)
    runner.close()
    messages = recorder.messages(attempt.task_id)
    assert messages[0].startswith("16 lines of output were dropped")
    assert messages[1:] == ["out 17", "out 18", "out 19", "out 20"]


def wait_until_dead(pid: int, timeout: float = 5.0) -> None:
    """Wait on /proc (real process state) until `pid` is gone or a zombie."""
    wait_for(lambda: _dead(pid), what=f"process {pid} to end", timeout=timeout)


def _dead(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")
