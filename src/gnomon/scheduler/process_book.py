"""Running processes in memory, and the store writes that follow each decision about them.

The in-memory `ProcessState`s mirror the store while this scheduler holds the lease; every change
is written in the tick's transaction. Decisions come from `rules.steps` and `rules.outcomes`;
this module only applies them.

Each run is handled in isolation: an unexpected error while stepping one, or while applying an
executor report or a kill or retry request to it, drops what that item had queued in the tick's
write batch and side effects, then ends that run `failed` with the reason in its
`scheduling_error` (its running attempts failed and killed). Every other run goes on.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

from gnomon.domain.definitions import TaskDefinition, TaskExecutable
from gnomon.domain.enums import ProcessStatus, TaskStatus
from gnomon.domain.stored import read_stored
from gnomon.domain.summary import DID_NOT_RUN
from gnomon.domain.times import as_utc
from gnomon.errors import StoreError
from gnomon.runner.base import Attempt, AttemptState, ExecutorStatus
from gnomon.scheduler.definition_book import DefinitionBook
from gnomon.scheduler.effects import Effects
from gnomon.scheduler.handover import attempt_to_start
from gnomon.scheduler.isolation import describe, storable
from gnomon.scheduler.observer import FinishedRun, SchedulerObserver, TaskSummary
from gnomon.scheduler.open_triggers import OpenTriggers
from gnomon.scheduler.prepared import PreparedRun, PreparedRuns
from gnomon.scheduler.rules.outcomes import resolve
from gnomon.scheduler.rules.slots import QueueKey, Waiting, admit
from gnomon.scheduler.rules.state import AttemptRecord, ProcessState
from gnomon.scheduler.rules.steps import expire, plan, runtime_deadline
from gnomon.storage import Session, WriteBatch, store_errors
from gnomon.storage import scheduling as store
from gnomon.storage.tables import TaskRow

log = logging.getLogger(__name__)

TRIGGERS_MAX_AGE = timedelta(seconds=5)
"""How long a book made without `open_triggers` keeps what it read of them (the service gives its
fallback wake-up's period)."""

FAILED_RUN_REASON = "The scheduler could not handle this run"
WAITING_FOR_A_SLOT = (
    "Waiting for a slot: {running} of {limit} tasks running (GNOMON_MAX_RUNNING_TASKS)"
)
EventQueue = queue.SimpleQueue[tuple[AttemptState, datetime]]
Queued = tuple[ProcessState, str, AttemptRecord, QueueKey]
"""An attempt waiting for a slot: its run, its task definition's name, its record and its place
in the queue (fixed when it was queued)."""


class ProcessBook:
    """The running processes of this scheduler, in memory, and the writes that follow from them.

    It owns the `ProcessState` of every running process, which attempt belongs to which, when
    each process wants stepping next, and the current tick's `WriteBatch`; it reads the
    definitions through the `DefinitionBook` it was given. Only the scheduler thread calls it,
    inside the tick's transaction (the `session` its methods take); the executor's events reach
    it through the sink's queue, never by a call from a runner thread. When a tick fails the
    service drops the whole book and builds a new one from the store.
    """

    def __init__(
        self,
        definitions: DefinitionBook,
        observer: SchedulerObserver,
        backend: str = "runner",
        max_running_tasks: int | None = None,
        open_triggers: OpenTriggers | None = None,
    ) -> None:
        self.definitions = definitions
        self.observer = observer
        self.backend = backend
        self.max_running_tasks = max_running_tasks
        """At most this many attempts run at once (`rules.slots`); None for no limit."""
        self.waiting_count = 0
        """Attempts left waiting for a slot by the last `admit_waiting`."""
        self._queued: dict[str, Queued] = {}
        """Attempts that were waiting for a slot when last seen, by task id: `admit_waiting`
        looks at these alone, not at every running process, so a burst of ten thousand runs
        does not rescan the runs it already started at each of its wake-ups."""
        self.states: dict[str, ProcessState] = {}
        self.owners: dict[str, str] = {}
        """task id → process id, for every attempt of a running process."""
        self.wakes: dict[str, datetime] = {}
        self.dirty: set[str] = set()
        self.consumed: list[tuple[AttemptState, datetime]] = []
        """Executor events taken this tick; put back if the tick's transaction fails."""
        self.batch = WriteBatch()
        """Writes of the current tick; the service flushes it between phases."""
        self.prepared = PreparedRuns()
        """The runs of the next due time, built ahead (`scheduler.prepared`)."""
        self.open_triggers = open_triggers or OpenTriggers(TRIGGERS_MAX_AGE)
        """The open trigger requests, read again when they may have changed."""

    # -- loading --------------------------------------------------------------------------------

    def load(self, session: Session, now: datetime) -> list[Attempt]:
        """Every running process from the store; returns the attempts to re-adopt. A run whose
        stored task definitions no longer read is failed with the reason instead."""
        adopted: list[tuple[ProcessState, TaskRow]] = []
        unreadable: list[tuple[ProcessState, str]] = []
        for running in store.running_processes(session=session):
            state = self._track(running)
            if running.problem is not None:
                unreadable.append((state, running.problem))
                continue
            view = self.definitions.views.get(state.definition_name)
            if view is not None:
                view.running_process_id = state.process_id
                self.definitions.touched.add(state.definition_name)
            adopted += [(state, row) for row in running.tasks if row.status == "running"]
        # Their attempts are failed and killed (the runner kills what it has not adopted).
        for state, problem in unreadable:
            log.error("cannot resume run %s: %s", state.process_id, problem)
            reason = f"{FAILED_RUN_REASON}: {problem}"
            self.fail_process(session, state, "load", reason, Effects(), now)
        since = store.latest_output(session=session, task_ids=[row.task_id for _, row in adopted])
        return [_adopted_attempt(state, row, since.get(row.task_id)) for state, row in adopted]

    def _track(self, running: store.RunningProcess) -> ProcessState:
        row = running.row
        state = ProcessState(
            process_id=row.process_id,
            definition_name=row.process_definition_name,
            started_at=as_utc(row.started_at),
            tasks=filtered_tasks(running.snapshot, row.task_filter),
            due_at=as_utc(row.scheduled_for) if row.scheduled_for else None,
            kill_requested=running.kill_requested,
        )
        for task in running.tasks:
            state.attempts_of(task.task_definition_name).append(
                AttemptRecord(
                    task_id=task.task_id,
                    started_at=as_utc(task.started_at),
                    status=TaskStatus(task.status),
                    ended_at=as_utc(task.ended_at) if task.ended_at else None,
                    running_at=as_utc(task.running_at) if task.running_at else None,
                    reason=task.reason,
                    # A stored waiting attempt had its entry written in the wake-up that made it.
                    waiting_logged=True,
                )
            )
            self.owners[task.task_id] = state.process_id
        self.states[state.process_id] = state
        for name, attempts in state.attempts.items():
            for attempt in attempts:
                if attempt.waiting:
                    self._queued[attempt.task_id] = (state, name, attempt, _queue_key(state, name))
        self.dirty.add(state.process_id)
        return state

    def next_wake(self) -> datetime | None:
        return min(self.wakes.values(), default=None)

    # -- executor events -----------------------------------------------------------------------

    def apply_executor_events(
        self, session: Session, events: EventQueue, effects: Effects, now: datetime
    ) -> None:
        states: dict[str, dict[str, object]] = {}
        while True:
            try:
                event = events.get_nowait()
            except queue.Empty:
                break
            self.consumed.append(event)
            states[event[0].task_id] = _state_row(event[0], event[1], self.backend, states)
            owner = self.owners.get(event[0].task_id)
            self._isolated(session, owner, effects, now, "event", self._apply_event, *event)
        store.save_executor_states(session=session, rows=list(states.values()))

    def restore_events(self, events: EventQueue) -> None:
        for event in self.consumed:
            events.put(event)
        self.consumed.clear()

    def _apply_event(
        self, session: Session, effects: Effects, now: datetime, state: AttemptState, at: datetime
    ) -> None:
        process_id = self.owners.get(state.task_id)
        found = self.states[process_id].find_attempt(state.task_id) if process_id else None
        if process_id is None or found is None or not found[1].running:
            return
        process, (name, attempt) = self.states[process_id], found
        if state.status is ExecutorStatus.RUNNING and attempt.running_at is None:
            attempt.running_at = at
            self.batch.mark_running(attempt.task_id, at)
        if not state.status.finished:
            return
        task = process.task(name)
        require = task is not None and task.require_explicit_success
        reported = None
        if require and state.status is ExecutorStatus.SUCCEEDED:
            reported = store.reported_status(session=session, task_id=attempt.task_id)
        outcome = resolve(
            state.status, state.reason, require_explicit_success=require, reported=reported
        )
        self._end_attempt(
            session, process, name, attempt, outcome.status, outcome.reason, outcome.log, now
        )
        self.dirty.add(process_id)

    def _end_attempt(
        self,
        session: Session,
        process: ProcessState,
        name: str,
        attempt: AttemptRecord,
        status: TaskStatus,
        reason: str | None,
        message: str,
        now: datetime,
    ) -> None:
        attempt.status, attempt.reason, attempt.ended_at = status, reason, now
        self.batch.end_task(attempt.task_id, status, reason, now)
        self.batch.log(attempt.task_id, message, now)
        task = process.task(name)
        kind = task.executable.kind if task else "unknown"
        self.observer.task_finished(process.definition_name, kind, status)

    # -- kill and retry requests ----------------------------------------------------------------

    def apply_requests(self, session: Session, effects: Effects, now: datetime) -> None:
        for retry in store.open_retries(session=session):
            pid = retry.process_id
            self._isolated(session, pid, effects, now, "request", self._retry, retry)
            store.mark_retry_applied(session=session, request_id=retry.request_id, now=now)
        for process_id in store.open_kills(session=session):
            process = self.states.get(process_id)
            if process is None:
                store.clear_kills(session=session, process_id=process_id, now=now)
            elif not process.kill_requested:
                process.kill_requested = True
                self.dirty.add(process_id)

    def _retry(
        self, session: Session, _effects: Effects, now: datetime, retry: store.RetryRequest
    ) -> None:
        """One more attempt, without backoff, for each task whose last attempt failed."""
        process_id = retry.process_id
        if process_id not in self.states:
            if store.reopen_process(session=session, process_id=process_id) is None:
                return
            session.flush()
            for running in store.running_processes(session=session, process_ids=[process_id]):
                self._track(running)
        process = self.states[process_id]
        store.clear_kills(
            session=session, process_id=process_id, now=now, before=as_utc(retry.requested_at)
        )
        process.kill_requested = False
        process.tasks = [_one_more_attempt(process, task) for task in process.tasks]
        store.save_snapshot(session=session, process_id=process_id, tasks=process.tasks)
        view = self.definitions.views.get(process.definition_name)
        if view is not None and view.running_process_id is None:
            view.running_process_id = process_id
        self.dirty.add(process_id)

    # -- stepping -------------------------------------------------------------------------------

    def step_due(self, session: Session, effects: Effects, now: datetime) -> None:
        due = self.dirty | {pid for pid, when in self.wakes.items() if when <= now}
        self.dirty = set()
        for process_id in sorted(due):
            process = self.states.get(process_id)
            if process is not None:
                self.guarded_step(session, process, effects, now, "step")

    def open_run(
        self,
        session: Session,
        process: ProcessState,
        opening: list[TaskDefinition] | None,
        effects: Effects,
        now: datetime,
    ) -> None:
        """A new run's first step, in isolation like `guarded_step`. Without a slot limit its
        first tasks (`opening`: what `plan` answers for a run with no attempts) start at once,
        as running attempts, skipping the queue's round trip; with a limit, or without a known
        opening, it is `step` and the queue."""
        if not opening or self.max_running_tasks is not None:
            self.guarded_step(session, process, effects, now, "launch")
            return
        pid = process.process_id
        self._isolated(session, pid, effects, now, "launch", self._open_action, process, opening)

    def open_prepared(
        self, session: Session, run: PreparedRun, effects: Effects, now: datetime
    ) -> None:
        """Hand over the first attempts of a run prepared ahead (`scheduler.prepared`), taken
        and tracked. What could refuse (the attempts' making) was done ahead, so this needs no
        marks to undo; should anything here still raise, the run fails in isolation as in
        `open_run`."""
        process = run.state
        try:
            for name, attempt, handed in run.opened:
                self.observer.task_started(process.definition_name, handed.executable.kind)
                self._wake_at_deadline(process, name, attempt)
        except Exception as exc:
            pid = process.process_id
            self._isolated(session, pid, effects, now, "launch", _raise, exc)
            return
        for _, attempt, handed in run.opened:
            self.owners[attempt.task_id] = process.process_id
            effects.starts.append(handed)

    def _open_action(
        self,
        session: Session,
        effects: Effects,
        now: datetime,
        process: ProcessState,
        opening: list[TaskDefinition],
    ) -> None:
        for task in opening:
            name = task.task_definition_name
            attempt, token = self._add_attempt(process, task, now, TaskStatus.RUNNING)
            effects.starts.append(self._attempt(process, name, attempt, cast(str, token)))
            effects.changed.append(process.process_id)
            self._wake_at_deadline(process, name, attempt)

    def guarded_step(
        self, session: Session, process: ProcessState, effects: Effects, now: datetime, stage: str
    ) -> None:
        """`step`, in isolation: if it raises, this process alone ends failed (see module)."""
        pid = process.process_id
        self._isolated(session, pid, effects, now, stage, self._step_action, process)

    def _step_action(
        self, session: Session, effects: Effects, now: datetime, process: ProcessState
    ) -> None:
        self.step(session, process, effects, now)

    def _isolated(
        self,
        session: Session,
        process_id: str | None,
        effects: Effects,
        now: datetime,
        stage: str,
        action: Callable[..., None],
        *args: object,
    ) -> bool:
        """Run `action(session, effects, now, *args)` for one item; on an unexpected error, drop
        what it queued and fail the run `process_id` (if any) with the reason. False if it
        raised."""
        batch_mark, effects_mark = self.batch.mark(), effects.mark()
        before = self.states.get(process_id or "")
        running = [a.task_id for a in before.active_attempts()] if before else []
        try:
            with store_errors():
                action(session, effects, now, *args)
        except StoreError:
            raise  # the store's trouble, not this item's: the whole tick is retried
        except Exception as exc:
            self.batch.rollback_to(batch_mark)
            effects.rollback_to(effects_mark)
            process = self.states.get(process_id or "")
            log.exception(
                "set aside run %s of %s after an unexpected error (%s); other runs go on",
                process_id,
                process.definition_name if process else "an unloaded definition",
                stage,
                extra={"process_id": process_id},
            )
            reason = f"{FAILED_RUN_REASON}: {describe(exc)}"
            if process is not None:
                self._fail_safely(session, process, stage, reason, effects, now, running)
                effects.changed.append(process.process_id)
                return False
            self.observer.item_failed(stage)
            if process_id is not None and stage == "request":  # reopened, then failed
                self.batch.end_process(process_id, ProcessStatus.FAILED, now, reason)
                effects.changed.append(process_id)
            return False
        if process_id is not None and self.batch.mark() != batch_mark:
            effects.changed.append(process_id)  # it wrote something: the run's pages are stale
        return True

    def _fail_safely(
        self,
        session: Session,
        process: ProcessState,
        stage: str,
        reason: str,
        effects: Effects,
        now: datetime,
        running: list[str],
    ) -> None:
        """`fail_process`; should even that raise, end the run in the store and forget it."""
        try:
            with store_errors():
                self.fail_process(session, process, stage, reason, effects, now, running)
        except StoreError:
            raise
        except Exception:
            log.exception("could not fail run %s cleanly; ending it", process.process_id)
            self.batch.end_process(process.process_id, ProcessStatus.FAILED, now, reason)
            self.states.pop(process.process_id, None)
            self.wakes.pop(process.process_id, None)

    def fail_process(
        self,
        session: Session,
        process: ProcessState,
        stage: str,
        reason: str,
        effects: Effects,
        now: datetime,
        running: list[str] | None = None,
    ) -> None:
        """End `process` failed with `reason`: its attempts not ended (those of `running`, by
        default all running or waiting now) fail, those that started are killed, and the reason
        is stored on the run."""
        self.observer.item_failed(stage)
        reason = storable(reason)
        if running is None:
            running = [a.task_id for a in process.active_attempts()]
        ids = set(running)
        for attempts in process.attempts.values():
            for attempt in (a for a in attempts if a.task_id in ids):
                started = not attempt.waiting
                attempt.status, attempt.reason, attempt.ended_at = TaskStatus.FAILED, reason, now
                self.batch.end_task(attempt.task_id, TaskStatus.FAILED, reason, now)
                self.batch.log(attempt.task_id, f"{reason}; killing the task.", now)
                if started:
                    effects.kills.append((attempt.task_id, reason))
        if process.process_id in self.states:
            self._finish(session, process, ProcessStatus.FAILED, effects, now, reason)

    def step(
        self, session: Session, process: ProcessState, effects: Effects, now: datetime
    ) -> None:
        for kill in expire(process, now):
            found = process.find_attempt(kill.task_id)
            if found is None:
                continue
            started = not found[1].waiting  # a waiting attempt has nothing to kill
            message = f"{kill.reason}; killing the task and marking it failed."
            self._end_attempt(
                session, process, found[0], found[1], TaskStatus.FAILED, kill.reason, message, now
            )
            if started:
                effects.kills.append((kill.task_id, kill.reason))
        decision = plan(process, now)
        for task in decision.starts:
            self._queue_task(process, task, now)
        if decision.starts:
            decision = plan(process, now)
        if decision.finish is not None:
            self._finish(session, process, decision.finish, effects, now)
        elif decision.wake_at is not None:
            self.wakes[process.process_id] = decision.wake_at
        else:
            self.wakes.pop(process.process_id, None)

    def _queue_task(self, process: ProcessState, task: TaskDefinition, now: datetime) -> None:
        """A new attempt of `task`, waiting for a slot until `admit_waiting` starts it."""
        attempt, _ = self._add_attempt(process, task, now, TaskStatus.PENDING)
        name = task.task_definition_name
        self._queued[attempt.task_id] = (process, name, attempt, _queue_key(process, name))

    def _add_attempt(
        self, process: ProcessState, task: TaskDefinition, now: datetime, status: TaskStatus
    ) -> tuple[AttemptRecord, str | None]:
        """A new attempt of `task`, `running` (with its callback token) or `pending` (a token
        comes when it is admitted), tracked and queued in the batch."""
        attempts = process.attempts_of(task.task_definition_name)
        add = self.batch.add_waiting_task if status is TaskStatus.PENDING else self.batch.add_task
        added = add(
            process_id=process.process_id,
            name=process.definition_name,
            task=task,
            attempts=len(attempts),
            now=now,
        )
        task_id, token = (added, None) if isinstance(added, str) else added
        attempt = AttemptRecord(task_id=task_id, started_at=now, status=status)
        attempts.append(attempt)
        self.owners[task_id] = process.process_id
        return attempt, token

    # -- slots ----------------------------------------------------------------------------------

    def admit_waiting(self, effects: Effects, now: datetime) -> None:
        """Start the waiting attempts that get a slot (`rules.slots`), oldest first; each of the
        others gets its "waiting for a slot" log entry, once. Called after each phase that may
        queue attempts, before its writes are flushed, so most new attempts are written once,
        already running."""
        waiting, records = self._still_waiting()
        if not waiting:
            self.waiting_count = 0
            return
        running = self._running_count() if self.max_running_tasks is not None else 0
        chosen = admit(waiting, running, self.max_running_tasks)
        tokens = self.batch.admit([item.task_id for item in chosen], now)
        for item in chosen:
            process, name, attempt, _ = records.pop(item.task_id)
            del self._queued[item.task_id]
            attempt.status, attempt.started_at = TaskStatus.RUNNING, now
            effects.starts.append(self._attempt(process, name, attempt, tokens[item.task_id]))
            effects.changed.append(process.process_id)
            self._wake_at_deadline(process, name, attempt)
        self.waiting_count = len(records)
        for process, _, attempt, _ in records.values():
            if not attempt.waiting_logged:
                message = WAITING_FOR_A_SLOT.format(
                    running=running + len(chosen), limit=self.max_running_tasks
                )
                self.batch.log(attempt.task_id, message, now)
                attempt.waiting_logged = True
                effects.changed.append(process.process_id)

    def _still_waiting(self) -> tuple[list[Waiting], dict[str, Queued]]:
        """The queued attempts still waiting, in a run this book still tracks; the others (ended,
        killed unstarted, their run finished) leave the queue. An attempt of a task outside its
        run's (filtered) graph never starts here, and leaves it too."""
        waiting: list[Waiting] = []
        records: dict[str, Queued] = {}
        for task_id, queued in list(self._queued.items()):
            process, name, attempt, key = queued
            tracked = self.states.get(process.process_id) is process
            if not (tracked and attempt.waiting and process.task(name) is not None):
                del self._queued[task_id]
                continue
            waiting.append(Waiting(key, task_id))
            records[task_id] = queued
        return waiting, records

    def _running_count(self) -> int:
        """Attempts holding a slot now (asked only when slots are limited)."""
        return sum(
            attempt.running
            for process in self.states.values()
            for name, attempts in process.attempts.items()
            if process.task(name) is not None
            for attempt in attempts
        )

    def _wake_at_deadline(self, process: ProcessState, name: str, attempt: AttemptRecord) -> None:
        """Its runtime limit counts from now: step the run again when it is reached."""
        task = process.task(name)
        deadline = runtime_deadline(task, attempt) if task else None
        if deadline is not None:
            earlier = self.wakes.get(process.process_id)
            self.wakes[process.process_id] = min(deadline, earlier) if earlier else deadline

    def _attempt(
        self, process: ProcessState, name: str, attempt: AttemptRecord, token: str
    ) -> Attempt:
        handed = attempt_to_start(process, name, attempt, token)  # `admit_waiting` skips others
        self.observer.task_started(process.definition_name, handed.executable.kind)
        return handed

    def _finish(
        self,
        session: Session,
        process: ProcessState,
        status: ProcessStatus,
        effects: Effects,
        now: datetime,
        error: str | None = None,
    ) -> None:
        self.batch.end_process(process.process_id, status, now, error)
        del self.states[process.process_id]
        self.wakes.pop(process.process_id, None)
        for attempts in process.attempts.values():
            for attempt in attempts:
                self.owners.pop(attempt.task_id, None)
        view = self.definitions.views.get(process.definition_name)
        if view is not None and view.running_process_id == process.process_id:
            view.running_process_id = None
            self.definitions.touched.add(process.definition_name)
        effects.finished.append(_finished_run(process, status, now))


def _raise(_: Session, __: Effects, ___: datetime, exc: Exception) -> None:
    raise exc


def _queue_key(process: ProcessState, name: str) -> QueueKey:
    return QueueKey(
        due_at=process.due_at or process.started_at,
        run_started_at=process.started_at,
        definition_name=process.definition_name,
        process_id=process.process_id,
        position=process.position(name),
    )


def filtered_tasks(
    tasks: list[TaskDefinition], task_filter: list[str] | None
) -> list[TaskDefinition]:
    """The tasks a run actually runs: all of them, or those its trigger named."""
    if task_filter is None:
        return list(tasks)
    return [t for t in tasks if t.task_definition_name in task_filter]


def _one_more_attempt(process: ProcessState, task: TaskDefinition) -> TaskDefinition:
    last = process.last_attempt(task.task_definition_name)
    if last is None or last.status != TaskStatus.FAILED:
        return task
    attempts = len(process.attempts_of(task.task_definition_name))
    return task.model_copy(update={"max_attempts": attempts + 1, "backoff_base_seconds": 0})


def _adopted_attempt(process: ProcessState, row: TaskRow, output_since: datetime | None) -> Attempt:
    return Attempt(
        task_id=row.task_id,
        process_id=process.process_id,
        process_definition_name=process.definition_name,
        task_definition_name=row.task_definition_name,
        previous_attempts=row.previous_attempts,
        executable=read_stored(TaskExecutable, row.executable),
        token="",
        max_runtime_seconds=_max_runtime(process, row.task_definition_name),
        output_since=output_since,
    )


def _max_runtime(process: ProcessState, name: str) -> int | None:
    task = process.task(name)
    return task.max_runtime_seconds if task else None


def _finished_run(process: ProcessState, status: ProcessStatus, now: datetime) -> FinishedRun:
    summaries = []
    for task in process.tasks:
        attempts = process.attempts.get(task.task_definition_name, [])
        last = attempts[-1] if attempts else None
        summaries.append(
            TaskSummary(
                task_definition_name=task.task_definition_name,
                status=last.status.value if last else DID_NOT_RUN,
                attempts=len(attempts),
                reason=last.reason if last else None,
                task_id=last.task_id if last else None,
            )
        )
    return FinishedRun(
        process_id=process.process_id,
        definition_name=process.definition_name,
        status=status,
        started_at=process.started_at,
        ended_at=now,
        killed=process.kill_requested,
        tasks=tuple(summaries),
    )


def _state_row(
    state: AttemptState, at: datetime, backend: str, earlier: dict[str, dict[str, object]]
) -> dict[str, object]:
    """The executor_state row for `state`, merged with an earlier report in the same tick."""
    status = f"{state.status.value}({state.reason})" if state.reason else state.status.value
    before = earlier.get(state.task_id, {})
    details = {**cast(dict[str, str], before.get("details", {})), **state.details}
    return {
        "task_id": state.task_id,
        "backend": backend,
        "handle": state.handle or before.get("handle"),
        "status": status,
        "as_of": at,
        "details": details,
    }
