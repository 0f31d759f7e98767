"""Where runners report. Output, metadata and a job's own verdict go straight to the store (they do
not change process state); state changes are queued for the scheduler thread, the single writer of
task and process status, and wake it."""

from __future__ import annotations

import logging
import queue
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from gnomon.domain.clock import Clock
from gnomon.domain.enums import TaskStatus
from gnomon.domain.runs import MetadataEntry
from gnomon.runner.base import JobState, OutputLine
from gnomon.scheduler.wakeup import Wakeup
from gnomon.storage import callbacks
from gnomon.storage.engine import transaction
from gnomon.storage.tables import TaskLogRow

log = logging.getLogger(__name__)


class StoreSink:
    """A thread-safe `JobSink` over the store, feeding the scheduler's event queue."""

    def __init__(self, engine: Engine, clock: Clock, wakeup: Wakeup) -> None:
        self.engine = engine
        self.clock = clock
        self.wakeup = wakeup
        self.states: queue.SimpleQueue[tuple[JobState, datetime]] = queue.SimpleQueue()

    def state_changed(self, state: JobState) -> None:
        # Recorded by the scheduler thread in its next transaction, many at a time.
        self.states.put((state, self.clock.now()))
        self.wakeup.notify("executor")

    def output(self, task_id: str, lines: Sequence[OutputLine]) -> None:
        rows = [
            {
                "log_entry_id": str(uuid.uuid4()),
                "task_id": task_id,
                "when": line.when,
                "source": line.source,
                "message": line.message,
            }
            for line in lines
        ]
        self._write(lambda session: callbacks.insert_ignoring_duplicates(session, TaskLogRow, rows))

    def metadata(self, task_id: str, when: datetime, key: str, value: str) -> None:
        entry = MetadataEntry(metadata_entry_id=uuid.uuid4(), when=when, key=key, value=value)
        self._write(
            lambda session: callbacks.add_metadata(
                session=session, task_id=task_id, entries=[entry]
            )
        )

    def reported(self, task_id: str, status: TaskStatus, reason: str | None) -> None:
        now = self.clock.now()
        self._write(
            lambda session: callbacks.report_status(
                session=session, task_id=task_id, status=status, reason=reason, now=now
            )
        )
        self.wakeup.notify("callbacks")

    def _write(self, work: Callable[[Session], object]) -> None:
        try:
            with transaction(self.engine) as session:
                work(session)
        except SQLAlchemyError:
            log.exception("could not record what the executor reported")
