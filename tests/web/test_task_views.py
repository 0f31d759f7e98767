"""Task definitions and notifications in words, as the definition page shows them."""

from __future__ import annotations

from typing import Any

import pytest

from gnomon.domain import TaskDefinition
from gnomon.web.task_views import backoff_words, notification_view, task_view
from tests.samples import docker_task


def task(**extra: Any) -> TaskDefinition:
    return TaskDefinition.model_validate(docker_task("t", **extra))


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"max_attempts": 3}, "none: retries start at once"),
        ({"max_attempts": 3, "backoff_base_seconds": 30}, "30 s before each retry"),
        (
            {"max_attempts": 3, "backoff_base_seconds": 30, "backoff_exponent": 2.0},
            "1 min, then 2 min (×2 each retry)",
        ),
        (
            {"max_attempts": 9, "backoff_base_seconds": 10, "backoff_exponent": 1.5},
            "15 s, 22 s, then 34 s, … (×1.5 each retry)",
        ),
        (
            {"max_attempts": 3, "backoff_base_seconds": 100, "backoff_exponent": 0.5},
            "50 s, then 25 s (×0.5 each retry)",
        ),
    ],
)
def test_backoff_in_words(extra: dict[str, Any], words: str) -> None:
    assert backoff_words(task(**extra)) == words


def test_a_task_stored_with_no_attempts_shows_the_one_it_runs() -> None:
    view = task_view(docker_task("old", max_attempts=0))
    assert view.problem is None and view.max_attempts == 1
    assert [fact.value for fact in view.limits] == ["1, no retries", "none"]


def test_an_unreadable_task_keeps_its_name() -> None:
    view = task_view({"task_definition_name": "old", "executable": {"gone": {}}})
    assert view.name == "old"
    assert view.problem is not None and view.problem.startswith("cannot be read: executable")


def test_a_short_service_key_is_shown_whole_and_a_long_one_cut() -> None:
    short = notification_view({"pagerduty": {"service_key": "abc"}})
    long = notification_view({"pagerduty": {"service_key": "0123456789abcdef"}})
    assert short.target.startswith("service key abc at ")
    assert long.target.startswith("service key 0123… at ")
    assert "456789" not in long.target
