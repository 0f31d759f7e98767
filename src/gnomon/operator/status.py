"""Pure builders of a `ProcessDefinition` resource's `status`, from what the store holds.

`kubectl get pd` should answer "is my definition in, and how is it doing?" without a trip to the
REST API, so status carries the schedule in words, the next due time and the latest run. Every
value is computed from the store (not from the spec), so a pause through the REST API, which the
store allows for resource-owned definitions, shows up too.

The builders return full desired values with `None` for "absent"; `changed_fields` keeps only what
differs from the current status, and in a JSON merge patch `None` removes the field. An unchanged
status therefore costs no API call, which matters with a refresh every few seconds per resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from gnomon.domain.definitions import ProcessDefinition, ProcessSchedule
from gnomon.domain.times import format_wire_time
from gnomon.domain.validation import parse_cron

READY: Final = "Ready"
PHASE_READY: Final = "Ready"
PHASE_ERROR: Final = "Error"
REASON_STORED: Final = "Stored"


@dataclass(frozen=True)
class RunState:
    """What the store knows about a definition's runs."""

    latest_start: datetime | None = None
    latest_status: str | None = None
    running_process_id: str | None = None


def schedule_summary(schedule: ProcessSchedule | None) -> str:
    """The schedule in words: `cron 0 22 * * ? (UTC)`, `every 1200s`, `continuous` or `manual`."""
    if schedule is None:
        return "manual"
    if schedule.cron_schedule is not None:
        return f"cron {parse_cron(schedule.cron_schedule).describe()}"
    buffer = schedule.continuous_schedule.buffer_seconds if schedule.continuous_schedule else 0
    return f"every {buffer}s" if buffer else "continuous"


def next_run(definition: ProcessDefinition, runs: RunState, now: datetime) -> datetime | None:
    """When the schedule next starts a run; None when paused, manual or not yet known.

    Cron: the first fire time after `now`. Continuous: the latest start plus the buffer (a new run
    also waits for the current one to finish); before the first run there is nothing to show.
    """
    schedule = definition.schedule
    if definition.paused or schedule is None:
        return None
    if schedule.cron_schedule is not None:
        return parse_cron(schedule.cron_schedule).next_after(now)
    if runs.latest_start is None or schedule.continuous_schedule is None:
        return None
    return runs.latest_start + timedelta(seconds=schedule.continuous_schedule.buffer_seconds)


def build_run_status(
    definition: ProcessDefinition, runs: RunState, now: datetime
) -> dict[str, Any]:
    """The store-derived fields of status; `None` marks a field that must be absent."""
    due = next_run(definition, runs, now)
    return {
        "definitionName": definition.process_definition_name,
        "schedule": schedule_summary(definition.schedule),
        "nextRun": format_wire_time(due) if due else None,
        "lastRun": format_wire_time(runs.latest_start) if runs.latest_start else None,
        "lastStatus": runs.latest_status,
        "runningProcessId": runs.running_process_id,
    }


def build_ready_status(
    *,
    ready: bool,
    reason: str,
    message: str,
    generation: int | None,
    current: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """`observedGeneration`, `phase` and the `Ready` condition after handling a spec.

    `lastTransitionTime` moves only when the condition's status flips, as Kubernetes conventions
    ask; other conditions someone else put there are kept.
    """
    wanted = "True" if ready else "False"
    conditions = [dict(c) for c in current.get("conditions") or [] if c.get("type") != READY]
    previous = next((c for c in current.get("conditions") or [] if c.get("type") == READY), None)
    changed_at = format_wire_time(now)
    if previous is not None and previous.get("status") == wanted:
        changed_at = previous.get("lastTransitionTime") or changed_at
    condition: dict[str, Any] = {
        "type": READY,
        "status": wanted,
        "reason": reason,
        "message": message,
        "lastTransitionTime": changed_at,
    }
    if generation is not None:
        condition["observedGeneration"] = generation
    conditions.append(condition)
    return {
        "observedGeneration": generation,
        "phase": PHASE_READY if ready else PHASE_ERROR,
        "conditions": conditions,
    }


def changed_fields(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """The part of `desired` that differs from `current` (a missing field equals `None`)."""
    return {key: value for key, value in desired.items() if current.get(key) != value}
