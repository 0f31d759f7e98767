"""Runs built ahead of their due time, so that a due minute only checks, writes and hands over.

Between bursts the service prepares every scheduled run due at the next due time, as `start_due`
would build it then: the decision, the run's and its first attempts' ids and callback tokens,
their rows, its `ProcessState`. Nothing of it is tracked, written or handed over yet.

At the due time `start_due` takes a prepared run only if what it was built from is unchanged: the
same view object (a definition loaded again, at a new revision, gets a new one), not started since,
nothing running, no open trigger, and not later than a starting deadline allows. The run is then
stamped with the wake-up's `now` and goes on exactly as one built on the spot; any other run is
built on the spot. A prepared run that is not taken is dropped at the next preparation.

What is decided is still decided at the due time: preparation only moves the making of ids,
tokens, rows and objects out of the minute, where ten thousand runs may be due at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gnomon.domain.durations import seconds_between
from gnomon.domain.enums import TaskStatus
from gnomon.runner.base import Attempt
from gnomon.scheduler.definition_book import DefinitionBook
from gnomon.scheduler.handover import attempt_to_start
from gnomon.scheduler.rules.starts import SCHEDULE, Decision, DefinitionView, decide
from gnomon.scheduler.rules.state import AttemptRecord, ProcessState
from gnomon.scheduler.rules.steps import Opening
from gnomon.storage import WriteBatch

log = logging.getLogger(__name__)
LATEST_TAKE = timedelta(seconds=5)
"""A prepared run is taken at most this long after its due time; a later wake-up (the store was
away) decides and builds everything again."""


@dataclass(slots=True)
class PreparedRun:
    """One scheduled run, built for `due` from `view` as it was; see the module."""

    due: datetime
    view: DefinitionView
    last_started_at: datetime | None
    decision: Decision
    rows: WriteBatch
    """Its process, snapshot and first attempts' rows, stamped again when it is taken."""
    state: ProcessState
    opened: list[tuple[str, AttemptRecord, Attempt]]
    """Its first attempts: task definition name, record, and what the executor is given."""

    def stamp(self, now: datetime) -> None:
        """Say it started `now`, as if it had been built in the wake-up that takes it."""
        self.state.started_at = now
        for row in self.rows.processes:
            row["started_at"] = now
        for row in self.rows.tasks:
            row["started_at"] = now
        for _, record, _ in self.opened:
            record.started_at = now


class PreparedRuns:
    """The prepared runs of the next due time, by definition name; only the scheduler thread
    uses it, and the service drops it with the rest of its state when a wake-up fails.

    They are made a slice at a time (`prepare_some`), so that no wake-up between bursts spends
    long on them while triggers and executor reports wait."""

    def __init__(self) -> None:
        self.due: datetime | None = None
        self._runs: dict[str, PreparedRun] = {}
        self._waiting: list[str] = []
        """Names due at `due` still to prepare."""

    def __len__(self) -> int:
        return len(self._runs)

    def get(self, name: str) -> PreparedRun | None:
        """The run of `name` prepared so far, if any (nothing is taken)."""
        return self._runs.get(name)

    def begin(self, due: datetime, names: Iterable[str]) -> None:
        """Forget the runs prepared so far and prepare those of `names`, due at `due`, next."""
        self.due, self._runs, self._waiting = due, {}, list(names)

    def unfinished(self, now: datetime) -> bool:
        """Whether runs are still to prepare for a due time after `now`."""
        return bool(self._waiting) and self.due is not None and now < self.due

    def prepare_some(self, definitions: DefinitionBook, count: int) -> None:
        """Build up to `count` of the runs still to prepare (their templates loaded). A run
        that cannot be built ahead is left to its due time, which meets the same problem in the
        isolation the scheduler gives each run."""
        due = self.due
        names, self._waiting = self._waiting[:count], self._waiting[count:]
        if due is None:
            return
        for name in names:
            try:
                run = _prepare(definitions, name, due)
            except Exception:
                log.debug("could not prepare the run of %s due at %s", name, due, exc_info=True)
                continue
            if run is not None:
                self._runs[name] = run

    def take(
        self, definitions: DefinitionBook, names: Iterable[str], now: datetime
    ) -> dict[str, PreparedRun]:
        """The prepared runs of `names` still true at `now`, stamped with it; every run of
        `names` leaves this store, taken or not."""
        taken: dict[str, PreparedRun] = {}
        for name in names:
            run = self._runs.pop(name, None)
            if run is not None and _still_true(run, definitions, now):
                run.stamp(now)
                taken[name] = run
        return taken


def _prepare(definitions: DefinitionBook, name: str, due: datetime) -> PreparedRun | None:
    view = definitions.views.get(name)
    tasks = definitions.cached_templates(name)
    opening = definitions.opening(name)
    if view is None or view.running_process_id is not None or tasks is None or opening is None:
        return None
    decision = decide(view, [], due)
    if decision.origin != SCHEDULE or decision.due_at != due or decision.skipped_due is not None:
        return None
    rows = WriteBatch()
    process_id = rows.add_process(
        name=name, tasks=tasks, origin=SCHEDULE, scheduled_for=due, task_filter=None, now=due
    )
    state = ProcessState(process_id, name, due, list(tasks), due_at=due)
    state.share_layout(opening.layout)
    return PreparedRun(
        due=due,
        view=view,
        last_started_at=view.last_started_at,
        decision=decision,
        rows=rows,
        state=state,
        opened=_open(rows, state, opening, due),
    )


def _open(
    rows: WriteBatch, state: ProcessState, opening: Opening, due: datetime
) -> list[tuple[str, AttemptRecord, Attempt]]:
    """The run's first attempts, running, as `ProcessBook.open_run` makes them."""
    opened = []
    for task in opening.starts:
        name = task.task_definition_name
        task_id, token = rows.add_task(
            process_id=state.process_id, name=state.definition_name, task=task, attempts=0, now=due
        )
        record = AttemptRecord(task_id=task_id, started_at=due, status=TaskStatus.RUNNING)
        state.attempts_of(name).append(record)
        opened.append((name, record, attempt_to_start(state, name, record, token)))
    return opened


def _still_true(run: PreparedRun, definitions: DefinitionBook, now: datetime) -> bool:
    """Whether `decide` at `now` would start this very run: nothing it was built from changed."""
    view = run.view
    if definitions.views.get(view.name) is not view or view.running_process_id is not None:
        return False
    if view.last_started_at != run.last_started_at:
        return False
    if not run.due <= now < run.due + LATEST_TAKE:
        return False
    return _within_deadline(view, run.due, now)


def _within_deadline(view: DefinitionView, due: datetime, now: datetime) -> bool:
    cron = view.schedule.cron_schedule if view.schedule else None
    deadline = cron.starting_deadline_seconds if cron else None
    return deadline is None or seconds_between(due, now) <= deadline
