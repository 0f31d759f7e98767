"""Which waiting attempts start now: a pure function of the queue, the running count and the
limit (`GNOMON_MAX_RUNNING_TASKS`).

A task whose dependencies are done is *ready*; the scheduler gives it an attempt at once, and
that attempt waits (`pending` on the wire) until a slot is free. Slots go oldest first, by a key
fixed when the attempt is queued:

1. the due time of its run: the fire time of a scheduled run, the request time of a triggered
   one (after a takeover, which reads runs back from the store, its start);
2. when the run started, the definition's name and the run's id (ties in one wake-up);
3. the task's place in the run's task definitions.

Because the key belongs to the run, not to the definition, a definition with many ready tasks
cannot take the slots ahead of an older run of another definition, and a task is passed over only
by tasks of runs due no later than its own. Those are finitely many (a run has finitely many tasks
and attempts), so every waiting attempt starts once enough running ones end: nothing starves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple


class QueueKey(NamedTuple):
    """Where a waiting attempt stands in the queue; smaller starts first. A tuple, so a burst of
    ten thousand attempts sorts at the speed of tuple comparison."""

    due_at: datetime
    run_started_at: datetime
    definition_name: str
    process_id: str
    position: int


@dataclass(frozen=True)
class Waiting:
    """An attempt that has not started yet, with its place in the queue."""

    key: QueueKey
    task_id: str


def free_slots(running: int, limit: int | None) -> int | None:
    """How many more attempts may start now; None without a limit."""
    if limit is None:
        return None
    return max(0, limit - running)


def admit(waiting: Iterable[Waiting], running: int, limit: int | None) -> list[Waiting]:
    """The waiting attempts that start now, in the order they start.

    Args:
        waiting: Every attempt waiting for a slot, in any order.
        running: How many attempts run now (each holds a slot until it ends).
        limit: The most attempts that may run at once; None for no limit.

    Returns:
        The `free_slots` smallest keys, smallest first: never more than the limit running, and
        no waiting attempt left behind while one with a larger key starts.
    """
    ordered = sorted(waiting, key=lambda item: item.key)
    free = free_slots(running, limit)
    return ordered if free is None else ordered[:free]
