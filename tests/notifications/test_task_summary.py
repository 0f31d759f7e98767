"""Sundial's line for a task definition in a run, the one wording the run page and notifications
share."""

from __future__ import annotations

import pytest

from gnomon.notifications import task_summary


@pytest.mark.parametrize(
    ("arguments", "line"),
    [
        (("succeeded", 2, None, "docker"), "Succeeded on docker after 2 attempts"),
        (("succeeded", 1, None, None), "Succeeded after 1 attempt"),
        (("failed", 3, "exit code 3", None), "Failed for reason: exit code 3 after 3 attempts"),
        (("failed", 1, "OOM", "k8s"), "Failed on k8s for reason: OOM after 1 attempt"),
        (("failed", 2, None, "shell"), "Failed on shell after 2 attempts"),
        (("running", 2, None, "docker"), "Running on docker (attempt 2)"),
        (("waiting", 1, "exit code 1", "docker"), "Waiting to retry after 1 attempt"),
        (("waiting", 0, None, "docker"), "Waiting to start"),
        (("did not run", 0, None, "docker"), "Did not run"),
        (("succeeded", 0, None, "docker"), "Did not run"),
    ],
)
def test_the_line_reads_as_sundials(
    arguments: tuple[str, int, str | None, str | None], line: str
) -> None:
    status, attempts, reason, executor = arguments
    assert task_summary(status, attempts, reason=reason, executor=executor) == line
