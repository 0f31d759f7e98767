"""When a process starts: a pure function of a definition's state, its open triggers and `now`.

Sundial's rules (reference §5.2), with its bugs fixed:

- The baseline is the latest start of any run of the definition (scheduled or triggered), or the
  definition's creation time if it never ran.
- A cron schedule is due when its first fire time after the baseline has passed. However many fire
  times were missed (downtime, a long run under `wait`), at most one catch-up run starts, for the
  latest missed time; with `starting_deadline_seconds`, a missed time older than that is skipped
  (and logged) and the schedule waits for its next fire time.
- A continuous schedule is due `buffer_seconds` after the baseline (start to start); a buffer
  past the scheduling horizon (`durations.FAR_FUTURE`) is never due.
- A paused definition ignores its schedule; triggers still start runs, oldest first.
- Under `wait` nothing starts while a run is going; under `terminate` the running run is killed
  and the new one starts at once.
- A due schedule and an open trigger without a task filter start ONE run that consumes both
  (Sundial started two, and under `terminate` the trigger killed the scheduled run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from gnomon.domain.cron import CronExpression
from gnomon.domain.definitions import CronSchedule, ProcessSchedule
from gnomon.domain.durations import add_seconds, seconds_between
from gnomon.domain.enums import OverlapAction

SCHEDULE = "schedule"
TRIGGER = "trigger"


@dataclass(slots=True)  # one per definition: a hundred thousand of them (issue 14)
class DefinitionView:
    name: str
    schedule: ProcessSchedule | None
    cron: CronExpression | None
    paused: bool
    overlap: OverlapAction
    created_at: datetime
    last_started_at: datetime | None = None
    running_process_id: str | None = None

    @property
    def baseline(self) -> datetime:
        return self.last_started_at or self.created_at


@dataclass(frozen=True)
class OpenTrigger:
    request_id: str
    requested_at: datetime
    task_filter: list[str] | None


@dataclass
class Decision:
    origin: str | None = None
    """`schedule` or `trigger` when a run starts now; None when nothing starts."""
    scheduled_for: datetime | None = None
    due_at: datetime | None = None
    """When the run was due: its fire time, or when its trigger was requested. Its attempts
    queue for a slot in this order (`slots`)."""
    task_filter: list[str] | None = None
    consumed_triggers: list[str] = field(default_factory=list)
    terminate_process_id: str | None = None
    skipped_due: datetime | None = None
    """A missed fire time dropped for being older than the starting deadline."""
    next_due: datetime | None = None
    """When the schedule next needs a look, if nothing else happens first."""


@dataclass(frozen=True)
class DueCheck:
    due: datetime | None = None
    next_due: datetime | None = None
    skipped: datetime | None = None


def check_schedule(view: DefinitionView, now: datetime) -> DueCheck:
    """Whether the schedule is due now, and if not, when it next will be."""
    if view.schedule is None or view.paused:
        return DueCheck()
    continuous = view.schedule.continuous_schedule
    if continuous is not None:
        # Saturates: a buffer beyond the horizon is due at `FAR_FUTURE`, that is never.
        due = add_seconds(view.baseline, continuous.buffer_seconds)
        return DueCheck(due=due) if due <= now else DueCheck(next_due=due)
    cron_schedule = view.schedule.cron_schedule
    if view.cron is None or cron_schedule is None:
        return DueCheck()
    return _check_cron(view.cron, cron_schedule, view.baseline, now)


def _check_cron(
    cron: CronExpression, schedule: CronSchedule, baseline: datetime, now: datetime
) -> DueCheck:
    first = cron.next_after(baseline)
    if first is None:
        return DueCheck()
    if first > now:
        return DueCheck(next_due=first)
    latest = cron.latest_at_or_before(now) or first
    deadline = schedule.starting_deadline_seconds
    if deadline is not None and seconds_between(latest, now) > deadline:
        return DueCheck(next_due=cron.next_after(now), skipped=latest)
    return DueCheck(due=latest)


def decide(view: DefinitionView, triggers: Sequence[OpenTrigger], now: datetime) -> Decision:
    """Whether a run of `view` starts now, for what reason, and what it consumes."""
    check = check_schedule(view, now)
    decision = Decision(next_due=check.next_due, skipped_due=check.skipped)
    if check.due is None and not triggers:
        return decision
    if view.running_process_id is not None:
        if view.overlap is OverlapAction.WAIT:
            decision.next_due = None  # looked at again when the running process ends
            return decision
        decision.terminate_process_id = view.running_process_id
    if check.due is not None:
        decision.origin = SCHEDULE
        decision.scheduled_for = decision.due_at = check.due
        merged = next((t for t in triggers if t.task_filter is None), None)
        decision.consumed_triggers = [merged.request_id] if merged else []
    else:
        oldest = min(triggers, key=lambda t: t.requested_at)
        decision.origin = TRIGGER
        decision.due_at = oldest.requested_at
        decision.task_filter = oldest.task_filter
        decision.consumed_triggers = [oldest.request_id]
    return decision
