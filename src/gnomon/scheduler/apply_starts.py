"""Starting runs: due schedules and open triggers become processes, in one batch per tick.

Applies `rules.starts`: every definition that is due, has open triggers or was touched gets one
`decide` call. The new processes (with their task snapshots) are inserted together, then each is
stepped at once so its first tasks start in the same tick. A scheduled run built before its due
time (`scheduler.prepared`) is taken instead of decided and built again, while it is still true.
Open triggers come from `ProcessBook.open_triggers`, which reads the store only when they may have
changed.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from gnomon.domain.definitions import TaskDefinition
from gnomon.errors import StoreError
from gnomon.scheduler.effects import Effects
from gnomon.scheduler.isolation import describe
from gnomon.scheduler.prepared import PreparedRun
from gnomon.scheduler.process_book import ProcessBook, filtered_tasks
from gnomon.scheduler.rules.starts import Decision, decide
from gnomon.scheduler.rules.state import ProcessState
from gnomon.scheduler.rules.steps import Opening
from gnomon.storage import Session, store_errors
from gnomon.storage import scheduling as store
from gnomon.storage.tables import KillRequestRow

log = logging.getLogger(__name__)


def start_due(session: Session, book: ProcessBook, effects: Effects, now: datetime) -> None:
    definitions = book.definitions
    triggers = book.open_triggers.read(session, now)
    names = definitions.pop_due(now) | {n for n in triggers if n in definitions.views}
    prepared = book.prepared.take(definitions, names - triggers.keys(), now)
    decisions: dict[str, Decision] = {}
    for name in sorted(names):
        if name in prepared:
            decisions[name] = prepared[name].decision
            continue
        try:
            decision = decide(definitions.views[name], triggers.get(name, []), now)
        except Exception as exc:  # this definition only; the others are still decided
            definitions.fail(name, "schedule", describe(exc))
            continue
        if decision.skipped_due is not None:
            _skipped(book, name, decision.skipped_due)
        if decision.origin is not None:
            decisions[name] = decision
        else:
            definitions.reschedule(name, now)
    if decisions:
        _launch(session, book, decisions, prepared, effects, now)


def _skipped(book: ProcessBook, name: str, due: datetime) -> None:
    log.warning(
        "skipped the run due at %s: it is older than the starting deadline",
        due.isoformat(),
        extra={"process_definition_name": name},
    )
    book.observer.schedule_skipped(name, due)


def _launch(
    session: Session,
    book: ProcessBook,
    decisions: dict[str, Decision],
    prepared: dict[str, PreparedRun],
    effects: Effects,
    now: datetime,
) -> None:
    templates = book.definitions.templates(session, list(decisions))
    batch = book.batch
    launched: list[tuple[ProcessState, Opening | PreparedRun | None]] = []
    decisions = {n: d for n, d in decisions.items() if n in templates}  # others were set aside
    for name, decision in decisions.items():
        ready = prepared.get(name)
        if ready is not None:
            launched.append((_track_prepared(book, ready), ready))
            continue
        if decision.terminate_process_id is not None:
            _terminate(session, book, decision.terminate_process_id, effects, now)
        mark = batch.mark()
        opening = book.definitions.opening(name) if decision.task_filter is None else None
        try:
            with store_errors():
                state = _new_process(book, name, decision, templates.get(name, []), now)
                if opening is not None:
                    state.share_layout(opening.layout)
        except StoreError:
            raise
        except Exception as exc:  # this definition only; the others still start
            batch.rollback_to(mark)
            book.definitions.fail(name, "launch", describe(exc))
            continue
        launched.append((state, opening))
    batch.flush(session)
    for state, _ in launched:
        _started(session, book, state, decisions[state.definition_name], now)
    for state, first in launched:
        effects.changed.append(state.process_id)
        if isinstance(first, PreparedRun):
            book.open_prepared(session, first, effects, now)
        else:
            book.open_run(session, state, first.starts if first else None, effects, now)
    for name in decisions:
        book.definitions.reschedule(name, now)


def _track_prepared(book: ProcessBook, run: PreparedRun) -> ProcessState:
    """Queue the rows of a run prepared ahead, taken and stamped, and track it (what
    `_new_process` does for a run built now)."""
    state = run.state
    book.batch.add_rows(run.rows)
    view = book.definitions.views[state.definition_name]
    view.last_started_at, view.running_process_id = state.started_at, state.process_id
    book.states[state.process_id] = state
    return state


def _new_process(
    book: ProcessBook, name: str, decision: Decision, tasks: list[TaskDefinition], now: datetime
) -> ProcessState:
    """Queue a new run of `name` in the tick's batch and track it; returns its state."""
    process_id = book.batch.add_process(
        name=name,
        tasks=tasks,
        origin=decision.origin or "trigger",
        scheduled_for=decision.scheduled_for,
        task_filter=decision.task_filter,
        now=now,
    )
    state = ProcessState(
        process_id,
        name,
        now,
        filtered_tasks(tasks, decision.task_filter),
        due_at=decision.due_at,
    )
    view = book.definitions.views[name]
    view.last_started_at, view.running_process_id = now, process_id
    book.states[process_id] = state  # last: nothing above left a trace if it raised
    return state


def _started(
    session: Session, book: ProcessBook, state: ProcessState, decision: Decision, now: datetime
) -> None:
    if decision.consumed_triggers:
        store.consume_triggers(
            session=session, request_ids=decision.consumed_triggers, process_id=state.process_id
        )
        book.open_triggers.consumed(state.definition_name, decision.consumed_triggers)
    log.info(
        "started a run (%s)",
        decision.origin,
        extra={"process_definition_name": state.definition_name, "process_id": state.process_id},
    )
    book.observer.process_started(
        state.definition_name, decision.origin or "trigger", decision.scheduled_for, now
    )


def _terminate(
    session: Session, book: ProcessBook, process_id: str, effects: Effects, now: datetime
) -> None:
    """`overlap_action: terminate`: kill the running run and end it before the new one starts."""
    process = book.states.get(process_id)
    if process is None:
        return
    session.add(
        KillRequestRow(request_id=str(uuid.uuid4()), process_id=process_id, requested_at=now)
    )
    process.kill_requested = True
    book.guarded_step(session, process, effects, now, "step")
