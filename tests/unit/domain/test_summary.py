"""Sundial's task summary line, as the run page and the notifications show it."""

from __future__ import annotations

import pytest

from gnomon.domain import DID_NOT_RUN, task_summary


@pytest.mark.parametrize(
    ("status", "attempts", "reason", "executor", "expected"),
    [
        (DID_NOT_RUN, 0, None, None, "Did not run"),
        ("succeeded", 1, None, None, "Succeeded after 1 attempt"),
        ("succeeded", 2, None, "docker", "Succeeded on docker after 2 attempts"),
        ("failed", 3, "exit code 3", None, "Failed for reason: exit code 3 after 3 attempts"),
        (
            "failed",
            1,
            "out of memory",
            "kubernetes",
            "Failed on kubernetes for reason: out of memory after 1 attempt",
        ),
        ("failed", 2, None, None, "Failed after 2 attempts"),
        ("failed", 2, "", None, "Failed after 2 attempts"),
        ("running", 1, None, "shell", "Running on shell"),
        ("running", 2, None, "docker", "Running on docker (attempt 2)"),
        ("waiting", 0, None, None, "Waiting"),
        ("waiting", 1, None, None, "Waiting to retry after 1 attempt"),
        ("lost", 1, None, None, "Lost"),
    ],
)
def test_each_state_reads_as_sundial_said_it(
    status: str, attempts: int, reason: str | None, executor: str | None, expected: str
) -> None:
    assert task_summary(status, attempts, reason, executor) == expected


def test_the_reason_is_kept_as_given() -> None:
    hostile = "<script>alert(1)</script>"
    assert hostile in task_summary("failed", 1, hostile)
