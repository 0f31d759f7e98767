"""The pure status builders and the name mapping, without an API server."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from gnomon.domain.definitions import ProcessDefinition, ProcessSchedule
from gnomon.domain.enums import OverlapAction
from gnomon.domain.naming import definition_name, owner, resource_key
from gnomon.domain.validation import parse_cron
from gnomon.operator.status import (
    STORE_FIELDS,
    RunState,
    StoredState,
    build_ready_status,
    build_run_status,
    changed_fields,
    next_run,
    schedule_summary,
    spec_rejected,
)
from gnomon.scheduler.rules import DefinitionView, check_schedule
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


def stored(
    definition: ProcessDefinition, runs: RunState | None = None, created_at: datetime = NOW
) -> StoredState:
    return StoredState(definition=definition, created_at=created_at, runs=runs or RunState())


def test_next_run_of_a_cron_schedule_is_in_its_time_zone() -> None:
    berlin = {"cron_schedule": {**DAILY_22H["cron_schedule"], "time_zone": "Europe/Berlin"}}
    assert next_run(stored(make(berlin)), NOW) == datetime(2026, 3, 2, 21, 0, tzinfo=UTC)


def test_next_run_of_a_continuous_schedule_before_its_first_run_follows_creation() -> None:
    every = make({"continuous_schedule": {"buffer_seconds": 600}})
    created = datetime(2026, 3, 2, 11, 55, tzinfo=UTC)
    assert next_run(stored(every, created_at=created), NOW) == datetime(
        2026, 3, 2, 12, 5, tzinfo=UTC
    )


def test_next_run_of_a_back_to_back_schedule_is_due_since_creation() -> None:
    # buffer 0: the scheduler starts the first run as soon as it looks; the run is due since then.
    back_to_back = make({"continuous_schedule": {}})
    created = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    assert next_run(stored(back_to_back, created_at=created), NOW) == created


def test_next_run_of_a_continuous_schedule_follows_the_latest_start() -> None:
    every = make({"continuous_schedule": {"buffer_seconds": 600}})
    started = RunState(latest_start=NOW, latest_status="running")
    earlier = datetime(2026, 3, 1, tzinfo=UTC)
    assert next_run(stored(every, started, created_at=earlier), NOW) == datetime(
        2026, 3, 2, 12, 10, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "schedule",
    [DAILY_22H, {"continuous_schedule": {"buffer_seconds": 600}}, {"continuous_schedule": {}}],
    ids=["cron", "continuous", "back-to-back"],
)
@pytest.mark.parametrize("latest_start", [None, NOW], ids=["never-ran", "ran"])
def test_next_run_is_the_schedulers_own_rule(
    schedule: dict[str, Any], latest_start: datetime | None
) -> None:
    definition = make(schedule)
    created = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    parsed = definition.schedule
    assert parsed is not None
    view = DefinitionView(
        name="ns.pd",
        schedule=parsed,
        cron=parse_cron(parsed.cron_schedule) if parsed.cron_schedule else None,
        paused=False,
        overlap=OverlapAction.WAIT,
        created_at=created,
        last_started_at=latest_start,
    )
    check = check_schedule(view, NOW)
    runs = RunState(latest_start=latest_start)
    assert next_run(stored(definition, runs, created), NOW) == (check.due or check.next_due)


def test_no_next_run_when_paused_or_manual() -> None:
    assert next_run(stored(make(DAILY_22H, paused=True)), NOW) is None
    assert next_run(stored(make({"continuous_schedule": {}}, paused=True)), NOW) is None
    assert next_run(stored(make(None)), NOW) is None


def test_run_status_marks_absent_fields_with_none() -> None:
    status = build_run_status(stored(make(None)), NOW)
    assert status == {
        "definitionName": "ns.pd",
        "schedule": "manual",
        "paused": False,
        "nextRun": None,
        "lastRun": None,
        "lastStatus": None,
        "runningProcessId": None,
    }


def test_run_status_carries_the_stored_pause_not_the_specs() -> None:
    # The store's flag is what `kubectl get pd` prints, however the definition was paused.
    status = build_run_status(stored(make(DAILY_22H, paused=True)), NOW)
    assert (status["paused"], status["nextRun"]) == (True, None)
    resumed = build_run_status(stored(make(DAILY_22H, paused=False)), NOW)
    assert (resumed["paused"], resumed["nextRun"]) == (False, "2026-03-02T22:00:00.000Z")


def test_nothing_stored_removes_every_store_field() -> None:
    assert build_run_status(None, NOW) == dict.fromkeys(STORE_FIELDS)
    assert build_run_status(None, NOW, spec_rejected=True) == dict.fromkeys(STORE_FIELDS)
    # Nothing to remove: no API call.
    assert changed_fields({"phase": "Error"}, build_run_status(None, NOW)) == {}
    stale = {"schedule": "cron 0 22 * * ? (UTC)", "nextRun": "2026-03-02T22:00:00.000Z"}
    assert changed_fields(stale, build_run_status(None, NOW)) == {
        "schedule": None,
        "nextRun": None,
    }


def test_a_rejected_spec_shows_the_last_accepted_schedule_as_such() -> None:
    status = build_run_status(stored(make(DAILY_22H)), NOW, spec_rejected=True)
    assert status["schedule"] == "last accepted: cron 0 22 * * ? (UTC)"
    # Still what runs: the scheduler goes on with the stored definition.
    assert status["nextRun"] == "2026-03-02T22:00:00.000Z"


def test_spec_rejected_reads_the_ready_condition() -> None:
    rejected = build_ready_status(
        ready=False, reason="InvalidSpec", message="bad", generation=2, current={}, now=NOW
    )
    accepted = build_ready_status(
        ready=True, reason="Stored", message="ok", generation=2, current={}, now=NOW
    )
    assert spec_rejected(rejected)
    assert not spec_rejected(accepted)
    assert not spec_rejected({})


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
