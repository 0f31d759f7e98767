"""The pure status builders and the name mapping, without an API server."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from gnomon.domain.definitions import ProcessDefinition, ProcessSchedule
from gnomon.domain.naming import definition_name, owner, resource_key
from gnomon.operator.status import (
    RunState,
    build_ready_status,
    build_run_status,
    changed_fields,
    next_run,
    schedule_summary,
)
from tests.samples import DAILY_22H, definition, docker_task

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def make(schedule: Mapping[str, Any] | None = None, paused: bool = False) -> ProcessDefinition:
    body = definition("ns.pd", docker_task("only"), paused=paused)
    if schedule is not None:
        body["schedule"] = schedule
    return ProcessDefinition.model_validate(body)


@pytest.mark.parametrize(
    ("schedule", "summary"),
    [
        (None, "manual"),
        (DAILY_22H, "cron 0 22 * * ? (UTC)"),
        ({"continuous_schedule": {"buffer_seconds": 1200}}, "every 1200s"),
        ({"continuous_schedule": {}}, "continuous"),
    ],
)
def test_schedule_summary_says_it_in_words(
    schedule: dict[str, object] | None, summary: str
) -> None:
    parsed = ProcessSchedule.model_validate(schedule) if schedule else None
    assert schedule_summary(parsed) == summary


def test_next_run_of_a_cron_schedule_is_in_its_time_zone() -> None:
    berlin = {"cron_schedule": {**DAILY_22H["cron_schedule"], "time_zone": "Europe/Berlin"}}
    assert next_run(make(berlin), RunState(), NOW) == datetime(2026, 3, 2, 21, 0, tzinfo=UTC)


def test_next_run_of_a_continuous_schedule_follows_the_latest_start() -> None:
    every = make({"continuous_schedule": {"buffer_seconds": 600}})
    assert next_run(every, RunState(), NOW) is None
    started = RunState(latest_start=NOW, latest_status="running")
    assert next_run(every, started, NOW) == datetime(2026, 3, 2, 12, 10, tzinfo=UTC)


def test_no_next_run_when_paused_or_manual() -> None:
    assert next_run(make(DAILY_22H, paused=True), RunState(), NOW) is None
    assert next_run(make(None), RunState(), NOW) is None


def test_run_status_marks_absent_fields_with_none() -> None:
    status = build_run_status(make(None), RunState(), NOW)
    assert status == {
        "definitionName": "ns.pd",
        "schedule": "manual",
        "nextRun": None,
        "lastRun": None,
        "lastStatus": None,
        "runningProcessId": None,
    }


def test_ready_condition_keeps_its_transition_time_until_it_flips() -> None:
    first = build_ready_status(
        ready=True, reason="Stored", message="ok", generation=1, current={}, now=NOW
    )
    later = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    again = build_ready_status(
        ready=True, reason="Stored", message="ok", generation=2, current=first, now=later
    )
    flipped = build_ready_status(
        ready=False, reason="InvalidSpec", message="bad", generation=3, current=again, now=later
    )

    assert first["conditions"][0]["lastTransitionTime"] == "2026-03-02T12:00:00.000Z"
    assert again["conditions"][0]["lastTransitionTime"] == "2026-03-02T12:00:00.000Z"
    assert again["conditions"][0]["observedGeneration"] == 2
    assert flipped["conditions"][0]["lastTransitionTime"] == "2026-03-02T13:00:00.000Z"
    assert (flipped["phase"], flipped["observedGeneration"]) == ("Error", 3)


def test_ready_status_keeps_other_conditions() -> None:
    other = {"type": "Synced", "status": "True"}
    status = build_ready_status(
        ready=True,
        reason="Stored",
        message="ok",
        generation=1,
        current={"conditions": [other]},
        now=NOW,
    )
    assert [c["type"] for c in status["conditions"]] == ["Synced", "Ready"]


def test_changed_fields_are_only_the_differences() -> None:
    current = {"schedule": "manual", "runningProcessId": "p1"}
    desired = {"schedule": "manual", "runningProcessId": None, "lastStatus": None}
    assert changed_fields(current, desired) == {"runningProcessId": None}
    assert changed_fields(current, {"schedule": "manual"}) == {}


def test_names_map_both_ways_even_with_dots_in_the_name() -> None:
    assert definition_name("team-a", "nightly.v2") == "team-a.nightly.v2"
    assert resource_key("team-a.nightly.v2") == ("team-a", "nightly.v2")
    assert owner("team-a", "nightly.v2") == "ProcessDefinition team-a/nightly.v2"


@pytest.mark.parametrize("namespace", ["", "a.b"])
def test_a_namespace_cannot_be_empty_or_dotted(namespace: str) -> None:
    with pytest.raises(ValueError, match="namespace"):
        definition_name(namespace, "x")


def test_a_name_without_a_dot_is_not_a_resource_name() -> None:
    with pytest.raises(ValueError, match="definition name"):
        resource_key("plain")
