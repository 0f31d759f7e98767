"""Notifications after a run ends: build the report off the scheduler thread, then hand it to
the notifier, whose workers deliver. Nothing here can delay or fail a run.

The report is prepared on this module's own thread, from the store: the definition's
notifications, the latest finished runs for the policy, and, when an email will quote them, the
last lines of each failed task's final attempt (bounded, in one statement).
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import cast

from gnomon.domain import LogEntry, Notification
from gnomon.domain.enums import ProcessStatus
from gnomon.errors import NotFoundError, StoreError
from gnomon.notifications import (
    LOG_TAIL_CHARS,
    LOG_TAIL_LINES,
    LOG_TAIL_TASKS,
    Notifier,
    RunReport,
    TaskOutcome,
    TaskReport,
    statuses_needed,
)
from gnomon.scheduler.observer import FinishedRun, SchedulerObserver, TaskSummary
from gnomon.storage import Engine, Session, definitions, log_tails, transaction
from gnomon.storage import scheduling as store

log = logging.getLogger(__name__)


class NotificationObserver(SchedulerObserver):
    """Prepares and hands over notifications about finished runs.

    Args:
        engine: The store.
        notifier: Sends what the report calls for.
        site_url: Where people reach this Gnomon; links to a run start with it.
    """

    def __init__(self, engine: Engine, notifier: Notifier, site_url: str) -> None:
        self.engine = engine
        self.notifier = notifier
        self.site_url = site_url.rstrip("/")
        self._queue: queue.SimpleQueue[FinishedRun | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="gnomon-notify", daemon=True)
        self._thread.start()

    def process_finished(self, run: FinishedRun) -> None:
        self._queue.put(run)

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)
        self.notifier.close(timeout)

    def _work(self) -> None:
        while (run := self._queue.get()) is not None:
            try:
                self._notify(run)
            except (StoreError, ValueError):
                log.exception(
                    "could not prepare notifications",
                    extra={
                        "process_definition_name": run.definition_name,
                        "process_id": run.process_id,
                    },
                )

    def _notify(self, run: FinishedRun) -> None:
        with transaction(self.engine) as session:
            try:
                notifications = definitions.definition_notifications(
                    session=session, name=run.definition_name
                )
            except NotFoundError:
                return  # the definition was deleted; nobody is left to tell
            if not notifications:
                return
            previous = store.previous_finished_statuses(
                session=session,
                name=run.definition_name,
                before=run.started_at,
                limit=statuses_needed(notifications),
            )
            tails = _read_tails(session, run, notifications)
        self.notifier.notify(self._report(run, previous, tails), notifications)

    def _report(
        self,
        run: FinishedRun,
        earlier: list[ProcessStatus],
        tails: Mapping[str, Sequence[LogEntry]],
    ) -> RunReport:
        return RunReport(
            process_definition_name=run.definition_name,
            process_id=uuid.UUID(run.process_id),
            status=run.status,
            started_at=run.started_at,
            ended_at=run.ended_at,
            previous_status=earlier[0] if earlier else None,
            recent_statuses=[run.status, *earlier],
            tasks=[_task_report(task, tails) for task in run.tasks],
            site_url=self.site_url,
            killed=run.killed,
        )


def _read_tails(
    session: Session, run: FinishedRun, notifications: Sequence[Notification]
) -> dict[str, Sequence[LogEntry]]:
    """The last lines of the failed tasks' final attempts an email would quote, by task id; an
    attempt without output maps to no lines. Nothing is read when no email is configured."""
    if not any(entry.email is not None for entry in notifications):
        return {}
    quoted = [task.task_id for task in run.tasks if task.status == "failed" and task.task_id]
    quoted = quoted[:LOG_TAIL_TASKS]
    found = log_tails.last_lines(
        session=session, task_ids=quoted, lines=LOG_TAIL_LINES, chars=LOG_TAIL_CHARS
    )
    return {task_id: found.get(task_id, []) for task_id in quoted}


def _task_report(task: TaskSummary, tails: Mapping[str, Sequence[LogEntry]]) -> TaskReport:
    tail = tails.get(task.task_id) if task.task_id else None
    return TaskReport(
        task.task_definition_name,
        cast(TaskOutcome, task.status),
        task.attempts,
        task.reason,
        log_tail=None if tail is None else tuple(tail),
    )
