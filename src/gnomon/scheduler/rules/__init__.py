"""The scheduler's pure decisions: functions of plain values and `now`.

Nothing here reads the store, calls a runner or a clock; the modules beside this package apply
what these decide. That is what lets every scheduling rule be tested on a fake clock alone.

- `starts`: when a definition's next run starts (schedules, triggers, overlap).
- `steps`: which tasks of a running process may start, which must be killed, and when it ends.
- `outcomes`: what an attempt's outcome is once its executor says it finished.
- `slots`: which attempts waiting for a slot start now (`GNOMON_MAX_RUNNING_TASKS`).
- `state`: the values these read (`ProcessState`, `AttemptRecord`).
"""

from __future__ import annotations

from gnomon.scheduler.rules.outcomes import resolve
from gnomon.scheduler.rules.slots import QueueKey, Waiting, admit, free_slots
from gnomon.scheduler.rules.starts import (
    SCHEDULE,
    Decision,
    DefinitionView,
    OpenTrigger,
    check_schedule,
    decide,
)
from gnomon.scheduler.rules.state import AttemptRecord, ProcessState
from gnomon.scheduler.rules.steps import Opening, expire, opening, plan, runtime_deadline

__all__ = [
    "SCHEDULE",
    "AttemptRecord",
    "Decision",
    "DefinitionView",
    "OpenTrigger",
    "Opening",
    "ProcessState",
    "QueueKey",
    "Waiting",
    "admit",
    "check_schedule",
    "decide",
    "expire",
    "free_slots",
    "opening",
    "plan",
    "resolve",
    "runtime_deadline",
]
