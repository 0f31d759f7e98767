"""Pure builders of a `ProcessDefinition` resource's `status`, from what the store holds.

`kubectl get pd` should answer "is my definition in, and how is it doing?" without a trip to the
REST API, so status carries the schedule in words, the effective paused flag, the next due time
and the latest run. Every value is computed from the store (not from the spec), so a pause or
resume through the REST API, the CLI or the UI, which the store allows for resource-owned
definitions, shows up too.

What a rejected spec shows (the README's Kubernetes section says the same):

- Nothing stored for the resource (its first spec was rejected, or the name belongs to a
  definition from the REST API): every store-derived field is absent, stale ones are removed.
- An earlier spec is stored and still scheduled (a later generation was rejected): the fields
  keep describing what really runs, since the scheduler goes on running it, but the schedule
  reads `last accepted: ...`, so no one takes them for the current spec's.

The builders return full desired values with `None` for "absent"; `changed_fields` keeps only what
differs from the current status, and in a JSON merge patch `None` removes the field. An unchanged
status therefore costs no API call, which matters with a refresh every few seconds per resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from gnomon.domain.definitions import ProcessDefinition, ProcessSchedule
from gnomon.domain.times import format_wire_time
from gnomon.domain.validation import parse_cron
from gnomon.scheduler.rules import DefinitionView, check_schedule

READY: Final = "Ready"
PHASE_READY: Final = "Ready"
PHASE_ERROR: Final = "Error"
REASON_STORED: Final = "Stored"
LAST_ACCEPTED: Final = "last accepted: "
STORE_FIELDS: Final = (
    "definitionName",
    "schedule",
    "paused",
    "nextRun",
    "lastRun",
    "lastStatus",
    "runningProcessId",
)
"""The status fields copied from the store (the rest say how the latest spec was handled)."""


@dataclass(frozen=True)
class RunState:
    """What the store knows about a definition's runs."""

    latest_start: datetime | None = None
    latest_status: str | None = None
    running_process_id: str | None = None


@dataclass(frozen=True)
class StoredState:
    """A resource's definition as the store holds it, with what the scheduler's rules need."""

    definition: ProcessDefinition
    created_at: datetime
    runs: RunState


def schedule_summary(schedule: ProcessSchedule | None) -> str:
    """The schedule in words: `cron 0 22 * * ? (UTC)`, `every 1200s`, `continuous` or `manual`."""
    if schedule is None:
        return "manual"
    if schedule.cron_schedule is not None:
        return f"cron {parse_cron(schedule.cron_schedule).describe()}"
    buffer = schedule.continuous_schedule.buffer_seconds if schedule.continuous_schedule else 0
    return f"every {buffer}s" if buffer else "continuous"


def next_run(state: StoredState, now: datetime) -> datetime | None:
    """When the schedule next starts a run, or the time it is due since (at or before `now`) if
    it is due; None when paused or manual.

    This is the scheduler's own rule (`scheduler.rules.check_schedule`), as on the UI's
    definitions page: a continuous schedule is due `buffer_seconds` after the latest start, or
    after the definition's creation before its first run; a cron schedule at its first fire time
    after that same baseline.
    """
    definition = state.definition
    schedule = definition.schedule
    cron = parse_cron(schedule.cron_schedule) if schedule and schedule.cron_schedule else None
    view = DefinitionView(
        name=definition.process_definition_name,
        schedule=schedule,
        cron=cron,
        paused=definition.paused,
        overlap=definition.overlap_action,
        created_at=state.created_at,
        last_started_at=state.runs.latest_start,
    )
    check = check_schedule(view, now)
    return check.due or check.next_due


def build_run_status(
    state: StoredState | None, now: datetime, *, spec_rejected: bool = False
) -> dict[str, Any]:
    """The store-derived fields of status; `None` marks a field that must be absent.

    `spec_rejected`: the resource's latest spec was rejected, so what is stored (if anything)
    is an earlier spec, and the schedule says so.
    """
    if state is None:
        return dict.fromkeys(STORE_FIELDS)
    definition, runs = state.definition, state.runs
    due = next_run(state, now)
    summary = schedule_summary(definition.schedule)
    return {
        "definitionName": definition.process_definition_name,
        "schedule": f"{LAST_ACCEPTED}{summary}" if spec_rejected else summary,
        "paused": definition.paused,
        "nextRun": format_wire_time(due) if due else None,
        "lastRun": format_wire_time(runs.latest_start) if runs.latest_start else None,
        "lastStatus": runs.latest_status,
        "runningProcessId": runs.running_process_id,
    }


def spec_rejected(status: Mapping[str, Any]) -> bool:
    """Whether the `Ready` condition in `status` says the latest handled spec was rejected."""
    conditions = status.get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == READY), None)
    return ready is not None and ready.get("status") == "False"


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
