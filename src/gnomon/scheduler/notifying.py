"""Notifications after a run ends: build the report off the scheduler thread, then hand it to
the notifier, whose workers deliver. Nothing here can delay or fail a run."""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from typing import cast

from gnomon.domain.enums import ProcessStatus
from gnomon.errors import NotFoundError, StoreError
from gnomon.notifications import Notifier, RunReport, TaskOutcome, TaskReport, statuses_needed
from gnomon.scheduler.observer import FinishedRun, SchedulerObserver
from gnomon.storage import Engine, definitions, transaction
from gnomon.storage import scheduling as store

log = logging.getLogger(__name__)


class NotificationObserver(SchedulerObserver):
    def __init__(self, engine: Engine, notifier: Notifier, public_url: str) -> None:
        self.engine = engine
        self.notifier = notifier
        self.public_url = public_url.rstrip("/")
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
                definition = definitions.get_definition(session=session, name=run.definition_name)
            except NotFoundError:
                return  # the definition was deleted; nobody is left to tell
            notifications = definition.notifications or []
            if not notifications:
                return
            previous = store.previous_finished_statuses(
                session=session,
                name=run.definition_name,
                before=run.started_at,
                limit=statuses_needed(notifications),
            )
        self.notifier.notify(self._report(run, previous), notifications)

    def _report(self, run: FinishedRun, earlier: list[ProcessStatus]) -> RunReport:
        return RunReport(
            process_definition_name=run.definition_name,
            process_id=uuid.UUID(run.process_id),
            status=run.status,
            started_at=run.started_at,
            ended_at=run.ended_at,
            previous_status=earlier[0] if earlier else None,
            recent_statuses=[run.status, *earlier],
            tasks=[
                TaskReport(
                    t.task_definition_name, cast(TaskOutcome, t.status), t.attempts, t.reason
                )
                for t in run.tasks
            ],
            run_url=f"{self.public_url}/api/processes/{run.process_id}",
            killed=run.killed,
        )
